"""Application threads that end close their database connections (core/threads.py).

A server may end idle application threads (Granian does); Django's per-thread connection wrapper is a reference cycle,
so without the closer the connection stays open until a full garbage collection."""
import gc
import threading

import pytest
from django.db import DatabaseError, connection

from schoolid.core.threads import close_connections_when_thread_ends


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
