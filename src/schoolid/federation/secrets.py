"""The client secret at rest: Fernet under a key derived from SCHOOLID_FIELD_KEY (as the TOTP seeds)."""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _fernet() -> Fernet:
    key = settings.SCHOOLID_FIELD_KEY or settings.SECRET_KEY
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"schoolid", info=b"idp-client-secret-v1").derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode() if secret else ""


def unseal(sealed: str) -> str:
    return _fernet().decrypt(sealed.encode()).decode() if sealed else ""
