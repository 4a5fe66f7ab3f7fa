"""Recovery (seeds 003, 004): security requirements §3 (FP-CS, NIST §4.2.1.2, ASVS v5 6.4.3, 6.3.7)."""
import re

import pyotp
import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings

from schoolid.accounts.models import Account
from schoolid.audit.models import AuditEvent
from schoolid.core.profiles import load_profile
from schoolid.notify.models import OutboxMessage
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
OLD, NEW = "старый пароль очень длинный", "новый пароль тоже длинный"


@pytest.fixture
def parent(settings):
    settings.SCHOOLID_PROFILE = load_profile("ru")
    t = f.org_tree()
    return f.account("guardian", t["school_a"], password=OLD, email="mama@example.org", email_verified=True, mobile="89123456789", mobile_verified=True)


def start(client, need, identifier):
    return client.post("/recover/", {"need": need, "identifier": identifier}, HTTP_ACCEPT_LANGUAGE="en")


def link_in(smtp):
    return re.search(r"https?://\S+/recover/link/[A-Za-z0-9_-]+/", smtp.messages[-1][1]).group(0).replace(django_settings.BASE_URL, "")


def code_in(gateway):
    return re.search(r"\b\d{6}\b", gateway.received[-1][1]["text"]).group(0)


def test_new_password_by_e_mail_link(parent, smtp, gateway):
    client, other = Client(), Client()
    assert other.post("/signin/", {"identifier": parent.user_code, "password": OLD})["Location"] == "/account/"
    assert start(client, "password", "mama@example.org")["Location"] == "/recover/sent/"
    link = link_in(smtp)
    response = client.get(link)
    assert response["Location"] == "/recover/finish/" and response["Referrer-Policy"] == "no-referrer"
    done = client.post("/recover/finish/", {"new_password": NEW, "new_password_again": NEW})
    assert done.status_code == 200
    # No signed-in session: any session cookie in the answer only deletes the anonymous one.
    cookie = done.cookies.get(django_settings.SESSION_COOKIE_NAME)
    assert cookie is None or cookie.value == "" and "_auth_user_id" not in client.session
    assert client.get("/account/").status_code == 302  # not signed in
    assert other.get("/account/").status_code == 302  # other sessions ended
    assert Client().post("/signin/", {"identifier": parent.user_code, "password": OLD}).status_code == 200
    assert Client().post("/signin/", {"identifier": parent.user_code, "password": NEW})["Location"] == "/account/"
    # Every contact point gets a notice without the password (NIST §4.6; ASVS v5 6.3.7).
    notices = OutboxMessage.objects.filter(purpose="recovery.completed")
    assert {m.channel for m in notices} == {"email", "sms"}
    from django.utils import translation

    with translation.override("ru"):
        expected = translation.gettext("Your SchoolID account was recovered")
        dispute = translation.gettext(
            "Your SchoolID account was just recovered (the login was shown or the password was changed). If this wasn't you, "
            "tell your school at once: they can lock the account and give you a new password."
        )
    assert all(NEW not in m.body and m.body == dispute for m in notices)
    assert notices.get(channel="email").subject == expected and expected != "Your SchoolID account was recovered"
    assert Client().get(link).status_code == 410  # single use


def test_login_and_password_by_sms_code(parent, gateway):
    client = Client()
    start(client, "both", "8 912 345-67-89")
    assert len(gateway.received) == 1
    assert client.post("/recover/sent/", {"code": code_in(gateway)})["Location"] == "/recover/finish/"
    page = client.get("/recover/finish/").content.decode()
    assert parent.user_code[:3] in page  # the login is shown
    client.post("/recover/finish/", {"new_password": NEW, "new_password_again": NEW})
    assert Client().post("/signin/", {"identifier": parent.user_code, "password": NEW})["Location"] == "/account/"


def test_login_only_changes_nothing(parent, smtp):
    client = Client()
    start(client, "login", parent.person.national_id)
    client.get(link_in(smtp))
    assert "mama@example.org" in client.get("/recover/finish/").content.decode() or parent.user_code[:3] in client.get("/recover/finish/").content.decode()
    client.post("/recover/finish/")
    assert Client().post("/signin/", {"identifier": parent.user_code, "password": OLD})["Location"] == "/account/"


def test_same_answer_for_unknown_identifiers(parent, smtp, gateway):
    a, b = start(Client(), "password", "mama@example.org"), start(Client(), "password", "nobody@example.org")
    assert (a.status_code, a["Location"]) == (b.status_code, b["Location"])
    assert len(smtp.messages) == 1 and gateway.received == []


@override_settings(SMS_SEND_LIMIT=100)
def test_reset_requests_never_lock_the_account(parent, smtp):
    """FP-CS "Account Lockout": 50 reset requests, the victim still signs in."""
    for _ in range(50):
        start(Client(), "password", "mama@example.org")
    assert Client().post("/signin/", {"identifier": parent.user_code, "password": OLD})["Location"] == "/account/"


@override_settings(LOGIN_FREE_ATTEMPTS=2, LOGIN_LOCK_LIMIT=3)
def test_a_locked_account_can_still_recover(parent, smtp):
    for _ in range(3):
        Account.objects.filter(pk=parent.pk).update(throttled_until=None)
        Client().post("/signin/", {"identifier": parent.user_code, "password": "wrong"})
    parent.refresh_from_db()
    assert parent.status == "locked"
    client = Client()
    start(client, "password", "mama@example.org")
    client.get(link_in(smtp))
    client.post("/recover/finish/", {"new_password": NEW, "new_password_again": NEW})
    parent.refresh_from_db()
    assert parent.status == "active"
    assert Client().post("/signin/", {"identifier": parent.user_code, "password": NEW})["Location"] == "/account/"


@override_settings(RECOVERY_CODE_TRIES=5)
def test_wrong_codes_are_limited_and_a_sign_in_code_does_not_recover(parent, gateway):
    """NIST §4.2.1.2; ASVS v5 6.5.1: codes are bound to their purpose and rate-limited."""
    signin = Client()
    signin.post("/signin/sms/", {"national_id": parent.person.national_id})
    signin_code = code_in(gateway)
    client = Client()
    start(client, "password", "89123456789")
    assert client.post("/recover/sent/", {"code": signin_code}).status_code == 200
    statuses = [client.post("/recover/sent/", {"code": "000000"}).status_code for _ in range(5)]
    assert statuses[-1] == 429
    assert client.post("/recover/sent/", {"code": code_in(gateway)}).status_code == 429


def test_recovery_does_not_skip_the_second_factor(settings, smtp):
    """ASVS v5 6.4.3: after e-mail recovery a staff account still needs its second factor."""
    settings.SCHOOLID_PROFILE = load_profile("ru")
    t = f.org_tree()
    teacher = f.account("teacher", t["school_a"], password=OLD, email="t@example.org", email_verified=True)
    seed = f.enrol_totp(teacher)
    client = Client()
    start(client, "password", "t@example.org")
    client.get(link_in(smtp))
    client.post("/recover/finish/", {"new_password": NEW, "new_password_again": NEW})
    assert client.get("/account/").status_code == 302
    again = Client()
    assert again.post("/signin/", {"identifier": teacher.user_code, "password": NEW})["Location"] == "/signin/second-factor/"
    assert again.post("/signin/second-factor/", {"code": pyotp.TOTP(seed).now()})["Location"] == "/account/"


def test_every_step_is_audited_without_secrets(parent, smtp):
    client = Client()
    start(client, "password", "mama@example.org")
    client.get(link_in(smtp))
    client.post("/recover/finish/", {"new_password": NEW, "new_password_again": NEW})
    actions = list(AuditEvent.objects.filter(target=parent.user_code).values_list("action", flat=True))
    assert {"recovery.requested", "recovery.proven", "recovery.completed"} <= set(actions)
    assert not AuditEvent.objects.filter(detail__icontains=NEW).exists()


def test_not_offered_where_only_the_principal_resets(settings):
    settings.SCHOOLID_PROFILE = load_profile("ir")
    assert Client().get("/recover/").status_code == 404
