"""ESIA's client_secret: a detached signature over client_id + scope + timestamp + state + redirect_uri
(+ code at the token call), base64url-encoded. Production signs with GOST R 34.10-2012 through an
external tool (CryptoPro's cryptcp, an OpenSSL GOST engine); older endpoints took PKCS#7 RSA.

A signer is configured on the provider as a string:
  pkcs7:<private key PEM path>:<certificate PEM path>   RSA PKCS#7 detached, in process
  command:<argv…>                                       the message on stdin, DER signature on stdout
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import shlex
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

COMMAND_TIMEOUT = 15


class SignerError(RuntimeError):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def esia_timestamp(now: datetime.datetime | None = None) -> str:
    """`yyyy.MM.dd HH:mm:ss Z`, e.g. 2026.12.06 23:05:00 +0000."""
    now = now or datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y.%m.%d %H:%M:%S %z")


class Pkcs7Signer:
    def __init__(self, key_path: str, cert_path: str):
        self.key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
        self.cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())

    def sign(self, message: bytes) -> bytes:
        options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
        return (pkcs7.PKCS7SignatureBuilder().set_data(message).add_signer(self.cert, self.key, hashes.SHA256())
                .sign(serialization.Encoding.DER, options))

    def certificate_hash(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex().upper()


class CommandSigner:
    """Runs the configured command (no shell): message on stdin, DER signature on stdout."""

    def __init__(self, argv: list[str], cert_path: str | None = None):
        if not argv:
            raise SignerError("empty signer command")
        self.argv = argv
        self.cert_path = cert_path

    def sign(self, message: bytes) -> bytes:
        try:
            run = subprocess.run(self.argv, input=message, capture_output=True, timeout=COMMAND_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SignerError(f"signer command failed: {exc}") from exc
        if run.returncode != 0 or not run.stdout:
            raise SignerError(f"signer command exited {run.returncode}")
        return run.stdout

    def certificate_hash(self) -> str:
        if not self.cert_path:
            return ""
        cert = x509.load_pem_x509_certificate(Path(self.cert_path).read_bytes())
        return cert.fingerprint(hashes.SHA256()).hex().upper()


def signer_from(spec: str):
    kind, _, rest = spec.partition(":")
    if kind == "pkcs7":
        key_path, _, cert_path = rest.partition(":")
        return Pkcs7Signer(key_path, cert_path)
    if kind == "command":
        argv = shlex.split(rest)
        cert = next((a.split("=", 1)[1] for a in argv if a.startswith("--cert-for-hash=")), None)
        return CommandSigner([a for a in argv if not a.startswith("--cert-for-hash=")], cert)
    raise SignerError(f"unknown signer {kind!r}")


def client_secret(signer, *parts: str) -> str:
    """base64url of the signature over the concatenated parts."""
    return b64url(signer.sign("".join(parts).encode()))


def digest(message: bytes) -> str:
    return hashlib.sha256(message).hexdigest()


def generate_rsa_pair(directory, name: str = "esia-client") -> tuple[str, str]:
    """An RSA key and self-signed certificate for the PKCS#7 signer (demo and tests; a real ESIA
    client uses the certificate registered with the provider)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    directory = Path(directory)
    key_path, cert_path = directory / f"{name}-key.pem", directory / f"{name}-cert.pem"
    if key_path.exists() and cert_path.exists():
        return str(key_path), str(cert_path)
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SchoolID ESIA client")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650)).sign(key, hashes.SHA256()))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_path), str(cert_path)
