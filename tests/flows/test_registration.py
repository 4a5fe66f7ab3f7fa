"""Parent self-registration (seed 001; issue 6 item 1): identity → contact proven by two codes → account
created → set-password link → details saved. Security requirements §1 (policy on registration), §3
(no enumeration, codes and links), §8 (audit)."""
import dataclasses
import datetime
import random
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from schoolid.accounts.models import Account
from schoolid.audit.models import AuditEvent
from schoolid.core.profiles import load_profile
from schoolid.directory.models import Person
from schoolid.directory.national_ids import SCHEMES
from schoolid.flows.models import Flow, LinkToken, OneTimeCode
from schoolid.notify.models import OutboxMessage
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "olive tree behind the station"
_rng = random.Random(7001)
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@pytest.fixture(autouse=True)
def israel(settings):
    settings.SCHOOLID_PROFILE = load_profile("il")


def new_id() -> str:
    scheme = SCHEMES["il_teudat_zehut"]
    while True:
        value = scheme.generate(_rng)
        if not Person.objects.filter(national_id=value).exists():
            return value


def latest(purpose: str, to: str | None = None) -> OutboxMessage:
    messages = OutboxMessage.objects.filter(purpose=purpose)
    if to:
        messages = messages.filter(to=to)
    return messages.order_by("-created_at").first()


def code_of(purpose: str, to: str | None = None) -> str:
    return re.search(r"\b\d{6}\b", latest(purpose, to).body).group(0)


def identity(client, national_id, *, given="Miriam", family="Cohen", birth="1985-04-23"):
    return client.post("/register/", {"national_id": national_id, "given_name": given, "family_name": family, "birth_date": birth}, HTTP_ACCEPT_LANGUAGE="en")


def contact(client, email="miriam@example.org", mobile="050-234-5678"):
    return client.post("/register/contact/", {"email": email, "mobile": mobile}, HTTP_ACCEPT_LANGUAGE="en")


def codes(client, email_code=None, mobile_code=None):
    email_code = code_of("registration.email_code") if email_code is None else email_code
    mobile_code = code_of("registration.sms_code") if mobile_code is None else mobile_code
    return client.post("/register/codes/", {"email_code": email_code, "mobile_code": mobile_code}, HTTP_ACCEPT_LANGUAGE="en")


def register(client, national_id, *, email="miriam@example.org", mobile="050-234-5678", **names):
    assert identity(client, national_id, **names)["Location"] == "/register/contact/"
    sent = contact(client, email, mobile)
    assert sent.status_code == 302, re.findall(r'class="error[^>]*>([^<]*)', sent.content.decode())
    return codes(client)


def link_path(to="miriam@example.org") -> str:
    body = latest("registration.link", to).body
    return re.search(r"https?://\S+/register/password/[A-Za-z0-9_-]+/", body).group(0).replace(django_settings.BASE_URL, "")


def set_password(client, path, national_id, password=PASSWORD, **extra):
    return client.post(path, {"national_id": national_id, "new_password": password, "new_password_again": password, **extra}, HTTP_ACCEPT_LANGUAGE="en")


def test_a_parent_registers_end_to_end():
    """Seed 001 in full; ASVS v5 6.4.1/NIST §4.2.1.2 (link: 256 bits, hashed, single use, base URL,
    no-referrer); FP-CS (no automatic sign-in); ASVS v5 16.3.1 (each step audited)."""
    client = Client()
    national_id = new_id()
    assert 'id="registration-link"' in Client().get("/signin/?x=1").content.decode()
    created = register(client, national_id)
    assert created["Location"] == "/register/created/"
    page = client.get("/register/created/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your account is being created" in page
    person = Person.objects.get(national_id=national_id)
    account = Account.objects.get(person=person)
    assert (person.email, person.email_verified, person.mobile, person.mobile_verified) == ("miriam@example.org", True, "+972502345678", True)
    assert account.status == "not_activated" and not account.has_usable_password()
    mail = latest("registration.link", "miriam@example.org")
    # The link e-mail is worded alike for a refused registration (issue 11 item 3): no user code in it.
    assert "/register/password/" in mail.body and account.display_code not in mail.body
    assert latest("registration.created", "+972502345678") is not None  # the SMS "when done"
    path = link_path()
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 43 and LinkToken.objects.get(purpose="registration").digest != token
    form = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert form.status_code == 200 and form["Referrer-Policy"] == "no-referrer"
    assert account.display_code in form.content.decode() and "security_question" not in form.content.decode() and 'name="question"' not in form.content.decode()
    # Not yet: the account has no password, so signing in with the user code fails like a wrong one.
    assert Client().post("/signin/", {"identifier": account.user_code, "password": PASSWORD}).status_code == 200
    wrong_id = set_password(client, path, new_id())
    assert "not the ID number" in wrong_id.content.decode()
    weak = set_password(client, path, national_id, "Cohen Miriam")
    assert "at least 15" in weak.content.decode()
    saved = set_password(client, path, national_id.translate(PERSIAN))
    assert saved["Location"] == "/register/saved/" and saved["Referrer-Policy"] == "no-referrer"
    done = client.get("/register/saved/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your details were saved" in done and account.display_code in done
    assert account.display_code in latest("registration.completed", "miriam@example.org").body
    assert client.get("/account/").status_code == 302  # not signed in (FP-CS)
    assert Client().post("/signin/", {"identifier": account.display_code, "password": PASSWORD})["Location"] == "/account/"
    assert Client().post("/signin/", {"identifier": national_id, "password": PASSWORD})["Location"] == "/account/"
    assert client.get(path, HTTP_ACCEPT_LANGUAGE="en").status_code in (302, 410)
    actions = list(AuditEvent.objects.filter(action__startswith="registration.").values_list("action", "result"))
    for expected in [("registration.started", "success"), ("registration.codes_sent", "success"), ("registration.contact_proven", "success"),
                     ("registration.created", "success"), ("registration.completed", "success")]:
        assert expected in actions
    assert not Flow.objects.get(kind="registration").data  # personal data not kept in the flow


def test_bad_input_is_explained_and_nothing_is_lost():
    """House rule: a clear error, the typed values kept. The national ID scheme's own reasons."""
    client = Client()
    good = new_id()
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    page = identity(client, bad, given="מרים").content.decode()
    assert "check digit" in page and "מרים" in page and not Flow.objects.exists()
    assert "wrong length" in identity(client, "12").content.decode()
    assert "not a real date" in identity(client, good, birth="31.02.1985").content.decode()
    assert "cannot be right" in identity(client, good, birth=(timezone.localdate() + datetime.timedelta(days=3)).isoformat()).content.decode()
    assert "This field is required" in identity(client, good, given=" ").content.decode()
    # Native digits everywhere: the ID, the date and the mobile.
    assert identity(client, good.translate(PERSIAN), birth="۲۳.۰۴.۱۹۸۵")["Location"] == "/register/contact/"
    bad_mail = contact(client, "not-an-address", "050-234-5678").content.decode()
    assert "valid e-mail" in bad_mail and "050-234-5678" in bad_mail
    assert contact(client, "miriam@example.org", "۰۵۰-۲۳۴-۵۶۷۸")["Location"] == "/register/codes/"
    assert Flow.objects.get().data["mobile"] == "+972502345678"


def test_under_the_age_threshold_nobody_registers_alone():
    """Issue 6 item 5: under the profile's threshold (14) the parent acts from the family page."""
    young = (timezone.localdate() - datetime.timedelta(days=365 * 12)).isoformat()
    page = identity(Client(), new_id(), birth=young).content.decode()
    assert "under 14 cannot register themselves" in page and not Flow.objects.exists()


def test_a_second_registration_is_neutral_and_tells_the_owner():
    """ASVS v5 6.3.8; FP-CS; Auth-CS "Authentication Responses": the same page and status whether or not
    the national ID has an account; nothing goes to the typed contacts; the owner is e-mailed; audited."""
    owner = f.account("guardian", f.org_tree()["school_a"], password=PASSWORD, email="owner@example.org", email_verified=True,
                      given_name="Miriam", family_name="Cohen", birth_date=datetime.date(1985, 4, 23))
    code_before = owner.user_code
    first, second = Client(), Client()
    fresh = register(first, new_id(), email="new@example.org", mobile="054-765-4321")
    again = register(second, owner.person.national_id, email="intruder@example.org", mobile="050-333-4444")
    assert fresh.status_code == again.status_code == 302 and fresh["Location"] == again["Location"]
    a = first.get("/register/created/", HTTP_ACCEPT_LANGUAGE="en")
    b = second.get("/register/created/", HTTP_ACCEPT_LANGUAGE="en")
    strip = lambda html: re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html.content.decode())  # noqa: E731
    assert a.status_code == b.status_code and strip(a) == strip(b)
    # The typed contacts get the same messages as a new registration's, never the owner's details.
    assert not OutboxMessage.objects.filter(to__in=["intruder@example.org", "+972503334444"], body__contains=owner.display_code).exists()
    notice = latest("registration.duplicate", "owner@example.org")
    assert notice is not None and owner.display_code in notice.body
    assert Account.objects.filter(person=owner.person).count() == 1 and Person.objects.filter(national_id=owner.person.national_id).count() == 1
    owner.refresh_from_db()
    assert owner.user_code == code_before and owner.check_password(PASSWORD)
    event = AuditEvent.objects.get(action="registration.duplicate")
    assert event.result == "denied" and event.target == owner.user_code and event.detail["reason"] == "account_in_use"


def test_a_guardian_known_to_the_register_gets_their_own_account_activated():
    """Issue 6: "If the register already knows this person as a guardian, their existing account is
    activated. No duplicate is ever made." The register's e-mail is one of the proven contacts."""
    pupil = f.account("student", f.org_tree()["class_a1"])
    guardian = f.guardian_of(pupil)
    Person.objects.filter(pk=guardian.person_id).update(given_name="Miriam", family_name="Cohen", birth_date=datetime.date(1985, 4, 23), email="miriam@example.org")
    before = (Account.objects.count(), Person.objects.count(), guardian.user_code)
    client = Client()
    assert register(client, guardian.person.national_id, given="MIRIAM ")["Location"] == "/register/created/"
    assert (Account.objects.count(), Person.objects.count()) == before[:2]
    path = link_path()
    assert guardian.display_code in client.get(path).content.decode()
    assert set_password(client, path, guardian.person.national_id)["Location"] == "/register/saved/"
    guardian.refresh_from_db()
    assert guardian.user_code == before[2] and guardian.status == "active"
    assert AuditEvent.objects.filter(action="registration.activated", target=guardian.user_code).count() == 1
    # The child is already there: the register's link arrived confirmed.
    signed_in = Client()
    signed_in.post("/signin/", {"identifier": guardian.user_code, "password": PASSWORD})
    assert pupil.person.full_name in signed_in.get("/account/family/").content.decode()


@pytest.mark.parametrize("case", ["other_contacts", "other_name", "staff", "active"])
def test_a_register_record_is_never_taken_over(case):
    """Account takeover guard (ASVS v5 6.4, NIST §4.2.1.3): only someone holding a contact the school
    registered, with matching details, activates a register account; staff and accounts in use never."""
    t = f.org_tree()
    role = "teacher" if case == "staff" else "guardian"
    account = f.account(role, t["school_a"], given_name="Miriam", family_name="Cohen", birth_date=datetime.date(1985, 4, 23), email="miriam@example.org")
    if case == "active":
        f.activate(account)
        account.set_password(PASSWORD)
        account.save()
    client = Client()
    email = "someone@example.org" if case == "other_contacts" else "miriam@example.org"
    given = "Miri" if case == "other_name" else "Miriam"
    assert register(client, account.person.national_id, email=email, given=given)["Location"] == "/register/created/"
    assert not LinkToken.objects.filter(purpose="registration", flow__account__isnull=False).exists()
    assert latest("registration.duplicate", "miriam@example.org") is not None
    assert AuditEvent.objects.get(action="registration.duplicate").detail["reason"] == {
        "other_contacts": "contact_differs", "other_name": "details_differ", "staff": "staff_account", "active": "account_in_use"}[case]
    account.refresh_from_db()
    assert account.status == ("active" if case == "active" else "not_activated")
    assert Person.objects.get(pk=account.person_id).email == "miriam@example.org"


def test_codes_are_bound_counted_and_expire(settings):
    """NIST §3.1.3.2, §3.2.2; FP-CS: codes bound to flow and purpose; wrong ones counted per flow and not
    reset by a new code; an expired code says so; a proven contact stays proven."""
    client = Client()
    identity(client, new_id())
    contact(client)
    email_code, sms_code = code_of("registration.email_code"), code_of("registration.sms_code")
    # Each code works only for its own purpose.
    swapped = codes(client, email_code=sms_code, mobile_code=email_code) if email_code != sms_code else codes(client, "000000", "000000")
    assert "not correct" in swapped.content.decode()
    # The e-mail code right, the SMS code wrong: the e-mail stays proven.
    page = codes(client, email_code=email_code, mobile_code="12345").content.decode()
    assert 'id="email-proven"' in page and "not correct" in page
    OneTimeCode.objects.filter(purpose="registration_mobile").update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert "expired" in codes(client, email_code="", mobile_code=sms_code).content.decode()
    assert client.post("/register/codes/", {"resend": "1"})["Location"] == "/register/codes/?resent=1"
    assert OutboxMessage.objects.filter(purpose="registration.email_code").count() == 1  # only the unproven contact
    assert codes(client, email_code="", mobile_code=sms_code).status_code == 200  # the old code is gone
    tries = settings.RECOVERY_CODE_TRIES
    for _ in range(tries):
        codes(client, email_code="", mobile_code="000000")
    blocked = codes(client, email_code="", mobile_code=code_of("registration.sms_code").translate(PERSIAN))
    assert blocked.status_code == 429 and blocked["Retry-After"]
    assert not Account.objects.exists()
    assert AuditEvent.objects.filter(action="registration.code", result="failure").count() >= tries


def test_persian_digits_in_codes_and_double_submit_is_harmless():
    """House rules: native digits accepted; a double submit creates one account and sends one e-mail."""
    client = Client()
    national_id = new_id()
    identity(client, national_id)
    contact(client)
    contact(client)  # the second click sends nothing new
    assert OutboxMessage.objects.filter(purpose="registration.sms_code").count() == 1
    data = {"email_code": code_of("registration.email_code").translate(PERSIAN), "mobile_code": code_of("registration.sms_code").translate(PERSIAN)}
    assert client.post("/register/codes/", data)["Location"] == "/register/created/"
    assert client.post("/register/codes/", data)["Location"] == "/register/created/"
    assert Account.objects.count() == 1 and OutboxMessage.objects.filter(purpose="registration.link").count() == 1
    path = link_path()
    assert set_password(client, path, national_id)["Location"] == "/register/saved/"
    assert set_password(client, path, national_id)["Location"] == "/register/saved/"
    assert OutboxMessage.objects.filter(purpose="registration.completed").count() == 1


def test_the_link_expires_and_wrong_ids_spend_it(settings):
    """NIST §4.2.1.2: e-mail links expire (≤ 24 h); guessing the ID number on a link is limited."""
    client = Client()
    national_id = new_id()
    register(client, national_id)
    path = link_path()
    for _ in range(5):
        set_password(client, path, new_id())
    assert client.get(path).status_code == 410
    other = Client()
    register(other, new_id(), email="second@example.org", mobile="050-999-8888")
    path = link_path("second@example.org")
    LinkToken.objects.filter(used_at__isnull=True).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    gone = other.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert gone.status_code == 410 and 'id="start-again"' in gone.content.decode()


def test_sending_is_limited(settings):
    """ASVS v5 2.4.1: codes sent per national ID, destination and address are limited."""
    settings.SMS_SEND_LIMIT = 2
    client = Client()
    identity(client, new_id())
    contact(client)
    client.post("/register/codes/", {"resend": "1"})
    too_many = client.post("/register/codes/", {"resend": "1"}, HTTP_ACCEPT_LANGUAGE="en")
    assert too_many.status_code == 429 and "Too many codes" in too_many.content.decode()
    assert AuditEvent.objects.filter(action="registration.codes_sent", result="denied").exists()


def test_only_where_the_profile_allows_it(settings):
    """Profiles without "self_registration" among their credential issuers have no registration."""
    settings.SCHOOLID_PROFILE = load_profile("ir")
    assert Client().get("/register/").status_code == 404
    assert 'id="registration-link"' not in Client().get("/signin/?x=1").content.decode()


def test_the_security_question_only_under_the_legacy_option(settings):
    """NIST §3.1.1.2(8), ASVS v5 6.4.2: no security question by default; seed 001's question only as the
    profile's labelled legacy option (security requirements C2), after the e-mailed link."""
    from schoolid.accounts.security_questions import SecurityAnswer

    settings.SCHOOLID_PROFILE = dataclasses.replace(load_profile("il"), legacy_security_questions=True)
    client = Client()
    national_id = new_id()
    register(client, national_id)
    path = link_path()
    page = client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="question"' in page and 'id="legacy-question-note"' in page
    assert "answer" in set_password(client, path, national_id).content.decode()
    assert set_password(client, path, national_id, question="first_school", answer="Herzl")["Location"] == "/register/saved/"
    assert SecurityAnswer.objects.get().matches("herzl")


def test_starting_is_limited_per_address(settings):
    """ASVS v5 2.4.1: one address cannot fill the flow table by starting registrations."""
    settings.SMS_SEND_LIMIT = 1
    client = Client()
    for _ in range(4):
        assert identity(client, new_id()).status_code == 302
    refused = identity(client, new_id())
    assert refused.status_code == 429 and "Too many registrations" in refused.content.decode()
    assert Flow.objects.count() == 4


@pytest.mark.parametrize("junk", ["\x00", "a" * 5000, "<script>alert(1)</script>", "۱۲۳\u200f", "' OR 1=1 --"])
def test_junk_input_never_breaks_a_step(junk):
    """Robustness: every step answers junk with a page, never a server error, and stores nothing odd."""
    client = Client()
    page = client.post("/register/", {"national_id": junk, "given_name": junk, "family_name": junk, "birth_date": junk})
    assert page.status_code == 200 and "<script>alert" not in page.content.decode()
    identity(client, new_id())
    assert contact(client, junk, junk).status_code == 200
    contact(client)
    assert codes(client, junk, junk).status_code in (200, 429)
    assert client.get(f"/register/password/{junk[:200]}/").status_code in (400, 404, 410)


def test_abandoned_registrations_forget_what_was_typed():
    """ASVS v5 14.2.7: personal data of a registration left half-way is not kept past its expiry."""
    client = Client()
    identity(client, new_id())
    contact(client)
    Flow.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    identity(Client(), new_id())
    old, new = Flow.objects.order_by("created_at")
    assert old.data == {} and old.state == "done" and new.data["given_name"] == "Miriam"


def test_the_registrants_mailbox_and_phone_cannot_tell_a_known_id(settings):
    """Issue 11 item 3; ASVS v5 6.3.8; FP-CS; Auth-CS "Authentication Responses": a registration with
    an ID the register knows (an account in use) and one with a new ID: the typed e-mail and mobile
    get the same number of messages with the same subjects and the same wording (codes and tokens
    aside). (Old code: the new ID's mailbox got the link e-mail and the SMS, the known ID's nothing.)
    The refused link, once opened, says so plainly; the owner is told."""
    owner = f.account("guardian", f.org_tree()["school_a"], password=PASSWORD, email="owner@example.org", email_verified=True,
                      given_name="Miriam", family_name="Cohen", birth_date=datetime.date(1985, 4, 23))
    f.activate(owner)
    register(Client(), new_id(), email="fresh@example.org", mobile="054-765-4321")
    intruder = Client()
    register(intruder, owner.person.national_id, email="intruder@example.org", mobile="050-333-4444")

    def mailbox(*to):
        masked = lambda text: re.sub(r"/register/password/[A-Za-z0-9_-]+/", "/register/password/T/", re.sub(r"\b\d{6}\b", "N", text))  # noqa: E731
        return sorted((m.channel, m.subject, masked(m.body)) for m in OutboxMessage.objects.filter(to__in=to))

    fresh, known = mailbox("fresh@example.org", "+972547654321"), mailbox("intruder@example.org", "+972503334444")
    assert len(fresh) == 4 and fresh == known, (fresh, known)
    refused = intruder.get(link_path("intruder@example.org"), HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and 'id="registration-refused"' in refused.content.decode()
    assert latest("registration.duplicate", "owner@example.org") is not None
