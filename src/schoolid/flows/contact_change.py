"""Changing the e-mail (seed 004: Settings → Security → change e-mail) or the mobile number.

Both need the password typed again, and on an account with a second factor that factor too (ASVS v5
7.5.1). The new address stays pending until the link sent
to it is used ("Resend confirmation" sends a fresh link; only the newest works); a new mobile number
is confirmed with a code sent to it, because setting a number binds an authenticator (NIST §3.1.3.3).
The old address, and the e-mail for a phone change, get a notice with a way to dispute it."""
from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from schoolid.accounts.models import Account
from schoolid.accounts.services import attempt_failed, attempt_succeeded, reserve_attempt, throttled_answer
from schoolid.audit.services import record_event
from schoolid.core.numerals import keep
from schoolid.core.profiles import current_profile
from schoolid.directory.services import set_verified_contact
from schoolid.flows import kernel, limits, links
from schoolid.flows.codes import CODE_SECONDS, new_code, spend_code
from schoolid.flows.links import link_seconds
from schoolid.flows.models import Flow
from schoolid.notify.services import enqueue

EMAIL_PURPOSE, PHONE_PURPOSE = "email_change", "phone_change"
PHONE_FLOW_KEY = "phone_change_flow"


def _language(account: Account) -> str:
    return account.preferred_language or current_profile().default_language


def reauthenticate(request, account: Account, password: str) -> str:
    """"ok", "wrong", "throttled" or "locked": the password typed again, on the sign-in throttle."""
    reserved, failures, _wait = reserve_attempt(account)
    if not reserved:
        return throttled_answer(account, request=request, factor="password")[0]
    if not check_password(password, account.password):
        return "locked" if attempt_failed(account, failures, request=request, factor="password") else "wrong"
    attempt_succeeded(account)
    return "ok"


def has_second_factor(account: Account) -> bool:
    from schoolid.credentials.totp import confirmed_device

    return confirmed_device(account) is not None


def reauthenticate_for_contact(request, account: Account, password: str, code: str) -> str:
    """Changing the e-mail or mobile of an account with a second factor asks for that factor too (ASVS v5
    7.5.1, NIST §4.2.1.2): a stolen password alone must not re-route recovery. "ok", "wrong",
    "wrong_code", "throttled" or "locked"; the password and the code count on one sign-in throttle."""
    from schoolid.core.digits import ascii_digits
    from schoolid.credentials import totp

    device = totp.confirmed_device(account)
    if device is None:
        return reauthenticate(request, account, password)
    reserved, failures, _wait = reserve_attempt(account)
    if not reserved:
        return throttled_answer(account, request=request, factor="password")[0]
    if not check_password(password, account.password):
        return "locked" if attempt_failed(account, failures, request=request, factor="password") else "wrong"
    code = ascii_digits((code or "").strip())[:32]
    factor = "totp" if code and totp.verify_totp(device, code) else "recovery_code" if code and totp.use_recovery_code(account, code) else None
    if factor is None:
        return "locked" if attempt_failed(account, failures, request=request, factor="totp") else "wrong_code"
    attempt_succeeded(account)
    record_event("reauthentication", "success", actor=account, target=account, request=request, detail={"factor": f"pwd+{factor}"})
    return "ok"


def pending_email(account: Account) -> Flow | None:
    return kernel.live(Flow.Kind.EMAIL_CHANGE, account=account, state=Flow.State.LINK_SENT).order_by("-created_at").first()


def send_email_confirmation(request, account: Account, new_email: str) -> bool:
    """Start (or resend) an e-mail change: a link to the new address, a notice to the old one."""
    if not limits.sending_allowed(request, "email_change", f"account:{account.pk}", new_email):
        return False
    now = timezone.now()
    with transaction.atomic():
        # Only the newest link works.
        kernel.supersede(Flow.Kind.EMAIL_CHANGE, account=account)
        flow = kernel.start(Flow.Kind.EMAIL_CHANGE, Flow.State.LINK_SENT, account=account, identifier_key=f"account:{account.pk}",
                            target=new_email, expires_at=now + datetime.timedelta(seconds=link_seconds()))
        token = links.issue(flow, EMAIL_PURPOSE, flow.expires_at)
        link = f"{settings.BASE_URL}/account/email/confirm/{token}/"
        with translation.override(_language(account)):
            enqueue(channel="email", to=new_email, subject=str(_("Confirm your new e-mail for SchoolID")),
                    body=str(_("To use this address for your SchoolID account, open this link (it works once, for %(minutes)d minutes):\n%(link)s\n\nIf you did not ask for this, ignore this e-mail.") % {"minutes": link_seconds() // 60, "link": link}),
                    purpose="email_change.link", dedupe_key=f"email_change:{flow.pk}")
            old = account.person.email if account.person and account.person.email_verified else ""
            if old and old != new_email:
                enqueue(channel="email", to=old, subject=str(_("Your SchoolID e-mail is being changed")),
                        body=str(_("Someone signed in to your SchoolID account asked to change its e-mail address. Until the new address is confirmed, this one stays. If this wasn't you, change your password and tell your school.")),
                        purpose="email_change.notice", dedupe_key=f"email_change_notice:{flow.pk}")
        record_event("email_change.requested", "success", actor=account, target=account, request=request, detail={"flow": str(flow.pk)})
    return True


def confirm_email(request, raw_token: str) -> tuple[str, Account | None]:
    """("ok", account), ("invalid", None), or ("sign_in", None) when the browser opening the link is
    not signed in to the account that asked: the link proves the mailbox, the session proves the
    account, and a change asked by one account is never confirmed by whoever else owns the address
    (issue 11 item 1). The link stays unused until both meet."""
    link = links.usable(raw_token, EMAIL_PURPOSE, flow__state=Flow.State.LINK_SENT)
    if link is None:
        return "invalid", None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.pk != link.flow.account_id:
        record_event("email_change.confirmed", "denied", target=link.flow.account, request=request, detail={"reason": "not_signed_in_as_requester"})
        return "sign_in", None
    with transaction.atomic():
        if not links.spend(link):
            return "invalid", None
        flow, account = link.flow, link.flow.account
        kernel.move(flow, Flow.State.DONE)
        set_verified_contact(account.person_id, email=flow.target)
        if account.person is not None:  # the page after this shows the new address, not the loaded one
            account.person.email, account.person.email_verified = flow.target, True
        record_event("email_change.confirmed", "success", actor=account, target=account, request=request)
    return "ok", account


def start_phone_change(request, account: Account, new_mobile: str) -> bool:
    if not limits.sending_allowed(request, "phone_change", f"account:{account.pk}", new_mobile):
        return False
    now = timezone.now()
    with transaction.atomic():
        flow = kernel.start(Flow.Kind.PHONE_CHANGE, Flow.State.CODE_SENT, account=account, identifier_key=f"account:{account.pk}",
                            target=new_mobile, expires_at=now + datetime.timedelta(seconds=CODE_SECONDS))
        code = new_code(flow, PHONE_PURPOSE)
        with translation.override(_language(account)):
            enqueue(channel="sms", to=new_mobile, subject="", body=str(_("SchoolID code to confirm this number: %(code)s. It works for 10 minutes.") % {"code": keep(code)}),
                    purpose="phone_change.code", dedupe_key=f"phone_change:{flow.pk}")
        record_event("phone_change.requested", "success", actor=account, target=account, request=request, detail={"flow": str(flow.pk)})
    request.session[PHONE_FLOW_KEY] = str(flow.pk)
    return True


def pending_phone(request, account: Account) -> Flow | None:
    return kernel.find(Flow.Kind.PHONE_CHANGE, request.session.get(PHONE_FLOW_KEY), states=(Flow.State.CODE_SENT,), account=account)


def confirm_phone(request, account: Account, flow: Flow, typed: str) -> str:
    """"ok", "invalid", "throttled" or "locked"; wrong codes count on the account's throttle."""
    reserved, failures, wait = reserve_attempt(account)
    if not reserved:
        return throttled_answer(account, request=request, factor="phone_code")[0]
    if not spend_code(flow, typed, PHONE_PURPOSE):
        if attempt_failed(account, failures, request=request, factor="phone_code"):
            return "locked"
        return "throttled" if wait else "invalid"
    attempt_succeeded(account)
    with transaction.atomic():
        kernel.move(flow, Flow.State.DONE)
        set_verified_contact(account.person_id, mobile=flow.target)
        event = record_event("phone_change.confirmed", "success", actor=account, target=account, request=request)
        person = account.person
        if person and person.email and person.email_verified:
            # An independent channel hears of it (NIST §3.1.3.3 → §4.1.2.1).
            with translation.override(_language(account)):
                enqueue(channel="email", to=person.email, subject=str(_("Your SchoolID mobile number was changed")),
                        body=str(_("The mobile number of your SchoolID account was just changed. If this wasn't you, change your password and tell your school at once.")),
                        purpose="phone_change.notice", dedupe_key=f"phone_change_notice:{event.pk}")
    request.session.pop(PHONE_FLOW_KEY, None)
    return "ok"
