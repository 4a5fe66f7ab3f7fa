"""Periodic jobs without Celery beat (the embedded default): a daemon thread in the `schoolid serve`
process runs the CELERY_BEAT_SCHEDULE entries named in SCHOOLID_EMBEDDED_JOBS, in-process, one at a
time. In production Celery beat runs them instead and this thread is not started."""
from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger("schoolid.jobs")
FIRST_DELAY_SECONDS = 300  # let the server start (and a demo be built) before the first run


def _run(task_name: str) -> None:
    from celery import current_app
    from django.db import connections

    try:
        current_app.loader.import_default_modules()
        current_app.tasks[task_name].apply(throw=True)
    except Exception:  # a failed run is logged and tried again at the next interval
        logger.exception("embedded job failed", extra={"task": task_name})
    finally:
        connections.close_all()


def start(stop: threading.Event | None = None) -> threading.Thread | None:
    from django.conf import settings

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    jobs = {name: entry for name, entry in settings.CELERY_BEAT_SCHEDULE.items() if name in settings.SCHOOLID_EMBEDDED_JOBS}
    if not jobs:
        return None
    stop = stop or threading.Event()
    due = {name: time.monotonic() + min(FIRST_DELAY_SECONDS, float(entry["schedule"])) for name, entry in jobs.items()}

    def loop():
        while not stop.is_set():
            now = time.monotonic()
            for name, entry in jobs.items():
                if due[name] <= now:
                    _run(entry["task"])
                    due[name] = time.monotonic() + float(entry["schedule"])
            stop.wait(max(1.0, min(due.values()) - time.monotonic()))

    thread = threading.Thread(target=loop, name="schoolid-embedded-jobs", daemon=True)
    thread.start()
    return thread
