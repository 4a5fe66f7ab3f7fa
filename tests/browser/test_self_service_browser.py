"""Self-service in chromium against a real SMTP server and a real HTTP SMS gateway on 127.0.0.1:
sign-in by SMS code (seed 001) and activation from the register (seed 002)."""
import datetime
import re

import pytest
from playwright.sync_api import expect

from schoolid.core.profiles import load_profile
from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]


def test_parent_signs_in_with_an_sms_code(page, live_server, gateway, settings):
    settings.SCHOOLID_PROFILE = load_profile("il")
    t = f.org_tree()
    parent = f.account("guardian", t["school_a"], mobile="050-234-5678", mobile_verified=True, given_name="מרים", family_name="כהן")
    f.activate(parent)
    page.goto(f"{live_server.url}/signin/")
    page.click("#sms-signin-link")
    page.fill("#id_national_id", parent.person.national_id)
    page.click("#sms-send")
    page.wait_for_selector("#sms-sent")
    text = gateway.received[-1][1]["text"]
    code = re.search(r"\b\d{6}\b", text).group(0)
    page.fill("#id_code", code)
    page.click("#sms-code-submit")
    page.wait_for_url(f"{live_server.url}/account/")
    expect(page.locator("#account-name")).to_contain_text("מרים כהן")


def test_pupil_activates_from_the_register(page, live_server, smtp, settings):
    settings.SCHOOLID_PROFILE = load_profile("pl")
    settings.BASE_URL = live_server.url
    t = f.org_tree()
    pupil = f.account("student", t["class_a1"], email="jan.nowak@example.org", birth_date=datetime.date(2008, 5, 5))  # over the age threshold
    page.goto(f"{live_server.url}/signin/")
    page.click("#activation-link")
    page.fill("#id_identifier", pupil.person.national_id)
    page.click("#activation-submit")
    page.wait_for_selector("#activation-sent")
    link = re.search(r"https?://\S+/activate/[A-Za-z0-9_-]+/", smtp.messages[-1][1]).group(0)
    page.goto(link)
    page.fill("#id_new_password", "zielony rower pod lasem")
    page.fill("#id_new_password_again", "zielony rower pod lasem")
    page.click("#new-password-submit")
    expect(page.locator("#activation-identifier")).to_have_text("jan.nowak@example.org")
    page.click("#go-signin")
    page.fill("#id_identifier", "jan.nowak@example.org")
    page.fill("#id_password", "zielony rower pod lasem")
    page.click("#signin-submit")
    page.wait_for_url(f"{live_server.url}/account/")
    page.goto(link)
    expect(page.locator("#link-invalid")).to_have_count(1)


def test_recovery_by_sms_code_then_sign_in(page, live_server, gateway, settings):
    settings.SCHOOLID_PROFILE = load_profile("ru")
    t = f.org_tree()
    parent = f.account("guardian", t["school_a"], password="старый длинный пароль", mobile="89123456789", mobile_verified=True)
    page.goto(f"{live_server.url}/signin/")
    page.click("#recovery-link")
    page.check("input[name=need][value=both]")
    page.fill("#id_identifier", "+7 912 345-67-89")
    page.click("#recovery-submit")
    page.wait_for_selector("#recovery-sent")
    code = re.search(r"\b\d{6}\b", gateway.received[-1][1]["text"]).group(0)
    page.fill("#id_code", code)
    page.click("#recovery-code-submit")
    page.wait_for_url(f"{live_server.url}/recover/finish/")
    expect(page.locator("#recovery-login")).to_have_text(parent.display_code)
    page.fill("#id_new_password", "новый длинный пароль здесь")
    page.fill("#id_new_password_again", "новый длинный пароль здесь")
    page.click("#new-password-submit")
    page.click("#go-signin")
    page.fill("#id_identifier", parent.display_code)
    page.fill("#id_password", "новый длинный пароль здесь")
    page.click("#signin-submit")
    page.wait_for_url(f"{live_server.url}/account/")


def test_email_change_confirmed_by_link(page, live_server, smtp, settings):
    settings.BASE_URL = live_server.url
    t = f.org_tree()
    parent = f.account("guardian", t["school_a"], password="maple river lantern quietly", email="old@example.org", email_verified=True)
    page.goto(f"{live_server.url}/signin/")
    page.fill("#id_identifier", parent.person.national_id)
    page.fill("#id_password", "maple river lantern quietly")
    page.click("#signin-submit")
    page.click("#change-email-link")
    page.fill("#id_new_email", "new@example.org")
    page.fill("#id_password", "maple river lantern quietly")
    page.click("#change-email-submit")
    page.wait_for_selector("#pending-email")
    expect(page.locator("#current-email")).to_have_text("old@example.org")
    link = next(re.search(r"https?://\S+/account/email/confirm/[A-Za-z0-9_-]+/", content).group(0)
                for rcpt, content in reversed(smtp.messages) if rcpt == ["new@example.org"])
    page.goto(link)
    expect(page.locator("#email-confirmed")).to_have_count(1)
    page.goto(f"{live_server.url}/account/email/")
    expect(page.locator("#current-email")).to_have_text("new@example.org")


def test_mobile_change_confirmed_by_code(page, live_server, gateway, smtp):
    t = f.org_tree()
    parent = f.account("guardian", t["school_a"], password="maple river lantern quietly", email="old@example.org", email_verified=True,
                       mobile="09121234567", mobile_verified=True)
    page.goto(f"{live_server.url}/signin/")
    page.fill("#id_identifier", parent.person.national_id)
    page.fill("#id_password", "maple river lantern quietly")
    page.click("#signin-submit")
    page.click("#change-phone-link")
    page.fill("#id_new_mobile", "۰۹۱۲ ۷۶۵ ۴۳۲۱")  # Persian digits
    page.fill("#id_password", "maple river lantern quietly")
    page.click("#change-phone-submit")
    page.wait_for_url(f"{live_server.url}/account/phone/code/")
    code = re.search(r"\b\d{6}\b", gateway.received[-1][1]["text"]).group(0)
    assert gateway.received[-1][1]["to"] == "+989127654321"
    page.fill("#id_code", code)
    page.click("#phone-code-submit")
    page.wait_for_url(f"{live_server.url}/account/")
    parent.person.refresh_from_db()
    assert parent.person.mobile == "+989127654321"


def test_who_can_help_finds_the_school_in_persian(page, live_server):
    from schoolid.directory.models import OrgUnit

    t = f.org_tree()
    OrgUnit.objects.filter(pk=t["school_a"].pk).update(name="دبستان فردوسی", contact_phone="+982188776655")
    OrgUnit.objects.get(pk=t["school_a"].pk).save()
    f.account("principal", t["school_a"], given_name="پروین", family_name="کریمی")
    page.goto(f"{live_server.url}/signin/")
    page.click("#who-can-help-link")
    page.fill("#help-q", "فردوسي")  # typed with the Arabic yeh
    page.click("#help-search")
    page.click("#help-schools a")
    expect(page.locator("#help-phone")).to_have_text("+982188776655")
    expect(page.locator("#help-people")).to_contain_text("پروین کریمی")
