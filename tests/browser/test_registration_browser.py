"""Parent self-registration (seed 001; issue 6 item 1) in chromium, against a real SMTP server and a real
HTTP SMS gateway on 127.0.0.1: identity → e-mail and SMS codes → "being created" → the SMS when done and
the e-mail with the link → the user code, ID number and password → "details saved" with the user code →
sign in with the user code. Every read follows a retrying expect() or wait_for_url()."""
import random
import re
import time

import pytest
from playwright.sync_api import expect

from schoolid.core.profiles import load_profile
from schoolid.directory.national_ids import SCHEMES
from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]
PASSWORD = "olive tree behind the old station"


def wait_for(find, timeout=15.0):
    """Poll until `find()` returns something (a message reaching a sink after the commit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = find()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("nothing arrived")


def mail_to(smtp, address, pattern):
    def find():
        for rcpt, content in reversed(smtp.messages):
            match = re.search(pattern, content)
            if rcpt == [address] and match:
                return match
        return None

    return wait_for(find)


def sms_to(gateway, number, pattern):
    def find():
        for _auth, body, _status in reversed(gateway.received):
            match = re.search(pattern, body["text"])
            if body["to"] == number and match:
                return match
        return None

    return wait_for(find)


def test_a_parent_registers_and_signs_in_with_the_user_code(page, live_server, smtp, gateway, settings):
    settings.SCHOOLID_PROFILE = load_profile("il")
    settings.BASE_URL = live_server.url
    f.org_tree()
    national_id = SCHEMES["il_teudat_zehut"].generate(random.Random(4242))
    base = live_server.url

    page.goto(f"{base}/signin/")
    page.click("#registration-link")
    page.wait_for_url(f"{base}/register/")
    page.fill("#id_national_id", national_id)
    page.fill("#id_given_name", "מרים")
    page.fill("#id_family_name", "כהן")
    page.fill("#id_birth_date", "1985-04-23")
    page.click("#registration-identity-submit")
    page.wait_for_url(f"{base}/register/contact/")

    # A mistake first: explained, and what was typed stays.
    page.fill("#id_email", "miriam@")
    page.fill("#id_mobile", "050-234-5678")
    page.click("#registration-contact-submit")
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#id_mobile")).to_have_value("050-234-5678")
    page.fill("#id_email", "miriam@example.org")
    page.click("#registration-contact-submit")
    page.wait_for_url(f"{base}/register/codes/")
    expect(page.locator("#registration-codes-sent")).to_contain_text("miriam@example.org")

    email_code = mail_to(smtp, "miriam@example.org", r"\b(\d{6})\b").group(1)
    sms_code = sms_to(gateway, "+972502345678", r"\b(\d{6})\b").group(1)
    page.fill("#id_email_code", email_code)
    page.fill("#id_mobile_code", "000000" if sms_code != "000000" else "111111")
    page.click("#registration-codes-submit")
    expect(page.locator("#registration-error")).to_be_visible()
    expect(page.locator("#email-proven")).to_be_visible()  # the right code is not lost
    page.fill("#id_mobile_code", sms_code)
    page.click("#registration-codes-submit")
    page.wait_for_url(f"{base}/register/created/")
    expect(page.locator("h1")).to_have_text("Your account is being created…")

    sms_to(gateway, "+972502345678", r"finish your registration")
    mail = mail_to(smtp, "miriam@example.org", r"(https?://\S+/register/password/[A-Za-z0-9_-]+/)")
    link = mail.group(1)

    # The link e-mail is worded alike for a known ID (issue 11 item 3); the page names the user code.
    page.goto(link)
    expect(page.locator("#registration-user-code")).to_have_text(re.compile(r"^[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}$"))
    user_code = page.locator("#registration-user-code").inner_text()
    expect(page.locator("#id_new_password")).to_have_attribute("autocomplete", "new-password")
    expect(page.locator("select[name=question]")).to_have_count(0)  # no security question by default
    page.fill("#id_national_id", national_id)
    page.fill("#id_new_password", PASSWORD)
    page.fill("#id_new_password_again", PASSWORD)
    page.click("#new-password-submit")
    page.wait_for_url(f"{base}/register/saved/")
    expect(page.locator("#registration-saved")).to_have_text("Your details were saved")
    expect(page.locator("#saved-user-code")).to_have_text(user_code)
    mail_to(smtp, "miriam@example.org", re.escape(user_code) + r"[\s\S]*Sign in with your user code")

    page.click("#go-signin")
    page.wait_for_url(f"{base}/signin/")
    page.fill("#id_identifier", user_code)
    page.fill("#id_password", PASSWORD)
    page.click("#signin-submit")
    page.wait_for_url(f"{base}/account/")
    expect(page.locator("#account-name")).to_contain_text("מרים כהן")

    # The link worked once.
    other = page.context.browser.new_context(locale="en-US").new_page()
    other.goto(link)
    expect(other.locator("#link-invalid")).to_have_count(1)
    other.context.close()
