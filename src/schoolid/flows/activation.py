"""First activation from the register (seed 002, Poland's eSzkoła): the national ID (or, once
activated, the e-mail) → an e-mail to the address in the register with the login identifier and a
set-password link → a password under the policy → the page names the identifier to sign in with.
It never signs the person in (FP-CS), and answers the same whether or not the ID exists."""
from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from schoolid.accounts.models import Account
from schoolid.accounts.selectors import identifier_key, login_identifier_for
from schoolid.accounts.services import set_password
from schoolid.audit.services import record_event
from schoolid.core.digits import clean_text
from schoolid.core.numerals import keep
from schoolid.core.profiles import current_profile
from schoolid.directory.services import mark_email_verified
from schoolid.flows import kernel, limits, links
from schoolid.flows.age_rules import refusal_for_activation
from schoolid.flows.models import Flow, LinkToken
from schoolid.flows.sms_signin import find_by_national_id
from schoolid.notify.services import enqueue

PURPOSE = "activation"


class ActivationRefused(PermissionError):
    """The owner may not activate this account alone (age rules); `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


link_seconds = links.link_seconds  # imported from here by the other journeys


def _account_for(identifier: str) -> Account | None:
    value = clean_text(identifier)
    if "@" in value:
        # An e-mail works only once the account was activated before (seed 002: the first time, the ID).
        return (Account.objects.select_related("person").filter(person__email=value.lower(), person__email_verified=True)
                .exclude(status__in=(Account.Status.DISABLED, Account.Status.NOT_ACTIVATED)).first())
    return find_by_national_id(value)


@limits.answer_in_equal_time
def start(request, identifier: str) -> bool:
    """Send the activation e-mail when the register has an address. False only when this identifier or
    address asked too often."""
    key = identifier_key(identifier)
    account = _account_for(identifier)
    email = account.person.email if account is not None and account.person and account.status != Account.Status.DISABLED else ""
    # Age rules (issue 6 item 5): a young pupil is given access by a parent or the school, and an
    # older one needs an address of their own. The page answers the same (no enumeration).
    refusal = refusal_for_activation(account) if email else None
    if refusal:
        email = ""
    if not limits.sending_allowed(request, "email", key, email or None):
        record_event("activation.requested", "denied", target=account, request=request, detail={"reason": "send_limit"})
        return False
    now = timezone.now()
    with transaction.atomic():
        flow = kernel.start(Flow.Kind.ACTIVATION, Flow.State.LINK_SENT, account=account if email else None, identifier_key=key,
                            expires_at=now + datetime.timedelta(seconds=link_seconds()))
        if not email:
            record_event("activation.requested", "failure", target=account, request=request, detail={"reason": refusal or ("no_email" if account else "unknown_identifier")})
            return True
        token = links.issue(flow, PURPOSE, flow.expires_at)
        # The link comes from the configured base URL, never from the Host header (FP-CS "URL Tokens").
        link = f"{settings.BASE_URL}/activate/{token}/"
        profile = current_profile()
        kind, login = login_identifier_for(account, profile)
        if kind == "email" or (kind == "user_code" and "email" in profile.login_identifiers):
            kind, login = "email", email
        with translation.override(account.preferred_language or profile.default_language):
            subject = str(_("Your SchoolID login and a link to set your password"))
            body = str(_("Your login for SchoolID: %(login)s\n\nSet your password here (the link works once, for %(minutes)d minutes):\n%(link)s\n\nIf you did not ask for this, ignore this e-mail; nothing changes.") % {"login": keep(login), "minutes": link_seconds() // 60, "link": link})
        enqueue(channel="email", to=email, subject=subject, body=body, purpose="activation.link", dedupe_key=f"activation:{flow.pk}")
        record_event("activation.requested", "success", target=account, request=request, detail={"flow": str(flow.pk)})
    return True


def token_for(raw: str) -> LinkToken | None:
    return links.usable(raw, PURPOSE, flow__account__isnull=False)


def finish(request, link: LinkToken, new_password: str) -> tuple[str, str] | None:
    """Set the password (callers check the policy), spend the link, confirm the e-mail. Returns the
    identifier to sign in with, or None when the link was used meanwhile."""
    account = link.flow.account
    refusal = refusal_for_activation(account)
    if refusal:
        record_event("activation.completed", "denied", actor=account, target=account, request=request, detail={"reason": refusal})
        raise ActivationRefused(refusal)
    with transaction.atomic():
        if not links.spend(link):
            return None
        kernel.move(link.flow, Flow.State.DONE)
        person = account.person
        # Using the link proves the address: it becomes a verified contact point.
        mark_email_verified(person.pk)
        person.email_verified = True
        set_password(account, new_password)
        record_event("activation.completed", "success", actor=account, target=account, request=request)
    return login_identifier_for(account)
