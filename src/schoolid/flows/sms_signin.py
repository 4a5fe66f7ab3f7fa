"""Sign-in by SMS code (seed 001, the Israeli parents' portal): national ID → "Send me an SMS" → the
6-digit code sent to the verified mobile → signed in.

Only accounts whose every role accepts a single factor may use it (profile `sms_sign_in_roles`, parents
by default; staff never, security requirements C3). The page answers the same whether or not the ID
exists. Sending is limited per identifier, per number and per address; wrong codes count towards the
account's sign-in throttle, and asking for a new code does not reset that count (NIST §3.1.3.2).
"""
from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolid.accounts import throttle
from schoolid.accounts.models import Account
from schoolid.accounts.selectors import identifier_key
from schoolid.accounts.services import attempt_failed, reserve_attempt, throttled_answer
from schoolid.audit.services import client_ip, record_event
from schoolid.core.numerals import keep
from schoolid.core.profiles import current_profile
from schoolid.directory.national_ids import SCHEMES, InvalidNationalId
from schoolid.flows import kernel, limits
from schoolid.flows.codes import CODE_SECONDS, code_mac, new_code, spend_code  # noqa: F401 - journeys import them from here too
from schoolid.flows.models import Flow
from schoolid.notify.services import enqueue

FLOW_SESSION_KEY = "sms_signin_flow"
PURPOSE = "signin"


def sending_allowed(request, key: str, mobile: str | None) -> bool:
    return limits.sending_allowed(request, "sms", key, mobile)


def eligible(account: Account | None) -> bool:
    if account is None or account.status != Account.Status.ACTIVE or account.person is None:
        return False
    roles = account._active_roles()
    allowed = set(current_profile().sms_sign_in_roles)
    return bool(roles) and roles <= allowed and bool(account.person.mobile) and account.person.mobile_verified


def find_by_national_id(raw: str) -> Account | None:
    scheme = SCHEMES[current_profile().national_id_scheme]
    try:
        number = scheme.normalize(raw)
    except InvalidNationalId:
        return None
    return Account.objects.select_related("person").filter(person__national_id_scheme=scheme.code, person__national_id=number).first()


@limits.answer_in_equal_time
def start(request, national_id: str) -> bool:
    """Start a flow and send a code if the ID belongs to an eligible account. Returns False only when
    this identifier or address asked too often (the same answer whether or not the ID exists)."""
    key = identifier_key(national_id)
    account = find_by_national_id(national_id)
    ok_account = eligible(account)
    if not sending_allowed(request, key, account.person.mobile if ok_account else None):
        record_event("signin.sms_code", "denied", target=account, request=request, detail={"reason": "send_limit"})
        return False
    now = timezone.now()
    with transaction.atomic():
        flow = kernel.start(Flow.Kind.SMS_SIGNIN, Flow.State.CODE_SENT, account=account if ok_account else None, identifier_key=key,
                            expires_at=now + datetime.timedelta(seconds=CODE_SECONDS))
        if ok_account:
            code = new_code(flow, PURPOSE)
            from django.utils import translation

            with translation.override(account.preferred_language or current_profile().default_language):
                text = str(_("SchoolID sign-in code: %(code)s. It works for 10 minutes. Never give it to anyone.") % {"code": keep(code)})
            enqueue(channel="sms", to=account.person.mobile, subject="", body=text, purpose="signin.sms_code", dedupe_key=f"sms_signin:{flow.pk}")
            record_event("signin.sms_code", "success", target=account, request=request, detail={"flow": str(flow.pk)})
        else:
            record_event("signin.sms_code", "failure", target=account, request=request, detail={"reason": "not_eligible" if account else "unknown_identifier"})
    request.session[FLOW_SESSION_KEY] = str(flow.pk)
    return True


def current_flow(request) -> Flow | None:
    # The flow may outlive its code: an expired code is refused by spend_code, counted as wrong.
    return kernel.find(Flow.Kind.SMS_SIGNIN, request.session.get(FLOW_SESSION_KEY), states=(Flow.State.CODE_SENT,), expired_ok=True)


def verify(request, flow: Flow, typed: str, complete=None):
    """Check a typed code for this flow. Returns an Outcome of the sign-in flow; `complete` issues the
    session (a browser session by default, a session token for the API)."""
    from schoolid.flows.login import Outcome, finish

    complete = complete or finish

    account = flow.account
    if account is None:
        # No code was sent: any code is wrong, throttled like a real account.
        reserved, failures, wait = throttle.phantom_reserve(flow.identifier_key)
        if not reserved:
            failures, until = throttle.phantom_state(flow.identifier_key)
            return Outcome("locked") if failures >= settings.LOGIN_LOCK_LIMIT else Outcome("throttled", retry_after=max(1, throttle.seconds_left(until)))
        throttle.ip_failure(client_ip(request))
        record_event("signin.sms_code", "failure", request=request, detail={"reason": "no_code_sent"})
        if failures >= settings.LOGIN_LOCK_LIMIT:
            return Outcome("locked")
        return Outcome("throttled" if wait else "invalid", retry_after=wait)
    reserved, failures, wait = reserve_attempt(account)
    if not reserved:
        kind, retry_after = throttled_answer(account, request=request, factor="sms_code")
        return Outcome(kind, retry_after=retry_after)
    if not spend_code(flow, typed, PURPOSE):
        if attempt_failed(account, failures, request=request, factor="sms_code"):
            return Outcome("locked")
        return Outcome("throttled" if wait else "invalid", retry_after=wait)
    kernel.move(flow, Flow.State.DONE)
    request.session.pop(FLOW_SESSION_KEY, None)
    return complete(request, account, ["sms"])
