"""Staff assurance through the provider's acr/amr, and back-channel logout (issue 16)."""
import datetime
import secrets
import time

import pytest
from authlib.jose import jwt
from django.test import Client

from schoolid.federation import services, standin
from schoolid.federation.client import BACKCHANNEL_EVENT
from schoolid.federation.models import FederatedLink
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple 42"


def _linked_teacher(provider):
    tree = factories.org_tree()
    teacher = factories.account("teacher", tree["school_a"], password=PASSWORD, birth_date=datetime.date(1975, 4, 4))
    services.link(provider, "sbj-" + teacher.person.national_id.replace(" ", "").replace("-", ""), teacher, request=None)
    return teacher


def test_staff_with_multi_factor_provider_sign_in_skips_the_second_step(journey, client):
    """ASVS v5 6.8.4; OIDC §3.1.3.7 (acr): a provider amr of "mfa" meets the staff level."""
    teacher = _linked_teacher(journey.provider)
    response, _ = journey.sign_in(national_id=teacher.person.national_id)
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert "idp_mfa" in client.session["amr"]


def test_staff_with_weak_provider_sign_in_still_pass_their_second_step(journey, client):
    """ASVS v5 6.8.4: a lower acr (password only) leads to the second factor, no session yet."""
    teacher = _linked_teacher(journey.provider)
    response, _ = journey.sign_in(national_id=teacher.person.national_id, fault="low_acr")
    assert response.status_code == 302 and response["Location"] in ("/signin/second-factor/", "/signin/second-factor/setup/")
    assert "_auth_user_id" not in client.session


def _logout_token(provider, subject, key="standin", **extra):
    claims = {"iss": provider.issuer, "aud": provider.client_id, "iat": int(time.time()), "jti": secrets.token_urlsafe(12),
              "events": {BACKCHANNEL_EVENT: {}}, "sub": subject, **extra}
    return jwt.encode({"alg": "RS256", "kid": "standin"}, claims, standin._jwk(key)).decode()


def test_backchannel_logout_ends_the_sessions_the_provider_started(journey, client):
    """OIDC Back-Channel Logout §2.6: a forged or replayed logout token ends nothing; a valid one ends
    the sessions this provider started, not the person's password sessions."""
    account = factories.account(password=PASSWORD, birth_date=datetime.date(1980, 1, 2))
    response, _ = journey.sign_in(national_id=account.person.national_id)
    client.post("/signin/federated-confirm/", {"password": PASSWORD})
    assert client.get("/account/").status_code == 200
    password_browser = Client()
    assert password_browser.post("/signin/", {"identifier": account.person.national_id, "password": PASSWORD}).status_code == 302
    assert password_browser.get("/account/").status_code == 200
    subject = FederatedLink.objects.get().subject
    provider_side = Client()
    url = f"/signin/federated/{journey.provider.name}/backchannel-logout/"

    assert provider_side.post(url, {"logout_token": _logout_token(journey.provider, subject, key="intruder")}).status_code == 400
    assert provider_side.post(url, {"logout_token": _logout_token(journey.provider, subject, nonce="n")}).status_code == 400
    assert client.get("/account/").status_code == 200

    token = _logout_token(journey.provider, subject)
    assert provider_side.post(url, {"logout_token": token}).status_code == 200
    assert client.get("/account/").status_code == 302
    assert password_browser.get("/account/").status_code == 200
    assert provider_side.post(url, {"logout_token": token}).status_code == 400  # replayed jti


def test_signing_out_ends_the_provider_session_too(journey, client):
    """Signing out of a session the provider started goes through the provider's logout URL, back to SchoolID."""
    account = factories.account(birth_date=datetime.date(1980, 1, 2))
    journey.sign_in(national_id=account.person.national_id)
    response = client.post("/signout/")
    assert response.status_code == 302 and response["Location"].startswith(journey.provider.issuer + "/logout?")
    assert "post_logout_redirect_uri=" in response["Location"]
    assert client.get("/account/").status_code == 302
    other = factories.account(password=PASSWORD, birth_date=datetime.date(1981, 1, 2))
    plain = Client()
    plain.post("/signin/", {"identifier": other.person.national_id, "password": PASSWORD})
    assert plain.post("/signout/")["Location"] == "/signin/?signed_out=1"
