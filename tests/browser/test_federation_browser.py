"""The national sign-in journey in chromium (issue 16) against the stand-in IdP served by the live
server over HTTP: first sign-in, link with the password, next sign-in straight in, and a
never-activated register person activated by the verified identity."""
import datetime

import pytest
from playwright.sync_api import expect

from schoolid.accounts.models import Account
from schoolid.federation import services
from schoolid.federation.models import FederatedLink
from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]
PASSWORD = "maple river lantern quietly"


@pytest.fixture
def provider(live_server, settings):
    settings.BASE_URL = live_server.url  # the redirect URI the stand-in sends the browser back to
    return services.add_provider(name="gov", kind="oidc", issuer=live_server.url + "/dev/idp", client_id="schoolid-browser",
                                 client_secret="browser-test-secret", national_id_claim="national_id", label="GovID")


def through_provider(page, base, national_id):
    page.goto(f"{base}/signin/")
    page.click("#signin-with-gov")
    page.wait_for_url(f"{base}/dev/idp/authorize*")
    page.fill("#standin-national-id", national_id)
    page.click("#standin-submit")


def test_link_once_with_password_then_straight_in(chromium_browser, live_server, provider):
    account = f.account(password=PASSWORD, birth_date=datetime.date(1984, 2, 3))
    context = chromium_browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    through_provider(page, live_server.url, account.person.national_id)
    page.wait_for_url(f"{live_server.url}/signin/federated-confirm/")
    page.fill("#confirm-password", "not my password")
    page.click("#confirm-submit")
    expect(page.locator("#confirm-error")).to_be_visible()
    assert not FederatedLink.objects.exists()
    page.fill("#confirm-password", PASSWORD)
    page.click("#confirm-submit")
    page.wait_for_url(f"{live_server.url}/account/")
    expect(page.locator("#linked-gov")).to_contain_text("GovID")
    context.close()

    context = chromium_browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    through_provider(page, live_server.url, account.person.national_id)
    page.wait_for_url(f"{live_server.url}/account/")
    expect(page.locator("#account-user-code")).to_have_text(account.display_code)
    context.close()


def test_never_activated_person_is_activated(page, live_server, provider):
    account = f.account(birth_date=datetime.date(1990, 7, 8))
    through_provider(page, live_server.url, account.person.national_id)
    page.wait_for_url(f"{live_server.url}/account/")
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE


def test_unverified_account_over_threshold_is_refused(page, live_server, provider):
    account = f.account(birth_date=datetime.date(2009, 1, 1))
    page.goto(f"{live_server.url}/signin/")
    page.click("#signin-with-gov")
    page.fill("#standin-national-id", account.person.national_id)
    page.uncheck("#standin-verified")
    page.click("#standin-submit")
    expect(page.locator("#federation-error")).to_contain_text("not verified")
    assert not FederatedLink.objects.exists()
