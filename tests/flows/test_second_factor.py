"""Staff sign in with a second factor (ASVS v5 6.3.3; security requirements §7): TOTP enrolled at the
first staff sign-in, ten recovery codes shown once and stored hashed, replay refused, throttled."""
import pyotp
import pytest
from django.test import Client, override_settings

from schoolid.audit.models import AuditEvent
from schoolid.credentials.models import RecoveryCode, TotpDevice
from tests import factories as f

pytestmark = pytest.mark.django_db
PASSWORD = "staff passphrase long enough"


@pytest.fixture
def principal():
    t = f.org_tree()
    return f.account("principal", t["school_a"], password=PASSWORD)


def password_step(client, account):
    return client.post("/signin/", {"identifier": account.person.national_id, "password": PASSWORD})


def test_first_staff_signin_enrols_totp_and_shows_recovery_codes(principal):
    client = Client()
    response = password_step(client, principal)
    assert response["Location"] == "/signin/second-factor/setup/"
    assert client.get("/account/").status_code == 302  # no session yet
    page = client.get("/signin/second-factor/setup/").content.decode()
    assert "data:image/svg+xml" in page
    seed = page.split('id="totp-seed">')[1].split("<")[0]
    wrong = client.post("/signin/second-factor/setup/", {"code": "000000"})
    assert wrong.status_code == 200 and not TotpDevice.objects.filter(confirmed_at__isnull=False).exists()
    response = client.post("/signin/second-factor/setup/", {"code": pyotp.TOTP(seed).now()})
    assert response["Location"] == "/signin/second-factor/recovery-codes/"
    codes_page = client.get(response["Location"]).content.decode()
    codes = [c.split("<")[0] for c in codes_page.split("<code>")[1:]]
    assert len(codes) == 10
    # Stored hashed only.
    assert RecoveryCode.objects.filter(account=principal).count() == 10
    assert not RecoveryCode.objects.filter(code_hash__contains=codes[0]).exists()
    assert client.post("/signin/second-factor/recovery-codes/")["Location"] == "/account/"
    assert client.get("/account/").status_code == 200
    assert client.session["amr"] == ["pwd", "totp"]
    assert AuditEvent.objects.filter(action="second_factor.enrolled").count() == 1


def test_password_alone_never_opens_a_staff_session(principal):
    seed = f.enrol_totp(principal)
    client = Client()
    assert password_step(client, principal)["Location"] == "/signin/second-factor/"
    assert client.get("/account/").status_code == 302
    assert client.get("/console/").status_code == 302
    response = client.post("/signin/second-factor/", {"code": pyotp.TOTP(seed).now()})
    assert response["Location"] == "/account/"
    assert client.get("/console/").status_code == 200


def test_a_totp_code_works_once(principal):
    seed = f.enrol_totp(principal)
    code = pyotp.TOTP(seed).now()
    first = Client()
    password_step(first, principal)
    assert first.post("/signin/second-factor/", {"code": code})["Location"] == "/account/"
    second = Client()
    password_step(second, principal)
    assert second.post("/signin/second-factor/", {"code": code}).status_code == 200  # replay refused


def test_recovery_code_works_once(principal):
    f.enrol_totp(principal)
    from schoolid.credentials.totp import issue_recovery_codes

    codes = issue_recovery_codes(principal)
    client = Client()
    password_step(client, principal)
    assert client.post("/signin/second-factor/", {"code": codes[3].lower()})["Location"] == "/account/"
    again = Client()
    password_step(again, principal)
    assert again.post("/signin/second-factor/", {"code": codes[3]}).status_code == 200


@override_settings(LOGIN_FREE_ATTEMPTS=3)
def test_wrong_codes_count_towards_the_account_throttle(principal):
    f.enrol_totp(principal)
    client = Client()
    password_step(client, principal)
    statuses = [client.post("/signin/second-factor/", {"code": "123456"}).status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429
    assert AuditEvent.objects.filter(action="signin.totp", result="failure").count() >= 3


def test_second_factor_page_without_a_password_step_goes_back_to_signin():
    assert Client().get("/signin/second-factor/")["Location"] == "/signin/"


def test_compromised_account_must_choose_a_new_password():
    """NIST §3.1.1.2(6): no periodic expiry, but a change on evidence of compromise."""
    import datetime

    from django.utils import timezone

    from schoolid.accounts.models import Account
    from schoolid.accounts.services import mark_compromised

    t = f.org_tree()
    parent = f.account("guardian", t["school_a"], password="long parent passphrase")
    Account.objects.filter(pk=parent.pk).update(password_changed_at=timezone.now() - datetime.timedelta(days=730))
    client = Client()
    assert client.post("/signin/", {"identifier": parent.person.national_id, "password": "long parent passphrase"})["Location"] == "/account/"
    mark_compromised(parent)
    client = Client()
    assert client.post("/signin/", {"identifier": parent.person.national_id, "password": "long parent passphrase"})["Location"] == "/signin/new-password/"
