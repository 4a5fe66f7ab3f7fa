"""E-mail change (seed 004; ASVS v5 7.5.1, 6.3.7) and mobile change (NIST §3.1.3.3 → §4.1.2.1)."""
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client

from schoolid.directory.models import Person
from schoolid.flows.models import LinkToken
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "maple river lantern quietly"


@pytest.fixture
def parent():
    t = f.org_tree()
    return f.account("guardian", t["school_a"], password=PASSWORD, email="old@example.org", email_verified=True, mobile="09121234567", mobile_verified=True)


def signed_in(account):
    client = Client()
    assert client.post("/signin/", {"identifier": account.person.national_id, "password": PASSWORD})["Location"] == "/account/"
    return client


def link_to(smtp, address):
    for rcpt, content in reversed(smtp.messages):
        if rcpt == [address]:
            return re.search(r"https?://\S+/account/email/confirm/[A-Za-z0-9_-]+/", content).group(0).replace(django_settings.BASE_URL, "")
    raise AssertionError(f"no mail to {address}")


def test_email_change_needs_the_password_and_stays_pending_until_confirmed(parent, smtp):
    client = signed_in(parent)
    wrong = client.post("/account/email/", {"new_email": "new@example.org", "password": "not it"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "This is not your current password." in wrong.content.decode() and smtp.messages == []
    assert client.post("/account/email/", {"new_email": "New@Example.org", "password": PASSWORD}).status_code == 302
    assert Person.objects.get(pk=parent.person_id).email == "old@example.org"  # pending
    assert {tuple(r) for r, _c in smtp.messages} == {("new@example.org",), ("old@example.org",)}  # link + notice
    first = link_to(smtp, "new@example.org")
    # Resend: a fresh link; only the newest works.
    assert client.post("/account/email/", {"resend": "1"}).status_code == 302
    newest = link_to(smtp, "new@example.org")
    assert newest != first
    assert Client().get(first).status_code == 410
    confirmed = client.get(newest)
    assert confirmed.status_code == 200 and confirmed["Referrer-Policy"] == "no-referrer"
    # The confirmation page names the address now in use, not the old one (issue 14).
    assert "new@example.org" in confirmed.content.decode() and "old@example.org" not in confirmed.content.decode()
    account_page = client.get("/account/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'id="account-email"><bdi dir="ltr">new@example.org</bdi> <span class="hint">verified', account_page)
    person = Person.objects.get(pk=parent.person_id)
    assert person.email == "new@example.org" and person.email_verified
    assert Client().get(newest).status_code == 410  # once


def test_phone_change_needs_a_code_sent_to_the_new_number(parent, gateway, smtp):
    client = signed_in(parent)
    assert client.post("/account/phone/", {"new_mobile": "0912 765 4321", "password": PASSWORD})["Location"] == "/account/phone/code/"
    assert gateway.received[-1][1]["to"] == "+989127654321"
    assert Person.objects.get(pk=parent.person_id).mobile == "+989121234567"
    code = re.search(r"\b\d{6}\b", gateway.received[-1][1]["text"]).group(0)
    assert client.post("/account/phone/code/", {"code": "000000"}).status_code == 200
    assert client.post("/account/phone/code/", {"code": code})["Location"] == "/account/"
    person = Person.objects.get(pk=parent.person_id)
    assert person.mobile == "+989127654321" and person.mobile_verified
    # The e-mail, an independent channel, hears of it.
    from schoolid.notify.models import OutboxMessage

    notice = OutboxMessage.objects.get(purpose="phone_change.notice")
    assert notice.to == "old@example.org" and notice.status == "sent"
    assert any(rcpt == ["old@example.org"] for rcpt, _content in smtp.messages)


def test_phone_change_refuses_a_session_without_the_password(parent, gateway):
    client = signed_in(parent)
    assert client.post("/account/phone/", {"new_mobile": "09127654321", "password": ""}).status_code == 200
    assert gateway.received == []


def test_invalid_numbers_say_why(parent):
    client = signed_in(parent)
    html = client.post("/account/phone/", {"new_mobile": "12", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="error field-error"' in html


def test_email_change_is_not_confirmed_by_whoever_owns_the_address(parent, smtp):
    """Issue 11 item 1; ASVS v5 7.5.1, 6.3.7; NIST §4.2.1.2 (addresses verified before use): an attacker,
    signed in to their own account, asks for the victim's address; the victim opens the genuine link in
    their own browser (signed out, or signed in to their own account). The attacker's account does not
    get the victim's address. (Old code: any browser opening the link confirmed it.) The requester,
    signed in, confirms with the same link."""
    t = f.org_tree()
    victim = f.account("guardian", t["school_a"], password=PASSWORD, email="victim@example.org", email_verified=True)
    attacker = signed_in(parent)
    assert attacker.post("/account/email/", {"new_email": "victim@example.org", "password": PASSWORD}).status_code == 302
    link = link_to(smtp, "victim@example.org")
    signed_out = Client().get(link)
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/signin/?next=")
    other = signed_in(victim).get(link)
    assert other.status_code == 403
    assert Person.objects.get(pk=parent.person_id).email == "old@example.org"
    # Neither visit spent the link (the requester's own signed-in visit confirms: the test above).
    assert LinkToken.objects.get(purpose="email_change").used_at is None


@pytest.fixture
def teacher():
    t = f.org_tree()
    account = f.account("teacher", t["school_a"], password=PASSWORD, email="teacher@example.org", email_verified=True,
                        mobile="09121234567", mobile_verified=True)
    f.activate(account)
    return account, f.enrol_totp(account)


def test_staff_contact_change_asks_for_the_second_factor_too(teacher, smtp, gateway):
    """Issue 11 item 4; ASVS v5 7.5.1, NIST §4.2.1.2: with a stolen password and session alone, nobody re-routes
    a staff account's recovery. The page asks for the TOTP (or a recovery code) and refuses without it."""
    import pyotp

    from schoolid.credentials.totp import issue_recovery_codes

    account, seed = teacher
    client = f.staff_client(account)
    assert 'name="second_factor"' in client.get("/account/email/").content.decode()
    refused = client.post("/account/email/", {"new_email": "evil@example.org", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "second step" in refused.content.decode()
    wrong = client.post("/account/phone/", {"new_mobile": "0912 765 4321", "password": PASSWORD, "second_factor": "000000"})
    assert wrong.status_code == 200 and "Location" not in wrong
    assert smtp.messages == [] and gateway.received == []
    assert client.post("/account/email/", {"new_email": "new@example.org", "password": PASSWORD, "second_factor": pyotp.TOTP(seed).now()}).status_code == 302
    assert ("new@example.org",) in {tuple(r) for r, _c in smtp.messages}
    recovery = issue_recovery_codes(account)[0]
    assert client.post("/account/phone/", {"new_mobile": "0912 765 4321", "password": PASSWORD, "second_factor": recovery})["Location"] == "/account/phone/code/"


def test_staff_contact_change_over_the_api_asks_for_the_second_factor(teacher, smtp):
    """The same over the API (ASVS v5 7.5.1): password alone is a 400 and sends nothing."""
    import json

    import pyotp

    from schoolid.flows.tokens import issue_token

    account, seed = teacher
    token = issue_token(None, account, ["pwd", "totp"]).token
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = {"new_email": "evil@example.org", "password": PASSWORD}
    refused = Client().post("/api/v1/flows/settings/email", json.dumps(body), content_type="application/json", **auth)
    assert refused.status_code == 400 and "second factor" in refused.json()["detail"]
    phone = Client().post("/api/v1/flows/settings/phone", json.dumps({"new_mobile": "09127654321", "password": PASSWORD}), content_type="application/json", **auth)
    assert phone.status_code == 400 and smtp.messages == []
    body["second_factor"] = pyotp.TOTP(seed).now()
    assert Client().post("/api/v1/flows/settings/email", json.dumps(body), content_type="application/json", **auth).status_code == 202
