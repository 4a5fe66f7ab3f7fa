"""The relying-party side of the protocol, on Authlib: the authorization URL, the code exchange and
the ID token checks (security-requirements 6a; OIDC §3.1.3.7; RFC 9700 §2.1).

Every failure raises FederationError with a short reason code (for the audit event; the page says
only that the sign-in did not work)."""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
import warnings
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests
from authlib.integrations.requests_client import OAuth2Session
from django.core.cache import cache

from schoolid.federation import secrets as sealed
from schoolid.federation import signers
from schoolid.federation.models import IdentityProvider

with warnings.catch_warnings():
    # authlib.jose warns that it moves to joserfc in 2.0; a warning line would break the JSON logs.
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.jose.errors import JoseError

# Asymmetric only: never `none`, never HS* (a public key used as an HMAC secret).
ALGORITHMS = ["RS256", "ES256"]
HTTP_TIMEOUT = 10
LEEWAY = 60
MAX_AGE = 10 * 60  # an ID token issued longer ago than this is refused
METADATA_SECONDS = 15 * 60


class FederationError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Identity:
    """What the provider said, for matching only; dropped after the callback."""
    subject: str
    national_id: str = ""
    given_name: str = ""
    family_name: str = ""
    birth_date: str = ""  # ISO yyyy-mm-dd
    verified: bool = False
    acr: str = ""
    amr: list[str] = field(default_factory=list)
    sid: str = ""


def random_value() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _get_json(url: str, **kwargs) -> dict:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise FederationError("provider_unreachable") from exc
    if response.status_code != 200:
        raise FederationError(f"provider_http_{response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise FederationError("provider_bad_json") from exc


def metadata(provider: IdentityProvider) -> dict:
    """OIDC: the discovery document (cached), whose issuer must equal the configured one exactly.
    ESIA: the configured endpoints."""
    if provider.kind == IdentityProvider.Kind.ESIA:
        return {"issuer": provider.issuer, "authorization_endpoint": provider.authorization_endpoint, "token_endpoint": provider.token_endpoint,
                "code_challenge_methods_supported": ["S256"]}
    key = f"idp-meta:{provider.pk}:{provider.issuer}"
    meta = cache.get(key)
    if meta is None:
        meta = _get_json(provider.issuer.rstrip("/") + "/.well-known/openid-configuration")
        if meta.get("issuer") != provider.issuer:
            raise FederationError("discovery_issuer_mismatch")
        cache.set(key, meta, METADATA_SECONDS)
    return meta


def _keys(provider: IdentityProvider, meta: dict):
    if provider.kind == IdentityProvider.Kind.ESIA:
        if not provider.provider_certificate:
            raise FederationError("no_provider_certificate")
        return JsonWebKey.import_key(provider.provider_certificate.encode(), {"kty": "RSA"})
    jwks = _get_json(meta["jwks_uri"])
    try:
        return JsonWebKey.import_key_set(jwks)
    except (JoseError, ValueError, KeyError) as exc:
        raise FederationError("bad_jwks") from exc


def _signer(provider: IdentityProvider):
    try:
        return signers.signer_from(provider.signer)
    except (signers.SignerError, OSError, ValueError) as exc:
        raise FederationError("signer_unavailable") from exc


def authorization_url(provider: IdentityProvider, *, redirect_uri: str, state: str, nonce: str, verifier: str) -> str:
    meta = metadata(provider)
    params = {"client_id": provider.client_id, "response_type": "code", "scope": provider.scopes, "redirect_uri": redirect_uri,
              "state": state, "nonce": nonce, "code_challenge": s256(verifier), "code_challenge_method": "S256"}
    if provider.kind == IdentityProvider.Kind.ESIA:
        timestamp = signers.esia_timestamp()
        signer = _signer(provider)
        try:
            params["client_secret"] = signers.client_secret(signer, provider.client_id, provider.scopes, timestamp, state, redirect_uri)
            params["client_certificate_hash"] = signer.certificate_hash()
        except (signers.SignerError, OSError, ValueError) as exc:
            raise FederationError("signer_failed") from exc
        params.update({"timestamp": timestamp, "access_type": "online"})
    return meta["authorization_endpoint"] + "?" + urlencode(params)


def _token(provider: IdentityProvider, meta: dict, *, code: str, redirect_uri: str, state: str, verifier: str) -> dict:
    try:
        if provider.kind == IdentityProvider.Kind.ESIA:
            timestamp = signers.esia_timestamp()
            signer = _signer(provider)
            try:
                secret = signers.client_secret(signer, provider.client_id, provider.scopes, timestamp, state, redirect_uri, code)
                cert_hash = signer.certificate_hash()
            except (signers.SignerError, OSError, ValueError) as exc:
                raise FederationError("signer_failed") from exc
            response = requests.post(meta["token_endpoint"], timeout=HTTP_TIMEOUT, data={
                "client_id": provider.client_id, "code": code, "grant_type": "authorization_code", "client_secret": secret,
                "state": state, "redirect_uri": redirect_uri, "scope": provider.scopes, "timestamp": timestamp,
                "token_type": "Bearer", "code_verifier": verifier, "client_certificate_hash": cert_hash})
            if response.status_code != 200:
                raise FederationError("token_refused")
            return response.json()
        session = OAuth2Session(provider.client_id, sealed.unseal(provider.encrypted_client_secret),
                                token_endpoint_auth_method="client_secret_basic", redirect_uri=redirect_uri)
        return dict(session.fetch_token(meta["token_endpoint"], grant_type="authorization_code", code=code, code_verifier=verifier, timeout=HTTP_TIMEOUT))
    except requests.RequestException as exc:
        raise FederationError("provider_unreachable") from exc
    except FederationError:
        raise
    except Exception as exc:  # Authlib's OAuthError and a non-JSON answer: the provider refused the code.
        raise FederationError("token_refused") from exc


def validate_id_token(provider: IdentityProvider, id_token: str, keys, *, nonce: str, now: float | None = None) -> dict:
    """OIDC §3.1.3.7: signature with an allowed algorithm, iss exactly, aud contains us (azp when
    several), exp, iat not too old, nonce equal to ours."""
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        raise FederationError("no_id_token")
    try:
        header = JsonWebToken(ALGORITHMS).decode(id_token, keys,
                                                 claims_options={
                                                     "iss": {"essential": True, "value": provider.issuer},
                                                     "aud": {"essential": True, "value": provider.client_id},
                                                     "exp": {"essential": True}, "iat": {"essential": True},
                                                     "nonce": {"essential": True, "value": nonce},
                                                     "sub": {"essential": True},
                                                 })
        header.validate(now=now, leeway=LEEWAY)
    except JoseError as exc:
        raise FederationError("id_token_" + (getattr(exc, "error", "") or "invalid").replace(" ", "_")[:40]) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise FederationError("id_token_invalid") from exc
    claims = dict(header)
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != provider.client_id:
        raise FederationError("id_token_azp")
    if (now or time.time()) - int(claims["iat"]) > MAX_AGE:
        raise FederationError("id_token_too_old")
    return claims


def identity(provider: IdentityProvider, *, code: str, redirect_uri: str, state: str, verifier: str, nonce: str) -> Identity:
    meta = metadata(provider)
    token = _token(provider, meta, code=code, redirect_uri=redirect_uri, state=state, verifier=verifier)
    claims = validate_id_token(provider, token.get("id_token"), _keys(provider, meta), nonce=nonce)
    access = token.get("access_token")
    if not access:
        raise FederationError("no_access_token")
    amr = claims.get("amr") or []
    found = Identity(subject=str(claims["sub"]), acr=str(claims.get("acr", "")), amr=[str(a) for a in amr] if isinstance(amr, list) else [], sid=str(claims.get("sid", "")))
    if provider.kind == IdentityProvider.Kind.ESIA:
        oid = str(claims.get("urn:esia:sbj_id") or claims.get("urn:esia:sbj", {}).get("urn:esia:sbj:oid", "") or claims["sub"])
        found.verified = bool(claims.get("urn:esia:sbj", {}).get("urn:esia:sbj:is_tru") or claims.get("urn:esia:sbj.is_tru"))
        person = _get_json(provider.person_endpoint.replace("{oid}", oid), headers={"Authorization": f"Bearer {access}"})
        found.national_id = str(person.get("snils", ""))
        found.given_name, found.family_name = str(person.get("firstName", "")), str(person.get("lastName", ""))
        birth = str(person.get("birthDate", ""))  # DD.MM.YYYY
        if len(birth) == 10 and birth[2] == birth[5] == ".":
            found.birth_date = f"{birth[6:]}-{birth[3:5]}-{birth[:2]}"
        return found
    info = _get_json(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {access}"}) if meta.get("userinfo_endpoint") else {}
    if str(info.get("sub", found.subject)) != found.subject:
        raise FederationError("userinfo_subject_mismatch")  # OIDC §5.3.2
    merged = {**claims, **info}
    found.national_id = str(merged.get(provider.national_id_claim or "national_id", ""))
    found.given_name, found.family_name = str(merged.get("given_name", "")), str(merged.get("family_name", ""))
    found.birth_date = str(merged.get("birthdate", ""))
    # A national provider vouches for the identity unless it says otherwise.
    found.verified = bool(merged.get("verified", True))
    return found


BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def validate_logout_token(provider: IdentityProvider, token: str, now: float | None = None) -> dict:
    """OIDC Back-Channel Logout 1.0 §2.6: signature (allowed algorithms), iss, aud, iat, the logout
    event, sub or sid, no nonce, and a jti not seen before."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise FederationError("logout_token_malformed")
    meta = metadata(provider)
    try:
        claims = JsonWebToken(ALGORITHMS).decode(token, _keys(provider, meta), claims_options={
            "iss": {"essential": True, "value": provider.issuer}, "aud": {"essential": True, "value": provider.client_id},
            "iat": {"essential": True}, "jti": {"essential": True}})
        claims.validate(now=now, leeway=LEEWAY)
    except JoseError as exc:
        raise FederationError("logout_token_invalid") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise FederationError("logout_token_invalid") from exc
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events or "nonce" in claims:
        raise FederationError("logout_token_not_a_logout")
    if not claims.get("sub") and not claims.get("sid"):
        raise FederationError("logout_token_no_subject")
    if (now or time.time()) - int(claims["iat"]) > MAX_AGE:
        raise FederationError("logout_token_too_old")
    if not cache.add(f"idp-logout-jti:{provider.pk}:{claims['jti']}", 1, MAX_AGE + LEEWAY):
        raise FederationError("logout_token_replayed")
    return dict(claims)
