"""Sign-in through a national provider (issue 16) against the stand-in IdP served over real HTTP."""
import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from schoolid.accounts.models import Account
from schoolid.audit.models import AuditEvent
from schoolid.federation.models import FederatedLink
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple 42"


def _adult(**kw):
    return factories.account(password=PASSWORD, birth_date=datetime.date(1985, 5, 5), **kw)


def _refusals(reason):
    return AuditEvent.objects.filter(action="federation.signin", result="failure", detail__reason=reason).count()


def test_authorize_redirect_has_pkce_s256_and_fresh_state_nonce(journey):
    """RFC 9700 §2.1, §2.1.1; ASVS v5 10.1.2, 10.2.1: S256 PKCE, a fresh high-entropy state and nonce each time."""
    first, second = (parse_qs(urlsplit(journey.start()).query) for _ in range(2))
    assert first["code_challenge_method"] == ["S256"] and len(first["code_challenge"][0]) == 43
    for key in ("state", "nonce"):
        assert len(first[key][0]) >= 43 and first[key] != second[key]
    assert "code_verifier" not in first


def test_first_signin_links_with_password_then_next_signin_is_direct(journey, client):
    """OIDC §2, §5.7; ASVS v5 6.8.1: the link is on (issuer, sub) after the password; then straight in."""
    account = _adult()
    response, _ = journey.sign_in(national_id=account.person.national_id)
    assert response.status_code == 302 and response["Location"] == "/signin/federated-confirm/"
    assert not FederatedLink.objects.exists()
    wrong = client.post("/signin/federated-confirm/", {"password": "not the password"})
    assert wrong.status_code == 200 and b"confirm-error" in wrong.content and not FederatedLink.objects.exists()
    done = client.post("/signin/federated-confirm/", {"password": PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/account/"
    link = FederatedLink.objects.get()
    assert link.account == account and link.subject.startswith("sbj-")
    assert client.get("/account/").status_code == 200
    assert b"linked-gov" in client.get("/account/").content

    again = Client()
    again_journey = type(journey)(again, journey.provider)
    response, _ = again_journey.sign_in(national_id=account.person.national_id)
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert again.get("/account/").status_code == 200


def test_never_activated_person_is_activated_by_verified_identity(journey, client):
    """Seed 004: a register person never activated is activated by the provider's verified identity, without a password."""
    account = factories.account(birth_date=datetime.date(1980, 1, 2))
    assert account.status == Account.Status.NOT_ACTIVATED
    response, _ = journey.sign_in(national_id=account.person.national_id)
    assert response.status_code == 302 and response["Location"] == "/account/"
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE and not account.has_usable_password()
    assert FederatedLink.objects.filter(account=account).exists()


def test_unverified_provider_account_over_threshold_is_refused(journey):
    """Issue 16 age rule: over the threshold only a verified provider account may link."""
    account = factories.account(birth_date=datetime.date(2008, 1, 1))  # over 14 and under 18 today
    response, _ = journey.sign_in(national_id=account.person.national_id, verified=False)
    assert response.status_code == 400 and b"federation-error" in response.content
    account.refresh_from_db()
    assert account.status == Account.Status.NOT_ACTIVATED and not FederatedLink.objects.exists()
    assert _refusals("provider_account_not_verified") == 1


def test_pupil_under_threshold_cannot_link_alone(journey):
    account = factories.account(birth_date=datetime.date.today() - datetime.timedelta(days=365 * 9))
    response, _ = journey.sign_in(national_id=account.person.national_id)
    assert response.status_code == 400 and not FederatedLink.objects.exists()
    assert _refusals("under_age_threshold") == 1


def test_unknown_person_gets_no_school_has_you_and_access_request(journey):
    _adult()
    response, _ = journey.sign_in(national_id="0000000000")
    assert response.status_code == 403 and b"/access/" in response.content and b"federation-not-known" in response.content
    assert _refusals("not_in_register") == 1 and not FederatedLink.objects.exists()


def test_forged_state_is_refused(journey, client):
    """ASVS v5 10.2.1: a callback with a wrong state is refused; nothing linked; audited."""
    account = factories.account(birth_date=datetime.date(1980, 1, 2))
    callback = journey.provider_answer(journey.start(), national_id=account.person.national_id)
    forged = callback.replace("state=", "state=x")
    response = client.get(forged)
    assert response.status_code == 400 and _refusals("state_mismatch") == 1
    account.refresh_from_db()
    assert account.status == Account.Status.NOT_ACTIVATED and not FederatedLink.objects.exists()


def test_callback_in_another_browser_is_refused(journey):
    """RFC 9700 §2.1.1: the flow is bound to the browser that started it."""
    account = factories.account(birth_date=datetime.date(1980, 1, 2))
    callback = journey.provider_answer(journey.start(), national_id=account.person.national_id)
    response = Client().get(callback)
    assert response.status_code == 400 and _refusals("no_flow_in_this_browser") == 1 and not FederatedLink.objects.exists()


def test_replayed_callback_is_refused(journey, client):
    """ASVS v5 10.4.2 (seen from the RP): the same code and state a second time are refused."""
    account = factories.account(birth_date=datetime.date(1980, 1, 2))
    response, callback = journey.sign_in(national_id=account.person.national_id)
    assert response.status_code == 302
    client.post("/signout/")
    replay = client.get(callback)
    assert replay.status_code == 400 and _refusals("no_flow_in_this_browser") == 1


def test_replayed_code_is_refused_by_the_provider(journey, client, live_server):
    """The provider's answer to a code used twice (invalid_grant) becomes a refusal, nothing linked."""
    account = factories.account(birth_date=datetime.date(1980, 1, 2))
    callback = journey.provider_answer(journey.start(), national_id=account.person.national_id)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    stolen = requests.post(live_server.url + "/dev/idp/token", data={"code": code, "grant_type": "authorization_code"}, timeout=10)
    assert stolen.status_code in (400, 401)
    response = client.get(callback)
    assert response.status_code == 400 and _refusals("token_refused") == 1 and not FederatedLink.objects.exists()


@pytest.mark.parametrize("fault, reason_prefix", [
    ("wrong_nonce", "id_token_"), ("wrong_key", "id_token_"), ("expired", "id_token_"), ("alg_none", "id_token_"),
    ("wrong_iss", "id_token_"), ("wrong_aud", "id_token_"),
])
def test_bad_id_tokens_are_refused(journey, fault, reason_prefix):
    """OIDC §3.1.3.7; ASVS v5 10.5.1, 10.5.3, 9.1.1–9.1.3: wrong nonce, a key not the issuer's, expired,
    alg none, wrong iss and wrong aud are each refused with nothing linked."""
    account = factories.account(birth_date=datetime.date(1980, 1, 2))
    response, _ = journey.sign_in(national_id=account.person.national_id, fault=fault)
    assert response.status_code == 400 and b"federation-error" in response.content
    event = AuditEvent.objects.filter(action="federation.signin", result="failure").get()
    assert event.detail["reason"].startswith(reason_prefix), event.detail
    account.refresh_from_db()
    assert account.status == Account.Status.NOT_ACTIVATED and not FederatedLink.objects.exists()


def test_mix_up_iss_in_authorization_response_is_refused(journey, client):
    """RFC 9207; ASVS v5 10.2.2: an authorization response naming another issuer is refused."""
    account = factories.account(birth_date=datetime.date(1980, 1, 2))
    callback = journey.provider_answer(journey.start(), national_id=account.person.national_id)
    response = client.get(callback.replace("iss=", "iss=https%3A%2F%2Fevil.example%2F&x="))
    assert response.status_code == 400 and _refusals("iss_mismatch") == 1


def test_provider_down_is_a_clear_page(client, db):
    """Provider unreachable: a page, an audit event, nothing linked."""
    from schoolid.federation import services

    services.add_provider(name="down", kind="oidc", issuer="http://127.0.0.1:9/idp", client_id="x", client_secret="y", label="Down")
    response = client.post("/signin/federated/down/")
    assert response.status_code == 502 and b"federation-error" in response.content
    assert AuditEvent.objects.filter(action="federation.started", result="failure", detail__reason="provider_unreachable").exists()


def test_same_email_new_subject_does_not_sign_into_existing_account(journey, client):
    """ASVS v5 6.8.1: linking never follows an e-mail: another person's subject cannot reach this account."""
    owner = _adult()
    FederatedLink.objects.create(provider=journey.provider, subject="sbj-someone-else", account=owner)
    stranger = factories.account(birth_date=datetime.date(1980, 1, 2))
    response, _ = journey.sign_in(national_id=stranger.person.national_id)
    client.get("/account/")
    assert "_auth_user_id" not in client.session or int(client.session["_auth_user_id"]) != owner.pk


def test_unlinking_needs_the_password(journey, client):
    account = _adult()
    journey.sign_in(national_id=account.person.national_id)
    client.post("/signin/federated-confirm/", {"password": PASSWORD})
    link = FederatedLink.objects.get()
    refused = client.post(f"/account/linked/{link.pk}/unlink/", {"password": "wrong"})
    assert refused.status_code == 400 and FederatedLink.objects.filter(pk=link.pk).exists()
    done = client.post(f"/account/linked/{link.pk}/unlink/", {"password": PASSWORD})
    assert done.status_code == 302 and not FederatedLink.objects.exists()


def test_signin_page_shows_enabled_providers_only(journey, client):
    from schoolid.federation import services

    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    page = client.get("/signin/", **english).content
    assert b'id="signin-with-gov"' in page and b"Sign in with GovID" in page
    services.set_enabled(journey.provider, False)
    assert b'id="signin-with-gov"' not in client.get("/signin/", **english).content
    assert client.post("/signin/federated/gov/").status_code == 404


def test_failure_page_is_in_the_persons_language(journey, client):
    account = factories.account(birth_date=datetime.date(1980, 1, 2))
    callback = journey.provider_answer(journey.start(), national_id=account.person.national_id, fault="wrong_nonce")
    response = client.get(callback, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 400 and "Вход через GovID не удался" in response.content.decode()
