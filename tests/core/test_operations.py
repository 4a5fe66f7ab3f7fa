"""What operators need (issue 17, section 5): readiness that tells the truth about the database and the
cache, and Prometheus metrics that only configured addresses may read."""
import json
import os
import re
import urllib.request

import pytest
from django.db import connection
from django.test import Client

from schoolid.notify.models import OutboxMessage
from tests import factories as f
from tests.servers import migrate, serving


def _sample(text: str, name: str, **labels) -> float:
    """The value of one sample in the Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.django_db
def test_ready_answers_200_when_the_database_and_cache_answer():
    body = Client().get("/api/v1/ready").json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["cache"]["ok"]


@pytest.mark.django_db
def test_ready_answers_503_while_the_cache_is_unreachable(settings):
    """A Redis that is down (nothing listens on the port): not ready, and the page says which part."""
    settings.CACHES = {"default": {"BACKEND": "schoolid.core.cache.SchoolRedisCache", "LOCATION": "redis://127.0.0.1:9/0",
                                   "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    response = Client().get("/api/v1/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded" and body["database"]["ok"] and not body["cache"]["ok"]


@pytest.mark.django_db(transaction=True)
def test_ready_answers_503_while_the_database_is_unreachable():
    if connection.vendor != "postgresql":
        pytest.skip("points the PostgreSQL connection at a dead port")
    connection.close()
    saved = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = "9"
    try:
        response = Client().get("/api/v1/ready")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved
    assert response.status_code == 503
    assert not response.json()["database"]["ok"]
    assert Client().get("/api/v1/ready").status_code == 200  # back by itself once the database answers


@pytest.mark.django_db
def test_metrics_are_refused_to_other_addresses(settings):
    """Metrics reveal traffic and sign-in figures: only the configured addresses read them (ASVS v5 13.4.5)."""
    settings.SCHOOLID_METRICS_ALLOWED = ["127.0.0.1", "10.0.0.0/8"]
    assert Client(REMOTE_ADDR="203.0.113.7").get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200


@pytest.mark.django_db
def test_metrics_count_requests_sign_ins_throttles_and_the_outbox():
    client = Client()
    before = client.get("/metrics").content.decode()
    account = f.account("guardian", f.org_tree()["school_a"], password="maple river lantern quietly")
    for _ in range(2):
        client.post("/signin/", {"identifier": account.person.national_id, "password": "not the right one at all"})
    client.get("/api/v1/health")
    OutboxMessage.objects.create(channel="sms", to="+989121234567", body="x", purpose="test", dedupe_key="metrics-1")
    after = client.get("/metrics").content.decode()

    def grew(name, **labels):
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert grew("schoolid_http_requests_total", route="api/v1/health", method="GET", status="200") == 1
    assert grew("schoolid_http_requests_total", route="signin/", method="POST", status="200") == 2
    assert grew("schoolid_signin_events_total", action="signin.password", result="failure") == 2
    assert grew("schoolid_http_request_duration_seconds_count", route="signin/") == 2
    assert _sample(after, "schoolid_outbox_messages", status="queued") == 1
    assert _sample(after, "schoolid_outbox_oldest_waiting_seconds") >= 0
    assert "schoolid_import_runs" in after and "schoolid_throttled_total" in after


def test_metrics_add_up_across_server_workers(tmp_path):
    """`schoolid serve` with two worker processes: a scrape, answered by either, counts the requests
    both served (PROMETHEUS_MULTIPROC_DIR under var/)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR", "REDIS_URL")}
    env.update(SCHOOLID_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="schoolid.settings", DATABASE_URL=f"sqlite:///{tmp_path}/metrics.sqlite3")
    migrate(env)
    with serving(env, "--workers", "2", "--threads", "2") as (_server, port, body):
        assert body is not None
        base = f"http://127.0.0.1:{port}"
        text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
        start = _sample(text, "schoolid_http_requests_total", route="api/v1/health", method="GET", status="200")
        for _ in range(40):
            json.loads(urllib.request.urlopen(base + "/api/v1/health", timeout=10).read())
        counts = []
        for _ in range(4):  # whichever worker answers the scrape, it reports both
            text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
            counts.append(_sample(text, "schoolid_http_requests_total", route="api/v1/health", method="GET", status="200") - start)
    assert counts == [40.0] * 4, counts
    assert list((tmp_path / "metrics").glob("counter_*.db")), "per-process files under var/metrics"


@pytest.mark.django_db
def test_sign_in_fails_closed_with_a_clear_page_while_redis_is_down(settings):
    """Issue 17, Redis down in the middle of sign-ins: the address throttle's counter cannot be read,
    so the attempt is refused (never let through unthrottled), with a clear, translated 503 page and
    Retry-After instead of a 500; nothing about the account changes. ASVS v5 6.3.1 / 16.5.3."""
    account = f.account("guardian", f.org_tree()["school_a"], password="maple river lantern quietly")
    client = Client(raise_request_exception=False)  # as the server: the answer, not the exception
    page = client.get("/signin/")
    token = page.cookies["csrftoken" if "csrftoken" in page.cookies else settings.CSRF_COOKIE_NAME].value
    settings.CACHES = {"default": {"BACKEND": "schoolid.core.cache.SchoolRedisCache", "LOCATION": "redis://127.0.0.1:9/0",
                                   "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    for language, words in (("en", "briefly unavailable"), ("ru", "временно недоступен")):
        response = client.post("/signin/", {"identifier": account.person.national_id, "password": "maple river lantern quietly",
                                            "csrfmiddlewaretoken": token}, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 503 and response["Retry-After"] == "30"
        assert words in response.content.decode()
    account.refresh_from_db()
    assert account.last_login is None and account.failed_logins == 0
