"""Password sign-in and sign-out: generic errors, per-account throttling, sessions, CSRF.

Security requirements §1 (hashing), §2 (throttling), §3 (same answer), §5 (sessions), §8 (audit).
"""
import datetime
import re
import unicodedata

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.test import Client, override_settings
from django.utils import timezone

from schoolid.accounts.models import Account
from schoolid.accounts.services import set_password
from schoolid.audit.models import AuditEvent
from schoolid.core.digits import native_digits
from tests import factories as f

pytestmark = pytest.mark.django_db
PASSWORD = "maple river lantern quietly"
GENERIC = "The sign-in details are not correct."


@pytest.fixture
def student():
    t = f.org_tree()
    return f.account("student", t["class_a1"], password=PASSWORD)


def post_signin(client, identifier, password, ip="10.0.0.1", **extra):
    return client.post("/signin/", {"identifier": identifier, "password": password}, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en", **extra)


def expire_wait(account):
    Account.objects.filter(pk=account.pk).update(throttled_until=timezone.now() - datetime.timedelta(seconds=1))


def test_signin_with_national_id_in_persian_digits(client, student):
    national_id = student.person.national_id
    response = post_signin(client, native_digits(national_id, "fa"), PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/account/"
    page = client.get("/account/", HTTP_ACCEPT_LANGUAGE="en")
    assert student.display_code in page.content.decode()
    assert "student" in page.content.decode()
    event = AuditEvent.objects.get(action="signin", result="success")
    assert event.target == student.user_code and event.detail["factor"] == "pwd"
    assert event.request_id == response["X-Request-ID"]


def test_signin_with_user_code(client, student):
    assert post_signin(client, student.display_code.lower(), PASSWORD).status_code == 302


def test_unknown_account_and_wrong_password_get_the_same_answer(client, student):
    """FP-CS, Auth-CS "Authentication Responses"; ASVS v5 6.3.8."""
    wrong = post_signin(client, student.person.national_id, "not the password at all")
    unknown = post_signin(client, "0000000019", PASSWORD)  # no such person
    assert wrong.status_code == unknown.status_code == 200
    strip = lambda r: re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", r.content.decode()).replace(student.person.national_id, "X").replace("0000000019", "X")
    assert strip(wrong) == strip(unknown)
    assert GENERIC in wrong.content.decode()
    reasons = sorted(e.detail["reason"] for e in AuditEvent.objects.filter(action="signin.password", result="failure"))
    assert reasons == ["unknown_identifier", "wrong_password"]


def test_not_activated_account_gets_the_generic_answer(client):
    t = f.org_tree()
    acc = f.account("student", t["class_a1"])
    response = post_signin(client, acc.person.national_id, PASSWORD)
    assert GENERIC in response.content.decode()


@override_settings(LOGIN_FREE_ATTEMPTS=3, LOGIN_DELAY_BASE_SECONDS=30, LOGIN_DELAY_CAP_SECONDS=3600)
def test_growing_delay_per_account_from_rotating_addresses(client, student):
    """NIST §3.2.2; ASVS v5 6.1.1, 6.3.1: the counter is per account, not per IP; Retry-After is sent."""
    nid = student.person.national_id
    for i in range(3):
        assert post_signin(client, nid, "wrong", ip=f"10.1.0.{i}").status_code == 200
    fourth = post_signin(client, nid, "wrong", ip="10.2.0.1")
    assert fourth.status_code == 429 and fourth["Retry-After"] == "30"
    # During the wait even the right password is refused, from any address, without being checked.
    blocked = post_signin(client, nid, PASSWORD, ip="10.3.0.1")
    assert blocked.status_code == 429 and "Too many failed sign-in attempts" in blocked.content.decode()
    assert 0 < int(blocked["Retry-After"]) <= 30
    expire_wait(student)
    fifth = post_signin(client, nid, "wrong", ip="10.4.0.1")
    assert fifth.status_code == 429 and fifth["Retry-After"] == "60"  # the delay doubles
    expire_wait(student)
    sixth = post_signin(client, nid, "wrong", ip="10.5.0.1")
    assert sixth["Retry-After"] == "120"


@override_settings(LOGIN_FREE_ATTEMPTS=5)
def test_success_clears_the_failure_count(client, student):
    """NIST §3.2.2: a successful sign-in resets the count."""
    for _ in range(5):
        post_signin(client, student.person.national_id, "wrong")
    student.refresh_from_db()
    assert student.failed_logins == 5
    assert post_signin(client, student.person.national_id, PASSWORD).status_code == 302
    student.refresh_from_db()
    assert student.failed_logins == 0 and student.throttled_until is None and student.last_login is not None


@override_settings(LOGIN_FREE_ATTEMPTS=2, LOGIN_LOCK_LIMIT=6)
def test_lock_at_the_limit_then_the_right_password_is_refused(client, student):
    """NIST §3.2.2: after the configured limit (≤ 100) the password is disabled until recovery."""
    nid = student.person.national_id
    for _ in range(6):
        expire_wait(student)
        post_signin(client, nid, "wrong")
    student.refresh_from_db()
    assert student.status == Account.Status.LOCKED
    expire_wait(student)
    response = post_signin(client, nid, PASSWORD)
    assert response.status_code == 403 and "blocked" in response.content.decode()
    assert AuditEvent.objects.filter(action="account.locked", target=student.user_code).count() == 1


def test_lock_limit_never_exceeds_100():
    assert settings.LOGIN_LOCK_LIMIT <= 100


@override_settings(LOGIN_FREE_ATTEMPTS=2)
def test_unknown_identifiers_are_throttled_like_accounts(client):
    for _ in range(2):
        assert post_signin(client, "0000000019", "x").status_code == 200
    assert post_signin(client, "0000000019", "x").status_code == 429


@override_settings(LOGIN_IP_FAILURE_LIMIT=5)
def test_password_spraying_from_one_address_is_stopped_and_logged(client):
    """CS-CS; ASVS v5 2.4.1: one password against many accounts from one client."""
    t = f.org_tree()
    victims = [f.account("student", t["class_a1"], password=PASSWORD) for _ in range(6)]
    for victim in victims[:5]:
        assert post_signin(client, victim.person.national_id, "Spring2026!", ip="10.9.9.9").status_code == 200
    response = post_signin(client, victims[5].person.national_id, "Spring2026!", ip="10.9.9.9")
    assert response.status_code == 429
    assert AuditEvent.objects.filter(action="signin.ip_throttled", ip="10.9.9.9").exists()
    # Another client is unaffected.
    assert post_signin(client, victims[5].person.national_id, PASSWORD, ip="10.8.8.8").status_code == 302


def test_new_session_id_at_signin_and_logout_ends_it_on_the_server(student):
    """ASVS v5 7.2.4 (no fixation), 7.4.1 (logout invalidates on the server)."""
    client = Client()
    client.get("/signin/")
    client.session.save()
    before = client.cookies.get(settings.SESSION_COOKIE_NAME)
    before_value = before.value if before else None
    post_signin(client, student.person.national_id, PASSWORD)
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != before_value
    assert client.get("/account/").status_code == 200
    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = after
    assert stolen.get("/account/").status_code == 200
    assert client.post("/signout/").status_code == 302
    # Replaying the old cookie after sign-out no longer works.
    assert stolen.get("/account/").status_code == 302
    assert AuditEvent.objects.filter(action="signout", target=student.user_code).count() == 1


def test_session_ids_are_long_and_random(student):
    """ASVS v5 7.2.3: ≥ 128 bits from a CSPRNG, no duplicates."""
    keys = set()
    for _ in range(20):
        c = Client()
        post_signin(c, student.person.national_id, PASSWORD)
        keys.add(c.cookies[settings.SESSION_COOKIE_NAME].value)
        Account.objects.filter(pk=student.pk).update(failed_logins=0)
    assert len(keys) == 20
    assert all(len(k) >= 32 and re.fullmatch(r"[a-z0-9]+", k) for k in keys)  # 36^32 > 2^165


def test_session_cookie_flags_and_no_personal_data(student):
    """ASVS v5 3.3.1, 3.3.3, 3.3.4: Secure, HttpOnly, __Host- prefix with Path=/, SameSite."""
    with override_settings(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_NAME="__Host-sid", CSRF_COOKIE_SECURE=True, CSRF_COOKIE_NAME="__Host-csrf"):
        client = Client()
        response = post_signin(client, student.person.national_id, PASSWORD, secure=True)
        cookie = response.cookies["__Host-sid"]
        assert cookie["secure"] and cookie["httponly"] and cookie["path"] == "/" and not cookie["domain"]
        assert cookie["samesite"] == "Lax"
        for personal in (student.person.national_id, student.person.given_name, student.user_code):
            assert personal not in cookie.value


def test_csrf_is_required_for_signin_and_signout(student):
    """NIST §5.1; ASVS v5 3.3.2."""
    client = Client(enforce_csrf_checks=True)
    response = client.post("/signin/", {"identifier": student.person.national_id, "password": PASSWORD})
    assert response.status_code == 403
    f.staff_client(student, client)
    assert client.post("/signout/").status_code == 403


def test_next_parameter_never_leaves_the_site(client, student):
    """RFC 9700 §2.1; ASVS v5 10.2.2: no open redirect."""
    response = client.post(
        "/signin/?next=https://evil.example/x", {"identifier": student.person.national_id, "password": PASSWORD, "next": "https://evil.example/x"}
    )
    assert response["Location"] == "/account/"


@override_settings(SESSION_IDLE_SECONDS=60)
def test_idle_timeout_is_enforced_on_the_server(client, student):
    """ASVS v5 7.3.1."""
    post_signin(client, student.person.national_id, PASSWORD)
    session = client.session
    session["seen_at"] -= 61
    session.save()
    response = client.get("/account/")
    assert response.status_code == 302 and "expired=1" in response["Location"]
    assert client.get("/account/").status_code == 302
    assert AuditEvent.objects.filter(action="session.expired").count() == 1


@override_settings(SESSION_ABSOLUTE_SECONDS=120)
def test_absolute_timeout_even_when_active(client, student):
    """ASVS v5 7.3.2."""
    post_signin(client, student.person.national_id, PASSWORD)
    session = client.session
    session["auth_at"] -= 121
    session.save()
    assert client.get("/account/").status_code == 302


def test_disabling_an_account_ends_its_sessions(client, student):
    """ASVS v5 7.4.2."""
    post_signin(client, student.person.national_id, PASSWORD)
    Account.objects.filter(pk=student.pk).update(status=Account.Status.DISABLED)
    assert client.get("/account/").status_code == 302


def test_argon2id_parameters_and_salting():
    """NIST §3.1.1.2 (storage); ASVS v5 11.4.2."""
    t = f.org_tree()
    a = f.account("student", t["class_a1"], password=PASSWORD)
    b = f.account("student", t["class_a1"], password=PASSWORD)
    assert a.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert a.password != b.password


def test_whole_password_is_verified_and_nfc_normalised():
    """NIST §3.1.1.2(2-4, 9); ASVS v5 6.2.8, 6.2.9: no truncation, NFC."""
    t = f.org_tree()
    acc = f.account("student", t["class_a1"])
    long_password = "x" * 99 + "y"
    set_password(acc, long_password)
    assert check_password(long_password, acc.password)
    assert not check_password("x" * 100, acc.password)
    accented = "Żółć gęślą jaźń café"
    set_password(acc, unicodedata.normalize("NFC", accented))
    assert check_password(unicodedata.normalize("NFD", accented), acc.password)


def test_signin_page_has_the_right_autocomplete_values(client):
    """ASVS v5 6.2.6, 6.2.7: password managers and paste work; a show toggle is offered."""
    html = client.get("/signin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'autocomplete="username"' in html
    assert 'type="password"' in html and 'autocomplete="current-password"' in html
    assert 'class="show-password"' in html
    assert 'autocomplete="off"' not in html.split('<form method="post" action="/signin/"')[1]


def test_account_page_is_not_cached(client, student):
    """ASVS v5 14.3.2."""
    post_signin(client, student.person.national_id, PASSWORD)
    response = client.get("/account/")
    assert "no-store" in response["Cache-Control"]


def test_disabled_account_gets_the_generic_answer(client, student):
    Account.objects.filter(pk=student.pk).update(status=Account.Status.DISABLED)
    response = post_signin(client, student.person.national_id, PASSWORD)
    assert response.status_code == 200 and GENERIC in response.content.decode()
