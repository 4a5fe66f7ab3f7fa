"""The REST API root: /api/v1/..., OpenAPI at /api/openapi.json."""
import time

from django.core.cache import caches
from django.db import connection
from ninja import NinjaAPI, Schema, Status

from schoolid.core import problems


class SchoolIdAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        return problems.document_errors(super().get_openapi_schema(*args, **kwargs))


api = SchoolIdAPI(
    title="SchoolID API",
    version="1",
    description="Identity and account service for a national school portal.",
    openapi_url="/openapi.json",
    docs_url="/docs",
    urls_namespace="api",
)
problems.install(api)


def _add_routers() -> None:
    from schoolid.console.api import router as console_router
    from schoolid.flows.api import router as flows_router

    api.add_router("/v1/console", console_router)
    api.add_router("/v1/flows", flows_router)


class ComponentStatus(Schema):
    ok: bool
    backend: str
    latency_ms: float
    error: str | None = None


class HealthOut(Schema):
    status: str
    database: ComponentStatus
    cache: ComponentStatus


def _check_database() -> ComponentStatus:
    start = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return ComponentStatus(ok=True, backend=connection.vendor, latency_ms=round((time.perf_counter() - start) * 1000, 2))
    except Exception as exc:  # any failure is the answer, not a crash
        return ComponentStatus(ok=False, backend=connection.vendor, latency_ms=round((time.perf_counter() - start) * 1000, 2), error=type(exc).__name__)


def _check_cache() -> ComponentStatus:
    cache = caches["default"]
    backend = cache.__class__.__name__
    start = time.perf_counter()
    try:
        cache.set("health:probe", "1", timeout=10)
        ok = cache.get("health:probe") == "1"
        return ComponentStatus(ok=ok, backend=backend, latency_ms=round((time.perf_counter() - start) * 1000, 2), error=None if ok else "read-back mismatch")
    except Exception as exc:
        return ComponentStatus(ok=False, backend=backend, latency_ms=round((time.perf_counter() - start) * 1000, 2), error=type(exc).__name__)


def _status_of_dependencies() -> Status:
    database, cache_status = _check_database(), _check_cache()
    ok = database.ok and cache_status.ok
    body = HealthOut(status="ok" if ok else "degraded", database=database, cache=cache_status)
    return Status(200 if ok else 503, body)


@api.get("/v1/health", response={200: HealthOut, 503: HealthOut}, tags=["health"], summary="Status of the database and the cache")
def health(request):
    return _status_of_dependencies()


@api.get("/v1/ready", response={200: HealthOut, 503: HealthOut}, tags=["health"],
         summary="Readiness: 503 while the database or the configured cache is unreachable")
def ready(request):
    """For a load balancer or an orchestrator: send no traffic to an instance that answers 503 here.
    Each check is one round trip; a dead port fails at once, a hung one within the driver's timeout."""
    return _status_of_dependencies()


_add_routers()
