"""Demo only (embedded mode, loopback clients): /dev/app/ plays a school application that signs
people in with SchoolID over OpenID Connect and shows the decoded ID token and userinfo."""
import base64
import hashlib
import json
import secrets
import urllib.parse

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from schoolid.notify.views import _loopback
from schoolid.provider import keys, services
from schoolid.provider.models import Client

DEMO_CLIENT = "Demo school app"


def register_demo_client(base_urls: list[str]) -> Client:
    """The demo's application: a public client (PKCE, no secret), third party so the consent page shows."""
    uris = [u.rstrip("/") + "/dev/app/callback" for u in base_urls]
    client = Client.objects.filter(name=DEMO_CLIENT).first()
    if client is None:
        client, _secret = services.create_client(DEMO_CLIENT, redirect_uris=uris, public=True, sector="demo.example", actor="demo",
                                                 post_logout_redirect_uris=[u.rstrip("/") + "/dev/app/" for u in base_urls])
    else:
        Client.objects.filter(pk=client.pk).update(redirect_uris=sorted(set(client.redirect_uris) | set(uris)))
    return client


def _allowed(request):
    if settings.PRODUCTION or not settings.SCHOOLID_DEV_OUTBOX or not _loopback(request):
        raise Http404


def _redirect_uri(request) -> str:
    return request.build_absolute_uri(reverse("dev-app-callback"))


@never_cache
def app(request):
    _allowed(request)
    return render(request, "demo/app.html", {"result": request.session.pop("demo_rp_result", None)})


@never_cache
def start(request):
    _allowed(request)
    client = Client.objects.filter(name=DEMO_CLIENT).first()
    if client is None:
        raise Http404
    verifier, state, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    request.session["demo_rp"] = {"verifier": verifier, "state": state, "nonce": nonce}
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {"client_id": client.client_id, "redirect_uri": _redirect_uri(request), "response_type": "code", "scope": "openid profile school",
             "state": state, "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"}
    return HttpResponseRedirect(reverse("oidc-authorize") + "?" + urllib.parse.urlencode(query))


@never_cache
def callback(request):
    _allowed(request)
    pending = request.session.pop("demo_rp", None) or {}
    client = Client.objects.filter(name=DEMO_CLIENT).first()
    result = {"error": request.GET.get("error", "")}
    if client is not None and not result["error"] and pending.get("state") == request.GET.get("state"):
        try:
            # The application's back channel, in-process: the same service the token endpoint calls.
            tokens = services.redeem_code(client, request.GET.get("code", ""), _redirect_uri(request), pending["verifier"])
            claims = keys.verify(tokens["id_token"]) or {}
            found = services.bearer(tokens["access_token"])
            result = {"id_token": json.dumps(claims, indent=2, ensure_ascii=False),
                      "userinfo": json.dumps(services.userinfo(found) if found else {}, indent=2, ensure_ascii=False),
                      "nonce_ok": claims.get("nonce") == pending.get("nonce"), "raw": tokens["id_token"]}
        except services.GrantError as exc:
            result = {"error": exc.error}
    elif not result["error"]:
        result["error"] = "state mismatch"
    request.session["demo_rp_result"] = result
    return HttpResponseRedirect(reverse("dev-app"))
