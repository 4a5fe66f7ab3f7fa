"""Recovery (seeds 003 and 004): what is needed (the login, a new password, or both) → an identifier
(e-mail, mobile, national ID or login) → proof through a verified contact: an e-mail link or an SMS
code → a new password typed twice under the policy. The success page does not sign in; every contact
point gets a notice with a way to say "this wasn't me". A locked account is unlocked by recovery.
The answers are the same whether or not an account matches (security requirements §3).

Whoever proves the contact owns the rest of the flow: the proof (opening the link, typing the code)
hands the prover a fresh binding secret, only its hash kept on the flow, and the question, the login
and the new password need that secret. The starter's session or flow id gains nothing from a proof
made elsewhere (issue 11 item 1)."""
from __future__ import annotations

import hmac

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from schoolid.accounts import throttle
from schoolid.accounts.models import Account
from schoolid.accounts.selectors import identifier_key, login_identifier_for
from schoolid.accounts.services import attempt_failed, reserve_attempt, set_password, throttled_answer, unlock
from schoolid.accounts.user_codes import normalize_user_code
from schoolid.audit.services import client_ip, record_event
from schoolid.core.digits import clean_text
from schoolid.core.numerals import keep
from schoolid.core.profiles import current_profile
from schoolid.credentials.generators import new_link_token, token_digest
from schoolid.directory.phones import InvalidPhone, normalize_phone
from schoolid.flows import kernel, limits, links
from schoolid.flows.activation import link_seconds  # noqa: F401 - used by the views too
from schoolid.flows.models import Flow
from schoolid.flows.sms_signin import CODE_SECONDS, find_by_national_id, new_code, spend_code
from schoolid.notify.services import enqueue, notify_person

PURPOSE = "recovery"
NEEDS = ("login", "password", "both")
FLOW_SESSION_KEY = "recovery_flow"
BINDING_SESSION_KEY = "recovery_binding"


def enabled() -> bool:
    methods = current_profile().recovery_methods
    return "email_link" in methods or "sms_code" in methods


def _find(identifier: str) -> tuple[Account | None, str]:
    """The account and the kind of identifier typed."""
    value = clean_text(identifier)
    accounts = Account.objects.select_related("person").exclude(status=Account.Status.DISABLED)
    if "@" in value:
        return accounts.filter(person__email=value.lower(), person__email_verified=True).first(), "email"
    code = normalize_user_code(value)
    if code:
        return accounts.filter(user_code=code).first(), "user_code"
    account = find_by_national_id(value)
    if account is not None:
        return (account if account.status != Account.Status.DISABLED else None), "national_id"
    try:
        mobile = normalize_phone(value, current_profile().phone_region)
    except InvalidPhone:
        return None, "unknown"
    return accounts.filter(person__mobile=mobile, person__mobile_verified=True).first(), "mobile"


def _channel(account: Account | None, typed_kind: str) -> str | None:
    """E-mail link or SMS code, through a verified contact the profile allows."""
    if account is None or account.person is None:
        return None
    methods = current_profile().recovery_methods
    person = account.person
    email_ok = "email_link" in methods and person.email and person.email_verified
    sms_ok = "sms_code" in methods and person.mobile and person.mobile_verified
    if typed_kind == "mobile" and sms_ok:
        return "sms"
    if email_ok:
        return "email"
    return "sms" if sms_ok else None


@limits.answer_in_equal_time
def start(request, need: str, identifier: str) -> bool:
    """Send the proof if an account matches; False only when sending was asked too often. A request
    never locks or changes the account (FP-CS "Account Lockout")."""
    key = identifier_key(identifier)
    account, typed_kind = _find(identifier)
    channel = _channel(account, typed_kind)
    destination = None if channel is None else (account.person.email if channel == "email" else account.person.mobile)
    # The identifier and the address are limited with a 429 (counted alike for unknown identifiers);
    # a busy contact (e-mail, mobile, national ID and user code all reach it) answers as sent but gets
    # nothing more, so the 429 never links two identifiers to one person.
    if not limits.sending_allowed(request, "recovery", key, None):
        record_event("recovery.requested", "denied", target=account, request=request, detail={"reason": "send_limit"})
        return False
    if destination is not None and not limits.destination_allowed("recovery", destination):
        record_event("recovery.requested", "denied", target=account, request=request, detail={"reason": "destination_limit"})
        channel, account = None, None
    seconds = link_seconds() if channel == "email" else CODE_SECONDS
    with transaction.atomic():
        flow = kernel.start(Flow.Kind.RECOVERY, Flow.State.LINK_SENT if channel == "email" else Flow.State.CODE_SENT,
                            account=account if channel else None, identifier_key=key, need=need, seconds=seconds)
        request.session[FLOW_SESSION_KEY] = str(flow.pk)
        if channel is None:
            record_event("recovery.requested", "failure", target=account, request=request, detail={"reason": "no_verified_contact" if account else "unknown_identifier"})
            return True
        language = account.preferred_language or current_profile().default_language
        with translation.override(language):
            if channel == "email":
                token = links.issue(flow, PURPOSE, flow.expires_at)
                link = f"{settings.BASE_URL}/recover/link/{token}/"
                subject = str(_("Recover your SchoolID account"))
                body = str(_("Someone asked to recover this SchoolID account. To continue, open this link (it works once, for %(minutes)d minutes):\n%(link)s\n\nIf it was not you, ignore this e-mail: nothing changes.") % {"minutes": seconds // 60, "link": link})
                enqueue(channel="email", to=destination, subject=subject, body=body, purpose="recovery.link", dedupe_key=f"recovery:{flow.pk}")
            else:
                code = new_code(flow, PURPOSE)
                text = str(_("SchoolID recovery code: %(code)s. It works for 10 minutes. Never give it to anyone.") % {"code": keep(code)})
                enqueue(channel="sms", to=destination, subject="", body=text, purpose="recovery.code", dedupe_key=f"recovery:{flow.pk}")
        record_event("recovery.requested", "success", target=account, request=request, detail={"channel": channel, "need": need})
    return True


def current_flow(request) -> Flow | None:
    return kernel.find(Flow.Kind.RECOVERY, request.session.get(FLOW_SESSION_KEY))


def prove_by_code(request, flow: Flow, typed: str) -> tuple[str, int]:
    """("ok" | "invalid" | "throttled" | "locked", retry_after). Wrong codes count per account."""
    account = flow.account
    # Each flow allows a few guesses whatever the account's state, so a locked account's recovery
    # code cannot be guessed at leisure.
    if limits.count(f"recovery:tries:{flow.pk}", CODE_SECONDS) > settings.RECOVERY_CODE_TRIES:
        return "throttled", CODE_SECONDS
    if account is None:
        reserved, failures, wait = throttle.phantom_reserve(flow.identifier_key)
        if not reserved:
            failures, until = throttle.phantom_state(flow.identifier_key)
            return ("locked", 0) if failures >= settings.LOGIN_LOCK_LIMIT else ("throttled", max(1, throttle.seconds_left(until)))
        throttle.ip_failure(client_ip(request))
        if failures >= settings.LOGIN_LOCK_LIMIT:
            return "locked", 0
        return ("throttled" if wait else "invalid"), wait
    reserved, failures, wait = reserve_attempt(account)
    if not reserved and account.status != Account.Status.LOCKED:
        return throttled_answer(account, request=request, factor="recovery_code")
    if not spend_code(flow, typed, PURPOSE):
        # A locked account can still be recovered (FP-CS), but the codes stay throttled.
        if reserved and attempt_failed(account, failures, request=request, factor="recovery_code"):
            return "locked", 0
        return ("throttled" if wait else "invalid"), wait
    _proven(request, flow, "sms")
    return "ok", 0


def _proven(request, flow: Flow, channel: str) -> str:
    """The contact is proven. Under the legacy option, a security question follows (never replaces it).
    The prover gets a fresh binding secret (in this session, and returned for API clients)."""
    from schoolid.accounts import security_questions

    state = Flow.State.PROVEN
    if security_questions.enabled() and security_questions.SecurityAnswer.objects.filter(account=flow.account).exists():
        state = Flow.State.NEEDS_ANSWER
    binding = new_link_token()
    data = {**flow.data, "binding": token_digest(binding)}
    kernel.move(flow, state, data=data)
    flow.state, flow.data = state, data
    request.session[FLOW_SESSION_KEY] = str(flow.pk)
    request.session[BINDING_SESSION_KEY] = binding
    record_event("recovery.proven", "success", target=flow.account, request=request, detail={"channel": channel})
    return binding


def holds_proof(flow: Flow, binding: str | None) -> bool:
    """Whether `binding` is the secret handed to whoever proved this flow's contact."""
    expected = (flow.data or {}).get("binding")
    return bool(expected and binding) and hmac.compare_digest(expected, token_digest(binding))


def proven_flow(request) -> Flow | None:
    """This browser's flow, only if this browser proved it (link opened or code typed here)."""
    flow = current_flow(request)
    if flow is None or not holds_proof(flow, request.session.get(BINDING_SESSION_KEY)):
        return None
    return flow


def answer_question(request, flow: Flow, raw: str) -> tuple[str, int]:
    """The legacy extra step: the same question until answered; wrong answers count as failed sign-ins."""
    from schoolid.accounts import security_questions

    account = flow.account
    reserved, failures, wait = reserve_attempt(account)
    if not reserved and account.status != Account.Status.LOCKED:
        return throttled_answer(account, request=request, factor="security_answer")
    answer = security_questions.SecurityAnswer.objects.filter(account=account).first()
    if answer is None or not answer.matches(raw):
        if reserved and attempt_failed(account, failures, request=request, factor="security_answer"):
            return "locked", 0
        return ("throttled" if wait else "invalid"), wait
    kernel.move(flow, Flow.State.PROVEN, only_from=(Flow.State.NEEDS_ANSWER,))
    flow.state = Flow.State.PROVEN
    record_event("recovery.security_answer", "success", target=account, request=request)
    return "ok", 0


def prove_by_link(request, raw_token: str) -> Flow | None:
    """Spend an e-mailed link: the flow becomes this browser's (or API client's), proven, and only its."""
    link = links.spend_raw(raw_token, PURPOSE, flow__account__isnull=False)
    if link is None:
        return None
    flow = link.flow
    _proven(request, flow, "email")
    return flow


def login_of(flow: Flow) -> tuple[str, str]:
    return login_identifier_for(flow.account)


def complete(request, flow: Flow, new_password: str | None) -> bool:
    """Finish: a new password if asked (all sessions end, the account is unlocked), notices everywhere.
    False when the flow was already finished: the proof is spent once, also by parallel requests."""
    account = flow.account
    with transaction.atomic():
        # One conditional UPDATE first: of parallel finishes with one binding, one moves the flow (NIST §4.2.1.2).
        if not kernel.move(flow, Flow.State.DONE, only_from=(Flow.State.PROVEN,)):
            return False
        if new_password is not None:
            set_password(account, new_password)
            unlock([account.pk])
        event = record_event("recovery.completed", "success", actor=account, target=account, request=request, detail={"need": flow.need})
        notify_person(
            account.person,
            purpose="recovery.completed",
            subject=_("Your SchoolID account was recovered"),
            text=_("Your SchoolID account was just recovered (the login was shown or the password was changed). If this wasn't you, tell your school at once: they can lock the account and give you a new password."),
            dedupe_key=f"recovery.completed:{event.pk}",
            language=account.preferred_language or None,
        )
    # Nothing of the recovery stays in the browser, and no signed-in session is made (FP-CS).
    request.session.flush()
    return True
