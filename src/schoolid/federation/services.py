"""Writes of the federation app: providers (CLI, /admin/) and links."""
from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from schoolid.audit.services import record_event
from schoolid.federation import secrets
from schoolid.federation.models import FederatedLink, IdentityProvider

SIGNIN_PAGE_VERSION = "signin-page-version"


def redirect_uri(provider: IdentityProvider) -> str:
    """One redirect URI per provider (RFC 9700 §2.1 mix-up defence), from the configured base URL."""
    return f"{settings.BASE_URL}/signin/federated/{provider.name}/callback/"


def _changed() -> None:
    # The sign-in page is cached per language; its buttons depend on the providers.
    try:
        cache.incr(SIGNIN_PAGE_VERSION)
    except ValueError:
        cache.set(SIGNIN_PAGE_VERSION, 1, None)


def add_provider(*, name: str, kind: str, issuer: str, client_id: str, client_secret: str = "", scopes: str = "",
                 national_id_claim: str = "", label: str = "", country: str = "", **endpoints) -> IdentityProvider:
    if kind not in IdentityProvider.Kind.values:
        raise ValueError(f"unknown kind {kind!r}")
    issuer = issuer.rstrip("/") if kind == IdentityProvider.Kind.ESIA else issuer
    if kind == IdentityProvider.Kind.ESIA:
        base = issuer.rstrip("/")
        endpoints.setdefault("authorization_endpoint", base + "/aas/oauth2/v2/ac")
        endpoints.setdefault("token_endpoint", base + "/aas/oauth2/v3/te")
        endpoints.setdefault("person_endpoint", base + "/rs/prns/{oid}")
        endpoints.setdefault("logout_endpoint", base + "/idp/ext/Logout")
        scopes = scopes or "openid fullname birthdate snils"
    provider = IdentityProvider(
        name=name, kind=kind, issuer=issuer, client_id=client_id, encrypted_client_secret=secrets.seal(client_secret),
        scopes=scopes or "openid profile", national_id_claim=national_id_claim, label=label or name, country=country.lower(),
        **{k: v for k, v in endpoints.items() if v},
    )
    provider.full_clean(exclude=["encrypted_client_secret"])
    provider.save()
    record_event("idp.added", "success", detail={"provider": name, "kind": kind})
    _changed()
    return provider


def set_enabled(provider: IdentityProvider, enabled: bool) -> None:
    IdentityProvider.objects.filter(pk=provider.pk).update(enabled=enabled)
    provider.enabled = enabled
    record_event("idp.enabled" if enabled else "idp.disabled", "success", detail={"provider": provider.name})
    _changed()


def link(provider: IdentityProvider, subject: str, account, *, request) -> FederatedLink:
    with transaction.atomic():
        made = FederatedLink.objects.create(provider=provider, subject=subject, account=account, last_used_at=timezone.now())
        record_event("federation.linked", "success", actor=account, target=account, request=request, detail={"provider": provider.name})
    return made


def used(link_row: FederatedLink) -> None:
    FederatedLink.objects.filter(pk=link_row.pk).update(last_used_at=timezone.now())


def unlink(link_row: FederatedLink, *, request) -> None:
    account = link_row.account
    name = link_row.provider.name
    link_row.delete()
    record_event("federation.unlinked", "success", actor=account, target=account, request=request, detail={"provider": name})


def configure_standin(base_url: str, country: str) -> IdentityProvider | None:
    """The embedded demo's national provider: the stand-in under /dev/idp/, ESIA-style for Russia
    (the RSA PKCS#7 signer with a key made in var/), plain OIDC elsewhere. Never in production."""
    from schoolid.federation import signers, standin

    if settings.PRODUCTION:
        return None
    existing = IdentityProvider.objects.filter(name="standin").first()
    if existing is not None:
        return existing
    base = base_url.rstrip("/")
    if country == "ru":
        key, cert = signers.generate_rsa_pair(settings.VAR_DIR)
        return add_provider(name="standin", kind="esia", issuer=base + "/dev/idp/esia", client_id="SCHOOLID-DEMO", label="Госуслуги (stand-in)",
                            signer=f"pkcs7:{key}:{cert}", provider_certificate=standin.certificate_pem())
    from secrets import token_urlsafe
    return add_provider(name="standin", kind="oidc", issuer=base + "/dev/idp", client_id="schoolid-demo", client_secret=token_urlsafe(24),
                        national_id_claim="national_id", label="National ID (stand-in)")


def provider_logout_url(session_data: dict, signed_out_url: str) -> str | None:
    """Signing out of a session a provider started also ends the provider's session, through its
    logout URL (ESIA: /idp/ext/Logout; OIDC: end_session_endpoint from discovery, when cached)."""
    from urllib.parse import urlencode

    from django.core.cache import cache

    pk = session_data.get("federated_provider")
    provider = IdentityProvider.objects.filter(pk=pk, enabled=True).first() if pk else None
    if provider is None:
        return None
    back = settings.BASE_URL + signed_out_url
    if provider.kind == IdentityProvider.Kind.ESIA and provider.logout_endpoint:
        return provider.logout_endpoint + "?" + urlencode({"client_id": provider.client_id, "redirect_url": back})
    meta = cache.get(f"idp-meta:{provider.pk}:{provider.issuer}") or {}
    endpoint = provider.logout_endpoint or meta.get("end_session_endpoint")
    if not endpoint:
        return None
    return endpoint + "?" + urlencode({"client_id": provider.client_id, "post_logout_redirect_uri": back})
