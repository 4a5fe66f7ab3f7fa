from __future__ import annotations

from django.db.models import Q, QuerySet

from schoolid.core.profiles import current_profile
from schoolid.federation.models import FederatedLink, IdentityProvider


def providers() -> QuerySet[IdentityProvider]:
    return IdentityProvider.objects.order_by("name")


def enabled_providers() -> list[IdentityProvider]:
    """Enabled providers of the current country profile (or of every profile)."""
    code = current_profile().code
    return list(IdentityProvider.objects.filter(enabled=True).filter(Q(country="") | Q(country__iexact=code)).order_by("label"))


def enabled_provider(name: str) -> IdentityProvider | None:
    return next((p for p in enabled_providers() if p.name == name), None)


def link_for(provider: IdentityProvider, subject: str) -> FederatedLink | None:
    return FederatedLink.objects.select_related("account__person").filter(provider=provider, subject=subject).first()


def links_of(account) -> QuerySet[FederatedLink]:
    return FederatedLink.objects.filter(account=account).select_related("provider").order_by("provider__label")


def links_of_provider(provider: IdentityProvider) -> QuerySet[FederatedLink]:
    return FederatedLink.objects.filter(provider=provider).select_related("account")
