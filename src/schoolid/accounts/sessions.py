"""The index of a person's signed-in sessions (ASVS v5 7.5.2): list them and end any one or all others.

Sessions live in the cache (Redis) or the database; this small table points at them so a person can
see where they are signed in. A row is written on the first request after sign-in (the session key
exists from then on), touched at most once a minute with the idle mark, and ended on sign-out. The
session key is a bearer secret, so the row keeps it sealed (Fernet, a key derived from the field key)
and finds it by its SHA-256.
"""
from __future__ import annotations

import base64
import datetime
import functools
import hashlib
from importlib import import_module

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.utils import timezone

from schoolid.accounts.models import Account, SignedInSession, new_session_epoch
from schoolid.audit.services import client_ip, record_event

INDEX_KEY = "ix"


@functools.cache
def _fernet(key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"schoolid", info=b"session-key-v1").derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _sealer() -> Fernet:
    return _fernet(settings.SCHOOLID_FIELD_KEY or settings.SECRET_KEY)


def digest(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def index(account: Account, session_key: str, request=None) -> SignedInSession:
    """Record a signed-in session (idempotent by key)."""
    meta = request.META if request is not None else {}
    row, _created = SignedInSession.objects.get_or_create(key_digest=digest(session_key), defaults={
        "account": account, "key_sealed": _sealer().encrypt(session_key.encode()).decode(), "epoch": account.session_epoch,
        "user_agent": (meta.get("HTTP_USER_AGENT") or "")[:300], "ip": client_ip(request)})
    return row


def touch(row_id: int, request=None) -> bool:
    """The session was used (called at most once a minute); False when the row was ended meanwhile."""
    return SignedInSession.objects.filter(pk=row_id, ended_at__isnull=True).update(last_seen_at=timezone.now(), ip=client_ip(request)) == 1


def touch_key(session_key: str, request=None) -> None:
    SignedInSession.objects.filter(key_digest=digest(session_key), ended_at__isnull=True).update(last_seen_at=timezone.now(), ip=client_ip(request))


def mark_ended(row_id: int | None = None, *, session_key: str | None = None) -> None:
    rows = SignedInSession.objects.filter(ended_at__isnull=True)
    rows = rows.filter(pk=row_id) if row_id is not None else rows.filter(key_digest=digest(session_key or ""))
    rows.update(ended_at=timezone.now())


def open_sessions(account: Account):
    """The account's live sessions, newest use first (ended, expired or signed out by a password change left out)."""
    now = timezone.now()
    return (SignedInSession.objects.filter(account=account, ended_at__isnull=True, epoch=account.session_epoch,
                                           last_seen_at__gt=now - datetime.timedelta(seconds=settings.SESSION_IDLE_SECONDS),
                                           created_at__gt=now - datetime.timedelta(seconds=settings.SESSION_ABSOLUTE_SECONDS))
            .order_by("-last_seen_at"))


def _destroy(row: SignedInSession) -> None:
    try:
        key = _sealer().decrypt(row.key_sealed.encode()).decode()
    except InvalidToken:
        key = None  # sealed under an older key: the epoch change of end_all_others covers it
    if key:
        import_module(settings.SESSION_ENGINE).SessionStore(session_key=key).delete()
    mark_ended(row.pk)


def end_sessions_where(account: Account, keep_if, *, request=None, detail: dict | None = None) -> int:
    """End the account's open sessions except those whose session data `keep_if(data)` keeps (a
    provider's back-channel logout ends only the sessions it started)."""
    ended = 0
    engine = import_module(settings.SESSION_ENGINE)
    for row in SignedInSession.objects.filter(account=account, ended_at__isnull=True):
        try:
            key = _sealer().decrypt(row.key_sealed.encode()).decode()
        except InvalidToken:
            continue
        if keep_if(engine.SessionStore(session_key=key).load()):
            continue
        _destroy(row)
        ended += 1
    if ended:
        record_event("session.revoked", "success", target=account, request=request, detail={"scope": "provider", "ended": ended, **(detail or {})})
    return ended


def end_one(request, row_id: int) -> bool:
    """End one of the person's own sessions; another person's row is not found."""
    row = SignedInSession.objects.filter(pk=row_id, account=request.user, ended_at__isnull=True).first()
    if row is None:
        return False
    _destroy(row)
    record_event("session.revoked", "success", actor=request.user, target=request.user, request=request, detail={"session": row.pk, "scope": "one"})
    return True


def end_all_others(request) -> int:
    """End every session but this one (a browser session, or the API token in use): each indexed one is
    deleted, and a new session epoch ends any other (one from before the index) while this one stays."""
    from django.contrib.auth import HASH_SESSION_KEY

    account = request.user
    token_store = getattr(request, "token_session", None)
    keep = token_store.session_key if token_store is not None else request.session.session_key
    rows = list(SignedInSession.objects.filter(account=account, ended_at__isnull=True).exclude(key_digest=digest(keep or "")))
    for row in rows:
        _destroy(row)
    account.session_epoch = new_session_epoch()
    account.save(update_fields=["session_epoch"])
    if token_store is not None:
        token_store[HASH_SESSION_KEY] = account.get_session_auth_hash()
        token_store.save()
    else:
        update_session_auth_hash(request, account)
    SignedInSession.objects.filter(key_digest=digest(keep or "")).update(epoch=account.session_epoch)
    record_event("session.revoked", "success", actor=account, target=account, request=request, detail={"scope": "others", "ended": len(rows)})
    return len(rows)


def current_digest(request) -> str:
    token_store = getattr(request, "token_session", None)
    key = token_store.session_key if token_store is not None else request.session.session_key
    return digest(key or "")


def device_label(user_agent: str) -> str:
    """A short "browser on system" from a user agent, for the list (the full text is in a tooltip)."""
    ua = user_agent or ""
    browser = next((name for token, name in (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
                                              ("Chromium/", "Chromium"), ("Safari/", "Safari")) if token in ua), "")
    system = next((name for token, name in (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
                                             ("Mac OS X", "macOS"), ("Linux", "Linux")) if token in ua), "")
    if browser and system:
        return f"{browser} · {system}"
    return browser or system or ua[:60]
