"""The one place that maps accounts to the `sub` a client sees (OIDC Core §8). Pairwise by default:
an HMAC of the client's sector and the account id, so one sector always sees the same value and two
sectors cannot correlate. Public subjects (the permanent user code) only for ministry systems.
Nothing looks an account up by a `sub`: tokens and sessions carry the account themselves."""
from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from schoolid.provider.keys import b64u
from schoolid.provider.models import Client

_keys: dict[str, bytes] = {}


def _key() -> bytes:
    base = getattr(settings, "SCHOOLID_SUBJECT_KEY", "") or settings.SECRET_KEY
    key = _keys.get(base)
    if key is None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"schoolid", info=b"oidc-pairwise-sub-v1").derive(base.encode())
        _keys[base] = key
    return key


def subject_for(account, client: Client) -> str:
    if client.subject_type == Client.Subject.PUBLIC and client.first_party:
        return account.user_code
    mac = hmac.new(_key(), f"{client.sector}\x00{account.pk}".encode(), hashlib.sha256).digest()
    return b64u(mac)
