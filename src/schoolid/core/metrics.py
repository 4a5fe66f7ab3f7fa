"""Prometheus metrics at /metrics (prometheus-client), for operators.

Counted where they happen: HTTP requests by route, method and status, with a latency histogram per
route; sign-in events by action and result and throttled attempts (from the audit trail, audit/services.py).
Read from the database at each scrape, so they are right whichever process changed them (the app, the
Celery worker): outbox messages by status and the age of the oldest waiting one, import runs by status.

Several server processes: `schoolid serve` points PROMETHEUS_MULTIPROC_DIR at var/metrics/ (emptied at
start, cli.py) before any process loads prometheus-client, and a scrape adds up every process's files.
"""
import ipaddress
import logging
import os
import time

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

REQUESTS = Counter("schoolid_http_requests_total", "HTTP requests by route, method and status.", ["route", "method", "status"])
LATENCY = Histogram("schoolid_http_request_duration_seconds", "Time to answer an HTTP request, by route.", ["route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
SIGNIN_EVENTS = Counter("schoolid_signin_events_total", "Sign-in audit events by action and result (success, failure, denied).",
                        ["action", "result"])
logger = logging.getLogger("schoolid.metrics")
THROTTLED = Counter("schoolid_throttled_total", "Attempts refused by a throttle or a lock, by audit action.", ["action"])


def record_audit(action: str, result: str) -> None:
    """Called for every audit event written (audit/services.py). A metric never fails the audit write."""
    try:
        if action.startswith("signin"):
            SIGNIN_EVENTS.labels(action, result).inc()
        if result in ("denied", "throttled"):
            THROTTLED.labels(action).inc()
    except Exception:  # noqa: BLE001 - e.g. an unwritable PROMETHEUS_MULTIPROC_DIR
        logger.exception("metric not recorded")


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.route or match.view_name or "unnamed"
    if request.path.startswith(settings.STATIC_URL or "/static/"):
        return "static"
    return "unmatched"  # bounded: a scanner's random paths are one label, not thousands


class MetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            try:
                route = _route(request)
                REQUESTS.labels(route, request.method if request.method in _METHODS else "other", str(status)).inc()
                LATENCY.labels(route).observe(time.perf_counter() - start)
            except Exception:  # noqa: BLE001 - a metric never fails a request
                logger.exception("metric not recorded")


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


# Figures read from the database at scrape time. Each app registers its own (notify: the outbox,
# provisioning: import runs) from its AppConfig.ready, so core imports no app.
_DATABASE_FIGURES: list = []


def database_figures(collect):
    """Register `collect()`, which yields prometheus metric families read from the database."""
    if collect not in _DATABASE_FIGURES:
        _DATABASE_FIGURES.append(collect)
    return collect


class _DatabaseCollector:
    """Outbox and import figures, read at scrape time."""

    def collect(self):
        for collect in _DATABASE_FIGURES:
            yield from collect()


def _allowed(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for allowed in settings.SCHOOLID_METRICS_ALLOWED:
        try:
            if ip in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


def metrics_view(request):
    if not _allowed(request.META.get("REMOTE_ADDR")):
        return HttpResponse("Metrics are not available from this address.\n", status=403, content_type="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessMetrics())
    registry.register(_DatabaseCollector())
    response = HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


class _ProcessMetrics:
    """This process's own counters (one process: the embedded default, tests)."""

    def collect(self):
        for collector in (REQUESTS, LATENCY, SIGNIN_EVENTS, THROTTLED):
            yield from collector.collect()

