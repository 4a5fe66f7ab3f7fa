"""Issue 5 in chromium: a ministry admin presses "Sync now" and reads the report with the refused rows."""
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from schoolid.core.profiles import load_profile
from tests import factories as f
from tests.browser.pages import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]
DATA = Path(__file__).resolve().parents[1] / "provisioning" / "data" / "or12"


def test_sync_now_and_the_report(chromium_browser, live_server, settings, tmp_path):
    settings.SCHOOLID_PROFILE = load_profile("pl")
    settings.SCHOOLID_REPORT_DIR = tmp_path / "reports"
    shutil.copytree(DATA, tmp_path / "register")
    settings.SCHOOLID_SYNC_SOURCE = str(tmp_path / "register")
    t = f.org_tree()
    principal = f.account("ministry_admin", t["ministry"], password="principal pass 1234", email="dyrektor@sp1.edu.pl", email_verified=True)
    seed = f.enrol_totp(principal)
    page = chromium_browser.new_context(locale="en-US").new_page()
    sign_in(page, live_server.url, principal.display_code, "principal pass 1234", seed)
    page.goto(f"{live_server.url}/console/")
    page.click("#sync-link")
    expect(page.locator("#sync-runs")).to_contain_text("No sync has run yet.")
    page.click("#sync-now")
    expect(page.locator("#sync-runs")).to_contain_text("finished")
    page.click("#sync-runs a")
    expect(page.locator("#sync-counts")).to_contain_text("people added")
    expect(page.locator("#sync-problems")).to_contain_text("u-bad-pesel")
    expect(page.locator("#sync-problems tbody tr")).to_have_count(9)
    page.context.close()
