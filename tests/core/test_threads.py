"""Application threads that end close their database connections (core/threads.py).

Granian ends idle application threads; Django's per-thread connection wrapper is a reference cycle,
so without the closer the connection stays open until a full garbage collection. And the closing must
not happen while the thread's interpreter state is torn down: that crashed the worker (issue 17)."""
import gc
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from schoolid.core.threads import close_connections_when_thread_ends
from tests.servers import migrate, serving


def _wait_closed(raw, seconds: float = 10.0) -> bool:
    """The closer thread closes handed-over connections soon after the thread ends."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _is_closed(raw):
            return True
        time.sleep(0.02)
    return _is_closed(raw)


def _is_closed(raw) -> bool:
    if hasattr(raw, "closed"):  # psycopg
        return bool(raw.closed)
    try:  # sqlite3
        raw.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - sqlite3.ProgrammingError: closed
        return True
    return False


@pytest.mark.django_db(transaction=True)
def test_a_thread_that_ends_closes_its_connection_and_one_without_the_closer_does_not():
    raws = {}

    def handle_request(armed: bool):
        if armed:
            close_connections_when_thread_ends()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        raws[armed] = connection.connection

    gc.disable()  # as in a tuned worker: no collection comes to the rescue
    try:
        for armed in (True, False):
            thread = threading.Thread(target=handle_request, args=(armed,))
            thread.start()
            thread.join()
        assert _wait_closed(raws[True])
        # The contrast: the same thread work without the closer leaves its connection open.
        assert not _is_closed(raws[False])
    finally:
        gc.enable()
        raws[False].close()


def _open_connections(database: str) -> int:
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
                          f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'"], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="counts PostgreSQL connections")
def test_schoolid_serve_leaves_no_connection_behind_after_idle_threads_end(tmp_path):
    """Under `schoolid serve`: busy, idle until Granian ends the threads, busy again. The connections
    of ended threads are closed, so the count never grows past the threads of one process."""
    database = f"schoolid_threads_{os.getpid()}"
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", "-qc", f"CREATE DATABASE {database}"],
                   check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DATABASE_URL=f"{base}/{database}", SCHOOLID_VAR_DIR=str(tmp_path), SCHOOLID_THREAD_IDLE_SECONDS="5",
               DJANGO_SETTINGS_MODULE="schoolid.settings")
    try:
        migrate(env)
        with serving(env, "--workers", "1", "--threads", "4") as (_server, port, body):
            assert body is not None

            def burst():
                def get():
                    answer = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).read())
                    assert answer["database"]["ok"]

                threads = [threading.Thread(target=get) for _ in range(24)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()

            counts = []
            for _ in range(2):
                burst()
                counts.append(_open_connections(database))
                time.sleep(7)  # the idle threads end after 5 s
            burst()
            counts.append(_open_connections(database))
            assert counts[0] >= 1 and max(counts) <= 4, counts
    finally:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], capture_output=True)


_FOREIGN_THREADS = textwrap.dedent("""
    import ctypes, gc, json, time
    import django
    django.setup()
    from django.db import connection
    from schoolid.core.threads import close_connections_when_thread_ends

    gc.disable()  # as in a tuned worker: the teardown alone must close them
    raws = []

    @ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
    def handle_request(_arg):
        # A thread made outside Python, as Granian's are: ctypes gives it a thread state through
        # PyGILState_Ensure and tears it down in PyGILState_Release when the callback returns.
        close_connections_when_thread_ends()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        raws.append(connection.connection)
        return None

    libc = ctypes.CDLL(None)
    libc.pthread_create.argtypes = [ctypes.POINTER(ctypes.c_ulong), ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    for _ in range(20):
        tid = ctypes.c_ulong()
        assert libc.pthread_create(ctypes.byref(tid), None, ctypes.cast(handle_request, ctypes.c_void_p), None) == 0
        libc.pthread_join(tid, None)

    def closed(raw):
        try:
            raw.execute("SELECT 1")
        except Exception:
            return True
        return False

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(closed(r) for r in raws):
        time.sleep(0.02)
    print(json.dumps({"threads": len(raws), "closed": sum(closed(r) for r in raws)}))
""")


def test_threads_made_outside_python_end_without_crashing_and_close_their_sqlite_connections(tmp_path):
    """Issue 17: closing an SQLite connection in the finaliser, while PyGILState_Release tears the
    thread state down, freed that state twice (sqlite3 calls back through PyGILState_Ensure/Release
    as it closes) and the process died with a segmentation fault on the first thread. The threads
    here are made the way Granian makes them; the process must live and every connection be closed."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/threads.sqlite3", SCHOOLID_VAR_DIR=str(tmp_path),
               DJANGO_SETTINGS_MODULE="schoolid.settings", PYTHONFAULTHANDLER="1")
    done = subprocess.run([sys.executable, "-c", _FOREIGN_THREADS], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-3000:])
    assert "Fatal Python error" not in done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"threads": 20, "closed": 20}


def _worker_threads(server_pid: int) -> int:
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    return sum(len(os.listdir(f"/proc/{child}/task")) for child in children)


def _client():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _post_form(base: str, path: str, data: dict) -> int:
    opener = _client()
    page = opener.open(base + path, timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
    return opener.open(urllib.request.Request(base + path, body, headers={"Referer": base + path}), timeout=60).status


def test_schoolid_serve_survives_idle_threads_ending_after_sign_in_traffic(tmp_path, smtp, gateway, settings):
    """Issue 17 at the server: the `il` demo served by `schoolid serve` (one worker, SQLite with
    persistent connections, SMS gateway and SMTP receivers), an SMS sign-in, a recovery, a good and a
    wrong password sign-in side by side with page loads so that Granian starts extra threads; then idle
    past the thread lifetime (5 s) so those threads end; then a page. Before the fix the worker died
    with "Fatal Python error: Segmentation fault" when the threads ended (ASVS v5 16.5.3: the
    application fails gracefully and securely)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/demo.sqlite3", SCHOOLID_VAR_DIR=str(tmp_path), SCHOOLID_PROFILE="il",
               DJANGO_SETTINGS_MODULE="schoolid.settings", PYTHONFAULTHANDLER="1", SCHOOLID_THREAD_IDLE_SECONDS="5",
               SMS_GATEWAY_URL=settings.SMS_GATEWAY_URL, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(settings.EMAIL_PORT),
               EMAIL_USE_TLS="0")
    subprocess.run([sys.executable, "-m", "schoolid.cli", "demo", "--country", "il", "--no-serve", "--students", "60", "--seed", "7"],
                   env=env, check=True, capture_output=True, timeout=300)
    parent = next(i for i in json.loads((tmp_path / "demo.json").read_text())["identities"] if i["role"] == "parent")
    national_id = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from schoolid.accounts.models import Account; "
         f"print(Account.objects.get(user_code={parent['user_code'].replace('-', '')!r}).person.national_id)"],
        env=env, check=True, capture_output=True, text=True).stdout.strip()
    log = tmp_path / "serve.log"
    with open(log, "w") as log_file, serving(env, "--workers", "1", "--threads", "4", stderr=log_file) as (server, port, body):
        assert body is not None
        base = f"http://127.0.0.1:{port}"
        statuses, failures = [], []

        def flows():
            try:
                statuses.append(_post_form(base, "/signin/sms/", {"national_id": national_id}))
                statuses.append(_post_form(base, "/recover/", {"need": "password", "identifier": parent["user_code"]}))
                statuses.append(_post_form(base, "/signin/", {"identifier": parent["user_code"], "password": parent["password"]}))
                statuses.append(_post_form(base, "/signin/", {"identifier": parent["user_code"], "password": "not the password at all"}))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                failures.append(repr(exc))

        def pages():
            for _ in range(6):
                statuses.append(urllib.request.urlopen(base + "/signin/", timeout=30).status)

        workers = [threading.Thread(target=flows) for _ in range(2)] + [threading.Thread(target=pages) for _ in range(6)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        assert not failures and set(statuses) == {200}, (failures, statuses)
        assert gateway.received and smtp.messages  # the SMS and the e-mail went out through the real channels
        busy_threads = _worker_threads(server.pid)
        time.sleep(9)  # past the 5 s thread lifetime
        idle_threads = _worker_threads(server.pid)
        assert urllib.request.urlopen(base + "/signin/", timeout=30).status == 200
        time.sleep(1)
        assert server.poll() is None
    text = log.read_text()
    assert idle_threads < busy_threads, (busy_threads, idle_threads)  # threads did end: the test exercised the teardown
    assert "Fatal Python error" not in text and "Unexpected exit" not in text, text[-4000:]
