"""The recovery binding is spent once, also under parallel requests (security requirements §3: NIST
§4.2.1.2 "recovery codes and tokens are single use"; FP-CS "User Resets Password"). Real HTTP requests
on threads against the live server, on the test database (PostgreSQL in CI)."""
import http.client
import json
import re
import threading
import urllib.parse

import pytest
from django.test import Client

from schoolid.audit.models import AuditEvent
from schoolid.core.profiles import load_profile
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
OLD = "старый пароль очень длинный"


def _connect(base: str) -> http.client.HTTPConnection:
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=180)
    conn.connect()
    return conn


def _post(base: str, path: str, body: dict, conn: http.client.HTTPConnection | None = None) -> tuple[int, dict]:
    conn = conn or _connect(base)
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    return answer.status, json.loads(data or b"{}")


def test_forty_parallel_finishes_with_one_binding_complete_once(settings, live_server, smtp):
    """NIST §4.2.1.2: the prover's binding finishes the recovery once. 40 finishes sent at once with
    the same binding and different passwords: exactly one sets a password (one "recovery completed"
    event and notice), the rest are refused. (Old code: the flow was moved to done without checking
    that it was still proven, so 8 of 40 parallel finishes each set a password on the served demo.)"""
    settings.SCHOOLID_PROFILE = load_profile("ru")
    t = f.org_tree()
    victim = f.account("guardian", t["school_a"], password=OLD, email="mama@example.org", email_verified=True)
    base = live_server.url
    status, started = _post(base, "/api/v1/flows/recovery", {"need": "password", "identifier": "mama@example.org"})
    assert status == 202
    token = re.search(r"/recover/link/([A-Za-z0-9_-]+)/", smtp.messages[-1][1]).group(1)
    status, proven = _post(base, "/api/v1/flows/recovery/link", {"token": token})
    assert status == 200
    flow, binding = proven["flow"], proven["binding"]

    # Connections opened in advance, so the server's listen queue does not overflow.
    connections, statuses, start = [_connect(base) for _ in range(40)], [], threading.Barrier(40)

    def finish(n: int) -> None:
        start.wait()
        statuses.append(_post(base, f"/api/v1/flows/recovery/{flow}/password",
                              {"binding": binding, "new_password": f"новый пароль номер {n:02d} длинный"}, connections[n])[0])

    threads = [threading.Thread(target=finish, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    completed = AuditEvent.objects.filter(action="recovery.completed", result="success", target_id=victim.pk).count()
    assert len(statuses) == 40
    assert statuses.count(200) == 1 and completed == 1, (sorted(statuses), completed)
    # The one that won is the password that works now; the old one does not.
    assert Client().post("/signin/", {"identifier": victim.user_code, "password": OLD}).get("Location") != "/account/"
