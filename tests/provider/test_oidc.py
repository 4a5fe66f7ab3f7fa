"""Issue 12: SchoolID as the OpenID Provider, driven by Authlib's client against the live server
(security requirements §6b and §9)."""
import datetime
import http.server
import re
import threading
import time
import urllib.parse

import pytest
import requests
from django.core.management import call_command

from schoolid.audit.models import AuditEvent
from schoolid.provider import services
from schoolid.provider.models import AuthorizationCode, Token
from tests import factories as f
from tests.provider.rp import PASSWORD, REDIRECT, browser, follow, form_token, rp, sign_in, start, validate_id_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def base(live_server, settings):
    settings.BASE_URL = live_server.url
    settings.SCHOOLID_OIDC_ISSUER = ""
    return live_server.url


@pytest.fixture
def tree():
    return f.org_tree()


def _pupil(tree, *, young=False):
    birth = datetime.date.today().replace(year=datetime.date.today().year - (10 if young else 16))
    pupil = f.account("student", tree["class_a1"], password=PASSWORD, birth_date=birth)
    f.activate(pupil)
    return pupil


def _client(name="Grades", **kw):
    kw.setdefault("redirect_uris", [REDIRECT])
    return services.create_client(name, **kw)


def _code_for(b, base, url, *, consent=True):
    """The person's browser goes through the authorization request; the callback URL it lands on."""
    response = follow(b, base, url)
    if response.status_code == 200 and 'id="oidc-allow"' in response.text and consent:
        action = base + re.search(r'action="(/oidc/authorize/[^"]+)"', response.text).group(1)
        response = b.post(action, data={"decision": "allow", "csrfmiddlewaretoken": form_token(response.text)},
                          headers={"Referer": action}, allow_redirects=False)
    assert response.status_code == 302, response.text[:500]
    return response.headers["Location"]


def _signed_in_browser(base, account):
    b = browser()
    assert sign_in(b, base, account.user_code).status_code == 302
    return b


def test_full_flow_with_authlib_and_id_token_validated_against_jwks(base, tree):
    """OIDC Core §3.1 end to end: discovery, sign-in on /signin/, consent, code, PKCE S256, token,
    ID token signature/iss/aud/nonce/exp against the JWKS, userinfo, RFC 9207 `iss` in the response."""
    pupil = _pupil(tree)
    client, secret = _client()
    meta = requests.get(base + "/.well-known/openid-configuration").json()
    assert meta["issuer"] == base and meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"] and "password" not in meta["grant_types_supported"]
    assert "implicit" not in meta["grant_types_supported"]

    session = rp(client.client_id, secret, scope="openid profile school")
    url, state, nonce, verifier = start(session, base)
    b = browser()
    # Not signed in: the request goes through SchoolID's own sign-in page and comes back.
    first = b.get(url, allow_redirects=False)
    assert first.headers["Location"].startswith("/signin/")
    next_url = urllib.parse.parse_qs(urllib.parse.urlsplit(first.headers["Location"]).query)["next"][0]
    signed = sign_in(b, base, pupil.user_code, next_url=next_url)
    callback = _code_for(b, base, base + signed.headers["Location"])
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query)
    assert query.get("iss") == [base], callback
    assert query["iss"] == [base] and query["state"] == [state]

    tokens = session.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state)
    claims = validate_id_token(base, tokens["id_token"], client_id=client.client_id, nonce=nonce, issuer=base)
    assert claims["amr"] == ["pwd"] and claims["acr"] == services.ACR_SINGLE and claims["sid"]
    info = session.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"] != pupil.user_code  # pairwise by default
    assert info["given_name"] == pupil.person.given_name
    assert info["classes"] == [{"code": tree["class_a1"].code, "name": "1A"}]
    assert "email" not in info and "national_id" not in info  # only the scopes asked and allowed
    assert "refresh_token" not in tokens  # no offline_access asked
    assert AuditEvent.objects.filter(action="oidc.token", result="success").exists()


def test_wrong_redirect_uris_get_an_error_page_and_no_redirect(base, tree):
    """RFC 9700 §2.1; OIDC §3.1.2.1; ASVS v5 10.4.1: exact string match, no redirect on mismatch."""
    client, secret = _client()
    for bad in ["https://app.example/cb/x", "https://app.example/cb?a=1", "HTTPS://app.example/cb", "https://evil.app.example/cb",
                "https://app.example/CB", "http://app.example/cb"]:
        session = rp(client.client_id, secret, redirect_uri=bad)
        url, *_ = start(session, base)
        response = requests.get(url, allow_redirects=False)
        assert response.status_code == 400 and "Location" not in response.headers, bad


def test_pkce_is_required_and_plain_refused(base, tree):
    """RFC 9700 §2.1.1; ASVS v5 10.4.6: no challenge or `plain` gives an error; a wrong or missing verifier gives invalid_grant."""
    pupil = _pupil(tree)
    client, secret = _client(first_party=True)
    b = _signed_in_browser(base, pupil)
    params = {"client_id": client.client_id, "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid", "state": "s1"}
    for extra in ({}, {"code_challenge": "a" * 43, "code_challenge_method": "plain"}, {"code_challenge": "a" * 43}):
        location = b.get(base + "/oidc/authorize?" + urllib.parse.urlencode({**params, **extra}), allow_redirects=False).headers["Location"]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        assert query["error"] == ["invalid_request"] and query["state"] == ["s1"] and query["iss"] == [base]
    # A wrong verifier, then none: invalid_grant.
    for verifier in ("x" * 50, None):
        session = rp(client.client_id, secret)
        url, state, nonce, good = start(session, base)
        callback = _code_for(b, base, url)
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query)["code"][0]
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        if verifier:
            data["code_verifier"] = verifier
        answer = requests.post(base + "/oidc/token", data=data, auth=(client.client_id, secret))
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_implicit_and_password_grants_are_refused(base, tree):
    """RFC 9700 §2.1.2, §2.4; ASVS v5 10.4.4, 10.6.1."""
    client, secret = _client()
    params = {"client_id": client.client_id, "redirect_uri": REDIRECT, "response_type": "token", "scope": "openid", "state": "s",
              "code_challenge": "a" * 43, "code_challenge_method": "S256"}
    location = requests.get(base + "/oidc/authorize?" + urllib.parse.urlencode(params), allow_redirects=False).headers["Location"]
    assert "error=unsupported_response_type" in location
    answer = requests.post(base + "/oidc/token", data={"grant_type": "password", "username": "x", "password": "y"}, auth=(client.client_id, secret))
    assert answer.json()["error"] == "unsupported_grant_type"


def test_replayed_code_fails_and_revokes_the_tokens_it_produced(base, tree):
    """ASVS v5 10.4.2, 10.4.3: a code is single use; replay gives invalid_grant and the first access token becomes inactive."""
    pupil = _pupil(tree)
    client, secret = _client(first_party=True)
    b = _signed_in_browser(base, pupil)
    session = rp(client.client_id, secret)
    url, state, nonce, verifier = start(session, base)
    callback = _code_for(b, base, url)
    tokens = session.fetch_token(base + "/oidc/token", authorization_response=callback, code_verifier=verifier, state=state)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query)["code"][0]
    again = requests.post(base + "/oidc/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                                      "code_verifier": verifier}, auth=(client.client_id, secret))
    assert again.json()["error"] == "invalid_grant"
    active = requests.post(base + "/oidc/introspect", data={"token": tokens["access_token"]}, auth=(client.client_id, secret)).json()
    assert active == {"active": False}
    assert requests.get(base + "/oidc/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}).status_code == 401


def test_expired_code_and_wrong_secret_are_refused(base, tree):
    """ASVS v5 10.4.3 (codes ≤ 60 s here), RFC 9700 §2.5 / ASVS v5 10.4.10 (invalid_client)."""
    pupil = _pupil(tree)
    client, secret = _client(first_party=True)
    b = _signed_in_browser(base, pupil)
    session = rp(client.client_id, secret)
    url, state, nonce, verifier = start(session, base)
    callback = _code_for(b, base, url)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    wrong = requests.post(base + "/oidc/token", data=data, auth=(client.client_id, secret + "x"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert requests.post(base + "/oidc/token", data=data).json()["error"] == "invalid_client"
    AuthorizationCode.objects.update(expires_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1))
    assert requests.post(base + "/oidc/token", data=data, auth=(client.client_id, secret)).json()["error"] == "invalid_grant"


def test_refresh_rotates_and_reuse_revokes_the_family(base, tree):
    """RFC 9700 §2.2.2; ASVS v5 10.4.5, 10.4.8: a rotated refresh token used again fails and revokes the family."""
    pupil = _pupil(tree)
    client, secret = _client(first_party=True, offline_access=True)
    b = _signed_in_browser(base, pupil)
    session = rp(client.client_id, secret, scope="openid offline_access")
    url, state, nonce, verifier = start(session, base)
    tokens = session.fetch_token(base + "/oidc/token", authorization_response=_code_for(b, base, url), code_verifier=verifier, state=state)
    first = tokens["refresh_token"]
    second = session.refresh_token(base + "/oidc/token", refresh_token=first)
    assert second["refresh_token"] != first
    reuse = requests.post(base + "/oidc/token", data={"grant_type": "refresh_token", "refresh_token": first}, auth=(client.client_id, secret))
    assert reuse.json()["error"] == "invalid_grant"
    after = requests.post(base + "/oidc/token", data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
                          auth=(client.client_id, secret))
    assert after.json()["error"] == "invalid_grant"  # the whole family is gone
    assert requests.post(base + "/oidc/introspect", data={"token": second["access_token"]}, auth=(client.client_id, secret)).json() == {"active": False}
    assert AuditEvent.objects.filter(action="oidc.refresh.reused").exists()
    # Past its absolute lifetime a refresh token fails too.
    url, state, nonce, verifier = start(session, base)
    tokens = session.fetch_token(base + "/oidc/token", authorization_response=_code_for(b, base, url), code_verifier=verifier, state=state)
    Token.objects.update(family_expires_at=datetime.datetime.now(datetime.UTC))
    late = requests.post(base + "/oidc/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=(client.client_id, secret))
    assert late.json()["error"] == "invalid_grant"


def test_young_pupil_cannot_consent_alone_the_guardian_decides(base, tree):
    """§9 (consent for minors): under the profile's age threshold the request waits for a guardian."""
    pupil = _pupil(tree, young=True)
    guardian = f.guardian_of(pupil)
    from schoolid.directory.models import Guardianship
    Guardianship.objects.filter(student=pupil.person).update(status="confirmed")
    guardian.set_password(PASSWORD)
    guardian.save()
    f.activate(guardian)
    client, secret = _client()
    b = _signed_in_browser(base, pupil)
    session = rp(client.client_id, secret)
    url, state, nonce, verifier = start(session, base)
    page = follow(b, base, url)
    assert page.status_code == 200 and 'id="oidc-ask-parent"' in page.text and 'id="oidc-allow"' not in page.text
    waiting = page.text.split('id="oidc-check-again" href="')[0]
    again_url = base + page.text.split('href="/oidc/authorize/')[1].split('"')[0].join(["/oidc/authorize/", ""])
    assert "ask" in page.text.lower() and waiting
    # The pupil cannot push it through by posting an "allow".
    posted = b.post(again_url, data={"decision": "allow", "csrfmiddlewaretoken": form_token(page.text) if "csrfmiddlewaretoken" in page.text else b.cookies.get("csrf")},
                    headers={"Referer": again_url, "X-CSRFToken": b.cookies.get("csrf", "")}, allow_redirects=False)
    assert posted.status_code == 200 and "code=" not in posted.headers.get("Location", "")
    g = _signed_in_browser(base, guardian)
    family = g.get(base + "/account/family/apps/")
    assert client.name in family.text
    flow_id = family.text.split('name="flow" value="')[1].split('"')[0]
    g.post(base + "/account/family/apps/", data={"flow": flow_id, "decision": "allow", "csrfmiddlewaretoken": form_token(family.text)},
           headers={"Referer": base + "/account/family/apps/"})
    callback = _code_for(b, base, again_url)
    assert "code=" in callback
    tokens = session.fetch_token(base + "/oidc/token", authorization_response=callback, code_verifier=verifier, state=state)
    assert validate_id_token(base, tokens["id_token"], client_id=client.client_id, nonce=nonce, issuer=base)


def test_unit_restricted_client_refuses_people_outside(base, tree):
    """A school's own app: a person with no role in its units gets a refusal, not a code."""
    insider, outsider = _pupil(tree), f.account("student", tree["class_c1"], password=PASSWORD, birth_date=datetime.date(2009, 1, 1))
    f.activate(outsider)
    client, secret = _client(first_party=True, org_codes=[tree["school_a"].code])
    for person, allowed in ((insider, True), (outsider, False)):
        b = _signed_in_browser(base, person)
        url, *_ = start(rp(client.client_id, secret), base)
        response = follow(b, base, url)
        if allowed:
            assert "code=" in response.headers["Location"]
        else:
            assert response.status_code == 403 and 'id="oidc-refused"' in response.text and "error=access_denied" in response.text


def test_pairwise_subjects_stable_per_sector_and_different_across_sectors(base, tree):
    """OIDC §8; §9: the same person gets the same `sub` in one sector across sessions, different ones across sectors."""
    pupil = _pupil(tree)
    a1, s1 = _client("Vendor A grades", first_party=True, sector="vendor-a")
    a2, s2 = _client("Vendor A chat", first_party=True, sector="vendor-a")
    b1, s3 = _client("Vendor B", first_party=True, sector="vendor-b")

    def sub(client, secret):
        b = _signed_in_browser(base, pupil)  # a new session every time
        session = rp(client.client_id, secret)
        url, state, nonce, verifier = start(session, base)
        tokens = session.fetch_token(base + "/oidc/token", authorization_response=_code_for(b, base, url), code_verifier=verifier, state=state)
        return validate_id_token(base, tokens["id_token"], client_id=client.client_id, nonce=nonce, issuer=base)["sub"]

    first = sub(a1, s1)
    assert sub(a1, s1) == first == sub(a2, s2)
    assert sub(b1, s3) != first


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        _Receiver.received.append(urllib.parse.parse_qs(self.rfile.read(length).decode()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_backchannel_logout_reaches_the_client_on_sign_out(base, tree):
    """OIDC Back-Channel Logout 1.0: a logout token with the session's sid reaches each client it used."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.received = []
    try:
        pupil = _pupil(tree)
        client, secret = _client(first_party=True, backchannel_logout_uri=f"http://127.0.0.1:{server.server_port}/logout")
        b = _signed_in_browser(base, pupil)
        session = rp(client.client_id, secret)
        url, state, nonce, verifier = start(session, base)
        tokens = session.fetch_token(base + "/oidc/token", authorization_response=_code_for(b, base, url), code_verifier=verifier, state=state)
        sid = validate_id_token(base, tokens["id_token"], client_id=client.client_id, nonce=nonce, issuer=base)["sid"]
        account_page = b.get(base + "/account/")
        b.post(base + "/signout/", data={"csrfmiddlewaretoken": form_token(account_page.text)}, headers={"Referer": base + "/account/"})
        for _ in range(50):
            if _Receiver.received:
                break
            time.sleep(0.1)
        from joserfc import jwt
        from joserfc.jwk import KeySet
        token = jwt.decode(_Receiver.received[0]["logout_token"][0], KeySet.import_key_set(requests.get(base + "/oidc/jwks").json()), algorithms=["RS256"])
        assert token.claims["sid"] == sid and token.claims["aud"] == client.client_id and "nonce" not in token.claims
        assert "http://schemas.openid.net/event/backchannel-logout" in token.claims["events"]
        assert token.header["typ"] == "logout+jwt"
    finally:
        server.shutdown()


def test_key_rotation_keeps_the_old_key_published(base, tree):
    call_command("oidc-keys", "list")
    before = requests.get(base + "/oidc/jwks").json()["keys"]
    call_command("oidc-keys", "rotate")
    after = requests.get(base + "/oidc/jwks").json()["keys"]
    assert len(after) == len(before) + 1 and {k["kid"] for k in before} <= {k["kid"] for k in after}
