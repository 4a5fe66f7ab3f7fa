"""Database connections of application threads that end.

Granian ends an application thread that has been idle for a while and starts a new one when load
returns. Django keeps one persistent connection per thread, and its connection wrapper is a
reference cycle: when the thread ends nothing closes the connection until the garbage collector runs
a full collection, which the worker tuning (serve.py) makes rare. Measured before this module: every
idle spell left the previous threads' PostgreSQL connections open, 4 → 7 → 10.

So each thread that handles a request carries a small object, with no cycle, that holds the thread's
connection wrappers; when the thread's local storage is freed at its end, its finaliser hands the
open connections to one closer thread per process, which closes them.

Why not close them in the finaliser itself (issue 17, the worker segfault): Granian's threads get
their interpreter state from PyGILState_Ensure, and the state is torn down inside the matching
PyGILState_Release, with its use count already at zero. sqlite3's close() releases the interpreter
lock and calls back (the destructors of Django's SQL functions) through PyGILState_Ensure/Release;
that inner Release sees the count at zero and frees the thread state a second time, and the close
then resumes on freed memory: "Fatal Python error: Segmentation fault", every time the memory was
reused (a busy machine). The finaliser therefore only puts the connections on a SimpleQueue, which
neither releases the lock nor calls back into Python.
"""
import os
import queue
import threading

from django.db import connections

_thread = threading.local()
_to_close: "queue.SimpleQueue" = queue.SimpleQueue()
_closer_pid: int | None = None
_closer_lock = threading.Lock()


class _CloseWhenThreadEnds:
    __slots__ = ("wrappers",)

    def __init__(self, wrappers):
        self.wrappers = wrappers

    def __del__(self):
        # Runs while the thread's state is being torn down: no close() here (see the module docstring).
        for wrapper in self.wrappers:
            raw = wrapper.connection
            if raw is not None:
                _to_close.put(raw)


def _close_handed_over() -> None:
    while True:
        raw = _to_close.get()
        try:
            # The raw connection: Django's own close() refuses to run outside the owning thread.
            raw.close()
        except Exception:  # noqa: BLE001 - the server may be gone; nothing else can be done with it
            pass
        del raw


def _ensure_closer_thread() -> None:
    """One closer thread per process (a forked worker starts its own)."""
    global _closer_pid
    if _closer_pid == os.getpid():
        return
    with _closer_lock:
        if _closer_pid != os.getpid():
            threading.Thread(target=_close_handed_over, name="schoolid-connection-closer", daemon=True).start()
            _closer_pid = os.getpid()


def close_connections_when_thread_ends(**_signal_kwargs) -> None:
    """Connected to request_started: the first request a thread handles arms its closer."""
    if getattr(_thread, "closer", None) is None:
        _ensure_closer_thread()
        _thread.closer = _CloseWhenThreadEnds([connections[alias] for alias in connections])
