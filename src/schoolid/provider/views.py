"""The provider's endpoints (OIDC Core, RFC 6749/7636/7662/7009/9207, RP-initiated and back-channel
logout). Thin: the checks of a request are here, every write is in services.py."""
from __future__ import annotations

import base64
import datetime
import re
import time
import urllib.parse

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from schoolid.accounts.scope import is_young
from schoolid.audit.services import record_event
from schoolid.core.digits import ascii_digits
from schoolid.families.guardianships import children_of
from schoolid.flows import kernel
from schoolid.flows.login import sign_out
from schoolid.flows.models import Flow
from schoolid.flows.views import NEXT_KEY
from schoolid.provider import keys, services
from schoolid.provider.claims import SCOPES, grantable, roles_in
from schoolid.provider.models import Client, Consent

K, S = Flow.Kind, Flow.State
FLOWS_KEY = "oidc_flows"
FLOW_SECONDS = 10 * 60
GUARDIAN_WAIT_SECONDS = 7 * 24 * 3600
LANGS = {code for code, _name in settings.LANGUAGES}
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _no_store(response):
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


# --- discovery -------------------------------------------------------------------------------------
def _url(name: str) -> str:
    return settings.BASE_URL + reverse(name)


@require_GET
def discovery(request):
    return JsonResponse({
        "issuer": services.issuer(),
        "authorization_endpoint": _url("oidc-authorize"),
        "token_endpoint": _url("oidc-token"),
        "userinfo_endpoint": _url("oidc-userinfo"),
        "jwks_uri": _url("oidc-jwks"),
        "end_session_endpoint": _url("oidc-end-session"),
        "introspection_endpoint": _url("oidc-introspect"),
        "revocation_endpoint": _url("oidc-revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": list(SCOPES),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr", "sid", "azp", "at_hash",
                             "given_name", "family_name", "name", "locale", "email", "email_verified", "phone_number",
                             "phone_number_verified", "school_roles", "classes", "national_id", "national_id_scheme"],
        "acr_values_supported": [services.ACR_SINGLE, services.ACR_MFA],
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": [code for code, _name in settings.LANGUAGES],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
    })


@require_GET
def jwks(request):
    response = JsonResponse(keys.jwks())
    response["Cache-Control"] = "public, max-age=60"
    return response


# --- authorization -------------------------------------------------------------------------------
def _error_page(request, message: str, status: int = 400):
    return _no_store(render(request, "provider/error.html", {"message": message}, status=status))


def _redirect_with(redirect_uri: str, params: dict) -> HttpResponseRedirect:
    params = {k: v for k, v in params.items() if v}
    params["iss"] = services.issuer()  # RFC 9207
    sep = "&" if urllib.parse.urlsplit(redirect_uri).query else "?"
    return _no_store(HttpResponseRedirect(redirect_uri + sep + urllib.parse.urlencode(params)))


def _error_redirect(data: dict, error: str, description: str = ""):
    return _redirect_with(data["redirect_uri"], {"error": error, "error_description": description, "state": data.get("state", "")})


def _validate(request, query) -> tuple[dict | None, HttpResponse | None]:
    """The request's parameters, or the answer: an error page until the client and redirect URI are
    known exactly (never a redirect to an unchecked URI), a spec error response after."""
    for name in ("client_id", "redirect_uri", "response_type", "state", "scope", "code_challenge", "code_challenge_method", "nonce", "prompt"):
        if len(query.getlist(name)) > 1:
            return None, _error_page(request, _("The application sent an invalid sign-in request."))
    client = Client.objects.filter(client_id=query.get("client_id", ""), disabled_at__isnull=True).first()
    if client is None:
        return None, _error_page(request, _("This application is not registered with SchoolID."))
    redirect_uri = query.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:  # exact string match (RFC 9700 §2.1)
        record_event("oidc.authorize", "denied", request=request, detail={"client": client.client_id, "reason": "redirect_uri"})
        return None, _error_page(request, _("The application sent an address that is not registered for it."))
    data = {"client_id": client.client_id, "redirect_uri": redirect_uri, "state": query.get("state", "")}
    if query.get("request") or query.get("request_uri"):
        return None, _error_redirect(data, "request_not_supported")
    if query.get("response_type") != "code":
        return None, _error_redirect(data, "unsupported_response_type", "only the authorization code flow")
    if query.get("response_mode", "query") != "query":
        return None, _error_redirect(data, "invalid_request", "response_mode must be query")
    scopes = grantable(client, query.get("scope", ""))
    if "openid" not in scopes:
        return None, _error_redirect(data, "invalid_scope", "openid is required")
    challenge, method = query.get("code_challenge", ""), query.get("code_challenge_method", "")
    if not challenge or method != "S256" or not CHALLENGE.match(challenge):
        return None, _error_redirect(data, "invalid_request", "PKCE with code_challenge_method=S256 is required")
    prompt = set(query.get("prompt", "").split())
    if not prompt <= {"none", "login", "consent"} or ("none" in prompt and len(prompt) > 1):
        return None, _error_redirect(data, "invalid_request", "unsupported prompt")
    max_age = ascii_digits(query.get("max_age", "")).strip()
    if max_age and not max_age.isdigit():
        return None, _error_redirect(data, "invalid_request", "max_age must be a number of seconds")
    locale = next((tag for tag in (t.split("-")[0].lower() for t in query.get("ui_locales", "").split()) if tag in LANGS), "")
    data.update(scopes=scopes, nonce=query.get("nonce", "")[:300], code_challenge=challenge, prompt=sorted(prompt),
                max_age=int(max_age) if max_age else None, login_hint=query.get("login_hint", "")[:64], ui_locale=locale,
                started=int(time.time()))
    return data, None


@never_cache
@require_http_methods(["GET", "POST"])
@csrf_exempt  # OIDC Core §3.1.2.1 allows POST from the client's page; nothing changes before sign-in
def authorize(request):
    data, answer = _validate(request, request.POST if request.method == "POST" else request.GET)
    if answer is not None:
        return answer
    flow = kernel.start(K.AUTHORIZATION, S.STARTED, identifier_key=f"client:{data['client_id']}", seconds=FLOW_SECONDS, data=data)
    request.session[FLOWS_KEY] = (request.session.get(FLOWS_KEY, []) + [str(flow.pk)])[-10:]
    return _proceed(request, flow, decision=None)  # a decision never comes with the request itself (no CSRF check here)


def _own_flow(request, flow_id) -> Flow | None:
    if str(flow_id) not in request.session.get(FLOWS_KEY, []):
        return None  # a flow belongs to the browser that started it
    return kernel.find(K.AUTHORIZATION, flow_id)


@never_cache
@require_http_methods(["GET", "POST"])
def resume(request, flow_id):
    flow = _own_flow(request, flow_id)
    if flow is None:
        return _error_page(request, _("This sign-in request has expired. Go back to the application and try again."))
    return _proceed(request, flow, decision=request.POST.get("decision") if request.method == "POST" else None)


def _signin_again(request, flow: Flow) -> HttpResponse:
    if request.user.is_authenticated:
        flows = request.session.get(FLOWS_KEY, [])
        sign_out(request)
        request.session[FLOWS_KEY] = flows
    kernel.keep(flow, data={**flow.data, "login_after": int(time.time())})
    next_url = reverse("oidc-resume", args=[flow.pk])
    request.session[NEXT_KEY] = next_url  # SMS sign-in returns here as well
    response = HttpResponseRedirect(reverse("signin") + "?" + urllib.parse.urlencode({"next": next_url}))
    if flow.data.get("ui_locale"):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, flow.data["ui_locale"], samesite="Lax", secure=settings.HTTPS)
    return response


def _needs_signin(request, data: dict) -> bool:
    user = request.user
    if not user.is_authenticated:
        return True
    auth_at = int(request.session.get("auth_at") or 0)
    if data.get("login_after") and auth_at < data["login_after"]:
        return True
    if "login" in data["prompt"] and not data.get("login_after"):
        return True
    if data.get("max_age") is not None and time.time() - auth_at > data["max_age"]:
        return True
    hint = ascii_digits(data.get("login_hint", "")).strip().replace("-", "").upper()
    return bool(hint) and hint != user.user_code.upper()


def _proceed(request, flow: Flow, decision: str | None) -> HttpResponse:
    data = flow.data
    client = Client.objects.filter(client_id=data["client_id"], disabled_at__isnull=True).first()
    if client is None:
        return _error_page(request, _("This application is not registered with SchoolID."))
    if data.get("ui_locale"):
        translation.activate(data["ui_locale"])
    if _needs_signin(request, data):
        if "none" in data["prompt"]:
            kernel.move(flow, S.DONE)
            return _error_redirect(data, "login_required")
        if flow.state != S.STARTED:
            return _error_page(request, _("This sign-in request has expired. Go back to the application and try again."))
        return _signin_again(request, flow)
    account = request.user
    if flow.account_id and flow.account_id != account.pk:
        return _error_page(request, _("This sign-in request was started by someone else."), status=403)
    if client.org_units.exists() and not roles_in(account, client):
        services.record_refusal(request, client, account, "org_unit")
        kernel.move(flow, S.DONE)
        return _no_store(render(request, "provider/refused.html", {"client": client, "back": _error_redirect(data, "access_denied", "no role in the units this application serves")["Location"]}, status=403))
    if flow.state == S.AWAITING_GUARDIAN:
        return _no_store(render(request, "provider/ask_parent.html", {"client": client, "flow": flow}))
    scopes = data["scopes"]
    if flow.state == S.STARTED and not client.first_party and ("consent" in data["prompt"] or not services.has_consent(account, client, scopes)):
        if "none" in data["prompt"]:
            kernel.move(flow, S.DONE)
            return _error_redirect(data, "consent_required")
        if account.has_role("student") and is_young(account.person):
            # A pupil under the age threshold does not consent alone: a guardian decides.
            kernel.move(flow, S.AWAITING_GUARDIAN, only_from=(S.STARTED,), account=account,
                        expires_at=flow.created_at + datetime.timedelta(seconds=GUARDIAN_WAIT_SECONDS))
            services.record_refusal(request, client, account, "awaiting_guardian")
            return _no_store(render(request, "provider/ask_parent.html", {"client": client, "flow": flow}))
        if decision in ("allow", "deny"):
            if decision == "deny":
                services.record_refusal(request, client, account, "consent_denied")
                kernel.move(flow, S.DONE)
                return _error_redirect(data, "access_denied", "the person refused")
            services.grant_consent(account, client, scopes, request=request)
        else:
            return _no_store(render(request, "provider/consent.html", {"client": client, "flow": flow,
                                                                       "items": [SCOPES[s] for s in scopes]}))
    if not kernel.move(flow, S.DONE, only_from=(S.STARTED, S.APPROVED)):
        return _error_page(request, _("This sign-in request has expired. Go back to the application and try again."))
    code = services.issue_code(request, client, account, {**data, "scope": " ".join(scopes)})
    return _redirect_with(data["redirect_uri"], {"code": code, "state": data.get("state", "")})


# --- token endpoint ------------------------------------------------------------------------------
def _oauth_error(error: str, description: str = "", status: int = 400, headers: dict | None = None):
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = _no_store(JsonResponse(body, status=status))
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _client_credentials(request) -> tuple[str, str | None, bool]:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Basic "):
        try:
            user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
            return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password), True
        except (ValueError, UnicodeDecodeError):
            return "", None, True
    return request.POST.get("client_id", ""), request.POST.get("client_secret") or None, False


def _authenticated_client(request) -> Client | None:
    client_id, secret, _basic = _client_credentials(request)
    return services.authenticate_client(client_id, secret)


def _invalid_client(request):
    basic = request.META.get("HTTP_AUTHORIZATION", "").startswith("Basic ")
    record_event("oidc.client.auth", "failure", request=request, detail={"client": _client_credentials(request)[0][:64]})
    return _oauth_error("invalid_client", status=401, headers={"WWW-Authenticate": 'Basic realm="schoolid"'} if basic else None)


@csrf_exempt
@require_POST
def token(request):
    client = _authenticated_client(request)
    if client is None:
        return _invalid_client(request)
    grant = request.POST.get("grant_type", "")
    try:
        if grant == "authorization_code":
            answer = services.redeem_code(client, request.POST.get("code", ""), request.POST.get("redirect_uri", ""),
                                          request.POST.get("code_verifier", ""), request=request)
        elif grant == "refresh_token":
            answer = services.refresh(client, request.POST.get("refresh_token", ""), request.POST.get("scope"), request=request)
        else:
            return _oauth_error("unsupported_grant_type")
    except services.GrantError as exc:
        return _oauth_error(exc.error, exc.description)
    return _no_store(JsonResponse(answer))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def userinfo(request):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    raw = header[7:] if header.startswith("Bearer ") else ""
    found = services.bearer(raw) if raw else None
    if found is None:
        return _oauth_error("invalid_token", status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return _no_store(JsonResponse(services.userinfo(found)))


@csrf_exempt
@require_POST
def introspect(request):
    client = _authenticated_client(request)
    if client is None or client.public:
        return _invalid_client(request)
    return _no_store(JsonResponse(services.introspect(client, request.POST.get("token", ""))))


@csrf_exempt
@require_POST
def revoke(request):
    client = _authenticated_client(request)
    if client is None:
        return _invalid_client(request)
    services.revoke(client, request.POST.get("token", ""), request=request)
    return _no_store(HttpResponse(status=200))


# --- RP-initiated logout ---------------------------------------------------------------------------
@never_cache
@require_http_methods(["GET", "POST"])
def end_session(request):
    query = request.POST if request.method == "POST" else request.GET
    hint = query.get("id_token_hint", "")
    claims = keys.verify(hint) if hint else None
    if hint and (claims is None or claims.get("iss") != services.issuer()):
        return _error_page(request, _("The application sent an invalid sign-out request."))
    client_id = query.get("client_id", "") or (claims or {}).get("aud", "")
    client = Client.objects.filter(client_id=client_id).first() if client_id else None
    target = query.get("post_logout_redirect_uri", "")
    if target and (client is None or target not in client.post_logout_redirect_uris):
        return _error_page(request, _("The application sent an address that is not registered for it."))
    same_session = bool(claims) and claims.get("sid") == request.session.get("oidc_sid")
    if request.user.is_authenticated and not same_session and request.POST.get("confirm") != "yes":
        # Without proof that the application is the one this session signed in to, ask the person.
        return _no_store(render(request, "provider/end_session.html", {"client": client, "params": query.items()}))
    if request.user.is_authenticated:
        sign_out(request)
    if target:
        return _redirect_with_state(target, query.get("state", ""))
    return HttpResponseRedirect(reverse("signin") + "?signed_out=1")


def _redirect_with_state(target: str, state: str):
    if not state:
        return HttpResponseRedirect(target)
    sep = "&" if urllib.parse.urlsplit(target).query else "?"
    return HttpResponseRedirect(target + sep + urllib.parse.urlencode({"state": state}))


# --- the person's pages ------------------------------------------------------------------------------
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def apps(request):
    if request.method == "POST":
        client = Client.objects.filter(client_id=request.POST.get("client", "")).first()
        if client is not None:
            services.withdraw_consent(request.user, client, request=request)
        return HttpResponseRedirect(reverse("oidc-apps"))
    consents = Consent.objects.filter(account=request.user, withdrawn_at__isnull=True).select_related("client").order_by("-granted_at")
    seen, rows = set(), []
    for consent in consents:
        if consent.client_id not in seen:
            seen.add(consent.client_id)
            rows.append({"client": consent.client, "items": [SCOPES[s] for s in consent.scope.split() if s in SCOPES], "at": consent.granted_at,
                         "by_guardian": consent.approved_by_id is not None})
    return _no_store(render(request, "provider/apps.html", {"rows": rows}))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def family_apps(request):
    """A guardian approves or refuses the applications their young children asked to use."""
    children = {c["account"].pk: c for c in children_of(request.user) if c["account"] is not None and c["young"]}
    waiting = list(kernel.live(K.AUTHORIZATION, state=S.AWAITING_GUARDIAN, account_id__in=list(children)).order_by("-created_at"))
    if request.method == "POST":
        flow = next((f for f in waiting if str(f.pk) == request.POST.get("flow")), None)
        if flow is None:
            return _error_page(request, _("This request is not yours to answer."), status=403)
        client = Client.objects.filter(client_id=flow.data["client_id"]).first()
        child = children[flow.account_id]["account"]
        if request.POST.get("decision") == "allow" and client is not None:
            if kernel.move(flow, S.APPROVED, only_from=(S.AWAITING_GUARDIAN,)):
                services.grant_consent(child, client, flow.data["scopes"], approved_by=request.user, request=request)
        else:
            kernel.move(flow, S.DONE, only_from=(S.AWAITING_GUARDIAN,))
            if client is not None:
                services.record_refusal(request, client, child, "guardian_refused")
        return HttpResponseRedirect(reverse("oidc-family-apps"))
    clients = {c.client_id: c for c in Client.objects.filter(client_id__in=[f.data["client_id"] for f in waiting])}
    rows = [{"flow": f, "child": children[f.account_id]["person"], "client": clients.get(f.data["client_id"]),
             "items": [SCOPES[s] for s in f.data["scopes"] if s in SCOPES]} for f in waiting]
    return _no_store(render(request, "provider/family_apps.html", {"rows": rows}))
