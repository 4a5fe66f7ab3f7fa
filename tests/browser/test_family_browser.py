"""Issue 6 in chromium: a link proposed by a class teacher and confirmed by the parent, another rejected;
an access request approved by the school and turned into an activation, another rejected with a reason;
a parent's reset of a young child, who then signs in with the slip's secret. Reads only after a retrying
expect() or wait_for_url()."""
import datetime
import re
import time

import pytest
from playwright.sync_api import expect

from schoolid.directory.models import OrgUnit
from tests import factories as f
from tests.browser.pages import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]
PASSWORD = "maple river lantern quietly"


def _propose_link(browser, url, staff_account, password, seed, pupil, parent):
    """A staff member proposes `parent` as the pupil's guardian in the console (seed 004)."""
    staff = browser.new_context(locale="en-US").new_page()
    sign_in(staff, url, staff_account.person.national_id, password, seed)
    staff.goto(f"{url}/console/people/{pupil.user_code}/")
    staff.fill("#guardian-national-id", parent.person.national_id)
    staff.click("#propose-guardian")
    expect(staff.locator("#guardian-links")).to_contain_text("proposed")
    staff.context.close()


def test_link_proposed_by_a_class_teacher_and_confirmed_by_the_parent(chromium_browser, live_server, smtp):
    t = f.org_tree()
    teacher = f.account("class_teacher", t["class_a1"], password="teacher pass 123")
    seed = f.enrol_totp(teacher)
    pupil = f.account("student", t["class_a1"], given_name="Sara", family_name="Karimi")
    parent = f.account(password=PASSWORD, email="mother@example.org", email_verified=True)
    _propose_link(chromium_browser, live_server.url, teacher, "teacher pass 123", seed, pupil, parent)
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
    pupil = f.account("student", t["class_a1"], birth_date=datetime.date(2008, 5, 5))  # over the age threshold
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


def test_link_proposed_by_staff_and_rejected_by_the_parent(chromium_browser, live_server, smtp):
    """Seed 004: the parent rejects a relationship request; no child appears; the link is rejected."""
    from schoolid.directory.models import Guardianship

    t = f.org_tree()
    secretary = f.account("secretary", t["school_a"], password="secretary pass 1")
    seed = f.enrol_totp(secretary)
    pupil = f.account("student", t["class_a1"], given_name="Omid", family_name="Rahimi")
    parent = f.account(password=PASSWORD, email="father@example.org", email_verified=True)
    _propose_link(chromium_browser, live_server.url, secretary, "secretary pass 1", seed, pupil, parent)
    home = chromium_browser.new_context(locale="en-US").new_page()
    sign_in(home, live_server.url, parent.person.national_id, PASSWORD)
    expect(home.locator("#family-banner")).to_be_visible()
    home.click("#family-banner a")
    home.wait_for_url(f"{live_server.url}/account/family/")
    expect(home.locator("#pending-links")).to_contain_text("Omid Rahimi")
    home.click("button[id^=reject-]")
    expect(home.locator("#pending-links")).to_have_count(0)
    expect(home.locator("#children")).not_to_contain_text("Omid Rahimi")
    assert Guardianship.objects.get().status == "rejected"
    home.goto(f"{live_server.url}/account/")
    expect(home.locator("#family-banner")).to_have_count(0)
    home.context.close()


def test_access_request_rejected_with_a_reason(chromium_browser, live_server, smtp):
    """Seed 004: the school rejects a request with a reason; the requester gets it by e-mail."""
    t = f.org_tree()
    secretary = f.account("secretary", t["school_a"], password="secretary pass 1")
    seed = f.enrol_totp(secretary)
    visitor = chromium_browser.new_context(locale="en-US").new_page()
    visitor.goto(f"{live_server.url}/access/?school={t['school_a'].code}")
    visitor.select_option("#role", "guardian")
    visitor.fill("#national_id", f.person().national_id)
    visitor.fill("#given_name", "Leila")
    visitor.fill("#family_name", "Amini")
    visitor.fill("#email", "leila@example.org")
    visitor.click("#access-submit")
    expect(visitor.locator("#access-sent")).to_have_count(1)
    visitor.context.close()
    staff = chromium_browser.new_context(locale="en-US").new_page()
    sign_in(staff, live_server.url, secretary.person.national_id, "secretary pass 1", seed)
    staff.goto(f"{live_server.url}/console/access-requests/")
    expect(staff.locator("#access-requests")).to_contain_text("Leila Amini")
    staff.fill("input[id^=reason-]", "No child of yours attends this school")
    staff.click("button[id^=reject-]")
    expect(staff.locator("body")).to_contain_text("Rejected")
    expect(staff.locator("#access-requests")).not_to_contain_text("Leila Amini")
    staff.context.close()
    deadline = time.monotonic() + 15
    while not any(rcpt == ["leila@example.org"] and "No child of yours attends this school" in c for rcpt, c in smtp.messages):
        assert time.monotonic() < deadline, "the requester was not told"
        time.sleep(0.1)


def test_parent_resets_a_young_child_who_then_signs_in_with_the_slip(chromium_browser, live_server, smtp, settings):
    """Issue 6 item 3 / item 5: a parent gives a child under the age threshold a new one-time password;
    the child signs in with the slip's secret and chooses a password."""
    from schoolid.core.profiles import load_profile
    from schoolid.credentials.models import IssuedSecret
    from schoolid.directory.services import link_guardian

    settings.SCHOOLID_PROFILE = load_profile("ru")
    t = f.org_tree()
    f.account("principal", t["school_a"], email="director@example.org", email_verified=True)
    child = f.account("student", t["class_a1"], given_name="Маша", family_name="Иванова", birth_date=datetime.date.today() - datetime.timedelta(days=365 * 9))
    parent = f.account(password=PASSWORD)
    link_guardian(guardian=parent.person, student=child.person, source="register")
    home = chromium_browser.new_context(locale="en-US").new_page()
    sign_in(home, live_server.url, parent.user_code, PASSWORD)
    home.goto(f"{live_server.url}/account/family/")
    expect(home.locator("#children")).to_contain_text("Маша Иванова")
    home.click(f"#reset-{child.user_code}")
    home.wait_for_url(re.compile(r".*/account/family/issued/[0-9a-f-]+/$"))
    secret_cell = home.locator("#child-secret")
    expect(secret_cell).to_be_visible()
    secret = secret_cell.inner_text().strip()
    with home.expect_download() as download:
        home.click("#download-slip")
    assert download.value.suggested_filename == "schoolid-slip.pdf"
    home.context.close()
    assert IssuedSecret.objects.filter(account=child).count() == 1
    kid = chromium_browser.new_context(locale="en-US").new_page()
    kid.goto(f"{live_server.url}/signin/")
    kid.fill("#id_identifier", child.display_code)
    kid.fill("#id_password", secret)
    kid.click("#signin-submit")
    kid.wait_for_url(f"{live_server.url}/signin/new-password/")
    kid.fill("#id_new_password", "красный велосипед у реки")
    kid.fill("#id_new_password_again", "красный велосипед у реки")
    kid.click("#new-password-submit")
    kid.wait_for_url(f"{live_server.url}/account/")
    expect(kid.locator("#account-name")).to_contain_text("Маша Иванова")
    kid.context.close()
