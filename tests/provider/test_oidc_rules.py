"""Issue 12: the provider's rules one by one, through Django's test client (the Authlib-driven
live-server flow is in test_oidc.py). Security requirements §6b, §9."""
import base64
import datetime
import hashlib
import http.server
import io
import json
import threading
import time
import urllib.parse

import pytest
from django.core.management import call_command
from django.test import Client as Browser

from schoolid.accounts.services import set_password
from schoolid.audit.models import AuditEvent
from schoolid.directory.models import Guardianship
from schoolid.provider import keys, services
from schoolid.provider.models import Client, Consent, LogoutDelivery, Token
from tests import factories as f

pytestmark = pytest.mark.django_db
REDIRECT = "https://app.example/cb"
PASSWORD = "maple river lantern quietly"
VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture
def tree():
    return f.org_tree()


def _person(tree, role="student", unit=None, years=16):
    birth = datetime.date.today().replace(year=datetime.date.today().year - years)
    acc = f.account(role, unit or tree["class_a1"], password=PASSWORD, birth_date=birth)
    f.activate(acc)
    return acc


def _signed_in(acc, amr=("pwd",), auth_at=None):
    b = Browser()
    b.force_login(acc, backend="schoolid.accounts.backends.AccountBackend")
    session = b.session
    now = int(time.time())
    session.update({"amr": list(amr), "auth_at": auth_at or now, "seen_at": now})
    session.save()
    return b


def _authorize(b, client, **extra):
    params = {"client_id": client.client_id, "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid", "state": "st",
              "nonce": "n1", "code_challenge": CHALLENGE, "code_challenge_method": "S256", **extra}
    return b.get("/oidc/authorize?" + urllib.parse.urlencode(params))


def _query(response):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(response["Location"]).query)


def _tokens(client, secret, response):
    code = _query(response)["code"][0]
    answer = Browser().post("/oidc/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": VERIFIER},
                            HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode())
    assert answer.status_code == 200, answer.content
    return answer.json()


def _claims(id_token):
    claims = keys.verify(id_token)
    assert claims is not None
    return claims


def test_prompt_none_without_a_session_gives_login_required_with_state_and_iss(tree):
    client, _ = services.create_client("A", redirect_uris=[REDIRECT], first_party=True)
    response = _authorize(Browser(), client, prompt="none")
    assert _query(response) == {"error": ["login_required"], "state": ["st"], "iss": [services.issuer()]}


def test_prompt_none_needing_consent_gives_consent_required(tree):
    pupil = _person(tree)
    client, _ = services.create_client("Third", redirect_uris=[REDIRECT])
    assert _query(_authorize(_signed_in(pupil), client, prompt="none"))["error"] == ["consent_required"]


def test_prompt_login_and_max_age_send_the_person_through_sign_in_again(tree):
    """OIDC Core §3.1.2.1: prompt=login and an exceeded max_age re-authenticate; auth_time is the new sign-in."""
    pupil = _person(tree)
    client, secret = services.create_client("A", redirect_uris=[REDIRECT], first_party=True)
    b = _signed_in(pupil, auth_at=int(time.time()) - 3600)
    response = _authorize(b, client, prompt="login")
    assert response["Location"].startswith("/signin/")
    b = _signed_in(pupil, auth_at=int(time.time()) - 3600)
    assert _authorize(b, client, max_age="60")["Location"].startswith("/signin/")
    b = _signed_in(pupil, auth_at=int(time.time()) - 30)
    claims = _claims(_tokens(client, secret, _authorize(b, client, max_age="۶۰۰"))["id_token"])  # Persian digits
    assert abs(claims["auth_time"] - (time.time() - 30)) < 5 and claims["nonce"] == "n1"


def test_login_hint_for_another_user_code_asks_for_sign_in(tree):
    pupil, other = _person(tree), _person(tree)
    client, _ = services.create_client("A", redirect_uris=[REDIRECT], first_party=True)
    assert _authorize(_signed_in(pupil), client, login_hint=other.user_code)["Location"].startswith("/signin/")
    assert "code" in _query(_authorize(_signed_in(pupil), client, login_hint=pupil.display_code))


def test_ui_locales_shows_the_consent_page_in_that_language(tree):
    pupil = _person(tree)
    client, _ = services.create_client("Third", redirect_uris=[REDIRECT])
    page = _authorize(_signed_in(pupil), client, ui_locales="pl en", scope="openid profile")
    assert page.status_code == 200 and 'lang="pl"' in page.content.decode()


def test_staff_with_totp_is_distinguishable_by_amr_and_acr(tree):
    """ASVS v5 6.8.4 (for the RP): amr says mfa and acr the higher level when a second factor was used."""
    teacher = _person(tree, "teacher", tree["school_a"], years=40)
    client, secret = services.create_client("A", redirect_uris=[REDIRECT], first_party=True)
    claims = _claims(_tokens(client, secret, _authorize(_signed_in(teacher, amr=("pwd", "totp")), client))["id_token"])
    assert claims["acr"] == services.ACR_MFA and set(claims["amr"]) == {"pwd", "otp", "mfa"}


def test_code_bound_to_its_client_and_redirect_uri(tree):
    """ASVS v5 10.4.3: another client, or another redirect_uri, cannot redeem the code."""
    pupil = _person(tree)
    client, secret = services.create_client("A", redirect_uris=[REDIRECT, "https://app.example/other"], first_party=True)
    other, other_secret = services.create_client("B", redirect_uris=[REDIRECT], first_party=True)
    code = _query(_authorize(_signed_in(pupil), client))["code"][0]
    auth = "Basic " + base64.b64encode(f"{other.client_id}:{other_secret}".encode()).decode()
    answer = Browser().post("/oidc/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": VERIFIER},
                            HTTP_AUTHORIZATION=auth)
    assert answer.json()["error"] == "invalid_grant"
    code = _query(_authorize(_signed_in(pupil), client))["code"][0]
    auth = "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    answer = Browser().post("/oidc/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": "https://app.example/other",
                                            "code_verifier": VERIFIER}, HTTP_AUTHORIZATION=auth)
    assert answer.json()["error"] == "invalid_grant"


def test_claims_only_verified_and_national_id_only_for_trusted_clients(tree):
    """§9: no claims beyond the scopes approved; unverified contacts never; the national ID only under its scope to trusted clients."""
    pupil = _person(tree)
    pupil.person.email, pupil.person.email_verified = "p@example.org", False
    pupil.person.save()
    plain, s1 = services.create_client("Plain", redirect_uris=[REDIRECT], first_party=True)
    trusted, s2 = services.create_client("Trusted", redirect_uris=[REDIRECT], first_party=True, trusted=True)
    scope = "openid email national_id"
    t1 = _tokens(plain, s1, _authorize(_signed_in(pupil), plain, scope=scope))
    assert t1["scope"] == "openid email"
    info = Browser().get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + t1["access_token"]).json()
    assert set(info) == {"sub"}
    t2 = _tokens(trusted, s2, _authorize(_signed_in(pupil), trusted, scope=scope))
    info = Browser().get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + t2["access_token"]).json()
    assert info["national_id"] == pupil.person.national_id and "email" not in info


def test_public_subject_only_for_ministry_clients(tree):
    with pytest.raises(services.ClientError):
        services.create_client("Vendor", redirect_uris=[REDIRECT], subject="public")
    pupil = _person(tree)
    ministry, secret = services.create_client("Ministry", redirect_uris=[REDIRECT], first_party=True, subject="public")
    assert _claims(_tokens(ministry, secret, _authorize(_signed_in(pupil), ministry))["id_token"])["sub"] == pupil.user_code


def test_http_redirect_uris_refused_at_registration_except_loopback():
    """RFC 9700 §2.1: no http redirect URIs except native-app loopback."""
    with pytest.raises(services.ClientError):
        services.create_client("Bad", redirect_uris=["http://app.example/cb"])
    services.create_client("Native", redirect_uris=["http://127.0.0.1:7000/cb"], public=True)


def test_consent_remembered_and_withdrawable_on_the_apps_page(tree):
    pupil = _person(tree)
    client, secret = services.create_client("Third", redirect_uris=[REDIRECT])
    b = _signed_in(pupil)
    page = _authorize(b, client, scope="openid profile")
    assert page.status_code == 200 and "oidc-allow" in page.content.decode()
    flow_url = page.content.decode().split('action="/oidc/authorize/')[1].split('"')[0]
    tokens = _tokens(client, secret, b.post("/oidc/authorize/" + flow_url, {"decision": "allow"}))
    assert "code" in _query(_authorize(b, client, scope="openid profile"))  # remembered
    apps = b.get("/account/apps/")
    assert "Third" in apps.content.decode() and apps["Cache-Control"].startswith("no-store") or "no-cache" in apps["Cache-Control"]
    b.post("/account/apps/", {"client": client.client_id})
    assert Browser().get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + tokens["access_token"]).status_code == 401
    assert _authorize(b, client, scope="openid profile").status_code == 200  # asked again
    assert AuditEvent.objects.filter(action="oidc.consent.withdrawn").exists()


def test_operator_cli_create_json_list_rotate_disable(tree):
    out = io.StringIO()
    call_command("oidc-client", "create", "Moodle", "--redirect-uri", REDIRECT, "--org", tree["school_a"].code, "--json", stdout=out)
    answer = json.loads(out.getvalue().strip().splitlines()[-1])
    assert set(answer) == {"issuer", "client_id", "client_secret"} and answer["client_secret"]
    client = Client.objects.get(client_id=answer["client_id"])
    assert client.secret_hash == hashlib.sha256(answer["client_secret"].encode()).hexdigest() and answer["client_secret"] not in client.secret_hash
    out = io.StringIO()
    call_command("oidc-client", "list", stdout=out)
    assert "Moodle" in out.getvalue() and answer["client_secret"] not in out.getvalue()
    call_command("oidc-client", "rotate-secret", "Moodle", stdout=io.StringIO())
    assert services.authenticate_client(client.client_id, answer["client_secret"]) is None
    call_command("oidc-client", "disable", "Moodle", stdout=io.StringIO())
    assert _authorize(Browser(), client).status_code == 400
    assert AuditEvent.objects.filter(action__in=["oidc.client.created", "oidc.client.secret_rotated", "oidc.client.disabled"]).count() == 3


def test_rp_initiated_logout_exact_post_logout_uri_and_state(tree):
    """OIDC RP-Initiated Logout 1.0: id_token_hint, registered post_logout_redirect_uri only, state echoed."""
    pupil = _person(tree)
    client, secret = services.create_client("A", redirect_uris=[REDIRECT], first_party=True, post_logout_redirect_uris=["https://app.example/bye"])
    b = _signed_in(pupil)
    id_token = _tokens(client, secret, _authorize(b, client))["id_token"]
    bad = b.get("/oidc/logout?" + urllib.parse.urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": "https://evil.example/bye"}))
    assert bad.status_code == 400 and "Location" not in bad
    good = b.get("/oidc/logout?" + urllib.parse.urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": "https://app.example/bye", "state": "z"}))
    assert good["Location"] == "https://app.example/bye?state=z"
    assert b.get("/account/").status_code == 302  # signed out
    forged = id_token.rsplit(".", 1)[0] + ".AAAA"
    assert Browser().get("/oidc/logout?" + urllib.parse.urlencode({"id_token_hint": forged})).status_code == 400


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list = []
    fail = False

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if _Receiver.fail:
            self.send_response(503)
        else:
            _Receiver.received.append(urllib.parse.parse_qs(body)["logout_token"][0])
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.received, _Receiver.fail = [], False
    yield f"http://127.0.0.1:{server.server_port}/logout"
    server.shutdown()


def test_password_change_and_disable_send_backchannel_logout_retried_until_delivered(tree, receiver):
    """A password change that signs out every session reaches the client; a failing receiver is retried, not lost."""
    pupil = _person(tree)
    client, secret = services.create_client("A", redirect_uris=[REDIRECT], first_party=True, backchannel_logout_uri=receiver)
    sid = _claims(_tokens(client, secret, _authorize(_signed_in(pupil), client))["id_token"])["sid"]
    set_password(pupil, "another long password here", end_other_sessions=True)
    _Receiver.fail = True
    services.deliver_due_logouts()
    delivery = LogoutDelivery.objects.get()
    assert delivery.status == "queued" and delivery.attempts == 1
    _Receiver.fail = False
    LogoutDelivery.objects.update(next_attempt_at=datetime.datetime.now(datetime.UTC))
    services.deliver_due_logouts()
    assert LogoutDelivery.objects.get().status == "sent"
    assert _claims(_Receiver.received[0])["sid"] == sid


def test_guardian_link_end_withdraws_the_approval_and_logs_the_pupil_out(tree, receiver):
    pupil = _person(tree, years=10)
    guardian = f.guardian_of(pupil)
    Guardianship.objects.filter(student=pupil.person).update(status="confirmed")
    client, secret = services.create_client("Third", redirect_uris=[REDIRECT], backchannel_logout_uri=receiver)
    services.grant_consent(pupil, client, ["openid"], approved_by=guardian)
    tokens = _tokens(client, secret, _authorize(_signed_in(pupil), client))
    Guardianship.objects.filter(student=pupil.person).update(status="ended")
    services.deliver_due_logouts()
    assert Consent.objects.get().withdrawn_at is not None
    assert Token.objects.filter(revoked_at__isnull=True).count() == 0
    assert _Receiver.received and Browser().get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + tokens["access_token"]).status_code == 401


def test_issuer_with_a_path_serves_discovery_under_it(settings):
    settings.SCHOOLID_OIDC_ISSUER = settings.BASE_URL + "/oidc"
    assert Browser().get("/.well-known/openid-configuration").json()["issuer"] == settings.BASE_URL + "/oidc"


def test_signing_key_is_sealed_at_rest():
    key = keys.active_key()
    assert "PRIVATE KEY" not in key.private_sealed and key.kid == key.public_jwk["kid"]


def test_a_decision_posted_with_the_authorization_request_grants_nothing(tree):
    """The authorization endpoint takes POSTs without a CSRF token (OIDC Core §3.1.2.1), so a consent
    decision is honoured only on the flow's own page, which checks it."""
    pupil = _person(tree)
    client, _ = services.create_client("Third", redirect_uris=[REDIRECT])
    b = _signed_in(pupil)
    params = {"client_id": client.client_id, "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid profile", "state": "st",
              "code_challenge": CHALLENGE, "code_challenge_method": "S256", "decision": "allow"}
    response = b.post("/oidc/authorize", params)
    assert response.status_code == 200 and "oidc-allow" in response.content.decode()
    assert not Consent.objects.exists()
    csrf_browser = Browser(enforce_csrf_checks=True)
    csrf_browser.cookies = b.cookies
    flow = response.content.decode().split('action="/oidc/authorize/')[1].split('"')[0]
    assert csrf_browser.post("/oidc/authorize/" + flow, {"decision": "allow"}).status_code == 403
    assert not Consent.objects.exists()


def test_operators_see_clients_in_admin_without_secrets(tree):
    operator = _person(tree, "ministry_admin", tree["ministry"], years=40)
    client, secret = services.create_client("Moodle", redirect_uris=[REDIRECT])
    b = _signed_in(operator, amr=("pwd", "totp"))
    page = b.get(f"/admin/provider/client/{client.pk}/change/")
    assert page.status_code == 200 and client.client_id in page.content.decode() and secret not in page.content.decode()
    assert client.secret_hash not in page.content.decode()
