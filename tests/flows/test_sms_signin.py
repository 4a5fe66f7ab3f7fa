"""Sign-in by SMS code (seed 001): security requirements §3 (same answer), §4 (codes), C3 (roles)."""
import datetime

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from schoolid.audit.models import AuditEvent
from schoolid.flows.models import OneTimeCode
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def parent():
    t = f.org_tree()
    account = f.account("guardian", t["school_a"], mobile="09121234567", mobile_verified=True, password="long parent passphrase")
    return account


def ask(client, national_id):
    return client.post("/signin/sms/", {"national_id": national_id}, HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="10.1.1.1")


def last_code(gateway):
    text = gateway.received[-1][1]["text"]
    # In right-to-left text the code sits between left-to-right isolate marks (core/numerals.py).
    words = (word.strip(".\u2066\u2069") for word in text.split())
    return next(word for word in words if word.isascii() and word.isdigit() and len(word) == 6)


def test_parent_signs_in_with_the_sms_code(parent, gateway):
    client = Client()
    response = ask(client, parent.person.national_id)
    assert response["Location"] == "/signin/sms/code/"
    assert len(gateway.received) == 1 and gateway.received[0][1]["to"] == "+989121234567"
    response = client.post("/signin/sms/code/", {"code": last_code(gateway)})
    assert response["Location"] == "/account/"
    assert client.session["amr"] == ["sms"]
    assert AuditEvent.objects.filter(action="signin", target=parent.user_code, detail__factor="sms").count() == 1


def test_same_answer_for_unknown_ids_and_nothing_sent(parent, gateway):
    """FP-CS; ASVS v5 6.3.8: no enumeration."""
    known, unknown = Client(), Client()
    a, b = ask(known, parent.person.national_id), ask(unknown, "0000000019")
    assert (a.status_code, a["Location"]) == (b.status_code, b["Location"])
    pa = known.get("/signin/sms/code/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    pb = unknown.get("/signin/sms/code/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    strip = lambda html: html.split('name="csrfmiddlewaretoken" value="')[0]
    assert strip(pa) == strip(pb)
    assert len(gateway.received) == 1
    assert unknown.post("/signin/sms/code/", {"code": "123456"}).status_code == 200


def test_staff_and_unverified_numbers_get_no_code(gateway):
    t = f.org_tree()
    principal = f.account("principal", t["school_a"], mobile="09121234568", mobile_verified=True)
    unverified = f.account("guardian", t["school_a"], mobile="09121234569", mobile_verified=False)
    f.activate(principal, unverified)
    for account in (principal, unverified):
        assert ask(Client(), account.person.national_id)["Location"] == "/signin/sms/code/"
    assert gateway.received == []


def test_a_code_works_once_and_only_in_its_browser(parent, gateway):
    """NIST §3.1.3.2; ASVS v5 6.5.1, 6.6.2."""
    client, other = Client(), Client()
    ask(client, parent.person.national_id)
    code = last_code(gateway)
    ask(other, "0000000019")
    assert other.post("/signin/sms/code/", {"code": code}).status_code == 200  # another session's flow
    assert client.post("/signin/sms/code/", {"code": code})["Location"] == "/account/"
    replay = Client()
    ask(replay, parent.person.national_id)
    assert replay.post("/signin/sms/code/", {"code": code}).status_code == 200


def test_a_code_expires_after_ten_minutes(parent, gateway):
    """NIST §3.1.3.2; ASVS v5 6.5.5."""
    client = Client()
    ask(client, parent.person.national_id)
    OneTimeCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert client.post("/signin/sms/code/", {"code": last_code(gateway)}).status_code == 200
    issued = OneTimeCode.objects.get()
    assert issued.expires_at - issued.created_at <= datetime.timedelta(minutes=10)


@override_settings(LOGIN_FREE_ATTEMPTS=3)
def test_a_new_code_does_not_reset_the_failure_count(parent, gateway):
    """NIST §3.1.3.2: 3 wrong codes, a new code, more wrong codes: the limit comes on schedule."""
    client = Client()
    ask(client, parent.person.national_id)
    for _ in range(3):
        assert client.post("/signin/sms/code/", {"code": "000000"}).status_code == 200
    assert client.post("/signin/sms/code/", {"resend": "1"}).status_code == 302
    response = client.post("/signin/sms/code/", {"code": "000001"})
    assert response.status_code == 429
    # Even the right code waits now.
    assert client.post("/signin/sms/code/", {"code": last_code(gateway)}).status_code == 429


@override_settings(SMS_SEND_LIMIT=3)
def test_sending_is_limited(parent, gateway):
    """ASVS v5 2.4.1: request many codes; a 429 after the limit and no more SMS than the limit."""
    statuses = [ask(Client(), parent.person.national_id).status_code for _ in range(6)]
    assert statuses == [302, 302, 302, 429, 429, 429]
    assert len(gateway.received) == 3
    assert ask(Client(), "0000000019").status_code == 302  # another identifier is unaffected


def test_the_page_warns_about_sms(client):
    html = client.get("/signin/sms/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "intercepted" in html and 'autocomplete="username"' in html


def test_gateway_down_keeps_the_code_and_delivers_it_once_back(parent, gateway, settings):
    """Issue 4 "Gateway down": the message stays in the outbox, the person is told it is on its way, and
    it arrives once the gateway is back; nothing is lost and nothing is sent twice."""
    from schoolid.notify.models import OutboxMessage
    from schoolid.notify.services import deliver_due

    gateway.answers = [503]
    client = Client()
    assert ask(client, parent.person.national_id)["Location"] == "/signin/sms/code/"
    page = client.get("/signin/sms/code/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "a code is on its way" in page
    message = OutboxMessage.objects.get(purpose="signin.sms_code")
    assert message.status == "queued" and message.attempts == 1
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert deliver_due() == {"sent": 1}
    assert deliver_due() == {}  # nothing twice
    assert [status for _auth, _body, status in gateway.received] == [503, 200]
    assert client.post("/signin/sms/code/", {"code": last_code(gateway)})["Location"] == "/account/"
