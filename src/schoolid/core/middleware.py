import json
import logging
import sys

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest

from schoolid.core import numerals
from schoolid.core.requestid import new_request_id, reset_request_id, set_request_id

logger = logging.getLogger("schoolid.core")

# Pages load only our own scripts, styles and images; no third party sees a pupil's page (ASVS 14.2.7).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class RequestIdMiddleware:
    header = "HTTP_X_REQUEST_ID"

    def __init__(self, get_response):
        self.get_response = get_response
        self.trust_header = getattr(settings, "SCHOOLID_TRUST_REQUEST_ID_HEADER", False)

    def __call__(self, request):
        incoming = request.META.get(self.header) if self.trust_header else None
        request.request_id = new_request_id(incoming)
        token = set_request_id(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-ID"] = request.request_id
        return response


MESSAGE = "The request contains a NUL character."


class RejectNulMiddleware:
    """A NUL character is never meaningful input and PostgreSQL cannot store it: refuse the request
    with a clear 400 before any view sees it (in a query, a form, a JSON body or the path)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
            return self.refuse(request)
        if request.method in ("POST", "PUT", "PATCH") and request.content_type != "multipart/form-data":
            body = request.body
            # JSON escapes it as \u0000 (application/json, application/scim+json), forms as %00.
            encoded_nul = b"\\u0000" if "json" in request.content_type else b"%00" if request.content_type == "application/x-www-form-urlencoded" else None
            if b"\x00" in body or (encoded_nul and encoded_nul in body):
                return self.refuse(request)
        return self.get_response(request)

    @staticmethod
    def refuse(request):
        # Each interface answers in its own error format: JSON problems for the API, SCIM errors for SCIM.
        from schoolid.core.problems import is_api_path, problem_response

        if is_api_path(request.path):
            return problem_response(400, MESSAGE)
        if request.path.startswith("/scim/"):
            body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType": "invalidSyntax", "detail": MESSAGE}
            return HttpResponse(json.dumps(body), status=400, content_type="application/scim+json")
        return HttpResponseBadRequest(MESSAGE)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            # Pages with personal data are never cached (ASVS 14.3.2).
            response["Cache-Control"] = "no-store"
        return response


def _is_unavailable(exc) -> bool:
    """A dependency that does not answer: Redis (cache, sessions, throttles) or the database."""
    from django.db import InterfaceError, OperationalError

    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # no Redis client: only the database can be missing
        return isinstance(exc, (OperationalError, InterfaceError))
    return isinstance(exc, (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError))


def note_unavailable(sender, request=None, **kwargs) -> None:
    """got_request_exception: Django turns an exception in any layer into a 500 before the outer
    middleware sees it, so the cause is noted on the request here (we are inside its except block)."""
    exc = sys.exc_info()[1]
    if request is not None and _is_unavailable(exc):
        request._schoolid_unavailable = type(exc).__name__


class UnavailableMiddleware:
    """While Redis or the database does not answer, a request fails closed with a clear 503 page and
    Retry-After, not a 500: no throttle is skipped (its counter could not be read, so nothing is let
    through) and nothing half-done is reported as done. The service comes back by itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        cause = getattr(request, "_schoolid_unavailable", None)
        if cause is None or response.status_code != 500:
            return response
        logger.warning("dependency unavailable", extra={"cause": cause, "path": request.path})
        from django.utils import translation
        from django.utils.html import escape

        with translation.override(translation.get_language_from_request(request)):
            title = translation.gettext("SchoolID is briefly unavailable")
            text = translation.gettext("Nothing was changed. Try again in a minute.")
            direction = "rtl" if translation.get_language_bidi() else "ltr"
            language = translation.get_language()
        body = (f'<!doctype html><html lang="{language}" dir="{direction}"><meta charset="utf-8"><title>{escape(title)}</title>'
                f"<h1>{escape(title)}</h1><p>{escape(text)}</p></html>")
        unavailable = HttpResponse(body, status=503, content_type="text/html; charset=utf-8")
        unavailable["Retry-After"] = "30"
        unavailable["Cache-Control"] = "no-store"
        unavailable["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return unavailable


class LocalDigitsMiddleware:
    """Every number on a page in the reader's digits (fa, bn), by one rule (core/numerals.py);
    typed codes in <code>, <kbd> or data-keep-digits elements, and words with Latin letters, stay."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        language = getattr(request, "LANGUAGE_CODE", None)
        if (
            language
            and numerals.uses_native_digits(language)
            and not response.streaming
            and response.get("Content-Type", "").startswith("text/html")
            and not response.has_header("Content-Encoding")
        ):
            charset = response.charset or "utf-8"
            response.content = numerals.local_digits_html(response.content.decode(charset), language).encode(charset)
            if response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
        return response
