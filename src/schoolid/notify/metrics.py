"""The outbox's figures for /metrics (core/metrics.py), read at scrape time."""
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from schoolid.notify.models import OutboxMessage


def outbox_figures():
    outbox = GaugeMetricFamily("schoolid_outbox_messages", "Outbox messages by status.", labels=["status"])
    for row in OutboxMessage.objects.values("status").annotate(n=Count("pk")).order_by():
        outbox.add_metric([row["status"]], row["n"])
    yield outbox
    oldest = OutboxMessage.objects.filter(status__in=("queued", "sending")).aggregate(at=Min("created_at"))["at"]
    yield GaugeMetricFamily("schoolid_outbox_oldest_waiting_seconds", "Age of the oldest message not yet sent (0: none waits).",
                            value=(timezone.now() - oldest).total_seconds() if oldest else 0.0)
