"""Import runs' figures for /metrics (core/metrics.py), read at scrape time."""
from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from schoolid.provisioning.models import ImportRun


def import_figures():
    runs = GaugeMetricFamily("schoolid_import_runs", "Register import and sync runs by status.", labels=["status"])
    for row in ImportRun.objects.values("status").annotate(n=Count("pk")).order_by():
        runs.add_metric([row["status"]], row["n"])
    yield runs
