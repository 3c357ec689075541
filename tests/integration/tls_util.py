"""tls_util - throwaway certificates and AUTH users for the TLS/AUTH tests.

    cert, key = make_cert(dir, "mx.test")              # openssl req: self-signed P-256, 2 days
    write_users(path, {"alice": ("s3cret", [])})      # mkpasswd (yescrypt) lines user:hash[:owned]
    peer_cn(port)                                      # the CN an smtps listener presents

Real tools only (the openssl CLI and mkpasswd from Debian's whois package); nothing is
stored in the repository.
"""

import socket
import ssl
import subprocess


def make_cert(directory, cn, name=None):
    name = name or cn
    cert = "%s/%s.crt" % (directory, name)
    key = "%s/%s.key" % (directory, name)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=" + cn, "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    return cert, key


def crypt_hash(password, method="yescrypt"):
    out = subprocess.run(["mkpasswd", "-m", method, "--stdin"], input=password.encode(), check=True,
                         stdout=subprocess.PIPE, timeout=30)
    return out.stdout.decode().strip()


def write_users(path, users, method="yescrypt"):
    """users: name -> (password, [owned addresses or @domains])."""
    with open(path, "w") as f:
        f.write("# test users\n")
        for name, (password, owned) in users.items():
            line = "%s:%s" % (name, crypt_hash(password, method))
            if owned:
                line += ":" + ",".join(owned)
            f.write(line + "\n")


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def peer_cn(port, timeout=10.0):
    """The subject CN of the certificate an implicit-TLS listener presents."""
    ctx = client_context()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="mx.test") as tls:
            der = tls.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem.encode(), check=True,
                         stdout=subprocess.PIPE, timeout=30)
    return out.stdout.decode().strip().split("CN", 1)[1].lstrip(" =")
