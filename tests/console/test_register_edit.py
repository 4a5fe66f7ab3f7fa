"""Register editing in the console (issue 5, item 6): secretaries, principals and the ministry edit register
data of students and guardians; a class teacher fills in e-mails and mobiles of the class's pupils and
their guardians. Through the one scope rule, every refusal audited, every change audited, all or nothing.

Security requirements: ASVS v5 8.2.2, 8.4.1 (data-scoped administration); ASVS v5 16.3.1–16.3.3 (failed
authorization and contact changes logged); ASVS v5 16.2.5 (no secrets in logs, contacts masked); NIST
§4.2.1.2 (addresses verified before use: an edited contact is unverified); NIST §4.6 / ASVS v5 6.3.7
(contact changes notify the old addresses); ASVS v5 14.2.6 (least disclosure: only the fields a role needs);
NIST §5.1 / ASVS v5 3.3.2 (state changes carry CSRF protection).
"""
import datetime
import json
import random

import pytest
from django.test import Client
from django.utils import timezone, translation

from schoolid.accounts.scope import Action, decide
from schoolid.accounts.services import ScopeDenied
from schoolid.audit.models import AuditEvent
from schoolid.console.services import edit_contact, edit_person
from schoolid.core.digits import native_digits
from schoolid.core.profiles import load_profile
from schoolid.directory.models import Person
from schoolid.directory.national_ids import SCHEMES
from schoolid.directory.services import RegisterEditError, link_guardian, record_version
from schoolid.notify.models import OutboxMessage
from tests import factories as f

pytestmark = pytest.mark.django_db
IR = SCHEMES["ir_national_code"]
_rng = random.Random(6)
MOBILE = "+989121234567"
MOBILE_FA = "۰۹۱۲ ۱۲۳ ۴۵۶۷"  # the same number typed with Persian digits, national form


def free_ir_id() -> str:
    while True:
        value = IR.generate(_rng)
        if not Person.objects.filter(national_id=value).exists():
            return value


def bad_check_digit(value: str) -> str:
    return value[:-1] + str((int(value[-1]) + 1) % 10)


@pytest.fixture
def world():
    t = f.org_tree()
    w = {"t": t}
    w["secretary"] = f.account("secretary", t["school_a"])
    w["principal"] = f.account("principal", t["school_a"])
    w["ministry"] = f.account("ministry_admin", t["ministry"])
    w["class_teacher"] = f.account("class_teacher", t["class_a1"])
    w["class_teacher_a2"] = f.account("class_teacher", t["class_a2"])
    w["secretary_b"] = f.account("secretary", t["school_b"])
    w["teacher"] = f.account("teacher", t["school_a"])
    w["pupil"] = f.account("student", t["class_a1"], given_name="Sara", family_name="Karimi")
    w["pupil_a2"] = f.account("student", t["class_a2"])
    # A parent with a guardian role at the school, and one known only from a confirmed register link.
    w["guardian"] = f.guardian_of(w["pupil"], unit=t["school_a"])
    w["register_guardian"] = f.guardian_of(w["pupil"])
    w["guardian_a2"] = f.guardian_of(w["pupil_a2"], unit=t["school_a"])
    f.activate(*(w[k] for k in ("secretary", "principal", "ministry", "class_teacher", "class_teacher_a2", "secretary_b", "teacher")))
    return w


def staff(account, client=None):
    client = f.staff_client(account, client)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def edits(action="register.edited"):
    return AuditEvent.objects.filter(action=action)


def en(message) -> str:
    with translation.override("en"):
        return str(message)


def fresh(account) -> Person:
    return Person.objects.get(pk=account.person_id)


# --- the scope rule: how a class teacher reaches a guardian --------------------------------------
def test_class_teacher_reaches_guardians_through_confirmed_links_only(world):
    """ASVS v5 8.2.2: contact rights over the guardians of the class's pupils, and no one else's."""
    teacher = world["class_teacher"]
    assert decide(teacher, Action.EDIT_CONTACT, world["guardian"]).allowed
    # No guardian role at all, only a confirmed link from the register: still the pupil's guardian.
    assert decide(teacher, Action.EDIT_CONTACT, world["register_guardian"]).allowed
    assert decide(world["secretary"], Action.EDIT_REGISTER, world["register_guardian"]).allowed
    # Not the guardians of another class, not register data, not passwords.
    assert not decide(teacher, Action.EDIT_CONTACT, world["guardian_a2"]).allowed
    assert not decide(teacher, Action.EDIT_REGISTER, world["register_guardian"]).allowed
    assert not decide(teacher, Action.ISSUE_CREDENTIALS, world["register_guardian"]).allowed
    assert not decide(world["secretary_b"], Action.EDIT_CONTACT, world["register_guardian"]).allowed
    # A proposed (unconfirmed) link reaches nobody, and a person with no role and no ward stays the ministry's.
    stranger = f.account()
    link_guardian(guardian=stranger.person, student=world["pupil"].person, source="staff")
    assert not decide(teacher, Action.EDIT_CONTACT, stranger).allowed
    assert decide(teacher, Action.EDIT_CONTACT, stranger).reason == "outside_scope"
    assert decide(world["ministry"], Action.EDIT_REGISTER, stranger).allowed


# --- services --------------------------------------------------------------------------------------
def test_secretary_edits_every_field_of_a_pupil(world, rf):
    """ASVS v5 16.3.1: one audit event naming the changed fields; NIST §4.2.1.2: edited contacts unverified."""
    pupil = world["pupil"]
    new_id = free_ir_id()
    before = timezone.now()
    result = edit_person(world["secretary"], pupil, {
        "national_id": native_digits(new_id, "fa"),
        "given_name": "  سارا ",
        "family_name": "کریمی",
        "given_name_latin": "Sara",
        "family_name_latin": "Karimi",
        "birth_date": "۲۰۱۲-۰۹-۲۱",
        "email": "Sara.Karimi@Example.org",
        "mobile": MOBILE_FA,
    }, request=rf.post("/"))
    person = fresh(pupil)
    assert (person.national_id, person.given_name, person.family_name) == (new_id, "سارا", "کریمی")
    assert (person.given_name_latin, person.family_name_latin) == ("Sara", "Karimi")
    assert person.birth_date == datetime.date(2012, 9, 21)
    assert person.email == "sara.karimi@example.org" and not person.email_verified and person.email_edited_at >= before
    assert person.mobile == MOBILE and not person.mobile_verified and person.mobile_edited_at >= before
    assert "سارا" in person.search_name
    assert result.changed == ["national_id", "given_name", "family_name", "given_name_latin", "family_name_latin", "birth_date", "email", "mobile"]
    event = edits().get()
    assert event.result == "success" and event.actor == world["secretary"].user_code and event.target == pupil.user_code
    assert event.detail["fields"] == result.changed and event.detail["action"] == "register.edit"
    # Contact values are masked, identity values not written at all (ASVS v5 16.2.5, least disclosure).
    text = json.dumps(event.detail, ensure_ascii=False)
    assert "sara.karimi@example.org" not in text and MOBILE not in text and new_id not in text and "سارا" not in text
    assert event.detail["email"] == "s***@example.org" and event.detail["mobile"].startswith("+98") and "*" in event.detail["mobile"]
    assert event.ip == "127.0.0.1" and event.org_unit_path == world["t"]["school_a"].path


def test_principal_and_ministry_edit_register_data(world):
    edit_person(world["principal"], world["guardian"], {"family_name": "Rahimi"})
    edit_person(world["ministry"], world["pupil_a2"], {"given_name": "Reza"})
    assert fresh(world["guardian"]).family_name == "Rahimi" and fresh(world["pupil_a2"]).given_name == "Reza"
    assert edits().count() == 2


def test_bad_national_id_keeps_everything_unchanged(world):
    """All or nothing: a bad field refuses the whole edit, with the scheme's reason."""
    pupil = world["pupil"]
    old = fresh(pupil)
    with pytest.raises(RegisterEditError) as refused:
        edit_person(world["secretary"], pupil, {"national_id": bad_check_digit(free_ir_id()), "email": "ok@example.org", "given_name": "Nora"})
    assert set(refused.value.errors) == {"national_id"}
    assert "check digit" in en(refused.value.errors["national_id"])
    person = fresh(pupil)
    assert (person.national_id, person.email, person.given_name, person.email_edited_at) == (old.national_id, "", "Sara", None)
    assert not edits().exists()


def test_bad_phone_and_email_are_each_named_and_nothing_changes(world):
    pupil = world["pupil"]
    with pytest.raises(RegisterEditError) as refused:
        edit_person(world["secretary"], pupil, {"mobile": "02188776655", "email": "not an address", "family_name": "Ahmadi"})
    assert set(refused.value.errors) == {"mobile", "email"}
    assert "landline" in en(refused.value.errors["mobile"])
    person = fresh(pupil)
    assert (person.mobile, person.email, person.family_name, person.mobile_edited_at) == ("", "", "Karimi", None)
    assert not edits().exists()


def test_empty_name_and_non_latin_latin_name_are_refused(world):
    with pytest.raises(RegisterEditError) as refused:
        edit_person(world["secretary"], world["pupil"], {"given_name": "  ", "family_name_latin": "کریمی", "birth_date": "2999-01-01"})
    assert set(refused.value.errors) == {"given_name", "family_name_latin", "birth_date"}


def test_duplicate_national_id_is_refused(world):
    taken = world["pupil_a2"].person.national_id
    with pytest.raises(RegisterEditError) as refused:
        edit_person(world["secretary"], world["pupil"], {"national_id": taken})
    assert "already in the register" in en(refused.value.errors["national_id"])
    assert fresh(world["pupil"]).national_id != taken


def test_birth_date_must_match_a_number_that_encodes_it(world, settings):
    """PESEL carries the birth date: a birth date that contradicts it is refused."""
    settings.SCHOOLID_PROFILE = load_profile("pl")
    t = world["t"]
    pupil = f.account("student", t["class_a1"], birth_date=datetime.date(2012, 5, 4))
    with pytest.raises(RegisterEditError) as refused:
        edit_person(world["secretary"], pupil, {"birth_date": "2012-05-05"})
    assert set(refused.value.errors) == {"birth_date"}
    edit_person(world["secretary"], pupil, {"mobile": "512 345 678"})
    assert fresh(pupil).mobile == "+48512345678"


def test_class_teacher_fills_in_contacts_of_own_pupil_and_its_guardians(world):
    """ASVS v5 8.2.2: a class teacher edits e-mail and mobile of the class's pupils and their guardians."""
    teacher = world["class_teacher"]
    edit_contact(teacher, world["pupil"], email="sara@example.org")
    edit_contact(teacher, world["guardian"], mobile=MOBILE_FA)
    edit_contact(teacher, world["register_guardian"], email="father@example.org", mobile="+98 912 765 4321")
    assert fresh(world["pupil"]).email == "sara@example.org"
    assert fresh(world["guardian"]).mobile == MOBILE
    assert (fresh(world["register_guardian"]).email, fresh(world["register_guardian"]).mobile) == ("father@example.org", "+989127654321")
    events = list(edits().order_by("id"))
    assert [e.detail["fields"] for e in events] == [["email"], ["mobile"], ["email", "mobile"]]
    assert all(e.detail["action"] == "register.edit_contact" for e in events)


def test_class_teacher_may_send_unchanged_identity_fields_along(world):
    """A whole record sent back with only the contact changed is a contact edit."""
    pupil = world["pupil"]
    result = edit_person(world["class_teacher"], pupil, {"given_name": "Sara", "family_name": "Karimi", "email": "sara@example.org"})
    assert result.changed == ["email"]


def test_class_teacher_editing_a_name_is_refused_and_audited(world):
    """ASVS v5 16.3.2: the refusal is audited; nothing changes, not even the contact sent with it."""
    pupil = world["pupil"]
    with pytest.raises(ScopeDenied) as refused:
        edit_person(world["class_teacher"], pupil, {"given_name": "Zahra", "email": "sara@example.org"})
    assert refused.value.decision.reason == "no_rule"
    person = fresh(pupil)
    assert (person.given_name, person.email) == ("Sara", "")
    denied = AuditEvent.objects.get(action="scope.denied")
    assert denied.result == "denied" and denied.actor == world["class_teacher"].user_code and denied.target == pupil.user_code
    assert denied.detail == {"action": "register.edit", "reason": "no_rule"}
    assert not edits().exists()


@pytest.mark.parametrize("actor, target", [
    ("class_teacher_a2", "pupil"),  # another class of the same school
    ("class_teacher", "guardian_a2"),  # a guardian of another class
    ("secretary_b", "pupil"),  # another school
    ("secretary", "teacher"),  # a secretary edits students and guardians only
    ("teacher", "pupil"),  # a subject teacher has no register rights
])
def test_out_of_scope_edit_is_refused_and_audited(world, actor, target):
    """ASVS v5 8.2.2, 8.4.1, 16.3.2: 403-equivalent ScopeDenied, one scope.denied event, nothing written."""
    with pytest.raises(ScopeDenied):
        edit_contact(world[actor], world[target], email="x@example.org")
    assert fresh(world[target]).email == ""
    assert AuditEvent.objects.filter(action="scope.denied", result="denied", actor=world[actor].user_code, target=world[target].user_code).count() == 1
    assert not edits().exists()


def test_repeated_submit_changes_nothing_and_audits_once(world):
    changes = {"email": "sara@example.org", "mobile": MOBILE_FA}
    first = edit_person(world["secretary"], world["pupil"], changes)
    stamp = fresh(world["pupil"]).email_edited_at
    second = edit_person(world["secretary"], world["pupil"], changes, version="stale-version")
    assert first.changed == ["email", "mobile"] and second.changed == [] and second.event is None
    assert edits().count() == 1 and fresh(world["pupil"]).email_edited_at == stamp


def test_an_edit_on_stale_data_is_refused(world):
    pupil = world["pupil"]
    version = record_version(fresh(pupil))
    edit_person(world["principal"], pupil, {"email": "first@example.org"})
    with pytest.raises(RegisterEditError) as refused:
        edit_person(world["secretary"], pupil, {"email": "second@example.org"}, version=version)
    assert set(refused.value.errors) == {"record"}
    assert fresh(pupil).email == "first@example.org"
    edit_person(world["secretary"], pupil, {"email": "second@example.org"}, version=record_version(fresh(pupil)))
    assert fresh(pupil).email == "second@example.org"


def test_register_sourced_identity_fields_are_read_only(world):
    """The register wins for identity fields at the next sync, so they are corrected there; contacts stay editable."""
    pupil = world["pupil"]
    Person.objects.filter(pk=pupil.person_id).update(sourced_id="SIS-123")
    pupil.person.refresh_from_db()
    with pytest.raises(RegisterEditError) as refused:
        edit_person(world["ministry"], pupil, {"given_name": "Zahra", "birth_date": "2011-01-01", "email": "sara@example.org"})
    assert set(refused.value.errors) == {"given_name", "birth_date"}
    assert "school register" in en(refused.value.errors["given_name"])
    assert fresh(pupil).email == ""
    # The same values are no change, and contacts are edited as usual.
    assert edit_person(world["secretary"], pupil, {"given_name": "Sara", "email": "sara@example.org"}).changed == ["email"]


def test_old_verified_contacts_are_told_and_the_new_one_must_be_confirmed(world):
    """NIST §4.6 / ASVS v5 6.3.7: a contact change is announced to the old verified address, not the new one."""
    guardian = world["guardian"]
    Person.objects.filter(pk=guardian.person_id).update(email="mother@example.org", email_verified=True)
    guardian.person.refresh_from_db()
    guardian.preferred_language = "en"  # the notice is written in the recipient's language
    edit_person(world["secretary"], guardian, {"email": "new@example.org"})
    person = fresh(guardian)
    assert person.email == "new@example.org" and not person.email_verified
    notices = OutboxMessage.objects.filter(purpose="register.edited")
    assert [m.to for m in notices] == ["mother@example.org"]
    assert "e-mail" in notices[0].body and "new@example.org" not in notices[0].body
    # A name change alone sends nothing.
    edit_person(world["secretary"], guardian, {"given_name": "Mina"})
    assert OutboxMessage.objects.filter(purpose="register.edited").count() == 1


def test_clearing_a_contact(world):
    edit_person(world["secretary"], world["pupil"], {"email": "sara@example.org"})
    edit_contact(world["class_teacher"], world["pupil"], email="")
    assert fresh(world["pupil"]).email == ""
    assert [e.detail["fields"] for e in edits().order_by("id")] == [["email"], ["email"]]


# --- console views -----------------------------------------------------------------------------------
def test_person_page_links_to_the_edit_page(world):
    html = staff(world["secretary"]).get(f"/console/people/{world['pupil'].user_code}/").content.decode()
    assert 'id="edit-person"' in html and "Edit register data" in html
    html = staff(world["class_teacher"]).get(f"/console/people/{world['pupil'].user_code}/").content.decode()
    assert "Edit e-mail and mobile" in html
    # The pupil's guardians are reached from the pupil's page.
    assert f"/console/people/{world['register_guardian'].user_code}/" in html
    guardian_page = staff(world["class_teacher"]).get(f"/console/people/{world['register_guardian'].user_code}/")
    assert guardian_page.status_code == 200 and 'id="edit-person"' in guardian_page.content.decode()


def test_secretary_edits_in_the_console(world):
    """Digits in Persian accepted; saved, audited, and the page says what changed."""
    client = staff(world["secretary"])
    pupil = world["pupil"]
    url = f"/console/people/{pupil.user_code}/edit/"
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"].count("no-store")
    for name in ("national_id", "given_name", "family_name", "given_name_latin", "family_name_latin", "birth_date", "email", "mobile"):
        assert f'name="{name}"' in html
    version = html.split('name="version" value="')[1].split('"')[0]
    data = {"version": version, "national_id": pupil.person.national_id, "given_name": "Sara", "family_name": "Karimi",
            "given_name_latin": "Sara", "family_name_latin": "", "birth_date": pupil.person.birth_date.isoformat(),
            "email": "sara@example.org", "mobile": MOBILE_FA}
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"] == f"/console/people/{pupil.user_code}/"
    person = fresh(pupil)
    assert (person.given_name_latin, person.email, person.mobile) == ("Sara", "sara@example.org", MOBILE)
    assert edits().get().detail["fields"] == ["given_name_latin", "email", "mobile"]
    shown = client.get(response["Location"]).content.decode()
    assert "Saved: Given name (Latin), E-mail, Mobile number." in shown and "sara@example.org" in shown
    # A double submit of the same form is harmless: nothing changes, no second event.
    again = client.post(url, data)
    assert again.status_code == 302 and edits().count() == 1
    assert "Nothing was changed." in client.get(again["Location"]).content.decode()


def test_field_errors_in_the_console_keep_everything(world):
    client = staff(world["secretary"])
    pupil = world["pupil"]
    response = client.post(f"/console/people/{pupil.user_code}/edit/", {"national_id": bad_check_digit(pupil.person.national_id),
                                                                        "email": "sara@example.org", "mobile": "12"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="error-national_id"' in html and 'id="error-mobile"' in html and 'id="error-email"' not in html
    assert 'value="sara@example.org"' in html  # what was typed stays in the form
    person = fresh(pupil)
    assert (person.email, person.mobile) == ("", "") and not edits().exists()


def test_class_teacher_gets_a_contact_only_form(world):
    client = staff(world["class_teacher"])
    pupil = world["pupil"]
    html = client.get(f"/console/people/{pupil.user_code}/edit/").content.decode()
    assert 'name="email"' in html and 'name="mobile"' in html and 'name="given_name"' not in html and 'name="national_id"' not in html
    assert 'id="contact-only-note"' in html
    assert pupil.person.national_id not in html and 'id="shown-given_name"' in html  # least disclosure
    assert client.post(f"/console/people/{pupil.user_code}/edit/", {"mobile": MOBILE_FA}).status_code == 302
    assert fresh(pupil).mobile == MOBILE


def test_class_teacher_forging_a_name_field_gets_403_and_an_audit_event(world):
    client = staff(world["class_teacher"])
    pupil = world["pupil"]
    response = client.post(f"/console/people/{pupil.user_code}/edit/", {"given_name": "Zahra", "email": "sara@example.org"})
    assert response.status_code == 403
    assert (fresh(pupil).given_name, fresh(pupil).email) == ("Sara", "")
    assert AuditEvent.objects.filter(action="scope.denied", actor=world["class_teacher"].user_code, detail__action="register.edit").count() == 1


def test_out_of_scope_edit_page_is_403_and_audited(world):
    client = staff(world["class_teacher_a2"])
    pupil = world["pupil"]
    assert client.get(f"/console/people/{pupil.user_code}/edit/").status_code == 403
    assert client.post(f"/console/people/{pupil.user_code}/edit/", {"email": "x@example.org"}).status_code == 403
    assert fresh(pupil).email == ""
    assert AuditEvent.objects.filter(action="scope.denied", actor=world["class_teacher_a2"].user_code, target=pupil.user_code).count() == 2


def test_register_sourced_person_shows_identity_read_only(world):
    pupil = world["pupil"]
    Person.objects.filter(pk=pupil.person_id).update(sourced_id="SIS-9")
    html = staff(world["secretary"]).get(f"/console/people/{pupil.user_code}/edit/").content.decode()
    assert 'name="given_name"' not in html and 'name="email"' in html
    assert 'id="register-note"' in html and "comes from the school register" in html


def test_the_edit_form_needs_csrf():
    """NIST §5.1 / ASVS v5 3.3.2."""
    t = f.org_tree()
    secretary = f.account("secretary", t["school_a"])
    pupil = f.account("student", t["class_a1"])
    f.activate(secretary)
    client = staff(secretary, Client(enforce_csrf_checks=True))
    assert client.post(f"/console/people/{pupil.user_code}/edit/", {"email": "x@example.org"}).status_code == 403
    assert fresh(pupil).email == ""


# --- REST API ----------------------------------------------------------------------------------------
def api_patch(client, account, body):
    return client.patch(f"/api/v1/console/accounts/{account.user_code}/register", json.dumps(body), content_type="application/json")


def test_api_reads_and_edits_a_record(world):
    client = staff(world["secretary"])
    pupil = world["pupil"]
    record = client.get(f"/api/v1/console/accounts/{pupil.user_code}/register").json()
    assert record["given_name"] == "Sara" and "national_id" in record["editable"] and not record["from_register"]
    response = api_patch(client, pupil, {"given_name_latin": "Sara", "mobile": MOBILE_FA, "version": record["version"]})
    body = response.json()
    assert response.status_code == 200 and body["changed"] == ["given_name_latin", "mobile"]
    assert body["record"]["mobile"] == MOBILE and body["record"]["mobile_verified"] is False
    assert fresh(pupil).mobile_edited_at is not None and edits().count() == 1
    # The old version is stale now, but the same values again are simply no change.
    assert api_patch(client, pupil, {"mobile": MOBILE, "version": record["version"]}).json()["changed"] == []
    assert api_patch(client, pupil, {"email": "a@example.org", "version": record["version"]}).status_code == 400


def test_api_field_errors_change_nothing(world):
    client = staff(world["secretary"])
    pupil = world["pupil"]
    response = api_patch(client, pupil, {"national_id": bad_check_digit(pupil.person.national_id), "mobile": "nope", "email": "sara@example.org"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"national_id", "mobile"}
    assert fresh(pupil).email == "" and not edits().exists()


def test_api_class_teacher_contact_only(world):
    client = staff(world["class_teacher"])
    record = client.get(f"/api/v1/console/accounts/{world['register_guardian'].user_code}/register").json()
    assert record["editable"] == ["email", "mobile"] and record["national_id"] is None and record["birth_date"] is None
    assert api_patch(client, world["register_guardian"], {"email": "father@example.org"}).status_code == 200
    refused = api_patch(client, world["pupil"], {"family_name": "Ahmadi"})
    assert refused.status_code == 403 and fresh(world["pupil"]).family_name == "Karimi"
    assert AuditEvent.objects.filter(action="scope.denied", actor=world["class_teacher"].user_code, target=world["pupil"].user_code).count() == 1


def test_api_out_of_scope_is_403_and_audited(world):
    client = staff(world["secretary_b"])
    pupil = world["pupil"]
    assert client.get(f"/api/v1/console/accounts/{pupil.user_code}/register").status_code == 403
    assert api_patch(client, pupil, {"email": "x@example.org"}).status_code == 403
    assert fresh(pupil).email == ""
    assert AuditEvent.objects.filter(action="scope.denied", actor=world["secretary_b"].user_code, target=pupil.user_code).count() == 2
