"""A principal issues a class's passwords in chromium; a student signs in with the slip (issue 3)."""
import re

import pyotp
import pytest
from playwright.sync_api import expect

from schoolid.core.profiles import load_profile
from tests import factories as f
from tests import pdf_tools

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]
PASSWORD = "principal passphrase here"
USER_CODE_RE = re.compile(r"\b[A-HJKMNP-TV-Z][0-9A-HJKMNP-TV-Z]{2}-[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}\b")


@pytest.fixture
def school(transactional_db, settings):
    # Polish profile: students sign in with their user code, printed on the slip.
    settings.SCHOOLID_PROFILE = load_profile("pl")
    t = f.org_tree()
    principal = f.account("principal", t["school_a"], password=PASSWORD)
    seed = f.enrol_totp(principal)
    students = [f.account("student", t["class_a1"], given_name=name, family_name="Kowalska") for name in ("Zofia", "Łucja", "Maja")]
    f.account("student", t["class_a2"], given_name="Jan", family_name="Nowak")
    return t, principal, seed, students


def test_issue_a_class_then_sign_in_with_the_slip(chromium_browser, live_server, school, tmp_path):
    t, principal, seed, students = school
    base = live_server.url
    context = chromium_browser.new_context(locale="pl-PL", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15000)

    # Part 1: the principal signs in with password and TOTP, filters a class, selects all, confirms, downloads.
    page.goto(f"{base}/signin/")
    page.fill("#id_identifier", principal.display_code)
    page.fill("#id_password", PASSWORD)
    page.click("#signin-submit")
    page.wait_for_url(f"{base}/signin/second-factor/")
    page.fill("#id_code", pyotp.TOTP(seed).now())
    page.click("#code-submit")
    page.wait_for_url(f"{base}/account/")
    page.goto(f"{base}/console/")
    page.select_option("#filter-type", "students")
    page.select_option("#filter-class", t["class_a1"].code)
    page.click("#filter-submit")
    page.check("#select-all")
    expect(page.locator("input.row-check:checked")).to_have_count(3)
    page.click("#issue-button")
    expect(page.locator("#confirm-text")).to_contain_text("3")
    page.click("#confirm-issue")
    page.wait_for_selector("#issued-list")
    expect(page.locator("code.secret")).to_have_count(3)
    with page.expect_download() as info:
        page.click("#download-pdf")
    pdf_path = tmp_path / "slips.pdf"
    info.value.save_as(pdf_path)
    pdf = pdf_path.read_bytes()
    context.close()

    text = pdf_tools.full_text(pdf)
    for student in students:
        assert student.person.full_name in text
    assert "Jan" not in text
    found = pdf_tools.slips(pdf, re.compile(f"{pdf_tools.SECRET_RE.pattern}|{USER_CODE_RE.pattern}"))
    assert len(found) == 3
    slips = []
    for slip in found:
        secret = next(x for x in slip.texts if pdf_tools.SECRET_RE.fullmatch(x))
        code = next(x for x in slip.texts if USER_CODE_RE.fullmatch(x))
        slips.append((code, secret, slip.link))

    # Part 2: in a fresh context, a student signs in with a slip's secret and must choose a password.
    code, secret, link = slips[0]
    student_context = chromium_browser.new_context(locale="pl-PL")
    sp = student_context.new_page()
    sp.goto(f"{base}/signin/")
    sp.fill("#id_identifier", code)
    sp.fill("#id_password", secret)
    sp.click("#signin-submit")
    sp.wait_for_url(f"{base}/signin/new-password/")
    sp.fill("#id_new_password", "zielony rower pod lasem")
    sp.fill("#id_new_password_again", "zielony rower pod lasem")
    sp.click("#new-password-submit")
    sp.wait_for_url(f"{base}/account/")
    sp.click("#signout")
    sp.goto(f"{base}/signin/")
    sp.fill("#id_identifier", code)
    sp.fill("#id_password", "zielony rower pod lasem")
    sp.click("#signin-submit")
    sp.wait_for_url(f"{base}/account/")
    student_context.close()

    # Part 3: a slip's QR link signs in once; a second use is refused. The used slip's link is dead too.
    code2, secret2, link2 = slips[1]
    assert link2.startswith("http://127.0.0.1:8000/signin/slip/")
    path2 = link2.replace("http://127.0.0.1:8000", base)
    qr_context = chromium_browser.new_context(locale="pl-PL")
    qp = qr_context.new_page()
    qp.goto(path2)
    expect(qp.locator("#slip-account")).to_contain_text("Kowalska")
    qp.fill("#id_password", secret2)
    qp.click("#signin-submit")
    qp.wait_for_url(f"{base}/signin/new-password/")
    qr_context.close()
    again = chromium_browser.new_context(locale="pl-PL").new_page()
    again.goto(path2)
    expect(again.locator("#slip-invalid")).to_have_count(1)
    again.goto(link.replace("http://127.0.0.1:8000", base))
    expect(again.locator("#slip-invalid")).to_have_count(1)
    again.context.close()
