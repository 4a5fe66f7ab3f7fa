"""Signing keys and compact JWS (RS256 only): generated here, the private key sealed at rest with the
field key (as TOTP seeds are), published in the JWKS with their `kid`s while tokens they signed live."""
from __future__ import annotations

import base64
import datetime
import hashlib
import json
import threading
import time

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from schoolid.provider.models import SigningKey

# A worker re-reads the active key at most this often; a retired key stays published that much longer.
ACTIVE_KEY_CACHE_SECONDS = 30
_cache: dict = {"at": 0.0, "key": None, "private": {}}
_lock = threading.Lock()


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fernet() -> Fernet:
    key = settings.SCHOOLID_FIELD_KEY or settings.SECRET_KEY
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"schoolid", info=b"oidc-signing-key-v1").derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _int(n: int) -> str:
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def create_key() -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = private.public_key().public_numbers()
    jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "n": _int(numbers.n), "e": _int(numbers.e)}
    # RFC 7638 thumbprint as the kid: stable, and says nothing about when the key was made.
    thumb = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    jwk["kid"] = b64u(hashlib.sha256(thumb.encode()).digest())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return SigningKey.objects.create(kid=jwk["kid"], private_sealed=_fernet().encrypt(pem).decode(), public_jwk=jwk)


def rotate(token_lifetime_seconds: int) -> tuple[SigningKey, list[SigningKey]]:
    """A new active key; the old ones stay published until what they signed has expired."""
    now = timezone.now()
    keep = datetime.timedelta(seconds=token_lifetime_seconds + ACTIVE_KEY_CACHE_SECONDS + 60)
    with transaction.atomic():
        old = list(SigningKey.objects.select_for_update().filter(retired_at__isnull=True))
        new = create_key()
        SigningKey.objects.filter(pk__in=[k.pk for k in old]).update(retired_at=now, publish_until=now + keep)
    _cache["at"] = 0.0
    return new, old


def active_key() -> SigningKey:
    now = time.monotonic()
    key = _cache["key"]
    if key is not None and now - _cache["at"] < ACTIVE_KEY_CACHE_SECONDS:
        return key
    with _lock:
        key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first()
        if key is None:
            with transaction.atomic():
                # Two workers starting together make one key: the first to lock creates it.
                key = SigningKey.objects.select_for_update().filter(retired_at__isnull=True).order_by("-created_at").first() or create_key()
        _cache.update(at=now, key=key)
    return key


def _private(key: SigningKey):
    private = _cache["private"].get(key.kid)
    if private is None:
        pem = _fernet().decrypt(key.private_sealed.encode())
        private = serialization.load_pem_private_key(pem, password=None)
        _cache["private"][key.kid] = private
    return private


def published_keys():
    now = timezone.now()
    return SigningKey.objects.filter(publish_until__isnull=True) | SigningKey.objects.filter(publish_until__gt=now)


def jwks() -> dict:
    return {"keys": [k.public_jwk for k in published_keys().order_by("-created_at")]}


def sign(claims: dict, typ: str = "JWT") -> str:
    key = active_key()
    header = {"alg": "RS256", "kid": key.kid, "typ": typ}
    signing_input = b64u(json.dumps(header, separators=(",", ":")).encode()) + "." + b64u(json.dumps(claims, separators=(",", ":")).encode())
    signature = _private(key).sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64u(signature)


def verify(token: str) -> dict | None:
    """The claims of a token we signed with a published key (expiry not checked: callers decide), or None."""
    try:
        head, body, sig = token.split(".")
        header = json.loads(b64u_decode(head))
        if header.get("alg") != "RS256":
            return None
        key = published_keys().filter(kid=str(header.get("kid", ""))).first()
        if key is None:
            return None
        public = _private(key).public_key()
        public.verify(b64u_decode(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        claims = json.loads(b64u_decode(body))
        return claims if isinstance(claims, dict) else None
    except (ValueError, InvalidSignature, TypeError, UnicodeDecodeError):
        return None
