#!/usr/bin/python3
"""A milter driven by the message itself, for correod's milter tests (python3-milter, i.e.
Sendmail's libmilter, so correod talks to the real library the ecosystem uses).

  python3 scripted_milter.py inet:PORT@127.0.0.1 LOGFILE

The Subject decides:  "reject" -> 550 5.7.1 with our text; "tempfail" -> TEMPFAIL;
"discard" -> DISCARD; "quarantine" -> quarantine + ACCEPT; "edit" -> add, change and delete
headers and replace the body. Any other message gets "X-Scanned-By: scripted-milter" added.
A recipient "blocked@..." is refused at RCPT. Every callback seen is appended to LOGFILE,
one word per line, so a test can check that all stages arrived.
"""

import sys

import Milter

LOG = None


def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")


class Scripted(Milter.Base):
    def __init__(self):
        self.subject = ""
        self.headers = []

    @Milter.noreply
    def connect(self, hostname, family, hostaddr):
        log("connect %s" % (hostaddr[0] if isinstance(hostaddr, tuple) else hostaddr))
        return Milter.CONTINUE

    def hello(self, name):
        log("helo %s" % name)
        return Milter.CONTINUE

    def envfrom(self, mailfrom, *params):
        log("mail %s" % mailfrom)
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        log("rcpt %s" % to)
        if to.strip("<>").startswith("blocked@"):
            self.setreply("550", "5.7.1", "Recipient blocked by the test milter")
            return Milter.REJECT
        return Milter.CONTINUE

    def header(self, name, value):
        self.headers.append(name)
        if name.lower() == "subject":
            self.subject = value.strip().lower()
        return Milter.CONTINUE

    def eoh(self):
        log("eoh %d" % len(self.headers))
        return Milter.CONTINUE

    def body(self, chunk):
        return Milter.CONTINUE

    def eom(self):
        log("eom %s" % self.subject)
        s = self.subject
        if s == "reject":
            self.setreply("550", "5.7.1", "Rejected by the test milter")
            return Milter.REJECT
        if s == "tempfail":
            return Milter.TEMPFAIL
        if s == "discard":
            return Milter.DISCARD
        if s == "quarantine":
            self.quarantine("looks odd to the test milter")
            return Milter.ACCEPT
        if s == "edit":
            self.addheader("X-Milter-Added", "yes")
            self.chgheader("Subject", 1, "edited by milter")
            self.chgheader("X-Remove-Me", 1, "")
            self.replacebody(b"Body replaced by the test milter.\r\n")
            return Milter.ACCEPT
        self.addheader("X-Scanned-By", "scripted-milter")
        return Milter.CONTINUE


def main():
    global LOG
    socket_spec, LOG = sys.argv[1], sys.argv[2]
    Milter.factory = Scripted
    Milter.set_flags(Milter.ADDHDRS + Milter.CHGHDRS + Milter.CHGBODY + Milter.QUARANTINE)
    Milter.runmilter("scripted", socket_spec, 60)


if __name__ == "__main__":
    main()
