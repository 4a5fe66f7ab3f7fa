"""Owner verbs of the flow tables for the privacy duties (retention and erasure); the privacy app
decides when. Journeys are short: once expired they are history nobody needs."""
from __future__ import annotations

from django.db import transaction

from schoolid.flows.models import Flow


def flows_ended_before(cutoff, limit: int | None = None) -> list:
    """Journeys whose expiry passed before `cutoff` (finished or abandoned alike)."""
    return list(Flow.objects.filter(expires_at__lt=cutoff).order_by("expires_at").values_list("pk", flat=True)[:limit])


@transaction.atomic
def purge_flows(ids) -> int:
    """Delete journeys with their code and link hashes."""
    flows = Flow.objects.filter(pk__in=list(ids))
    count = flows.count()
    flows.delete()
    return count


@transaction.atomic
def forget_account(account) -> int:
    """An erased person's journeys: deleted, whatever their state (nothing may finish any more)."""
    return purge_flows(Flow.objects.filter(account=account).values_list("pk", flat=True))
