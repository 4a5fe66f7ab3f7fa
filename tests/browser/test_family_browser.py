"""Issue 6 in chromium: a link proposed by a class teacher and confirmed by the parent; an access request
approved by the school and turned into an activation."""
from playwright.sync_api import expect
import re

import pyotp
import pytest

from schoolid.directory.models import OrgUnit
from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]
PASSWORD = "maple river lantern quietly"


def sign_in(page, base, identifier, password, seed=None):
    page.goto(f"{base}/signin/")
    page.fill("#id_identifier", identifier)
    page.fill("#id_password", password)
    page.click("#signin-submit")
    if seed:
        page.fill("#id_code", pyotp.TOTP(seed).now())
        page.click("#code-submit")
    page.wait_for_url(f"{base}/account/")


def test_link_proposed_by_a_class_teacher_and_confirmed_by_the_parent(chromium_browser, live_server, smtp):
    t = f.org_tree()
    teacher = f.account("class_teacher", t["class_a1"], password="teacher pass 123")
    seed = f.enrol_totp(teacher)
    pupil = f.account("student", t["class_a1"], given_name="Sara", family_name="Karimi")
    parent = f.account(password=PASSWORD, email="mother@example.org", email_verified=True)
    staff = chromium_browser.new_context(locale="en-US").new_page()
    sign_in(staff, live_server.url, teacher.person.national_id, "teacher pass 123", seed)
    staff.goto(f"{live_server.url}/console/people/{pupil.user_code}/")
    staff.fill("#guardian-national-id", parent.person.national_id)
    staff.click("#propose-guardian")
    expect(staff.locator("#guardian-links")).to_contain_text("proposed")
    staff.context.close()
    home = chromium_browser.new_context(locale="en-US").new_page()
    sign_in(home, live_server.url, parent.person.national_id, PASSWORD)
    home.click("#family-banner a")
    home.click("button[id^=confirm-]")
    expect(home.locator("#children")).to_contain_text("Sara Karimi")
    home.context.close()


def test_access_request_approved_then_activated(chromium_browser, live_server, smtp, settings):
    settings.BASE_URL = live_server.url
    t = f.org_tree()
    OrgUnit.objects.filter(pk=t["school_a"].pk).update(name="دبستان فردوسی")
    OrgUnit.objects.get(pk=t["school_a"].pk).save()
    secretary = f.account("secretary", t["school_a"], password="secretary pass 1")
    seed = f.enrol_totp(secretary)
    pupil = f.account("student", t["class_a1"])
    visitor = chromium_browser.new_context(locale="en-US").new_page()
    visitor.goto(f"{live_server.url}/signin/")
    visitor.click("#access-request-link")
    visitor.fill("#access-q", "فردوسی")
    visitor.click("#access-search")
    visitor.click("#access-schools a")
    visitor.fill("#national_id", pupil.person.national_id)
    visitor.fill("#given_name", "Sara")
    visitor.fill("#family_name", "Karimi")
    visitor.fill("#email", "sara@example.org")
    visitor.click("#access-submit")
    expect(visitor.locator("#access-sent")).to_have_count(1)
    staff = chromium_browser.new_context(locale="en-US").new_page()
    sign_in(staff, live_server.url, secretary.person.national_id, "secretary pass 1", seed)
    staff.goto(f"{live_server.url}/console/")
    staff.click("#access-requests-link")
    staff.click("button[id^=approve-]")
    expect(staff.locator("body")).to_contain_text("Approved")
    link = next(re.search(r"https?://\S+/activate/[A-Za-z0-9_-]+/", c).group(0) for rcpt, c in reversed(smtp.messages) if rcpt == ["sara@example.org"])
    visitor.goto(link)
    visitor.fill("#id_new_password", "purple otter juggles kites")
    visitor.fill("#id_new_password_again", "purple otter juggles kites")
    visitor.click("#new-password-submit")
    sign_in(visitor, live_server.url, pupil.person.national_id, "purple otter juggles kites")
    staff.context.close()
    visitor.context.close()
