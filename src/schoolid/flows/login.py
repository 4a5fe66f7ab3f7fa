"""The sign-in flow: a first factor (chosen password or issued one-time secret), then what the
account still owes before a session is issued — a new password after a one-time secret or on
evidence of compromise, and a second factor for staff (enrolled at the first staff sign-in).

Until every step is done the browser holds only a pending flow in its anonymous session; `finish`
issues the real session with a new id.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction

from schoolid.accounts import throttle
from schoolid.accounts.models import STAFF_ROLES, Account
from schoolid.accounts.passwords import requires_second_factor
from schoolid.accounts.selectors import find_account_by_identifier, identifier_key
from schoolid.accounts.services import (
    attempt_failed,
    attempt_succeeded,
    reserve_attempt,
    set_password,
    signed_in,
    throttled_answer,
)
from schoolid.audit.services import client_ip, record_event
from schoolid.core.profiles import current_profile
from schoolid.credentials import totp
from schoolid.credentials.models import IssuedSecret
from schoolid.credentials.services import mark_link_used, mark_secret_used, matching_secret

FLOW_KEY = "login_flow"
# "idp_mfa": a national provider's multi-factor sign-in that meets the profile's level (issue 16).
SECOND_FACTORS = frozenset({"totp", "recovery_code", "idp_mfa"})
FLOW_SECONDS = 10 * 60

# Steps a pending flow can be at.
NEW_PASSWORD, SECOND_FACTOR, ENROL_SECOND_FACTOR, RECOVERY_CODES = "new_password", "second_factor", "enrol_second_factor", "recovery_codes"
STEP_URLS = {NEW_PASSWORD: "signin-new-password", SECOND_FACTOR: "signin-second-factor", ENROL_SECOND_FACTOR: "signin-enrol", RECOVERY_CODES: "signin-recovery-codes"}


@dataclass
class Outcome:
    # "ok" (signed in), "next_step" (see `step`), "invalid", "throttled", "locked"
    kind: str
    step: str | None = None
    account: Account | None = None
    retry_after: int = 0


# --- equal cost for every answer -----------------------------------------------------------------
_DUMMY: dict[str, str] = {}


def _dummy_verify(password: str) -> None:
    key = f"{settings.ARGON2_MEMORY_KIB}:{settings.ARGON2_TIME_COST}:{settings.ARGON2_PARALLELISM}"
    if key not in _DUMMY:
        _DUMMY[key] = make_password("schoolid-timing-equaliser")
    check_password(password, _DUMMY[key])


def _phantom(request, key: str, password: str, reason: str, account: Account | None) -> Outcome:
    """An identifier with no usable account: cost, throttling and answer as for a wrong password,
    counted like an account's failures (reserved before the check, shared by every worker)."""
    reserved, failures, wait = throttle.phantom_reserve(key)
    if not reserved:
        failures, until = throttle.phantom_state(key)
        if failures >= settings.LOGIN_LOCK_LIMIT:
            return Outcome("locked")
        return Outcome("throttled", retry_after=max(1, throttle.seconds_left(until)))
    _dummy_verify(password)
    throttle.ip_failure(client_ip(request))
    record_event("signin.password", "failure", target=account, request=request, detail={"reason": reason, "factor": "password"})
    if failures >= settings.LOGIN_LOCK_LIMIT:
        return Outcome("locked")
    return Outcome("throttled" if wait else "invalid", retry_after=wait)


# --- the first factor ----------------------------------------------------------------------------
def sign_in_with_password(request, identifier: str, password: str, *, account: Account | None = None, via_link=None) -> Outcome:
    """Check a password or a one-time secret typed for `identifier` (or for `account`, chosen by a
    QR sign-in link). Throttled per account; one answer for unknown and wrong."""
    wait = throttle.ip_blocked_for(client_ip(request))
    if wait:
        record_event("signin.ip_throttled", "denied", request=request, detail={"factor": "password"})
        return Outcome("throttled", retry_after=wait)

    key = identifier_key(identifier) if account is None else f"account:{account.pk}"
    account = account or find_account_by_identifier(identifier)
    if account is None or account.status == Account.Status.DISABLED:
        return _phantom(request, key, password, "unknown_identifier" if account is None else "status_disabled", account)
    if account.status == Account.Status.LOCKED:
        record_event("signin.password", "denied", target=account, request=request, detail={"reason": "locked", "factor": "password"})
        return Outcome("locked")
    if account.status == Account.Status.NOT_ACTIVATED and not account.issued_secrets.filter(used_at__isnull=True, revoked_at__isnull=True).exists():
        return _phantom(request, key, password, "status_not_activated", account)

    reserved, failures, wait = reserve_attempt(account)
    if not reserved:
        kind, retry_after = throttled_answer(account, request=request, factor="password")
        return Outcome(kind, retry_after=retry_after)

    factor, secret = None, None
    if account.has_usable_password():
        if check_password(password, account.password):
            factor = "pwd"
    else:
        _dummy_verify(password)
    if factor is None:
        secret = matching_secret(account, password)
        factor = "issued_secret" if secret else None
    if factor is None:
        if attempt_failed(account, failures, request=request, factor="password"):
            return Outcome("locked")
        return Outcome("throttled" if wait else "invalid", retry_after=wait)

    if via_link is not None:
        mark_link_used(via_link)
    return _advance(request, account, amr=[factor], secret=secret)


# --- what the account still owes -----------------------------------------------------------------
def _advance(request, account: Account, *, amr: list[str], secret: IssuedSecret | None = None) -> Outcome:
    profile = current_profile()
    flow = {"account": account.pk, "amr": amr, "started": int(time.time()), "secret": secret.pk if secret else None}
    if (secret is not None and secret.forces_change) or account.must_change_password:
        return _pending(request, flow, NEW_PASSWORD, account)
    if secret is not None:
        mark_secret_used(secret)
    needs = getattr(account, "needs_second_factor", None)
    if needs is None:
        needs = requires_second_factor(account._active_roles(), profile)
    if needs and not SECOND_FACTORS & set(amr):
        step = SECOND_FACTOR if totp.confirmed_device(account) else ENROL_SECOND_FACTOR
        return _pending(request, flow, step, account)
    return finish(request, account, amr)


def after_first_factor(request, account: Account, *, amr: list[str], second_factor_met: bool = False) -> Outcome:
    """Another journey proved the first factor (a national provider, issue 16): the account's remaining
    steps follow as after a password. `second_factor_met`: the proof itself was multi-factor."""
    return _advance(request, account, amr=amr + (["idp_mfa"] if second_factor_met else []))


def _pending(request, flow: dict, step: str, account: Account) -> Outcome:
    if flow.get("step") is None:
        # The first factor passed but the flow is not done: the failure count starts again here.
        attempt_succeeded(account)
        record_event("signin.first_factor", "success", target=account, request=request, detail={"factor": "+".join(flow["amr"])})
    flow["step"] = step
    request.session[FLOW_KEY] = flow
    return Outcome("next_step", step=step, account=account)


def pending_flow(request, step: str) -> tuple[dict, Account] | None:
    """The pending flow if it is at `step` and not expired."""
    flow = request.session.get(FLOW_KEY)
    if not flow or flow.get("step") != step or time.time() - flow.get("started", 0) > FLOW_SECONDS:
        return None
    account = Account.objects.select_related("person").filter(pk=flow["account"]).first()
    if account is None or account.status in (Account.Status.DISABLED, Account.Status.LOCKED):
        return None
    return flow, account


def choose_new_password(request, flow: dict, account: Account, new_password: str) -> Outcome:
    """Callers check the policy first. The one-time secret is spent; the old password is gone."""
    set_password(account, new_password)
    if flow.get("secret"):
        secret = IssuedSecret.objects.filter(pk=flow["secret"]).first()
        if secret is not None:
            mark_secret_used(secret)
    record_event("password.set_after_issue" if flow.get("secret") else "password.changed_on_signin", "success", actor=account, target=account, request=request)
    request.session.pop(FLOW_KEY, None)
    return _advance(request, account, amr=flow["amr"] + ["new_pwd"], secret=None)


def check_second_factor(request, flow: dict, account: Account, code: str) -> Outcome:
    reserved, failures, wait = reserve_attempt(account)
    if not reserved:
        kind, retry_after = throttled_answer(account, request=request, factor="totp")
        return Outcome(kind, retry_after=retry_after)
    device = totp.confirmed_device(account)
    factor = None
    if device is not None and totp.verify_totp(device, code):
        factor = "totp"
    elif totp.use_recovery_code(account, code):
        factor = "recovery_code"
    if factor is None:
        if attempt_failed(account, failures, request=request, factor="totp"):
            return Outcome("locked")
        return Outcome("throttled" if wait else "invalid", retry_after=wait)
    attempt_succeeded(account)
    return finish(request, account, flow["amr"] + [factor])


def finish(request, account: Account, amr: list[str]) -> Outcome:
    """Issue the session: a new session id (ASVS v5 7.2.4), nothing kept from before but the language.
    The audit event is written before the session exists."""
    request.session.pop(FLOW_KEY, None)
    now = int(time.time())
    # One unit: the session is stored here, not after the view, so that if the session store does not
    # answer (Redis down) the success is not recorded either and the person is simply not signed in.
    with transaction.atomic():
        signed_in(account, request=request, factor="+".join(amr))
        login(request, account, backend="schoolid.accounts.backends.AccountBackend")
        request.session.update({"auth_at": now, "seen_at": now, "amr": amr})
        request.session.save()  # the middleware writes it once more with the cookie; one round trip
    return Outcome("ok", account=account)


def passed_second_factor(request) -> bool:
    """Whether this session's sign-in included a second factor."""
    return bool(SECOND_FACTORS & set(request.session.get("amr", [])))


def is_staff_session(request) -> bool:
    """A staff member, signed in with a second factor: what the console, its API and /admin/ require."""
    user = request.user
    return user.is_authenticated and bool(user._active_roles() & STAFF_ROLES) and passed_second_factor(request)


def sign_out(request) -> None:
    user = request.user if request.user.is_authenticated else None
    # logout() flushes the session: its row is deleted on the server, so the old cookie is worthless.
    logout(request)
    if user is not None:
        record_event("signout", "success", actor=user, target=user, request=request)
