"""Server-side session timeouts (ASVS 7.3.1, 7.3.2): idle and absolute, whatever the cookie says."""
import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from schoolid.accounts import sessions
from schoolid.audit.services import record_event

# Refresh the last-seen mark at most once a minute, so most requests do not write the session.
SEEN_GRANULARITY = 60


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            auth_at = request.session.get("auth_at", 0)
            seen_at = request.session.get("seen_at", 0)
            reason = None
            if now - auth_at > settings.SESSION_ABSOLUTE_SECONDS:
                reason = "absolute"
            elif now - seen_at > settings.SESSION_IDLE_SECONDS:
                reason = "idle"
            if reason:
                user = request.user
                logout(request)
                record_event("session.expired", "success", actor=user, target=user, request=request, detail={"reason": reason})
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": "session expired"}, status=401)
                return redirect(reverse("signin") + "?expired=1")
            indexed = request.session.get(sessions.INDEX_KEY)
            if indexed is None and request.session.session_key:
                # The first request after sign-in: the session now has its key (ASVS v5 7.5.2 index).
                request.session[sessions.INDEX_KEY] = sessions.index(request.user, request.session.session_key, request).pk
            elif now - seen_at >= SEEN_GRANULARITY:
                request.session["seen_at"] = now
                if indexed is not None:
                    sessions.touch(indexed, request)
        return self.get_response(request)
