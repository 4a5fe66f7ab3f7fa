import gc
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def _tune_worker(worker) -> None:
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


def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run gunicorn in this process with the SchoolID WSGI application."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger

    from schoolid.core.logging import JsonFormatter, RequestIdFilter
    from schoolid.wsgi import application

    class JsonLogger(Logger):
        """gunicorn's own lines in the same JSON form as the application's."""

        def setup(self, cfg):
            super().setup(cfg)
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(JsonFormatter())
                    handler.addFilter(RequestIdFilter())

    class SchoolIDServer(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", None)
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("proc_name", "schoolid")
            self.cfg.set("post_worker_init", _tune_worker)
            self.cfg.set("logger_class", JsonLogger)

        def load(self):
            return application

    SchoolIDServer().run()


class Command(BaseCommand):
    help = "Serve SchoolID over HTTP (gunicorn) on an existing database."

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
        self.stdout.write(f"SchoolID ({settings.SCHOOLID_PROFILE.name}) on http://{options['host']}:{options['port']}/")
        serve(options["host"], options["port"], options["workers"], options["threads"])
