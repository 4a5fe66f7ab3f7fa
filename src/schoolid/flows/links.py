"""Link tokens (as Ory Kratos' strategy/link): issued for a flow and a purpose, found by the SHA-256
of the raw token, spent once. The only module that writes LinkToken rows; journeys call it.

A link carries 256 random bits (credentials.generators.new_link_token), lives no longer than its
flow allows, and is bound to one purpose: an activation link never recovers an account."""
from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone

from schoolid.credentials.generators import new_link_token, token_digest
from schoolid.flows.models import Flow, LinkToken


def link_seconds() -> int:
    # E-mail links: 1 hour by default, never more than 24 hours (NIST §4.2.1.2; security requirements C8).
    return min(settings.LINK_TOKEN_SECONDS, 24 * 3600)


def issue(flow: Flow | None, purpose: str, expires_at: datetime.datetime, *, flow_id=None) -> str:
    """A new link token for `flow` (or `flow_id`) and `purpose`; returns the raw token, which only
    the e-mail carries. Only its digest is stored."""
    token = new_link_token()
    LinkToken.objects.create(flow_id=flow.pk if flow is not None else flow_id, purpose=purpose, digest=token_digest(token), expires_at=expires_at)
    return token


def usable(raw: str, purpose: str, **filters) -> LinkToken | None:
    """The unused, unexpired link for `raw` and `purpose` (with its flow, account and person), if any.
    `filters` narrow it further (e.g. flow__state=..., flow__account__isnull=False)."""
    return (
        LinkToken.objects.select_related("flow__account__person")
        .filter(digest=token_digest(raw or ""), purpose=purpose, used_at__isnull=True, expires_at__gt=timezone.now(), **filters)
        .first()
    )


def used(raw: str, purpose: str, **filters) -> LinkToken | None:
    """The link for `raw` and `purpose` once it was spent (a page that explains a reused link)."""
    return LinkToken.objects.select_related("flow__account__person").filter(digest=token_digest(raw or ""), purpose=purpose, used_at__isnull=False,
                                                                              **filters).first()


def spend(link: LinkToken) -> bool:
    """Spend `link`: True for exactly one caller, however many race (one conditional UPDATE)."""
    return LinkToken.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=timezone.now()) == 1


def spend_raw(raw: str, purpose: str, **filters) -> LinkToken | None:
    """Find and spend in one step: the link if this caller spent it, else None."""
    link = usable(raw, purpose, **filters)
    if link is None or not spend(link):
        return None
    return link
