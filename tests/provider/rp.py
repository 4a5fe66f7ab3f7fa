"""A relying party for the tests: Authlib's OAuth2Session (a real RP library) plus a `requests`
session acting as the person's browser against the live server."""
from __future__ import annotations

import re
import urllib.parse

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

PASSWORD = "maple river lantern quietly"
REDIRECT = "https://app.example/cb"


def browser() -> requests.Session:
    return requests.Session()


def sign_in(b: requests.Session, base: str, identifier: str, password: str = PASSWORD, next_url: str = "") -> requests.Response:
    page = b.get(base + "/signin/" + ("?" + urllib.parse.urlencode({"next": next_url}) if next_url else "?x=1"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return b.post(base + "/signin/", data={"identifier": identifier, "password": password, "next": next_url, "csrfmiddlewaretoken": token},
                  headers={"Referer": base + "/signin/"}, allow_redirects=False)


def follow(b: requests.Session, base: str, url: str, *, stop: str = REDIRECT, limit: int = 10) -> requests.Response:
    """Follow redirects inside the provider until one leaves it (to `stop`) or a page is shown."""
    response = b.get(url, allow_redirects=False)
    for _ in range(limit):
        location = response.headers.get("Location", "")
        if response.status_code not in (301, 302, 303) or location.startswith(stop):
            return response
        response = b.get(urllib.parse.urljoin(base + "/", location), allow_redirects=False)
    raise AssertionError("too many redirects")


def form_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def rp(client_id: str, secret: str | None, *, scope: str = "openid profile", redirect_uri: str = REDIRECT) -> OAuth2Session:
    return OAuth2Session(client_id, secret, scope=scope, redirect_uri=redirect_uri, code_challenge_method="S256",
                         token_endpoint_auth_method="client_secret_basic" if secret else "none")


def start(session: OAuth2Session, base: str, **extra) -> tuple[str, str, str, str]:
    """The authorization URL and its state, nonce and code verifier."""
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = session.create_authorization_url(base + "/oidc/authorize", code_verifier=verifier, nonce=nonce, **extra)
    return url, state, nonce, verifier


def validate_id_token(base: str, id_token: str, *, client_id: str, nonce: str, issuer: str) -> dict:
    """The RP's checks (OIDC Core §3.1.3.7): signature against the published JWKS, RS256 only, iss, aud, exp, nonce."""
    jwks = requests.get(base + "/oidc/jwks").json()
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    registry = jwt.JWTClaimsRegistry(iss={"essential": True, "value": issuer}, aud={"essential": True, "value": client_id},
                                     exp={"essential": True}, nonce={"essential": True, "value": nonce}, sub={"essential": True})
    registry.validate(token.claims)
    assert token.header["kid"] in {k["kid"] for k in jwks["keys"]}
    return token.claims
