"""The provider's writes: clients, codes, tokens, consents, sessions and logout deliveries.
Every grant, token, consent, refusal and logout writes an audit event."""
from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from schoolid.audit.services import record_event
from schoolid.directory.models import OrgUnit
from schoolid.provider import keys
from schoolid.provider.claims import claims_for
from schoolid.provider.models import AuthorizationCode, Client, Consent, LogoutDelivery, ProviderSession, Token
from schoolid.provider.subjects import subject_for

logger = logging.getLogger("schoolid.provider")

CODE_SECONDS = 60
ACCESS_SECONDS = 600
ID_TOKEN_SECONDS = 300
REFRESH_SECONDS = 30 * 24 * 3600           # one refresh token, if not used
REFRESH_FAMILY_SECONDS = 90 * 24 * 3600    # absolute: the whole chain since the code
LOGOUT_TOKEN_SECONDS = 120
ACR_SINGLE, ACR_MFA = "urn:schoolid:acr:1", "urn:schoolid:acr:2"
# Our sign-in steps -> RFC 8176 method references.
AMR_MAP = {"pwd": "pwd", "new_pwd": "pwd", "issued_secret": "otp", "totp": "otp", "recovery_code": "otp", "sms": "sms"}
SECOND_FACTORS = {"totp", "recovery_code"}


class ClientError(ValueError):
    pass


def issuer() -> str:
    return (getattr(settings, "SCHOOLID_OIDC_ISSUER", "") or settings.BASE_URL).rstrip("/")


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def amr_acr(steps: list[str]) -> tuple[list[str], str]:
    amr = sorted({AMR_MAP.get(s, s) for s in steps})
    if SECOND_FACTORS & set(steps):
        return sorted(set(amr) | {"mfa"}), ACR_MFA
    return amr, ACR_SINGLE


# --- clients -------------------------------------------------------------------------------------
def _check_uri(uri: str, *, redirect: bool = True) -> str:
    parsed = urllib.parse.urlsplit(uri)
    if parsed.fragment or not parsed.netloc or parsed.scheme not in ("https", "http"):
        raise ClientError(f"not an absolute http(s) URI without a fragment: {uri}")
    # RFC 9700 §2.1: no http except native-app loopback (and the embedded demo on this machine).
    if parsed.scheme == "http" and parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ClientError(f"http is allowed only for loopback addresses: {uri}")
    return uri


def create_client(name: str, *, redirect_uris: list[str], post_logout_redirect_uris=(), backchannel_logout_uri: str = "",
                  public: bool = False, first_party: bool = False, subject: str = "pairwise", sector: str = "",
                  org_codes=(), trusted: bool = False, offline_access: bool = False, actor: str = "cli") -> tuple[Client, str]:
    """A client and its secret (shown once; only its hash is kept). Public subjects only for ministry systems."""
    if not redirect_uris:
        raise ClientError("at least one --redirect-uri is required")
    if subject == Client.Subject.PUBLIC and not first_party:
        raise ClientError("public subjects are only for ministry systems (--first-party)")
    if Client.objects.filter(name=name).exists():
        raise ClientError(f"a client named {name} exists already")
    uris = [_check_uri(u) for u in redirect_uris]
    units = []
    for code in org_codes:
        unit = OrgUnit.objects.filter(code=code).first()
        if unit is None:
            raise ClientError(f"no org unit with code {code}")
        units.append(unit)
    secret = "" if public else secrets.token_urlsafe(32)
    with transaction.atomic():
        client = Client.objects.create(
            name=name, client_id=secrets.token_urlsafe(18), secret_hash=digest(secret) if secret else "", public=public,
            first_party=first_party, subject_type=subject, sector=sector or urllib.parse.urlsplit(uris[0]).hostname or name,
            trusted=trusted, offline_access=offline_access, redirect_uris=uris,
            post_logout_redirect_uris=[_check_uri(u) for u in post_logout_redirect_uris],
            backchannel_logout_uri=_check_uri(backchannel_logout_uri) if backchannel_logout_uri else "")
        client.org_units.set(units)
        record_event("oidc.client.created", "success", actor=actor, detail={"client": client.client_id, "name": name,
                     "first_party": first_party, "subject": subject, "orgs": list(org_codes)})
    return client, secret


def rotate_secret(name: str, actor: str = "cli") -> tuple[Client, str]:
    client = Client.objects.filter(name=name, public=False).first()
    if client is None:
        raise ClientError(f"no confidential client named {name}")
    secret = secrets.token_urlsafe(32)
    Client.objects.filter(pk=client.pk).update(secret_hash=digest(secret))
    record_event("oidc.client.secret_rotated", "success", actor=actor, detail={"client": client.client_id})
    return client, secret


def disable_client(name: str, actor: str = "cli") -> Client:
    client = Client.objects.filter(name=name).first()
    if client is None:
        raise ClientError(f"no client named {name}")
    now = timezone.now()
    with transaction.atomic():
        Client.objects.filter(pk=client.pk).update(disabled_at=now)
        Token.objects.filter(client=client, revoked_at__isnull=True).update(revoked_at=now)
        record_event("oidc.client.disabled", "success", actor=actor, detail={"client": client.client_id})
    return client


def authenticate_client(client_id: str, secret: str | None) -> Client | None:
    """The client if it may use the token endpoint: confidential clients with their secret, public ones without."""
    client = Client.objects.filter(client_id=client_id, disabled_at__isnull=True).first()
    if client is None:
        return None
    if client.public:
        return client if not secret else None
    if not secret or not hmac.compare_digest(client.secret_hash, digest(secret)):
        return None
    return client


# --- sessions and codes --------------------------------------------------------------------------
def session_sid(request, account) -> str:
    """The `sid` of this browser session, made on its first authorization."""
    sid = request.session.get("oidc_sid")
    if sid and ProviderSession.objects.filter(sid=sid, account=account, ended_at__isnull=True).exists():
        return sid
    sid = secrets.token_urlsafe(24)
    ProviderSession.objects.create(sid=sid, account=account, epoch=account.session_epoch)
    request.session["oidc_sid"] = sid
    return sid


def issue_code(request, client: Client, account, params: dict) -> str:
    sid = session_sid(request, account)
    ProviderSession.objects.get(sid=sid).clients.add(client)
    raw = secrets.token_urlsafe(32)
    AuthorizationCode.objects.create(
        digest=digest(raw), client=client, account=account, redirect_uri=params["redirect_uri"], scope=params["scope"],
        nonce=params.get("nonce", ""), code_challenge=params["code_challenge"], sid=sid,
        auth_time=int(request.session.get("auth_at") or time.time()), amr=list(request.session.get("amr", [])),
        expires_at=timezone.now() + datetime.timedelta(seconds=CODE_SECONDS))
    record_event("oidc.authorize", "success", actor=account, target=account, request=request,
                 detail={"client": client.client_id, "scope": params["scope"]})
    return raw


def record_refusal(request, client: Client, account, reason: str) -> None:
    record_event("oidc.authorize", "denied", actor=account, target=account, request=request, detail={"client": client.client_id, "reason": reason})


# --- the token endpoint --------------------------------------------------------------------------
@dataclass
class GrantError(Exception):
    error: str
    description: str = ""


def _pkce_ok(verifier: str, challenge: str) -> bool:
    if not (43 <= len(verifier) <= 128):
        return False
    return hmac.compare_digest(keys.b64u(hashlib.sha256(verifier.encode("ascii", "replace")).digest()), challenge)


def _issue_tokens(client: Client, account, *, scope: str, family, family_expires_at, sid: str, auth_time: int, amr: list,
                  refresh: bool, account_id: int | None = None) -> dict:
    now = timezone.now()
    account_id = account_id or account.pk
    access = secrets.token_urlsafe(32)
    rows = [Token(digest=digest(access), kind=Token.Kind.ACCESS, client=client, account_id=account_id, scope=scope, family=family,
                  family_expires_at=family_expires_at, sid=sid, auth_time=auth_time, amr=amr,
                  expires_at=now + datetime.timedelta(seconds=ACCESS_SECONDS))]
    answer = {"access_token": access, "token_type": "Bearer", "expires_in": ACCESS_SECONDS, "scope": scope}
    if refresh:
        raw = secrets.token_urlsafe(32)
        rows.append(Token(digest=digest(raw), kind=Token.Kind.REFRESH, client=client, account_id=account_id, scope=scope, family=family,
                          family_expires_at=family_expires_at, sid=sid, auth_time=auth_time, amr=amr,
                          expires_at=min(family_expires_at, now + datetime.timedelta(seconds=REFRESH_SECONDS))))
        answer["refresh_token"] = raw
    Token.objects.bulk_create(rows)
    return answer


def id_token(client: Client, account, *, nonce: str, auth_time: int, steps: list, sid: str, access_token: str | None = None) -> str:
    now = int(time.time())
    amr, acr = amr_acr(steps)
    claims = {"iss": issuer(), "sub": subject_for(account, client), "aud": client.client_id, "azp": client.client_id,
              "iat": now, "exp": now + ID_TOKEN_SECONDS, "auth_time": auth_time, "amr": amr, "acr": acr, "sid": sid}
    if nonce:
        claims["nonce"] = nonce
    if access_token:
        claims["at_hash"] = keys.b64u(hashlib.sha256(access_token.encode()).digest()[:16])
    return keys.sign(claims)


def _account_usable(account) -> bool:
    return account.status in ("active", "locked")


def redeem_code(client: Client, raw_code: str, redirect_uri: str, verifier: str, *, request=None) -> dict:
    now = timezone.now()
    with transaction.atomic():
        code = AuthorizationCode.objects.select_for_update().select_related("account").filter(digest=digest(raw_code)).first()
        if code is None or code.client_id != client.pk:
            raise GrantError("invalid_grant", "unknown code")
        replayed = code.used_at is not None
        if replayed:
            # A replayed code: whatever it produced is revoked (RFC 6749 §4.1.2, ASVS v5 10.4.2).
            revoked = Token.objects.filter(family=uuid.uuid5(uuid.NAMESPACE_OID, code.digest), revoked_at__isnull=True).update(revoked_at=now)
            record_event("oidc.code.replayed", "denied", actor=f"client:{client.name}", target=code.account, request=request,
                         detail={"client": client.client_id, "revoked": revoked})
        else:
            AuthorizationCode.objects.filter(pk=code.pk).update(used_at=now)
    if replayed:
        raise GrantError("invalid_grant", "code already used")
    if code.expires_at <= now:
        raise GrantError("invalid_grant", "code expired")
    if code.redirect_uri != redirect_uri:
        raise GrantError("invalid_grant", "redirect_uri differs from the authorization request")
    if not verifier or not _pkce_ok(verifier, code.code_challenge):
        record_event("oidc.token", "denied", actor=f"client:{client.name}", target=code.account, request=request,
                     detail={"client": client.client_id, "reason": "pkce"})
        raise GrantError("invalid_grant", "code_verifier does not match")
    account = code.account
    if not _account_usable(account):
        raise GrantError("invalid_grant", "account not usable")
    family = uuid.uuid5(uuid.NAMESPACE_OID, code.digest)  # found again from the code on replay
    answer = _issue_tokens(client, account, scope=code.scope, family=family,
                           family_expires_at=now + datetime.timedelta(seconds=REFRESH_FAMILY_SECONDS), sid=code.sid,
                           auth_time=code.auth_time, amr=code.amr, refresh="offline_access" in code.scope.split())
    answer["id_token"] = id_token(client, account, nonce=code.nonce, auth_time=code.auth_time, steps=code.amr, sid=code.sid,
                                  access_token=answer["access_token"])
    record_event("oidc.token", "success", actor=f"client:{client.name}", target=account, request=request,
                 detail={"client": client.client_id, "grant": "authorization_code", "refresh": "refresh_token" in answer})
    return answer


_SPEND_SQL = None


def _spend_refresh(client: Client, token_digest: str, now):
    """The hot path of a refresh grant in one statement: spend a live refresh token of this client whose
    account may still sign in, returning what the new tokens need. None: anything else (the slow path
    below then finds out what, and answers reuse)."""
    global _SPEND_SQL
    from django.db import connection

    if _SPEND_SQL is None:
        t, a = Token._meta.db_table, Token._meta.get_field("account").related_model._meta.db_table
        _SPEND_SQL = (f"UPDATE {t} SET used_at = %s WHERE digest = %s AND kind = 'refresh' AND client_id = %s AND used_at IS NULL "
                      f"AND revoked_at IS NULL AND expires_at > %s AND family_expires_at > %s "
                      f"AND account_id IN (SELECT id FROM {a} WHERE status IN ('active', 'locked')) "
                      f"RETURNING account_id, (SELECT user_code FROM {a} WHERE {a}.id = {t}.account_id), scope, family, "
                      f"family_expires_at, sid, auth_time, amr")
    with connection.cursor() as cursor:
        cursor.execute(_SPEND_SQL, [now, token_digest, client.pk, now, now])
        row = cursor.fetchone()
    if row is None:
        return None
    account_id, user_code, scope, family, family_expires_at, sid, auth_time, amr = row
    if isinstance(family_expires_at, str):  # SQLite hands back text
        from django.utils.dateparse import parse_datetime

        family_expires_at = parse_datetime(family_expires_at)
        if timezone.is_naive(family_expires_at):
            family_expires_at = timezone.make_aware(family_expires_at, datetime.UTC)
    return {"account_id": account_id, "label": _Label(account_id, user_code), "scope": scope, "family": uuid.UUID(str(family)),
            "family_expires_at": family_expires_at, "sid": sid, "auth_time": auth_time,
            "amr": json.loads(amr) if isinstance(amr, str) else amr}


@dataclass
class _Label:
    """An account as the audit log names it, without loading the row."""
    pk: int
    audit_label: str


def refresh(client: Client, raw: str, scope: str | None = None, *, request=None) -> dict:
    now = timezone.now()
    spent = _spend_refresh(client, digest(raw), now) if not scope else None
    if spent is not None:
        answer = _issue_tokens(client, None, account_id=spent["account_id"], scope=spent["scope"], family=spent["family"],
                               family_expires_at=spent["family_expires_at"], sid=spent["sid"], auth_time=spent["auth_time"],
                               amr=spent["amr"], refresh=True)
        record_event("oidc.token", "success", actor=f"client:{client.name}", target=spent["label"], request=request,
                     detail={"client": client.client_id, "grant": "refresh_token"})
        return answer
    token = Token.objects.select_related("account").filter(digest=digest(raw), kind=Token.Kind.REFRESH).first()
    if token is None or token.client_id != client.pk:
        raise GrantError("invalid_grant", "unknown refresh token")
    # One conditional UPDATE: of two racing uses, one wins; the loser is a reuse.
    fresh = token.revoked_at is None and token.used_at is None and \
        Token.objects.filter(pk=token.pk, used_at__isnull=True, revoked_at__isnull=True).update(used_at=now) == 1
    if not fresh:
        if token.used_at is not None:
            # Reuse of a rotated token (RFC 9700 §4.14.2): the whole family is revoked.
            revoked = Token.objects.filter(family=token.family, revoked_at__isnull=True).update(revoked_at=now)
            record_event("oidc.refresh.reused", "denied", actor=f"client:{client.name}", target=token.account, request=request,
                         detail={"client": client.client_id, "revoked": revoked})
        raise GrantError("invalid_grant", "refresh token no longer valid")
    if token.expires_at <= now or token.family_expires_at <= now or not _account_usable(token.account):
        raise GrantError("invalid_grant", "refresh token expired")
    granted = token.scope.split()
    if scope:
        asked = scope.split()
        if not set(asked) <= set(granted):
            raise GrantError("invalid_scope", "more than was granted")
        granted = [s for s in granted if s in asked] + (["offline_access"] if "offline_access" not in asked else [])
    answer = _issue_tokens(client, token.account, scope=" ".join(granted), family=token.family, family_expires_at=token.family_expires_at,
                           sid=token.sid, auth_time=token.auth_time, amr=token.amr, refresh=True)
    record_event("oidc.token", "success", actor=f"client:{client.name}", target=token.account, request=request,
                 detail={"client": client.client_id, "grant": "refresh_token"})
    return answer


def bearer(raw: str) -> Token | None:
    """A live access token."""
    token = Token.objects.select_related("account__person", "client").filter(digest=digest(raw), kind=Token.Kind.ACCESS).first()
    if token is None or token.revoked_at is not None or token.expires_at <= timezone.now() or token.client.disabled_at:
        return None
    if not _account_usable(token.account):
        return None
    return token


def userinfo(token: Token) -> dict:
    return claims_for(token.account, token.client, token.scope)


def introspect(caller: Client, raw: str) -> dict:
    token = Token.objects.select_related("account", "client").filter(digest=digest(raw or "")).first()
    now = timezone.now()
    if (token is None or token.revoked_at or token.used_at or token.expires_at <= now or token.family_expires_at <= now
            or token.client.disabled_at or not _account_usable(token.account)
            or token.client.sector != caller.sector):
        return {"active": False}
    return {"active": True, "scope": token.scope, "client_id": token.client.client_id, "token_type": "Bearer" if token.kind == "access" else "refresh_token",
            "exp": int(token.expires_at.timestamp()), "iat": int(token.created_at.timestamp()), "iss": issuer(),
            "sub": subject_for(token.account, token.client), "aud": token.client.client_id}


def revoke(caller: Client, raw: str, *, request=None) -> None:
    """RFC 7009: a refresh token takes its family with it; an unknown or foreign token is ignored."""
    token = Token.objects.filter(digest=digest(raw or ""), client=caller).first()
    if token is None:
        return
    now = timezone.now()
    scope = Token.objects.filter(family=token.family) if token.kind == Token.Kind.REFRESH else Token.objects.filter(pk=token.pk)
    scope.filter(revoked_at__isnull=True).update(revoked_at=now)
    record_event("oidc.token.revoked", "success", actor=f"client:{caller.name}", target=token.account_id and token.account, request=request,
                 detail={"client": caller.client_id, "kind": token.kind})


# --- consent -------------------------------------------------------------------------------------
def has_consent(account, client: Client, scopes: list[str]) -> bool:
    for consent in Consent.objects.filter(account=account, client=client, withdrawn_at__isnull=True):
        if set(scopes) <= set(consent.scope.split()):
            return True
    return False


def grant_consent(account, client: Client, scopes: list[str], *, approved_by=None, request=None) -> Consent:
    consent = Consent.objects.create(account=account, client=client, scope=" ".join(scopes), approved_by=approved_by)
    record_event("oidc.consent.granted", "success", actor=approved_by or account, target=account, request=request,
                 detail={"client": client.client_id, "scope": consent.scope, "by_guardian": approved_by is not None})
    return consent


def withdraw_consent(account, client: Client, *, request=None) -> int:
    now = timezone.now()
    with transaction.atomic():
        count = Consent.objects.filter(account=account, client=client, withdrawn_at__isnull=True).update(withdrawn_at=now)
        Token.objects.filter(account=account, client=client, revoked_at__isnull=True).update(revoked_at=now)
        record_event("oidc.consent.withdrawn", "success", actor=account, target=account, request=request, detail={"client": client.client_id})
    return count


# --- logout --------------------------------------------------------------------------------------
def end_provider_sessions(sessions, *, reason: str) -> int:
    """End these sessions and queue a logout token for every client each of them used (in this transaction)."""
    queued = 0
    now = timezone.now()
    for ps in sessions:
        if ProviderSession.objects.filter(pk=ps.pk, ended_at__isnull=True).update(ended_at=now) != 1:
            continue
        for client in ps.clients.exclude(backchannel_logout_uri=""):
            try:
                with transaction.atomic():
                    delivery = LogoutDelivery.objects.create(client=client, account_id=ps.account_id, sid=ps.sid)
            except IntegrityError:
                continue
            queued += 1
            transaction.on_commit(lambda pk=delivery.pk: schedule_logout(pk))
        record_event("oidc.logout", "success", target=ps.account, detail={"reason": reason, "sid": ps.sid[:8]})
    return queued


def end_session_of(request, account, reason: str = "signout") -> int:
    sid = request.session.get("oidc_sid")
    if not sid:
        return 0
    return end_provider_sessions(ProviderSession.objects.filter(sid=sid, account=account, ended_at__isnull=True), reason=reason)


def sweep_sessions() -> int:
    """Sessions whose account was disabled or signed out everywhere (password change, reset) are
    logged out; so are a pupil's sessions with a client a guardian approved once that link ended."""
    from django.db.models import F, Q

    from schoolid.directory.models import Guardianship

    stale = ProviderSession.objects.filter(ended_at__isnull=True).filter(
        Q(account__status="disabled") | ~Q(epoch=F("account__session_epoch"))).select_related("account")
    queued = end_provider_sessions(list(stale[:1000]), reason="account_changed")
    linked = Guardianship.objects.filter(status=Guardianship.Status.CONFIRMED)
    orphaned = Consent.objects.filter(withdrawn_at__isnull=True, approved_by__isnull=False).select_related("account", "client", "approved_by")
    for consent in orphaned[:1000]:
        if linked.filter(guardian_id=consent.approved_by.person_id, student_id=consent.account.person_id).exists():
            continue
        with transaction.atomic():
            withdraw_consent(consent.account, consent.client)
            sessions = ProviderSession.objects.filter(account=consent.account, ended_at__isnull=True, clients=consent.client)
            queued += end_provider_sessions(list(sessions), reason="guardian_link_ended")
    return queued


def schedule_logout(delivery_id) -> None:
    from schoolid.provider.tasks import deliver_logout

    deliver_logout.delay(str(delivery_id))


def logout_token(client: Client, account, sid: str) -> str:
    now = int(time.time())
    return keys.sign({"iss": issuer(), "sub": subject_for(account, client), "aud": client.client_id, "iat": now,
                      "exp": now + LOGOUT_TOKEN_SECONDS, "jti": secrets.token_urlsafe(16), "sid": sid,
                      "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}, typ="logout+jwt")


def _retry_delay(attempts: int) -> int:
    return min(settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1), 6 * 3600)


def deliver_logout(delivery_id) -> str:
    now = timezone.now()
    claimed = LogoutDelivery.objects.filter(pk=delivery_id, status=LogoutDelivery.Status.QUEUED, next_attempt_at__lte=now).update(
        status=LogoutDelivery.Status.SENDING, next_attempt_at=now + datetime.timedelta(seconds=300))
    delivery = LogoutDelivery.objects.select_related("client", "account").get(pk=delivery_id)
    if not claimed:
        return delivery.status
    body = urllib.parse.urlencode({"logout_token": logout_token(delivery.client, delivery.account, delivery.sid)}).encode()
    req = urllib.request.Request(delivery.client.backchannel_logout_uri, data=body, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=5) as response:  # noqa: S310 - an operator-registered URI
            if response.status not in (200, 204):
                raise urllib.error.URLError(f"HTTP {response.status}")
    except (OSError, urllib.error.URLError) as exc:
        attempts = delivery.attempts + 1
        dead = attempts >= settings.OUTBOX_MAX_ATTEMPTS
        LogoutDelivery.objects.filter(pk=delivery.pk).update(
            status=LogoutDelivery.Status.DEAD if dead else LogoutDelivery.Status.QUEUED, attempts=attempts, last_error=str(exc)[:300],
            next_attempt_at=timezone.now() + datetime.timedelta(seconds=_retry_delay(attempts)))
        logger.warning("back-channel logout failed", extra={"delivery": str(delivery.pk), "attempts": attempts, "dead": dead})
        return LogoutDelivery.Status.DEAD if dead else LogoutDelivery.Status.QUEUED
    LogoutDelivery.objects.filter(pk=delivery.pk).update(status=LogoutDelivery.Status.SENT, attempts=delivery.attempts + 1, sent_at=timezone.now())
    return LogoutDelivery.Status.SENT


def deliver_due_logouts(limit: int = 500) -> dict[str, int]:
    sweep_sessions()
    now = timezone.now()
    LogoutDelivery.objects.filter(status=LogoutDelivery.Status.SENDING, next_attempt_at__lte=now).update(status=LogoutDelivery.Status.QUEUED)
    counts: dict[str, int] = {}
    for pk in LogoutDelivery.objects.filter(status=LogoutDelivery.Status.QUEUED, next_attempt_at__lte=now).values_list("pk", flat=True)[:limit]:
        status = deliver_logout(pk)
        counts[status] = counts.get(status, 0) + 1
    return counts
