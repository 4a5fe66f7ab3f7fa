"""A stand-in national identity provider under /dev/idp/ (embedded mode only, never in production):
real OIDC with its own RSA key (discovery, JWKS, authorize with a person picker by national ID, token,
userinfo) and an ESIA-style mode under /dev/idp/esia/ (configured endpoints, /rs/prns/{oid}).

It knows the register's people by national ID. The picker can also make it misbehave on purpose
(wrong nonce, wrong key, expired token, alg none…), to show and test that SchoolID refuses each."""
from __future__ import annotations

import base64
import datetime
import hmac
import json
import secrets
import time
import warnings
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from schoolid.federation import secrets as sealed
from schoolid.federation.models import IdentityProvider
from schoolid.flows.sms_signin import find_by_national_id

with warnings.catch_warnings():
    # authlib.jose warns that it moves to joserfc in 2.0; a warning line would break the JSON logs.
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, jwt

CODE_SECONDS = 60
FAULTS = ["", "wrong_nonce", "wrong_key", "expired", "alg_none", "wrong_iss", "wrong_aud", "low_acr"]
_keys: dict[str, object] = {}


def _key(name: str = "standin"):
    """The stand-in's RSA key, kept in var/ so every worker and restart signs with the same one."""
    if name not in _keys:
        path = Path(settings.VAR_DIR) / f"{name}-idp-key.pem"
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if name == "standin":
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
                path.chmod(0o600)
        _keys[name] = key
    return _keys[name]


def certificate_pem() -> str:
    """A self-signed certificate for the key: what an ESIA client configures as the provider's."""
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SchoolID stand-in IdP")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _jwk(name: str = "standin") -> dict:
    pem = _key(name).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return JsonWebKey.import_key(pem, {"kty": "RSA", "kid": name, "use": "sig", "alg": "RS256"}).as_dict(is_private=True)


def _issuer(request, esia: bool) -> str:
    return request.build_absolute_uri("/dev/idp/esia" if esia else "/dev/idp")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _sign(claims: dict, fault: str) -> str:
    if fault == "alg_none":
        return _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + "."
    name = "intruder" if fault == "wrong_key" else "standin"
    return jwt.encode({"alg": "RS256", "kid": "standin"}, claims, _jwk(name)).decode()


@require_GET
def discovery(request):
    issuer = _issuer(request, False)
    return JsonResponse({
        "issuer": issuer, "authorization_endpoint": issuer + "/authorize", "token_endpoint": issuer + "/token",
        "userinfo_endpoint": issuer + "/userinfo", "jwks_uri": issuer + "/jwks", "end_session_endpoint": issuer + "/logout", "response_types_supported": ["code"],
        "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"], "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "authorization_response_iss_parameter_supported": True,
    })


@require_GET
def jwks(request):
    public = {k: v for k, v in _jwk().items() if k in ("kty", "kid", "use", "alg", "n", "e")}
    return JsonResponse({"keys": [public]})


@require_GET
def certificate(request):
    return HttpResponse(certificate_pem(), content_type="application/x-pem-file")


@never_cache
@csrf_exempt  # the provider's own page, on its own origin in real life
def authorize(request, esia: bool = False):
    params = request.GET if request.method == "GET" else request.POST
    needed = ("client_id", "redirect_uri", "state", "code_challenge")
    if any(not params.get(k) for k in needed) or params.get("code_challenge_method") != "S256" or params.get("response_type", "code") != "code":
        return HttpResponseBadRequest("stand-in IdP: client_id, redirect_uri, state and an S256 code_challenge are required")
    # Only back to a SchoolID callback on this site: the stand-in is no open redirector.
    target = urlsplit(params["redirect_uri"])
    if target.netloc not in (request.get_host(), urlsplit(settings.BASE_URL).netloc) or not target.path.startswith("/signin/federated/"):
        return HttpResponseBadRequest("stand-in IdP: unknown redirect_uri")
    if esia and not params.get("client_secret"):
        return HttpResponseBadRequest("stand-in IdP: ESIA requests carry a signed client_secret")
    if request.method == "GET":
        return render(request, "federation/standin_picker.html", {"params": params.items(), "faults": FAULTS, "esia": esia})
    account = find_by_national_id(params.get("national_id", ""))
    person = account.person if account is not None else None
    code = secrets.token_urlsafe(24)
    cache.set(f"standin-code:{code}", {
        "client_id": params["client_id"], "redirect_uri": params["redirect_uri"], "nonce": params.get("nonce", ""),
        "challenge": params["code_challenge"], "fault": params.get("fault", "") if params.get("fault", "") in FAULTS else "",
        "verified": params.get("verified") == "1", "national_id": person.national_id if person else params.get("national_id", ""),
        "given_name": person.given_name if person else "Unknown", "family_name": person.family_name if person else "Person",
        "birth_date": person.birth_date.isoformat() if person and person.birth_date else "", "esia": esia,
        "subject": "sbj-" + (person.national_id if person else params.get("national_id", "")).replace(" ", "").replace("-", ""),
    }, CODE_SECONDS)
    back = {"code": code, "state": params["state"]}
    if not esia:
        back["iss"] = _issuer(request, False)
    return HttpResponseRedirect(params["redirect_uri"] + ("&" if "?" in params["redirect_uri"] else "?") + urlencode(back))


def _s256(verifier: str) -> str:
    import hashlib
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _client_ok(request, client_id: str, esia: bool) -> bool:
    if esia:
        return bool(request.POST.get("client_secret")) and request.POST.get("client_id") == client_id
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return False
    try:
        given_id, _, given_secret = base64.b64decode(auth[6:]).decode().partition(":")
    except ValueError:
        return False
    from urllib.parse import unquote_plus
    given_id, given_secret = unquote_plus(given_id), unquote_plus(given_secret)
    provider = IdentityProvider.objects.filter(client_id=given_id, issuer=_issuer(request, False)).first()
    return given_id == client_id and provider is not None and hmac.compare_digest(sealed.unseal(provider.encrypted_client_secret), given_secret)


@csrf_exempt
@require_POST
def token(request, esia: bool = False):
    code = request.POST.get("code", "")
    data = cache.get(f"standin-code:{code}") if code else None
    if not isinstance(data, dict) or data["esia"] != esia:
        return JsonResponse({"error": "invalid_grant"}, status=400)
    cache.set(f"standin-code:{code}", "used", CODE_SECONDS)  # one use
    if not _client_ok(request, data["client_id"], esia):
        return JsonResponse({"error": "invalid_client"}, status=401)
    if request.POST.get("redirect_uri") != data["redirect_uri"] or _s256(request.POST.get("code_verifier", "")) != data["challenge"]:
        return JsonResponse({"error": "invalid_grant"}, status=400)
    fault, now = data["fault"], int(time.time())
    claims = {"iss": _issuer(request, esia) + ("/elsewhere" if fault == "wrong_iss" else ""), "sub": data["subject"],
              "aud": "someone-else" if fault == "wrong_aud" else data["client_id"], "iat": now - (7200 if fault == "expired" else 0),
              "exp": now + (-3600 if fault == "expired" else 300), "nonce": "not-yours" if fault == "wrong_nonce" else data["nonce"],
              "acr": "low" if fault == "low_acr" else "high", "amr": ["pwd"] if fault == "low_acr" else ["pwd", "mfa"], "sid": secrets.token_urlsafe(12)}
    if esia:
        claims["urn:esia:sbj_id"] = data["subject"]
        claims["urn:esia:sbj"] = {"urn:esia:sbj:oid": data["subject"], "urn:esia:sbj:is_tru": data["verified"]}
    access = secrets.token_urlsafe(24)
    cache.set(f"standin-access:{access}", data, 300)
    return JsonResponse({"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": _sign(claims, fault)})


def _bearer(request) -> dict:
    auth = request.headers.get("Authorization", "")
    data = cache.get(f"standin-access:{auth[7:]}") if auth.startswith("Bearer ") else None
    if not isinstance(data, dict):
        raise PermissionError
    return data


@require_GET
def userinfo(request):
    try:
        data = _bearer(request)
    except PermissionError:
        return JsonResponse({"error": "invalid_token"}, status=401)
    return JsonResponse({"sub": data["subject"], "national_id": data["national_id"], "given_name": data["given_name"],
                         "family_name": data["family_name"], "birthdate": data["birth_date"], "verified": data["verified"]})


@require_GET
def esia_person(request, oid: str):
    try:
        data = _bearer(request)
    except PermissionError:
        return JsonResponse({"error": "invalid_token"}, status=401)
    if oid != data["subject"]:
        raise Http404
    birth = data["birth_date"]
    return JsonResponse({"firstName": data["given_name"], "lastName": data["family_name"], "snils": data["national_id"], "trusted": data["verified"],
                         "birthDate": f"{birth[8:10]}.{birth[5:7]}.{birth[:4]}" if birth else ""})


@require_GET
def logout(request):
    # Only back to SchoolID itself: never an open redirector.
    target = request.GET.get("redirect_url") or request.GET.get("post_logout_redirect_uri") or ""
    ok = target.startswith(settings.BASE_URL + "/") or (target.startswith("/") and not target.startswith("//"))
    return HttpResponseRedirect(target if ok else "/")
