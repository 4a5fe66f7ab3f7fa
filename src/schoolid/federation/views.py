"""The national sign-in pages: thin; the journey decides."""
from __future__ import annotations

from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from schoolid.audit.services import record_event
from schoolid.federation import journey, selectors
from schoolid.federation.client import FederationError
from schoolid.flows.login import STEP_URLS

NOT_KNOWN = {"not_in_register", "identity_mismatch"}


def _provider(name: str):
    provider = selectors.enabled_provider(name)
    if provider is None:
        raise Http404
    return provider


def _failed(request, provider, reason: str, status: int = 400):
    if reason in NOT_KNOWN:
        return render(request, "federation/not_known.html", {"provider": provider}, status=403)
    if reason == "under_age_threshold":
        message = _("A pupil of your age is given access by a parent or the school. Ask them for your sign-in details.")
    elif reason == "provider_account_not_verified":
        message = _("Your account at %(provider)s is not verified. Only a verified (full) account can be used to sign in to SchoolID.") % {"provider": provider.label}
    elif reason.startswith("account_"):
        message = _("This account cannot sign in. Ask your school for help.")
    else:
        message = _("Signing in through %(provider)s did not work, and nothing was changed. Start again from the sign-in page.") % {"provider": provider.label}
    return render(request, "federation/failed.html", {"provider": provider, "message": message}, status=status)


def _signed_in(request, outcome):
    if outcome.kind == "next_step":
        return redirect(STEP_URLS[outcome.step])
    return HttpResponseRedirect(reverse("account"))


@never_cache
@require_POST
def start(request, name: str):
    provider = _provider(name)
    try:
        url = journey.start(request, provider)
    except FederationError as exc:
        record_event("federation.started", "failure", request=request, detail={"provider": provider.name, "reason": exc.reason})
        return _failed(request, provider, exc.reason, status=502)
    return HttpResponseRedirect(url)


@never_cache
@require_GET
def callback(request, name: str):
    provider = _provider(name)
    result, value = journey.callback(request, provider, request.GET)
    if result == "refused":
        return _failed(request, provider, value)
    if result == "confirm":
        return redirect("federation-confirm")
    return _signed_in(request, value)


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request):
    flow = journey.pending_confirmation(request)
    if flow is None:
        return redirect("signin")
    provider = selectors.providers().filter(pk=flow.data.get("provider")).first()
    error, status = None, 200
    if request.method == "POST":
        result, value = journey.confirm_with_password(request, flow, request.POST.get("password", ""))
        if result == "signed_in":
            return _signed_in(request, value)
        if result == "expired":
            return redirect("signin")
        if result == "locked":
            error, status = _("Password sign-in is blocked after too many failed attempts. Recover your access to unblock it, or ask your school for help."), 403
        elif result == "throttled":
            error, status = _("Too many failed attempts. Wait a little, then try again."), 429
        else:
            error = _("The password is not correct. Try again.")
    return render(request, "federation/confirm.html", {"provider": provider, "account": flow.account, "error": error}, status=status)


@never_cache
@require_POST
def unlink(request, link_id: int):
    if not request.user.is_authenticated:
        return redirect("signin")
    if journey.unlink(request, request.user, link_id, request.POST.get("password", "")):
        return redirect(reverse("account") + "?unlinked=1")
    return render(request, "federation/unlink_failed.html", status=400)


@csrf_exempt  # called server to server by the provider, authenticated by the signed logout token
@require_POST
def backchannel_logout(request, name: str):
    provider = _provider(name)
    try:
        journey.backchannel_logout(request, provider, request.POST.get("logout_token", ""))
    except FederationError as exc:
        record_event("federation.backchannel_logout", "failure", request=request, detail={"provider": provider.name, "reason": exc.reason})
        return JsonResponse({"error": "invalid_request"}, status=400)
    response = HttpResponse(status=200)
    response["Cache-Control"] = "no-store"
    return response
