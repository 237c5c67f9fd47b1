"""A throwaway certificate authority and server certificate for the TLS tests."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificate:
    """A server certificate for 127.0.0.1 and localhost, signed by a throwaway CA."""

    ca_file: str
    cert_file: str
    key_file: str


_SERVER_EXTENSIONS = """\
subjectAltName = DNS:localhost, IP:127.0.0.1
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
"""


def make_certificate(directory: Path) -> Certificate:
    """Create a CA and a server certificate in ``directory`` with the openssl command.

    A separate CA (rather than one self-signed leaf) keeps Python's strict
    X.509 checks happy, so clients verify exactly as they would in production.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl not found: install Debian's openssl")
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "server.ext"
    ext.write_text(_SERVER_EXTENSIONS)
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    ca_extensions = [
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    ]
    for args in (
        ["req", "-x509", *new_key, "-days", "7", "-subj", "/CN=mailbot test CA", *ca_extensions,
         "-keyout", str(ca_key), "-out", str(ca_crt)],
        ["req", *new_key, "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr)],
        ["x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
         "-CAcreateserial", "-days", "7", "-extfile", str(ext), "-out", str(crt)],
    ):  # fmt: skip
        subprocess.run([openssl, *args], check=True, capture_output=True)
    return Certificate(ca_file=str(ca_crt), cert_file=str(crt), key_file=str(key))
