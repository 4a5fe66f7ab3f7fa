"""Sign-in and sign-out in a real browser (Playwright driving Debian's chromium)."""
import re

import pytest
from playwright.sync_api import expect

from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]
PASSWORD = "maple river lantern quietly"


@pytest.fixture
def student(transactional_db):
    t = f.org_tree()
    return f.account("student", t["class_a1"], password=PASSWORD, given_name="زهرا", family_name="احمدی")


def sign_in(page, base, identifier, password):
    page.goto(f"{base}/signin/")
    page.fill("#id_identifier", identifier)
    page.fill("#id_password", password)
    page.click("#signin-submit")


def test_signin_and_signout_in_english(page, live_server, student):
    sign_in(page, live_server.url, student.person.national_id, PASSWORD)
    page.wait_for_url(f"{live_server.url}/account/")
    assert page.locator("html").get_attribute("dir") == "ltr"
    expect(page.locator("#account-user-code")).to_have_text(student.display_code)
    expect(page.locator("#roles")).to_contain_text("student")
    page.click("#signout")
    page.wait_for_url(f"{live_server.url}/signin/?signed_out=1")
    expect(page.locator("body")).to_contain_text("You have signed out.")
    page.goto(f"{live_server.url}/account/")
    assert page.url.startswith(f"{live_server.url}/signin/")


def test_signin_and_signout_in_persian_right_to_left(page, live_server, student):
    page.goto(f"{live_server.url}/signin/")
    page.select_option("#language", "fa")
    page.wait_for_function("document.documentElement.lang === 'fa'")
    assert page.locator("html").get_attribute("dir") == "rtl"
    expect(page.locator("h1")).to_have_text("ورود")
    # The national ID typed in Persian digits.
    persian = student.person.national_id.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    page.fill("#id_identifier", persian)
    page.fill("#id_password", PASSWORD)
    page.click("#signin-submit")
    page.wait_for_url(f"{live_server.url}/account/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    expect(page.locator("#account-name")).to_contain_text("زهرا احمدی")
    expect(page.locator("#roles")).to_contain_text("دانش‌آموز")
    page.click("#signout")
    page.wait_for_url(f"{live_server.url}/signin/?signed_out=1")
    assert page.locator("html").get_attribute("dir") == "rtl"


def test_wrong_password_shows_the_generic_error(page, live_server, student):
    sign_in(page, live_server.url, student.person.national_id, "not my password at all")
    expect(page.locator("#signin-error")).to_have_text("The sign-in details are not correct. Check them and try again.")
    sign_in(page, live_server.url, "1234567891", PASSWORD)
    expect(page.locator("#signin-error")).to_have_text("The sign-in details are not correct. Check them and try again.")


def test_throttle_message_after_the_configured_failures(page, live_server, student, settings):
    settings.LOGIN_FREE_ATTEMPTS = 3
    for _ in range(3):
        sign_in(page, live_server.url, student.person.national_id, "wrong password here")
        expect(page.locator("#signin-error")).to_contain_text("not correct")
    sign_in(page, live_server.url, student.person.national_id, "wrong password here")
    expect(page.locator("#signin-error")).to_have_text(re.compile(r"^Too many failed sign-in attempts\. Wait 30 seconds"))
    # Even the right password waits.
    sign_in(page, live_server.url, student.person.national_id, PASSWORD)
    expect(page.locator("#signin-error")).to_contain_text("Too many failed sign-in attempts")


def test_password_field_accepts_paste_and_has_a_show_toggle(page, live_server):
    """ASVS v5 6.2.6, 6.2.7."""
    page.goto(f"{live_server.url}/signin/")
    field = page.locator("#id_password")
    assert field.get_attribute("type") == "password" and field.get_attribute("autocomplete") == "current-password"
    page.evaluate("""() => { const dt = new DataTransfer(); dt.setData('text/plain', 'pasted secret value');
        const el = document.getElementById('id_password'); el.focus();
        el.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true})); }""")
    page.keyboard.insert_text("pasted secret value")
    assert field.input_value() == "pasted secret value"
    page.click("button.show-password")
    assert field.get_attribute("type") == "text"
    page.click("button.show-password")
    assert field.get_attribute("type") == "password"


def test_pages_load_nothing_from_third_parties(page, live_server, student):
    """ASVS v5 14.2.7: no third-party requests on sign-in and account pages."""
    hosts = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
    sign_in(page, live_server.url, student.person.national_id, PASSWORD)
    page.wait_for_url(f"{live_server.url}/account/")
    assert hosts == {live_server.url.split("/")[2]}
