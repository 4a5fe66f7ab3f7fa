import copy
import gc
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def _tune_worker() -> None:
    """Once the app is loaded in a worker: move what is loaded out of the garbage collector's sight
    and collect less often. Django allocates many short-lived objects per request; the default
    thresholds made the collector a measurable share of each sign-in."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    # Password verification holds the interpreter lock for a whole hash (accounts/hashers.py). A
    # thread waiting for the lock wakes every switch interval to ask for it, and each wake-up cut into
    # the hash on this core; at 50 ms (default 5) a waiter sleeps through a hash.
    sys.setswitchinterval(int(os.environ.get("SCHOOLID_SWITCH_INTERVAL_MS", "50")) / 1000)


def _load_application(_target: str):
    """Granian's target loader, run in each worker process: the WSGI application (the target string
    given to Granian names the same object), then the worker tuning above."""
    from schoolid.wsgi import application

    _tune_worker()
    return application


def _log_config() -> dict:
    """Django's logging (JSON lines with the request id) for the server's own lines too."""
    config = copy.deepcopy(settings.LOGGING)
    config["loggers"] = {**config.get("loggers", {}), "_granian": {"level": "INFO"}, "granian.access": {"level": "WARNING"}}
    return config


def use_served_address(host: str, port: int) -> None:
    """In the embedded default, links in e-mails, SMS and QR codes point at the address being served,
    unless SCHOOLID_BASE_URL says otherwise. The address comes from the command line, never from a
    request's Host header (host header injection)."""
    if settings.PRODUCTION or os.environ.get("SCHOOLID_BASE_URL"):
        return
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    settings.BASE_URL = f"http://{shown}:{port}"
    # Worker processes read the settings anew.
    os.environ["SCHOOLID_BASE_URL"] = settings.BASE_URL
    if shown not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, shown]
        os.environ["SCHOOLID_ALLOWED_HOSTS"] = ",".join(settings.ALLOWED_HOSTS)


def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run Granian with the SchoolID WSGI application: HTTP is parsed and written in Granian's
    compiled code, and `threads` Python threads per worker process run the application.

    Measured against gunicorn's threaded worker, with both servers pinned to the same core and their
    sign-in rounds alternating in one run: about 3 % less of the core per sign-in (0.7 ms), the
    sign-in ratio up by about 0.02. No Python runs to parse requests, hand them between threads or
    write responses."""
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    server = Server(
        "schoolid.wsgi:application",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        # An idle application thread ends after this long (Granian allows 5-600 s); its database
        # connections are closed then (core/threads.py).
        blocking_threads_idle_timeout=min(600, max(5, int(os.environ.get("SCHOOLID_THREAD_IDLE_SECONDS", "30")))),
        runtime_threads=1,
        http=HTTPModes.http1,
        websockets=False,
        log_level=LogLevels.info,
        log_dictconfig=_log_config(),
        log_access=False,
        respawn_failed_workers=True,
        workers_kill_timeout=5,
    )
    # Embedded default: periodic jobs (retention) run in this process; production has Celery beat.
    from schoolid.core import embedded_jobs

    embedded_jobs.start()
    server.serve(target_loader=_load_application)


class Command(BaseCommand):
    help = "Serve SchoolID over HTTP (Granian) on an existing database."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("SCHOOLID_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SCHOOLID_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("SCHOOLID_WORKERS", os.cpu_count() or 2)))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("SCHOOLID_THREADS", "4")))

    def handle(self, *args, **options):
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            self.stderr.write(self.style.WARNING("The database needs migrations: run `schoolid migrate` first."))
            raise SystemExit(1)
        connection.close()
        use_served_address(options["host"], options["port"])
        self.stdout.write(f"SchoolID ({settings.SCHOOLID_PROFILE.name}) on http://{options['host']}:{options['port']}/")
        serve(options["host"], options["port"], options["workers"], options["threads"])
