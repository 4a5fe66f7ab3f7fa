"""Test settings: the real PostgreSQL and Redis when they answer on localhost, SQLite and local memory
otherwise. With SCHOOLID_REQUIRE_SERVICES=1 (CI) a missing service fails the run instead."""
import os
import socket
import tempfile
import uuid


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


REQUIRE_SERVICES = os.environ.get("SCHOOLID_REQUIRE_SERVICES") == "1"
# Each xdist worker gets its own var/ (secret key, demo state, outbox files), so workers never race.
_var_base = os.environ.setdefault("SCHOOLID_TEST_VAR_BASE", tempfile.mkdtemp(prefix="schoolid-test-"))
os.environ["SCHOOLID_VAR_DIR"] = os.path.join(_var_base, os.environ.get("PYTEST_XDIST_WORKER", "main"))
os.environ.setdefault("SCHOOLID_PROFILE", "ir")

if not os.environ.get("DATABASE_URL"):
    if os.environ.get("SCHOOLID_TEST_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["SCHOOLID_TEST_DATABASE_URL"]
    elif _answers("127.0.0.1", 5432):
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/schoolid"
    elif REQUIRE_SERVICES:
        raise RuntimeError("SCHOOLID_REQUIRE_SERVICES=1 but PostgreSQL does not answer on 127.0.0.1:5432")

if not os.environ.get("REDIS_URL"):
    if _answers("127.0.0.1", 6379):
        os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/1"
    elif REQUIRE_SERVICES:
        raise RuntimeError("SCHOOLID_REQUIRE_SERVICES=1 but Redis does not answer on 127.0.0.1:6379")

# Every test run, and every xdist worker in it, keeps its cache keys under its own prefix, so the
# tests can empty their cache without touching another run's (sessions live in the cache).
os.environ.setdefault("SCHOOLID_TEST_RUN_ID", uuid.uuid4().hex[:12])
TEST_CACHE_PREFIX = f"test-{os.environ['SCHOOLID_TEST_RUN_ID']}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"

from schoolid.settings import *  # noqa: E402,F403

CACHES["default"]["KEY_PREFIX"] = TEST_CACHE_PREFIX  # noqa: F405

# Keep the real Argon2id parameters: the tests check them.
ALLOWED_HOSTS = ["*"]
LOGGING["root"]["level"] = os.environ.get("SCHOOLID_TEST_LOG_LEVEL", "WARNING")  # noqa: F405
# The live server answers each request on its own thread; with persistent connections a thread kept
# alive by an HTTP keep-alive would still hold the test database when pytest drops it.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Tests read the sinks right after a request: deliver inline. Flow answers are not padded here; the
# enumeration tests turn the padding on where they measure time.
DELIVER_AFTER_RESPONSE = False
FLOW_ANSWER_SECONDS = 0.0
