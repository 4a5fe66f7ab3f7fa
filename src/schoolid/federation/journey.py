"""Sign-in through a national identity provider (issue 16), as a flow of the kernel.

start: a FEDERATED flow holds state, nonce and the PKCE verifier; the browser's session holds only the
flow id, so the callback works only in the browser that started it (RFC 9700 §2.1.1).
callback: the state must match the session's flow (constant time), the code is exchanged and the ID
token checked (client.py). Then, on (provider, subject) only:
  - linked: signed in (staff still pass their second step unless the provider's acr/amr is strong);
  - not linked: the national ID, names and birth date are matched against the register, with the age
    rule; an active account confirms once with its password; a never-activated one is activated.
The provider's person data is dropped once matched: the flow keeps only the subject and the account.
"""
from __future__ import annotations

import hmac
import unicodedata

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from schoolid.accounts.models import STAFF_ROLES, Account
from schoolid.accounts.scope import age_on
from schoolid.accounts.services import activate_by_verified_identity, attempt_failed, attempt_succeeded, reserve_attempt
from schoolid.audit.services import record_event
from schoolid.core.profiles import current_profile
from schoolid.federation import client, selectors, services
from schoolid.federation.client import FederationError
from schoolid.federation.models import IdentityProvider
from schoolid.flows import kernel
from schoolid.flows import login as signin
from schoolid.flows.models import Flow
from schoolid.flows.sms_signin import find_by_national_id

SESSION_KEY = "federated_flow"
FLOW_SECONDS = 10 * 60
# acr/amr values that count as the staff's second step (OIDC §2 amr "mfa"; RFC 8176).
STRONG_AMR = frozenset({"mfa", "hwk", "sc", "otp"})


def _strong(identity: client.Identity) -> bool:
    strong_acr = set(settings.FEDERATION_STRONG_ACR)
    return bool(STRONG_AMR & set(identity.amr)) or (bool(identity.acr) and identity.acr in strong_acr)


def start(request, provider: IdentityProvider) -> str:
    """A new flow and the URL to send the browser to (an unreachable provider raises FederationError)."""
    state, nonce, verifier = client.random_value(), client.random_value(), client.random_value()
    url = client.authorization_url(provider, redirect_uri=services.redirect_uri(provider), state=state, nonce=nonce, verifier=verifier)
    flow = kernel.start(Flow.Kind.FEDERATED, Flow.State.STARTED, identifier_key=f"idp:{provider.name}", seconds=FLOW_SECONDS,
                        data={"provider": provider.pk, "state": state, "nonce": nonce, "verifier": verifier})
    request.session[SESSION_KEY] = str(flow.pk)
    record_event("federation.started", "success", request=request, detail={"provider": provider.name})
    return url


def _fail(request, provider: IdentityProvider | None, reason: str, flow: Flow | None = None, account=None) -> str:
    if flow is not None:
        kernel.move(flow, Flow.State.DONE, data={})
    request.session.pop(SESSION_KEY, None)
    record_event("federation.signin", "failure", target=account, request=request,
                 detail={"provider": provider.name if provider else "", "reason": reason})
    return reason


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").casefold().replace("ё", "е")
    return " ".join(text.replace("-", " ").split())


def _matches(person, identity: client.Identity) -> bool:
    """Names and birth date agree with the register (the national ID already found the person)."""
    if person is None:
        return False
    if _norm(person.family_name) != _norm(identity.family_name) and _norm(person.family_name_latin) != _norm(identity.family_name):
        return False
    if _norm(person.given_name) != _norm(identity.given_name) and _norm(person.given_name_latin) != _norm(identity.given_name):
        return False
    return person.birth_date is None or person.birth_date.isoformat() == identity.birth_date


def callback(request, provider: IdentityProvider, params) -> tuple[str, object]:
    """Returns (outcome, value): ("signed_in", login Outcome), ("confirm", account), ("refused", reason)."""
    flow_id = request.session.get(SESSION_KEY)
    flow = kernel.find(Flow.Kind.FEDERATED, flow_id, states=(Flow.State.STARTED,)) if flow_id else None
    if flow is None or flow.data.get("provider") != provider.pk:
        return "refused", _fail(request, provider, "no_flow_in_this_browser")
    data = dict(flow.data)
    # One use: the flow is done whatever follows (a replayed callback finds nothing); its secrets go.
    if not kernel.move(flow, Flow.State.DONE, only_from=(Flow.State.STARTED,), data={}):
        return "refused", _fail(request, provider, "flow_used")
    if not hmac.compare_digest(str(params.get("state", "")).encode(), data["state"].encode()):
        return "refused", _fail(request, provider, "state_mismatch")
    if params.get("error"):
        return "refused", _fail(request, provider, "provider_error")
    # RFC 9207: an authorization response naming another issuer is a mix-up.
    if "iss" in params and params.get("iss") != provider.issuer:
        return "refused", _fail(request, provider, "iss_mismatch")
    code = str(params.get("code", ""))
    if not code:
        return "refused", _fail(request, provider, "no_code")
    try:
        identity = client.identity(provider, code=code, redirect_uri=services.redirect_uri(provider), state=data["state"],
                                   verifier=data["verifier"], nonce=data["nonce"])
    except FederationError as exc:
        return "refused", _fail(request, provider, exc.reason)
    request.session.pop(SESSION_KEY, None)
    return _after_identity(request, provider, identity)


def _after_identity(request, provider: IdentityProvider, identity: client.Identity):
    existing = selectors.link_for(provider, identity.subject)
    if existing is not None:
        account = existing.account
        if account.status != Account.Status.ACTIVE:
            return "refused", _fail(request, provider, "account_" + account.status, account=account)
        services.used(existing)
        return "signed_in", _sign_in(request, provider, account, identity)

    account = find_by_national_id(identity.national_id) if identity.national_id else None
    person = account.person if account is not None else None
    if account is None or not _matches(person, identity):
        return "refused", _fail(request, provider, "not_in_register" if account is None else "identity_mismatch")
    if account.status in (Account.Status.DISABLED, Account.Status.LOCKED):
        return "refused", _fail(request, provider, "account_" + account.status, account=account)
    profile = current_profile()
    if person.birth_date is not None:
        age = age_on(person.birth_date, timezone.localdate())
        if age < profile.age_threshold:
            # A pupil under the threshold is given access by a parent or the school, never alone.
            return "refused", _fail(request, provider, "under_age_threshold", account=account)
        if not identity.verified:
            return "refused", _fail(request, provider, "provider_account_not_verified", account=account)
    elif not identity.verified:
        return "refused", _fail(request, provider, "provider_account_not_verified", account=account)

    if account.status == Account.Status.NOT_ACTIVATED:
        if not identity.verified:
            return "refused", _fail(request, provider, "provider_account_not_verified", account=account)
        with transaction.atomic():
            activate_by_verified_identity(account)
            account.status = Account.Status.ACTIVE
            services.link(provider, identity.subject, account, request=request)
            record_event("activation.completed", "success", actor=account, target=account, request=request, detail={"via": provider.name})
        return "signed_in", _sign_in(request, provider, account, identity)

    # An active account proves it is theirs once, with its SchoolID password.
    confirm = kernel.start(Flow.Kind.FEDERATED, Flow.State.STARTED, identifier_key=f"idp:{provider.name}", seconds=FLOW_SECONDS,
                           account=account, data={"provider": provider.pk, "subject": identity.subject, "strong": _strong(identity)})
    kernel.move(confirm, Flow.State.PROVEN)
    request.session[SESSION_KEY] = str(confirm.pk)
    record_event("federation.link_pending", "success", target=account, request=request, detail={"provider": provider.name})
    return "confirm", account


def pending_confirmation(request) -> Flow | None:
    flow_id = request.session.get(SESSION_KEY)
    return kernel.find(Flow.Kind.FEDERATED, flow_id, states=(Flow.State.PROVEN,)) if flow_id else None


def confirm_with_password(request, flow: Flow, password: str) -> tuple[str, object]:
    """("signed_in", Outcome) | ("invalid", None) | ("locked", None) | ("throttled", wait)."""
    account = flow.account
    provider = IdentityProvider.objects.filter(pk=flow.data.get("provider"), enabled=True).first()
    if provider is None or account.status != Account.Status.ACTIVE:
        return "expired", _fail(request, provider, "confirm_stale", flow, account)
    reserved, failures, wait = reserve_attempt(account)
    if not reserved:
        return "throttled", wait
    if not account.has_usable_password() or not check_password(password, account.password):
        if attempt_failed(account, failures, request=request, factor="password"):
            return "locked", _fail(request, provider, "locked", flow, account)
        return "invalid", wait
    attempt_succeeded(account)
    subject, strong = flow.data["subject"], flow.data.get("strong")
    if not kernel.move(flow, Flow.State.DONE, data={}):
        return "expired", None
    request.session.pop(SESSION_KEY, None)
    try:
        services.link(provider, subject, account, request=request)
    except IntegrityError:
        return "expired", _fail(request, provider, "already_linked", None, account)
    identity = client.Identity(subject=subject, amr=["mfa"] if strong else [])
    return "signed_in", _sign_in(request, provider, account, identity, extra=["pwd"])


def _sign_in(request, provider: IdentityProvider, account: Account, identity: client.Identity, extra: list[str] | None = None):
    record_event("federation.signin", "success", target=account, request=request, detail={"provider": provider.name})
    strong = _strong(identity) and bool(account._active_roles() & STAFF_ROLES)
    outcome = signin.after_first_factor(request, account, amr=["fed"] + (extra or []), second_factor_met=strong)
    if outcome.kind == "ok":
        request.session["federated_provider"] = provider.pk
        if identity.sid:
            request.session["federated_sid"] = identity.sid
    return outcome


def unlink(request, account: Account, link_id: int, password: str) -> bool:
    row = selectors.links_of(account).filter(pk=link_id).first()
    if row is None:
        return False
    reserved, failures, _wait = reserve_attempt(account)
    if not reserved or not account.has_usable_password() or not check_password(password, account.password):
        if reserved:
            attempt_failed(account, failures, request=request, factor="password")
        record_event("federation.unlinked", "failure", actor=account, target=account, request=request, detail={"reason": "password"})
        return False
    attempt_succeeded(account)
    services.unlink(row, request=request)
    return True


def backchannel_logout(request, provider: IdentityProvider, token: str) -> int:
    """End the SchoolID sessions this provider started for the subject (and sid, when given)."""
    from schoolid.accounts.sessions import end_sessions_where

    claims = client.validate_logout_token(provider, token)
    accounts = []
    if claims.get("sub"):
        found = selectors.link_for(provider, str(claims["sub"]))
        accounts = [found.account] if found else []
    else:
        accounts = [row.account for row in selectors.links_of_provider(provider)]
    sid = str(claims.get("sid", ""))

    def keep(data: dict) -> bool:
        if data.get("federated_provider") != provider.pk:
            return True
        return bool(sid) and data.get("federated_sid") != sid

    ended = sum(end_sessions_where(account, keep, request=request, detail={"provider": provider.name}) for account in accounts)
    record_event("federation.backchannel_logout", "success", request=request, detail={"provider": provider.name, "ended": ended})
    return ended
