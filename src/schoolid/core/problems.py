"""The one error body of the REST API (issue 13): every 4xx and 5xx under /api/ is JSON with a
`detail` string, whatever raised it (a NUL byte, an unparseable body, a validation error, a missing
object, an unknown path, a crash). Extra lists say more where an operation has more to say."""
from __future__ import annotations

import json
import logging

from django.http import HttpResponse
from ninja import Schema

logger = logging.getLogger("schoolid.api")

# Documented on every operation; each operation's own schemas replace the generic entry.
DOCUMENTED_ERRORS = {
    400: "The request is malformed (unparseable JSON, a NUL character, a value out of range) or the rules refuse it",
    401: "Not authenticated",
    403: "Authenticated but not allowed (scope, second factor, CSRF)",
    404: "No such object, or not offered in this country",
    409: "The object is not in a state that allows this",
    422: "The parameters or body do not match the schema",
    429: "Too many requests; try again later",
}


class Problem(Schema):
    """An error. `detail` is always there; `problems` lists what was wrong, `refused` the user codes
    outside the caller's scope, `errors` a reason per field."""

    detail: str
    problems: list[str] = []
    refused: list[str] = []
    errors: dict[str, str] = {}


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def problem_response(status: int, detail: str, **extra) -> HttpResponse:
    body = {"detail": detail, **{k: v for k, v in extra.items() if v}}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def _location(loc) -> str:
    return ".".join(str(part) for part in loc if part not in ("", None))


def validation_problems(errors) -> list[str]:
    out = []
    for error in errors[:50]:
        where = _location(error.get("loc", ()))
        out.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return out


def install(api) -> None:
    """Replace django-ninja's default handlers, whose 422 `detail` is a list and whose 500 is HTML."""
    from django.http import Http404
    from ninja.errors import HttpError, ValidationError

    def on_validation(request, exc):
        problems = validation_problems(exc.errors)
        return api.create_response(request, {"detail": "The request does not match the schema.", "problems": problems}, status=422)

    def on_http_error(request, exc):
        return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)

    def on_404(request, exc):
        return api.create_response(request, {"detail": "Not found."}, status=404)

    def on_crash(request, exc):
        from django.core.signals import got_request_exception

        logger.exception("API error on %s %s", request.method, request.path)
        got_request_exception.send(sender=None, request=request)  # the test client re-raises it
        return api.create_response(request, {"detail": "Internal server error."}, status=500)

    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_404)
    api.add_exception_handler(Exception, on_crash)


def document_errors(schema: dict) -> dict:
    """Add the generic Problem response for each documented status an operation does not describe."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Problem", Problem.model_json_schema())
    ref = {"$ref": "#/components/schemas/Problem"}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in DOCUMENTED_ERRORS.items():
                if status not in responses and str(status) not in responses:
                    responses[status] = {"description": description, "content": {"application/json": {"schema": ref}}}
    return schema


# Django's own error views for paths no API route matched (an unknown /api/ path, a crash outside an
# operation): JSON under /api/, the usual pages elsewhere.
def handler404(request, exception=None):
    from django.views import defaults

    if is_api_path(request.path):
        return problem_response(404, "Not found.")
    return defaults.page_not_found(request, exception)


def handler500(request):
    from django.views import defaults

    if is_api_path(request.path):
        return problem_response(500, "Internal server error.")
    return defaults.server_error(request)


def handler400(request, exception=None):
    from django.views import defaults

    if is_api_path(request.path):
        return problem_response(400, "Bad request.")
    return defaults.bad_request(request, exception)
