"""Session tokens for the mobile apps: the same server-side sessions as the browser's, handed over as
a bearer token instead of a cookie. Same timeouts, same ending on sign-out, password change or
disabling, same audit."""
from __future__ import annotations

import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare
from ninja.security import HttpBearer

from schoolid.accounts.models import Account
from schoolid.accounts.services import attempt_succeeded
from schoolid.audit.services import record_event

BACKEND = "schoolid.accounts.backends.AccountBackend"


def _store(session_key: str | None = None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def issue_token(request, account: Account, amr: list[str]):
    """Finish an API sign-in: a fresh server-side session whose key is the bearer token."""
    from schoolid.flows.login import Outcome

    now = int(time.time())
    store = _store()
    store.update({SESSION_KEY: str(account.pk), BACKEND_SESSION_KEY: BACKEND, HASH_SESSION_KEY: account.get_session_auth_hash(),
                  "auth_at": now, "seen_at": now, "amr": amr, "api": True})
    store.create()
    from schoolid.accounts import sessions

    sessions.index(account, store.session_key, request)
    attempt_succeeded(account, last_login=True)
    record_event("signin", "success", actor=account, target=account, request=request, detail={"factor": "+".join(amr), "client": "api"})
    outcome = Outcome("ok", account=account)
    outcome.token = store.session_key
    return outcome


class SessionToken(HttpBearer):
    """Bearer authentication with a session token; enforces the same idle and absolute timeouts."""

    def authenticate(self, request, token):
        if not token or len(token) > 64:
            return None
        store = _store(token)
        data = store.load()
        account = Account.objects.filter(pk=data.get(SESSION_KEY)).first() if data.get(SESSION_KEY) else None
        if account is None or not account.is_active or not constant_time_compare(data.get(HASH_SESSION_KEY, ""), account.get_session_auth_hash()):
            return None
        now = int(time.time())
        if now - data.get("auth_at", 0) > settings.SESSION_ABSOLUTE_SECONDS or now - data.get("seen_at", 0) > settings.SESSION_IDLE_SECONDS:
            store.delete(token)
            return None
        if now - data.get("seen_at", 0) >= 60:
            store["seen_at"] = now
            store.save()
            from schoolid.accounts import sessions

            sessions.touch_key(token, request)
        request.user = account
        request.token_session = store
        return account


def end_token(request) -> None:
    store = getattr(request, "token_session", None)
    if store is not None:
        from schoolid.accounts import sessions

        sessions.mark_ended(session_key=store.session_key)
        store.delete()
        record_event("signout", "success", actor=request.user, target=request.user, request=request, detail={"client": "api"})
