"""Issue 5 item 6 in chromium: a secretary corrects a pupil's register data (a bad national ID is refused
field by field, nothing saved); a class teacher fills in a guardian's missing e-mail from the pupil's page.

Security requirements: ASVS v5 8.2.2 (a class teacher gets the contact fields only); ASVS v5 16.3.1 (every
change audited); NIST §4.2.1.2 (an edited contact stays unconfirmed); ASVS v5 6.3.3 (staff pass a second step).
"""
import pytest
from playwright.sync_api import expect

from schoolid.audit.models import AuditEvent
from schoolid.directory.models import Person
from tests import factories as f
from tests.browser.pages import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]


def wrong_check_digit(value: str) -> str:
    return value[:-1] + str((int(value[-1]) + 1) % 10)


def test_secretary_corrects_a_pupils_register_data(page, live_server):
    """ASVS v5 16.3.1; NIST §4.2.1.2: field errors keep everything; a good save is audited, contacts unconfirmed."""
    t = f.org_tree()
    secretary = f.account("secretary", t["school_a"], password="secretary pass 1")
    seed = f.enrol_totp(secretary)
    pupil = f.account("student", t["class_a1"], given_name="Sara", family_name="Karimi")
    sign_in(page, live_server.url, secretary.person.national_id, "secretary pass 1", seed)
    page.goto(f"{live_server.url}/console/people/{pupil.user_code}/")
    page.click("#edit-person")
    expect(page.locator("#edit-title")).to_contain_text("Sara Karimi")
    page.fill("#edit-given_name_latin", "Sara")
    page.fill("#edit-mobile", "۰۹۱۲ ۱۲۳ ۴۵۶۷")  # Persian digits
    page.fill("#edit-national_id", wrong_check_digit(pupil.person.national_id))
    page.click("#edit-save")
    expect(page.locator("#error-national_id")).to_contain_text("check digit")
    expect(page.locator("#edit-mobile")).to_have_value("۰۹۱۲ ۱۲۳ ۴۵۶۷")
    assert Person.objects.get(pk=pupil.person_id).mobile == ""
    page.fill("#edit-national_id", pupil.person.national_id)
    page.click("#edit-save")
    expect(page.locator("#person-mobile")).to_contain_text("+989121234567")
    expect(page.locator("#person-mobile")).to_contain_text("not confirmed yet")
    expect(page.locator("section.card .notice")).to_contain_text("Saved: Given name (Latin), Mobile number.")
    person = Person.objects.get(pk=pupil.person_id)
    assert person.given_name_latin == "Sara" and not person.mobile_verified and person.mobile_edited_at is not None
    assert AuditEvent.objects.get(action="register.edited").detail["fields"] == ["given_name_latin", "mobile"]


def test_class_teacher_fills_in_a_guardians_email(chromium_browser, live_server):
    """ASVS v5 8.2.2: contact fields only, reached through the pupil's confirmed guardian link."""
    t = f.org_tree()
    teacher = f.account("class_teacher", t["class_a1"], password="teacher pass 123")
    seed = f.enrol_totp(teacher)
    pupil = f.account("student", t["class_a1"], given_name="Sara", family_name="Karimi")
    parent = f.guardian_of(pupil)  # a confirmed register link, no guardian role
    Person.objects.filter(pk=parent.person_id).update(given_name="Mina", family_name="Karimi")
    page = chromium_browser.new_context(locale="en-US").new_page()
    page.set_default_timeout(15000)
    sign_in(page, live_server.url, teacher.person.national_id, "teacher pass 123", seed)
    page.goto(f"{live_server.url}/console/people/{pupil.user_code}/")
    page.click("#guardian-links a")
    expect(page.locator("#person-name")).to_have_text("Mina Karimi")
    page.click("#edit-person")
    expect(page.locator("#contact-only-note")).to_be_visible()
    expect(page.locator("#edit-given_name")).to_have_count(0)
    expect(page.locator("#edit-national_id")).to_have_count(0)
    page.fill("#edit-email", "Mina.Karimi@Example.org")
    page.click("#edit-save")
    expect(page.locator("#person-email")).to_contain_text("mina.karimi@example.org")
    person = Person.objects.get(pk=parent.person_id)
    assert person.email == "mina.karimi@example.org" and not person.email_verified
    event = AuditEvent.objects.get(action="register.edited")
    assert event.detail["fields"] == ["email"] and event.detail["action"] == "register.edit_contact"
    page.context.close()
