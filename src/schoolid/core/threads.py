"""Database connections of application threads that end.

Granian ends an application thread that has been idle for a while and starts a new one when load
returns. Django keeps one persistent connection per thread, and its connection wrapper is a
reference cycle: when the thread ends nothing closes the connection until the garbage collector runs
a full collection, which the worker tuning (serve.py) makes rare. Measured before this module: every
idle spell left the previous threads' PostgreSQL connections open, 4 → 7 → 10.

So each thread that handles a request carries a small object, with no cycle, that holds the thread's
connection wrappers; when the thread's local storage is freed at its end, its finaliser closes them.
"""
import threading

from django.db import connections

_thread = threading.local()


class _CloseWhenThreadEnds:
    __slots__ = ("wrappers",)

    def __init__(self, wrappers):
        self.wrappers = wrappers

    def __del__(self):
        for wrapper in self.wrappers:
            raw = wrapper.connection
            if raw is None:
                continue
            try:
                # The raw connection: Django's own close() refuses to run outside the owning thread.
                raw.close()
            except Exception:  # noqa: BLE001 - a finaliser must not raise; the server may be gone
                pass


def close_connections_when_thread_ends(**_signal_kwargs) -> None:
    """Connected to request_started: the first request a thread handles arms its closer."""
    if getattr(_thread, "closer", None) is None:
        _thread.closer = _CloseWhenThreadEnds([connections[alias] for alias in connections])
