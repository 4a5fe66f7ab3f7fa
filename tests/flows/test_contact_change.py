"""E-mail change (seed 004; ASVS v5 7.5.1, 6.3.7) and mobile change (NIST §3.1.3.3 → §4.1.2.1)."""
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client

from schoolid.directory.models import Person
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
    confirmed = Client().get(newest)
    assert confirmed.status_code == 200 and confirmed["Referrer-Policy"] == "no-referrer"
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
