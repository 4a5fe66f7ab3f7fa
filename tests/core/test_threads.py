"""Application threads that end close their database connections (core/threads.py).

Granian ends idle application threads; Django's per-thread connection wrapper is a reference cycle,
so without the closer the connection stays open until a full garbage collection."""
import gc
import json
import os
import subprocess
import threading
import time
import urllib.request

import pytest
from django.db import connection

from schoolid.core.threads import close_connections_when_thread_ends
from tests.servers import migrate, serving


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
        assert _is_closed(raws[True])
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
