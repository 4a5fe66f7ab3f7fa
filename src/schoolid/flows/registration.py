"""Parent self-registration (seed 001, Israel's parents' portal), where the country profile lists
"self_registration" among its credential issuers.

identity (national ID, names, birth date) → contact (e-mail and mobile, each proven by a 6-digit code)
→ "Your account is being created…" → an SMS when it is done and an e-mail with the permanent user code
and a set-password link → on the link: the ID number again, a password under the policy (and the
security question only under the profile's legacy option) → "Your details were saved" and an e-mail
confirming it, with the user code.

Rules:
- Never a duplicate: a person the register already knows keeps their one Person and one Account. A
  not-yet-activated account of a guardian (or of a pupil over the age threshold) is activated when the
  typed names and birth date match the register and, where the register holds an e-mail or mobile for
  them, one of the proven contacts is that one. Anything else (an account in use, staff, details that
  do not match) gets the same page as a new registration, nothing is sent to the typed contacts, and
  the owner is told (ASVS v5 6.3.8, FP-CS: no account enumeration).
- Under the profile's age threshold nobody registers alone: a parent gives the child access from the
  family page (issue 6 item 5). The typed birth date decides, and it must match the register.
- Codes: 6 digits, 10 minutes, bound to this flow and to one purpose, only an HMAC stored; wrong codes
  are counted per flow (SCHOOLID_RECOVERY_CODE_TRIES) and per national ID with growing delays; asking for
  new codes does not reset either count (NIST §3.1.3.2). Sending is limited per national ID,
  destination and address (flows/limits.py). Wrong codes never count on an existing account's sign-in
  throttle: the codes go to contacts the registrant typed, so they must not let anyone lock an account.
- The set-password link: ≥ 256 random bits, only its SHA-256 stored, single use, 1 h by default (≤ 24 h),
  from SCHOOLID_BASE_URL. Finishing never signs in (FP-CS).
- The user code is generated once and never changes (accounts.models guard and a database trigger).
- Every step writes an audit event ("registration.*").
"""
from __future__ import annotations

import datetime
import hmac
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from schoolid.accounts import throttle
from schoolid.accounts.models import Account, Role
from schoolid.accounts.selectors import identifier_key, login_identifier_for
from schoolid.accounts.services import create_account, set_password
from schoolid.audit.services import client_ip, record_event
from schoolid.core import counters
from schoolid.core.digits import ascii_digits, clean_text
from schoolid.core.numerals import keep
from schoolid.core.profiles import Profile, current_profile
from schoolid.directory.models import Person
from schoolid.directory.national_ids import SCHEMES
from schoolid.directory.services import (
    PersonInput,
    RegisterError,
    build_person,
    normalize_email,
    normalize_mobile,
    normalize_national_id_for_profile,
    set_verified_contact,
)
from schoolid.directory.text import search_key
from schoolid.flows import codes, kernel, limits, links
from schoolid.flows.activation import link_seconds
from schoolid.flows.age_rules import age_on
from schoolid.flows.models import Flow, LinkToken
from schoolid.flows.sms_signin import CODE_SECONDS, spend_code
from schoolid.notify.services import enqueue

FLOW_SESSION_KEY = "registration_flow"
SAVED_SESSION_KEY = "registration_saved"
EMAIL_CODE, MOBILE_CODE, LINK_PURPOSE = "registration_email", "registration_mobile", "registration"
# The whole journey up to the proven contacts; each code lives 10 minutes within it.
FLOW_SECONDS = 60 * 60
# Roles whose not-yet-activated account a registration may activate; never staff.
ACTIVATABLE_ROLES = frozenset({Role.GUARDIAN, Role.STUDENT})
# Wrong ID numbers allowed on one set-password link before it stops working.
LINK_ID_TRIES = 5


def enabled(profile: Profile | None = None) -> bool:
    return "self_registration" in (profile or current_profile()).credential_issuers


# --- step 1: identity ------------------------------------------------------------------------------
_DATE_FORMATS = (
    (re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[-./](\d{1,2})[-./](\d{4})$"), ("d", "m", "y")),
)


def parse_birth_date(raw: str) -> datetime.date:
    """A birth date typed as YYYY-MM-DD (what a date field sends) or DD.MM.YYYY, in any digits."""
    value = "".join(ascii_digits(clean_text(raw or "")).split())
    if not value:
        raise RegisterError("birth_date", _("Enter your birth date."))
    for pattern, order in _DATE_FORMATS:
        match = pattern.match(value)
        if match:
            parts = dict(zip(order, (int(g) for g in match.groups())))
            try:
                return datetime.date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                break
    raise RegisterError("birth_date", _("This is not a real date. Type it as DD.MM.YYYY, for example 23.04.1985."))


def check_identity(*, national_id: str, given_name: str, family_name: str, birth_date: str, profile: Profile | None = None) -> dict:
    """The identity step's data, normalised, or RegisterError naming the field and the reason (the
    national ID scheme's own reasons: length, check digit, …)."""
    profile = profile or current_profile()
    scheme, number = normalize_national_id_for_profile(national_id, profile.national_id_scheme)
    given, family = clean_text(given_name or ""), clean_text(family_name or "")
    if not given:
        raise RegisterError("given_name", _("The name is empty."))
    if not family:
        raise RegisterError("family_name", _("The name is empty."))
    if len(given) > 100 or len(family) > 100:
        raise RegisterError("given_name" if len(given) > 100 else "family_name", _("The name is too long: at most 100 characters."))
    birth = parse_birth_date(birth_date)
    today = timezone.localdate()
    if birth > today or age_on(birth, today) > 120:
        raise RegisterError("birth_date", _("This birth date cannot be right. Check the year."))
    from_id = SCHEMES[scheme].birth_date(number)
    if from_id and from_id != birth:
        raise RegisterError("birth_date", _("The birth date does not match the national ID."))
    if age_on(birth, today) < profile.age_threshold:
        # Issue 6 item 5: a child under the threshold does not register alone.
        raise RegisterError("birth_date", _("Children under %(age)d cannot register themselves. A parent gives them access from the Family page of the parent's own SchoolID account.") % {"age": profile.age_threshold})
    return {"scheme": scheme, "national_id": number, "given_name": given, "family_name": family, "birth_date": birth.isoformat()}


def starting_allowed(request) -> bool:
    """Starting sends nothing, but each start stores a flow: one address may start only so many."""
    allowed = limits.count(f"registration:start:ip:{client_ip(request)}", settings.SMS_SEND_WINDOW_SECONDS) <= settings.SMS_SEND_LIMIT * 4
    if not allowed:
        record_event("registration.started", "denied", request=request, detail={"reason": "start_limit"})
    return allowed


def forget_abandoned() -> int:
    """Registrations left before their end keep no personal data past their expiry (ASVS v5 14.2.7)."""
    return kernel.close_expired(Flow.Kind.REGISTRATION, [Flow.State.STARTED, Flow.State.CODE_SENT], data={})


def start(request, identity: dict) -> Flow:
    """Begin a registration; the browser holds only the flow id, in its session."""
    forget_abandoned()
    flow = kernel.start(
        Flow.Kind.REGISTRATION, Flow.State.STARTED, identifier_key=identifier_key(identity["national_id"]),
        data={**identity, "language": translation.get_language() or current_profile().default_language}, seconds=FLOW_SECONDS,
    )
    request.session[FLOW_SESSION_KEY] = str(flow.pk)
    record_event("registration.started", "success", request=request, detail={"flow": str(flow.pk)})
    return flow


def current_flow(request, *states: str) -> Flow | None:
    flow_id = request.session.get(FLOW_SESSION_KEY)
    if not flow_id:
        return None
    flows = kernel.live(Flow.Kind.REGISTRATION, pk=flow_id)
    if states:
        flows = flows.filter(state__in=states)
    return flows.first()


# --- step 2: contact, each proven by a code ---------------------------------------------------------
# The code lives 10 minutes even though the flow lives longer.
_new_code = codes.new_short_code


def send_codes(request, flow: Flow, *, email: str, mobile: str, resend: bool = False) -> str:
    """Send a code to the e-mail and one to the mobile (only to those not proven yet).

    "sent", "unchanged" (a double submit: the codes already went out) or "too_many". RegisterError
    for an address or number that cannot be right."""
    email, mobile = normalize_email(email), normalize_mobile(mobile)
    if not email:
        raise RegisterError("email", _("Enter your e-mail address."))
    if not mobile:
        raise RegisterError("mobile", _("Enter your mobile number."))
    data = dict(flow.data)
    same = data.get("email") == email and data.get("mobile") == mobile
    if same and flow.state == Flow.State.CODE_SENT and not resend:
        return "unchanged"
    if not same:
        data.update({"email": email, "mobile": mobile, "email_ok": False, "mobile_ok": False})
    need_email, need_mobile = not data.get("email_ok"), not data.get("mobile_ok")
    allowed = limits.sending_allowed(request, "registration_email", flow.identifier_key, email if need_email else None)
    allowed = limits.sending_allowed(request, "registration_sms", flow.identifier_key, mobile if need_mobile else None) and allowed
    if not allowed:
        record_event("registration.codes_sent", "denied", request=request, detail={"flow": str(flow.pk), "reason": "send_limit"})
        return "too_many"
    with transaction.atomic():
        # A new code replaces the old one of the same purpose.
        codes.void(flow, [EMAIL_CODE, MOBILE_CODE])
        number = flow.codes.count()
        with translation.override(data.get("language") or current_profile().default_language):
            if need_email:
                code = _new_code(flow, EMAIL_CODE)
                enqueue(channel="email", to=email, subject=str(_("Your SchoolID registration code")),
                        body=str(_("Your code to confirm this e-mail address for SchoolID: %(code)s\n\nIt works for 10 minutes. Never give it to anyone. If you did not start a registration, ignore this e-mail.") % {"code": keep(code)}),
                        purpose="registration.email_code", dedupe_key=f"registration:{flow.pk}:email:{number}")
            if need_mobile:
                code = _new_code(flow, MOBILE_CODE)
                enqueue(channel="sms", to=mobile, subject="", body=str(_("SchoolID registration code: %(code)s. It works for 10 minutes. Never give it to anyone.") % {"code": keep(code)}),
                        purpose="registration.sms_code", dedupe_key=f"registration:{flow.pk}:sms:{number}")
        kernel.move(flow, Flow.State.CODE_SENT, data=data)
        flow.state, flow.data = Flow.State.CODE_SENT, data
        record_event("registration.codes_sent", "success", request=request, detail={"flow": str(flow.pk), "email": need_email, "mobile": need_mobile, "resend": resend})
    return "sent"


def _code_expired(flow: Flow, purpose: str) -> bool:
    return not flow.codes.filter(purpose=purpose, used_at__isnull=True, expires_at__gt=timezone.now()).exists()


def _throttle_key(flow: Flow) -> str:
    return f"registration:{flow.identifier_key}"


@limits.answer_in_equal_time
def verify_codes(request, flow: Flow, *, email_code: str, mobile_code: str) -> tuple[str, int]:
    """Check the typed codes. ("created", 0) once both contacts are proven (the account is then made
    or activated, or the owner told: the same answer); otherwise "invalid", "expired" or "throttled"
    with the seconds to wait. A proven contact stays proven when the other code was wrong."""
    failures, until = throttle.phantom_state(_throttle_key(flow))
    if throttle.seconds_left(until):
        return "throttled", throttle.seconds_left(until)
    tries_key = f"registration:tries:{flow.pk}"
    if counters.peek(tries_key) >= settings.RECOVERY_CODE_TRIES:
        record_event("registration.code", "denied", request=request, detail={"flow": str(flow.pk), "reason": "too_many_tries"})
        return "throttled", CODE_SECONDS
    data = dict(flow.data)
    wrong, expired, missing = [], [], []
    for purpose, key, typed in ((EMAIL_CODE, "email_ok", email_code), (MOBILE_CODE, "mobile_ok", mobile_code)):
        if data.get(key):
            continue
        if not (typed or "").strip():
            missing.append(purpose)
        elif spend_code(flow, typed, purpose):
            data[key] = True
            record_event("registration.contact_proven", "success", request=request, detail={"flow": str(flow.pk), "channel": "email" if purpose == EMAIL_CODE else "sms"})
        else:
            (expired if _code_expired(flow, purpose) else wrong).append(purpose)
    kernel.keep(flow, data=data)
    flow.data = data
    if wrong:
        limits.count(tries_key, FLOW_SECONDS)
        _failures, until = throttle.phantom_failure(_throttle_key(flow))
        throttle.ip_failure(client_ip(request))
        record_event("registration.code", "failure", request=request, detail={"flow": str(flow.pk), "wrong": len(wrong), "expired": len(expired)})
        return ("throttled" if throttle.seconds_left(until) else "invalid"), throttle.seconds_left(until)
    if expired:
        record_event("registration.code", "failure", request=request, detail={"flow": str(flow.pk), "expired": len(expired)})
        return "expired", 0
    if missing:
        return "missing", 0
    create(request, flow)
    return "created", 0


# --- step 3: "your account is being created…" -------------------------------------------------------
def _same_name(a: str, b: str) -> bool:
    return search_key(a) == search_key(b)


def _takeover_refusal(person: Person, account: Account | None, data: dict) -> str | None:
    """Why a registration may not activate this register record's account, or None when it may."""
    if account is not None:
        if account.status != Account.Status.NOT_ACTIVATED or account.has_usable_password():
            return "account_in_use"
        roles = set(account.assignments.current().values_list("role", flat=True))
        if roles - ACTIVATABLE_ROLES:
            return "staff_account"
    if not (_same_name(person.given_name, data["given_name"]) or _same_name(person.given_name_latin, data["given_name"])):
        return "details_differ"
    if not (_same_name(person.family_name, data["family_name"]) or _same_name(person.family_name_latin, data["family_name"])):
        return "details_differ"
    if person.birth_date and person.birth_date.isoformat() != data["birth_date"]:
        return "details_differ"
    known = {c for c in (person.email, person.mobile) if c}
    if known and not known & {data["email"], data["mobile"]}:
        # Only someone who holds a contact the school registered may take over the record.
        return "contact_differs"
    return None


def _tell_owner(person: Person, account: Account | None, flow: Flow, reason: str) -> None:
    """A second registration with this national ID: the owner hears of it, the registrant does not."""
    language = (account.preferred_language if account else "") or current_profile().default_language
    code = account.display_code if account is not None else ""
    with translation.override(language):
        if reason == "account_in_use":
            text = _("Someone tried to register a new SchoolID account with your ID number. You already have an account; your user code is %(code)s. If it was you, sign in, or use \"Forgot your login or password?\" on the sign-in page. If it was not you, your account is unchanged; tell your school if this happens again.") % {"code": keep(code)}
        else:
            text = _("Someone tried to register for SchoolID with your ID number, but the details did not match the school's register, so nothing was changed. If it was you, ask your school to check your details. If it was not you, tell your school.")
        subject, body = str(_("Someone tried to register with your ID number")), str(text)
    if person.email:
        enqueue(channel="email", to=person.email, subject=subject, body=body, purpose="registration.duplicate", dedupe_key=f"registration_duplicate:{flow.pk}:email")
    elif person.mobile and person.mobile_verified:
        enqueue(channel="sms", to=person.mobile, subject="", body=body, purpose="registration.duplicate", dedupe_key=f"registration_duplicate:{flow.pk}:sms")


def _send_link(flow: Flow, data: dict, language: str, expires) -> None:
    """The set-password link by e-mail and the "done" SMS, worded alike whether the account was made or
    the registration refused, so the typed contacts cannot tell a known ID from a new one."""
    token = links.issue(flow, LINK_PURPOSE, expires)
    link = f"{settings.BASE_URL}/register/password/{token}/"
    with translation.override(language or current_profile().default_language):
        enqueue(channel="email", to=data["email"], subject=str(_("Password for SchoolID")),
                body=str(_("To finish your SchoolID registration, set your password here (the link works once, for %(minutes)d minutes; you will be asked for your ID number):\n%(link)s\n\nYour user code is shown when your password is set, and e-mailed to you then.\n\nIf you did not register, ignore this e-mail.") % {"minutes": link_seconds() // 60, "link": link}),
                purpose="registration.link", dedupe_key=f"registration_link:{flow.pk}")
        enqueue(channel="sms", to=data["mobile"], subject="", body=str(_("SchoolID: we e-mailed you a link to finish your registration.")),
                purpose="registration.created", dedupe_key=f"registration_created:{flow.pk}")


def create(request, flow: Flow) -> None:
    """Both contacts are proven: make the account (or activate the register's one), or tell the
    owner. Runs once per flow: a double submit finds the flow no longer at CODE_SENT."""
    with transaction.atomic():
        locked = Flow.objects.select_for_update().filter(pk=flow.pk, state=Flow.State.CODE_SENT).first()
        if locked is None:
            return
        data = locked.data
        if not (data.get("email_ok") and data.get("mobile_ok")):
            return
        now = timezone.now()
        person = Person.objects.select_for_update().filter(national_id_scheme=data["scheme"], national_id=data["national_id"]).first()
        account, refusal, existing = None, None, person is not None
        if person is None:
            built = build_person(PersonInput(national_id=data["national_id"], given_name=data["given_name"], family_name=data["family_name"],
                                             birth_date=datetime.date.fromisoformat(data["birth_date"]), email=data["email"], email_verified=True,
                                             mobile=data["mobile"], mobile_verified=True), data["scheme"])
            built.email_edited_at = built.mobile_edited_at = now
            try:
                with transaction.atomic():
                    built.save()
                person = built
            except IntegrityError:
                # Someone registered the same ID at the same moment: never a second Person.
                person = Person.objects.select_for_update().get(national_id_scheme=data["scheme"], national_id=data["national_id"])
                existing = True
        if existing:
            account = Account.objects.filter(person=person).first()
            refusal = _takeover_refusal(person, account, data)
            if refusal is None:
                set_verified_contact(person.pk, email=data["email"], mobile=data["mobile"])
                person.refresh_from_db()
        language = data.get("language") or ""
        # Personal data typed into the flow is not kept once the register holds it (or it was refused).
        kept = {"language": language}
        expires = now + datetime.timedelta(seconds=link_seconds())
        if refusal is not None:
            kernel.move(flow, Flow.State.LINK_SENT, data=kept, expires_at=expires)
            record_event("registration.duplicate", "denied", target=account, request=request, detail={"flow": str(flow.pk), "reason": refusal})
            _tell_owner(person, account, flow, refusal)
            # The registrant's mailbox and phone get what a new registration gets (issue 11 item 3):
            # the link says what happened only to whoever opens it.
            _send_link(flow, data, language, expires)
            flow.state = Flow.State.LINK_SENT
            return
        if account is None:
            account = create_account(person)
        if language and not account.preferred_language:
            Account.objects.filter(pk=account.pk).update(preferred_language=language)
            account.preferred_language = language
        kernel.move(flow, Flow.State.LINK_SENT, account=account, data=kept, expires_at=expires)
        _send_link(flow, data, language, expires)
        record_event("registration.activated" if existing else "registration.created", "success", target=account, request=request, detail={"flow": str(flow.pk)})
        flow.state, flow.account = Flow.State.LINK_SENT, account


# --- step 4: the password, from the e-mailed link -------------------------------------------------
def refused_link(raw: str) -> LinkToken | None:
    """The link sent for a registration that was refused (an ID the register knows, see create())."""
    return links.usable(raw, LINK_PURPOSE, flow__account__isnull=True)


def link_for(raw: str, *, used: bool = False) -> LinkToken | None:
    """The registration link for `raw` if it still works (or, with used=True, once it was used)."""
    if used:
        return links.used(raw, LINK_PURPOSE, flow__account__isnull=False)
    return links.usable(raw, LINK_PURPOSE, flow__account__isnull=False)


def id_matches(request, link: LinkToken, typed: str) -> bool:
    """Seed 001 step 2: the ID number again. Wrong numbers are counted; after a few the link is spent."""
    account = link.flow.account
    scheme = SCHEMES[account.person.national_id_scheme]
    try:
        number = scheme.normalize(typed or "")
    except Exception:  # noqa: BLE001 - any unreadable number is simply not this one
        number = ""
    if number and hmac.compare_digest(number, account.person.national_id):
        return True
    record_event("registration.id_check", "failure", target=account, request=request, detail={"flow": str(link.flow_id)})
    if limits.count(f"registration:link_id:{link.pk}", link_seconds()) >= LINK_ID_TRIES:
        links.spend(link)
    return False


def finish(request, link: LinkToken, new_password: str, *, question: str = "", answer: str = "") -> tuple[str, str] | None:
    """Set the password (callers check the policy and the ID number), and the security question under
    the legacy option; spend the link; confirm by e-mail with the user code. None when the link was
    used meanwhile (a double submit)."""
    from schoolid.accounts import security_questions

    account = link.flow.account
    with transaction.atomic():
        if not links.spend(link):
            return None
        kernel.move(link.flow, Flow.State.DONE, data={})
        set_password(account, new_password)
        if security_questions.enabled() and question in security_questions.QUESTIONS:
            record = security_questions.SecurityAnswer.objects.filter(account=account).first() or security_questions.SecurityAnswer(account=account)
            record.question = question
            record.set_answer(answer)
            record.save()
            record_event("security_question.set", "success", actor=account, target=account, request=request, detail={"via": "registration"})
        event = record_event("registration.completed", "success", actor=account, target=account, request=request, detail={"flow": str(link.flow_id)})
        person = account.person
        if person is not None and person.email:
            with translation.override(account.preferred_language or current_profile().default_language):
                enqueue(channel="email", to=person.email, subject=str(_("Your SchoolID details were saved")),
                        body=str(_("Your details were saved and your password is set.\n\nYour user code: %(code)s\nSign in with your user code (or your ID number) and your password.\n\nIf you did not do this, tell your school at once.") % {"code": account.display_code}),
                        purpose="registration.completed", dedupe_key=f"registration_completed:{event.pk}")
    request.session[SAVED_SESSION_KEY] = str(link.flow_id)
    request.session.pop(FLOW_SESSION_KEY, None)
    return login_identifier_for(account)


def saved_account(request) -> Account | None:
    """The account whose registration this browser just finished (for the "details saved" page)."""
    flow_id = request.session.get(SAVED_SESSION_KEY)
    if not flow_id:
        return None
    flow = kernel.find(Flow.Kind.REGISTRATION, flow_id, states=(Flow.State.DONE,), expired_ok=True)
    return flow.account if flow else None

