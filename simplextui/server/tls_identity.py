"""The server's TLS identity: a self-signed Ed25519 certificate kept in the data dir.

The certificate's SHA-256 fingerprint is the server's identity in its address, so it is
created once and never replaced; a new certificate would be a different server.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from simplextui.protocol.address import certificate_fingerprint

CERT_FILE = "server.crt"
KEY_FILE = "server.key"


@dataclass(frozen=True, slots=True)
class TlsIdentity:
    cert_path: Path
    key_path: Path
    fingerprint: bytes


def load_or_create(data_dir: Path) -> TlsIdentity:
    data_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = data_dir / CERT_FILE, data_dir / KEY_FILE
    if not (cert_path.exists() and key_path.exists()):
        _create(cert_path, key_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    der = cert.public_bytes(serialization.Encoding.DER)
    return TlsIdentity(cert_path, key_path, certificate_fingerprint(der))


def read_fingerprint(data_dir: Path) -> bytes:
    """The fingerprint of an existing identity; FileNotFoundError when there is none."""
    cert = x509.load_pem_x509_certificate((data_dir / CERT_FILE).read_bytes())
    return certificate_fingerprint(cert.public_bytes(serialization.Encoding.DER))


def _create(cert_path: Path, key_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "simplextui queue server")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650 * 3))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True,
        )
        .sign(key, None)
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    tmp_key = key_path.with_name(key_path.name + ".tmp")
    tmp_key.write_bytes(key_pem)
    os.chmod(tmp_key, 0o600)
    tmp_cert = cert_path.with_name(cert_path.name + ".tmp")
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp_key, key_path)
    os.replace(tmp_cert, cert_path)
