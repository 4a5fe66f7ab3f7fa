"""The outbox delivers over real SMTP and a real HTTP SMS gateway, retries with back-off, never loses a
message and never sends one twice for one request (issue 4, part 1: notifications)."""
import datetime

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from schoolid.core.numerals import keep
from schoolid.notify import services
from schoolid.notify.models import OutboxMessage
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


def test_email_goes_over_smtp(smtp):
    with transaction.atomic():
        services.enqueue(channel="email", to="parent@example.org", subject="Hello", body="Ваш код: 123", purpose="test", dedupe_key="r1")
        assert smtp.messages == []  # nothing leaves before the commit
    assert len(smtp.messages) == 1
    rcpt, content = smtp.messages[0]
    assert rcpt == ["parent@example.org"] and "Subject: Hello" in content
    assert OutboxMessage.objects.get().status == "sent"


def test_sms_goes_to_the_http_gateway(gateway):
    services.enqueue(channel="sms", to="+989121234567", subject="", body="کد ورود: ۱۲۳", purpose="test", dedupe_key="r2")
    assert gateway.received == [("Bearer gateway-token-1", {"to": "+989121234567", "text": "کد ورود: ۱۲۳"}, 200)]


def test_gateway_failure_is_retried_with_back_off_then_delivered(gateway, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    gateway.answers = [503, 500]
    message = services.enqueue(channel="sms", to="+48512345678", subject="", body="x", purpose="test", dedupe_key="r3")
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 1 and "503" in message.last_error
    assert 25 <= (message.next_attempt_at - timezone.now()).total_seconds() <= 30
    assert services.deliver_due() == {}  # not due yet
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert services.deliver_due() == {"queued": 1}
    message.refresh_from_db()
    assert message.attempts == 2 and 55 <= (message.next_attempt_at - timezone.now()).total_seconds() <= 60
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert services.deliver_due() == {"sent": 1}
    assert [status for _auth, _body, status in gateway.received] == [503, 500, 200]


def test_a_dead_gateway_loses_nothing_and_gives_up_visibly(settings):
    settings.SMS_DRIVER, settings.SMS_GATEWAY_URL, settings.OUTBOX_MAX_ATTEMPTS = "http-json", "http://127.0.0.1:9/nothing-listens", 2
    message = services.enqueue(channel="sms", to="+79123456789", subject="", body="x", purpose="test", dedupe_key="r4")
    message.refresh_from_db()
    assert message.status == "queued" and "unreachable" in message.last_error
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    services.deliver_due()
    message.refresh_from_db()
    assert message.status == "dead" and message.attempts == 2 and message.body == "x"


def test_one_request_sends_once(gateway):
    for _ in range(3):
        services.enqueue(channel="sms", to="+989121234567", subject="", body="once", purpose="test", dedupe_key="same-request")
    services.deliver_due()
    assert len(gateway.received) == 1 and OutboxMessage.objects.count() == 1


def test_a_rolled_back_change_sends_nothing(gateway):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.enqueue(channel="sms", to="+989121234567", subject="", body="never", purpose="test", dedupe_key="r5")
        raise RuntimeError("the change failed")
    assert gateway.received == [] and OutboxMessage.objects.count() == 0


def test_a_lost_lease_is_taken_back(gateway):
    message = OutboxMessage.objects.create(channel="sms", to="+989121234567", body="x", purpose="test", dedupe_key="r6",
                                           status="sending", next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    assert services.deliver_due() == {"sent": 1}
    message.refresh_from_db()
    assert message.status == "sent"


def test_second_factor_reset_notifies_every_verified_contact(smtp, gateway):
    """NIST §4.2.3, §4.6; ASVS v5 6.3.7: a changed factor is announced on every contact point."""
    t = f.org_tree()
    principal = f.account("principal", t["school_a"])
    teacher = f.account("teacher", t["school_a"], email="teacher@example.org", email_verified=True, mobile="09121234567", mobile_verified=True)
    f.activate(principal, teacher)
    f.enrol_totp(teacher)
    client = f.staff_client(principal)
    assert client.post(f"/console/people/{teacher.user_code}/reset-second-factor/").status_code == 200
    assert len(smtp.messages) == 1 and smtp.messages[0][0] == ["teacher@example.org"]
    assert len(gateway.received) == 1 and gateway.received[0][1]["to"] == "+989121234567"


def test_outbox_command_and_demo_page(gateway, capsys, settings):
    services.enqueue(channel="sms", to="+989121234567", subject="", body=f"کد: {keep('481516')} ({10} دقیقه)", purpose="signin.code", dedupe_key="r7")
    call_command("outbox")
    assert "+989121234567\tsignin.code\tsent\t1" in capsys.readouterr().out
    settings.PRODUCTION = False
    page = Client().get("/dev/outbox").content.decode()
    assert "481516" in page and "(۱۰ دقیقه)" in page  # the typed code stays ASCII, the rest reads in Persian
    settings.PRODUCTION = True
    assert Client().get("/dev/outbox").status_code == 404


@pytest.mark.parametrize("address", ["192.168.1.20", "10.0.0.5", "2001:db8::1", "::ffff:192.168.1.20", "", "not-an-address"])
def test_demo_outbox_answers_only_a_loopback_client(address, settings):
    """Issue 11 item 4 (ASVS v5 13.4.2: no debug or demo surface in reach of others): a demo served
    on 0.0.0.0 must not show its codes and links to another machine, whatever headers it sends."""
    services.enqueue(channel="sms", to="+989121234567", subject="", body="کد: " + keep("271828"), purpose="signin.code", dedupe_key="r8")
    settings.PRODUCTION = False
    assert Client(REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR="127.0.0.1").get("/dev/outbox").status_code == 404
    for loopback in ("127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"):
        assert "271828" in Client(REMOTE_ADDR=loopback).get("/dev/outbox").content.decode()


@pytest.fixture
def broker_down():
    """Celery as in production (not eager), with its Redis broker unreachable."""
    from schoolid.celery import app

    keys = ("task_always_eager", "broker_url", "task_publish_retry")
    saved, saved_pool = {k: app.conf[k] for k in keys}, app._pool
    app.conf.update(task_always_eager=False, broker_url="redis://127.0.0.1:9/0", task_publish_retry=False)
    app._pool = None
    yield
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = saved_pool
    app.conf.update(saved)


def test_a_committed_password_change_is_not_an_error_page_when_the_broker_is_down(broker_down, gateway):
    """Issue 17: the password change committed, then scheduling its notice raised in on_commit and the
    user saw a 500 for a change that had happened. Now the page is the normal success, the notice
    waits in the outbox, and the periodic deliverer sends it once (ASVS v5 16.5.3)."""
    old, new = "maple river lantern quietly", "copper kettle under stars"
    account = f.account("guardian", f.org_tree()["school_a"], password=old, mobile="+989121234567", mobile_verified=True)
    client = Client(raise_request_exception=True)
    assert client.post("/signin/", {"identifier": account.person.national_id, "password": old})["Location"] == "/account/"
    response = client.post("/account/password/", {"current_password": old, "new_password": new, "new_password_again": new})
    assert response.status_code == 302 and response["Location"] == "/account/"
    account.refresh_from_db()
    assert account.check_password(new)
    notice = OutboxMessage.objects.get(purpose="password.changed")
    assert notice.status == "queued" and gateway.received == []
    assert services.deliver_due() == {"sent": 1}
    assert services.deliver_due() == {}
    assert len(gateway.received) == 1


def test_every_try_of_one_message_carries_the_same_idempotency_key(gateway, smtp):
    """Issue 17, a slow gateway that took the message but answered after our timeout: the retry must be
    recognisable as the same message, or the person gets the code twice. SMS: one Idempotency-Key per
    outbox message, the same on every try; e-mail: one Message-ID per outbox message."""
    gateway.answers = [500]
    first = services.enqueue(channel="sms", to="+989121234567", subject="", body="one", purpose="test", dedupe_key="k1")
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert services.deliver_due() == {"sent": 1}
    second = services.enqueue(channel="sms", to="+989121234567", subject="", body="two", purpose="test", dedupe_key="k2")
    assert gateway.keys == [str(first.pk), str(first.pk), str(second.pk)]
    mail = services.enqueue(channel="email", to="parent@example.org", subject="Hello", body="x", purpose="test", dedupe_key="k3")
    assert f"Message-ID: <outbox-{mail.pk}@" in smtp.messages[0][1]
