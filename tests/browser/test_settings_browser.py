"""Change password in chromium: hints update as the person types (seed 000)."""
import re

import pytest
from playwright.sync_api import expect

from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]
OLD = "maple river lantern quietly"


def test_change_password_with_live_hints(page, live_server):
    t = f.org_tree()
    parent = f.account("guardian", t["school_a"], password=OLD)
    page.goto(f"{live_server.url}/signin/")
    page.fill("#id_identifier", parent.person.national_id)
    page.fill("#id_password", OLD)
    page.click("#signin-submit")
    page.click("#change-password-link")
    page.fill("#id_current_password", OLD)
    page.type("#id_new_password", "short")
    expect(page.locator("#length-count")).to_have_text("(5)")
    page.wait_for_selector("#policy-problems:not([hidden])")
    expect(page.locator("#policy-problems")).to_contain_text("at least 15")
    page.fill("#id_new_password", "")
    page.type("#id_new_password", "copper kettle under stars")
    page.wait_for_selector("#policy-problems[hidden]", state="attached")
    expect(page.locator('#policy-hints [data-rule="length"]')).to_have_class(re.compile(r"\bmet\b"))
    page.fill("#id_new_password_again", "copper kettle under stars")
    page.click("#change-password-submit")
    page.wait_for_url(f"{live_server.url}/account/")
    expect(page.locator("body")).to_contain_text("Your password was changed.")
