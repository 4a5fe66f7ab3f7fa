"""Reads of the outbox for operators (metrics)."""
import datetime

from django.db.models import Count, Min

from schoolid.notify.models import OutboxMessage


def outbox_counts() -> dict[str, int]:
    return {row["status"]: row["n"] for row in OutboxMessage.objects.values("status").annotate(n=Count("pk")).order_by()}


def oldest_waiting_at() -> datetime.datetime | None:
    """When the oldest message not yet sent (queued or being sent) was written, or None."""
    return OutboxMessage.objects.filter(status__in=(OutboxMessage.Status.QUEUED, OutboxMessage.Status.SENDING)).aggregate(at=Min("created_at"))["at"]
