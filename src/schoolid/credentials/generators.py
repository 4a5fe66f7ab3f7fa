"""Generated secrets, link tokens and recovery codes (design.md, "Secrets")."""
from __future__ import annotations

import hashlib
import secrets

import argon2

# No look-alikes: no 0/O, 1/I/L, no U/V pairs to confuse children copying by hand.
SECRET_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
SECRET_GROUPS, SECRET_GROUP_LEN = 3, 5  # 15 symbols: log2(29^15) ≈ 72.9 bits (≥ 60 required)


# Generated secrets are protected by their entropy, not the hash cost, so a light Argon2id is
# enough; this is what lets a principal issue a whole school at once (design.md).
_LIGHT = argon2.PasswordHasher(time_cost=1, memory_cost=256, parallelism=1, hash_len=16, salt_len=16)


def generate_secret() -> str:
    body = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_GROUPS * SECRET_GROUP_LEN))
    return "-".join(body[i : i + SECRET_GROUP_LEN] for i in range(0, len(body), SECRET_GROUP_LEN))


def normalize_secret(raw: str) -> str | None:
    """The canonical secret (with dashes) if `raw` could be one, else None."""
    from schoolid.core.digits import ascii_digits

    value = "".join(ch for ch in ascii_digits(raw).upper() if ch.isalnum())
    if len(value) != SECRET_GROUPS * SECRET_GROUP_LEN or any(ch not in SECRET_ALPHABET for ch in value):
        return None
    return "-".join(value[i : i + SECRET_GROUP_LEN] for i in range(0, len(value), SECRET_GROUP_LEN))


def hash_secret(secret: str) -> str:
    return _LIGHT.hash(secret)


def verify_secret(secret: str, encoded: str) -> bool:
    try:
        return _LIGHT.verify(encoded, secret)
    except argon2.exceptions.VerificationError:
        return False
    except argon2.exceptions.InvalidHashError:
        return False


def new_link_token() -> str:
    """A 256-bit URL-safe token; only its SHA-256 is stored."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def generate_recovery_code() -> str:
    """Ten base-29 symbols in two groups: ~48.6 bits, single use, stored hashed."""
    body = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(10))
    return f"{body[:5]}-{body[5:]}"


def normalize_recovery_code(raw: str) -> str | None:
    from schoolid.core.digits import ascii_digits

    value = "".join(ch for ch in ascii_digits(raw).upper() if ch.isalnum())
    if len(value) != 10 or any(ch not in SECRET_ALPHABET for ch in value):
        return None
    return f"{value[:5]}-{value[5:]}"
