#!/usr/bin/python3
"""dsn_check.py - parse a DSN file with Python's email package and print a JSON summary.

Usage: dsn_check.py FILE

Asserts the RFC 6522 multipart/report structure (report-type=delivery-status, a
delivery-status part), then prints one JSON object on stdout:
  {"content_types": [...every part, depth first...],
   "per_message": {"reporting-mta": ..., "original-envelope-id": ..., "arrival-date": ...},
   "recipients": [{"action", "status", "final-recipient", "original-recipient",
                   "diagnostic-code", "remote-mta"}, ...]}
Field values are unfolded, with runs of whitespace collapsed to one space; a missing field
is null. Exits non-zero (traceback on stderr) if anything does not parse as expected.
Used by tests/unit/delivery/dsn_test.cc; Debian's /usr/bin/python3, standard library only.
"""
import email
import email.parser
import email.policy
import json
import re
import sys

FIELDS = ("action", "status", "final-recipient", "original-recipient", "diagnostic-code", "remote-mta")
PER_MESSAGE = ("reporting-mta", "original-envelope-id", "arrival-date")


def text_of(value):
    """Header value as text: 8-bit bytes decoded as UTF-8, whitespace runs collapsed."""
    if value is None:
        return None
    s = str(value)
    try:  # the bytes parser keeps non-ASCII bytes as surrogate escapes
        s = s.encode("ascii", "surrogateescape").decode("utf-8")
    except UnicodeError:
        pass
    return re.sub(r"\s+", " ", s).strip()


def groups_of(part):
    """The field groups (per-message first) of a delivery-status part, as Message objects."""
    if part.get_content_type() == "message/delivery-status":
        # The email package parses each blank-line separated block into a sub-message.
        return list(part.get_payload())
    # message/global-delivery-status is parsed as one message: the per-message fields are its
    # headers, the per-recipient groups its body.
    (inner,) = part.get_payload()
    body = inner.get_payload(decode=True) or b""
    groups = [inner]
    for block in re.split(rb"\r?\n(?:[ \t]*\r?\n)+", body.strip(b"\r\n")):
        if block.strip():
            groups.append(email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(block + b"\r\n"))
    return groups


def main():
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert not msg.defects, f"message defects: {msg.defects}"
    assert msg.is_multipart(), "not multipart"
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status", msg.get_param("report-type")

    content_types = []
    status_parts = []
    for part in msg.walk():
        content_types.append(part.get_content_type())
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            status_parts.append(part)
    top = [p.get_content_type() for p in msg.get_payload()]
    assert len(top) == 3, f"expected 3 parts, got {top}"
    assert top[0] == "text/plain", top
    assert len(status_parts) == 1, f"expected one delivery-status part, got {len(status_parts)}"
    human = msg.get_payload()[0].get_content()
    assert "This is the mail system at host" in human, "human part"

    groups = groups_of(status_parts[0])
    assert len(groups) >= 2, "no per-recipient group"
    per_message = {name: text_of(groups[0].get(name)) for name in PER_MESSAGE}
    assert per_message["reporting-mta"], "Reporting-MTA missing"
    recipients = []
    for g in groups[1:]:
        r = {name: text_of(g.get(name)) for name in FIELDS}
        assert r["final-recipient"] and r["action"] and r["status"], f"incomplete group {r}"
        assert re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", r["status"]), r["status"]
        recipients.append(r)
    print(json.dumps({"content_types": content_types, "per_message": per_message, "recipients": recipients},
                     sort_keys=True))


if __name__ == "__main__":
    main()
