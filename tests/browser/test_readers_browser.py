"""What a person reads, in chromium (issue 14): every number in the language's digits (Persian with
Solar Hijri dates), no page wider than a 375 px phone, and axe-core (WCAG 2.2 AA) finds nothing."""
import datetime
import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from schoolid.core.numerals import solar_hijri
from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]

LANGUAGES = ["fa", "bn", "he", "en", "pl", "ru"]
NATIVE = {"fa": "۰-۹", "bn": "০-৯"}
PERSIAN_MONTHS = "فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند"

# Words of visible text that hold a digit, outside what a person types (codes, passwords, user codes,
# e-mail addresses, links: kept elements and words with Latin letters, as core/numerals.py says).
READ_WORDS_JS = """() => {
  const skip = "script, style, code, kbd, samp, pre, textarea, [data-keep-digits]";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const words = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || !parent.getClientRects().length) continue;
    for (const word of node.textContent.split(/\\s+/)) {
      if (/[A-Za-z@]/.test(word)) continue;
      if (/[0-9\\u06F0-\\u06F9\\u0660-\\u0669\\u09E6-\\u09EF]/.test(word)) words.push(word);
    }
  }
  return words;
}"""


def _axe_path() -> Path:
    import axe_playwright_python

    return Path(axe_playwright_python.__file__).with_name("axe.min.js")


@pytest.fixture
def school(transactional_db):
    t = f.org_tree()
    principal = f.account("principal", t["school_a"], password="principal passphrase here")
    f.enrol_totp(principal)
    f.activate(principal)
    from django.utils import timezone

    type(principal).objects.filter(pk=principal.pk).update(last_login=timezone.now())  # a date on /account/
    # 25 pupils: a count, page numbers and a long name on the console; one with a guardian.
    students = [f.account("student", t["class_a1"], given_name=f"دانش‌آموز{i}", family_name="با نام خانوادگی بسیار بلند") for i in range(25)]
    parent = f.guardian_of(students[0], unit=t["school_a"])
    from schoolid.accounts.services import set_password

    set_password(parent, "parent passphrase here")
    f.activate(parent)
    return t, principal, parent


def _signed_in_context(browser, account, **options):
    """A browser context holding a session of `account` after both sign-in steps (the sign-in
    pages themselves have their own browser tests)."""
    client = f.staff_client(account)
    context = browser.new_context(bypass_csp=True, **options)  # bypass_csp: axe-core is injected
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    return context, {"name": settings.SESSION_COOKIE_NAME, "value": cookie.value}


def _set_language(context, base, language):
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}])


def _issue_class(page, base, class_code):
    page.goto(f"{base}/console/?type=students&class={class_code}")
    page.check("#select-all")
    page.click("#issue-button")
    page.click("#confirm-issue")
    page.wait_for_selector("#issued-list")


def test_every_language_reads_its_own_digits_and_persian_its_calendar(chromium_browser, live_server, school):
    t, principal, parent = school
    base = live_server.url
    context, session = _signed_in_context(chromium_browser, principal, locale="en-US")
    context.add_cookies([{"name": session["name"], "value": session["value"], "url": base}])
    page = context.new_page()
    page.set_default_timeout(15000)
    for language in LANGUAGES:
        _set_language(context, base, language)
        words = []
        for path in ("/console/?type=students", "/account/", "/account/password/", "/console/not-activated/"):
            page.goto(base + path)
            expect(page.locator("html")).to_have_attribute("lang", language)
            words += page.evaluate(READ_WORDS_JS)
        assert words, language  # the pages do show numbers: "25", page counts, dates, lengths
        if language in NATIVE:
            wrong = [w for w in words if re.search("[0-9]", w)]
            assert not wrong, (language, wrong)
            assert all(re.search(f"[{NATIVE[language]}]", w) for w in words), (language, words)
        else:
            wrong = [w for w in words if re.search("[\u06F0-\u06F9\u0660-\u0669\u09E6-\u09EF]", w)]
            assert not wrong, (language, wrong)
        if language == "fa":
            page.goto(f"{base}/account/")
            signed_in = page.locator("dl.facts").inner_text()
            year = "".join(chr(0x06F0 + int(d)) for d in str(solar_hijri(datetime.date.today())[0]))
            assert re.search(PERSIAN_MONTHS, signed_in) and year in signed_in, signed_in
    # The one-time passwords of an issuance stay as typed, in one piece (no wrapping at hyphens).
    _set_language(context, base, "fa")
    _issue_class(page, base, t["class_a1"].code)
    secret = page.locator("code.secret").first
    assert re.fullmatch(r"[2-9A-Z]{5}-[2-9A-Z]{5}-[2-9A-Z]{5}", secret.inner_text())
    assert secret.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    context.close()


def _check_page(page, language, path, failures, axe_source):
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        failures.append(f"{language} {path}: page {width[0]} px wide in a {width[1]} px window")
    page.add_script_tag(content=axe_source)
    result = page.evaluate("""async () => {
      const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}});
      return r.violations.map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
    }""")
    failures += [f"{language} {path}: {v}" for v in result]


def test_phone_layout_and_accessibility_in_fa_he_en(chromium_browser, live_server, school):
    """375 px wide, in both directions: no page is wider than the window; axe-core finds nothing."""
    t, principal, parent = school
    base = live_server.url
    axe_source = _axe_path().read_text(encoding="utf-8")
    failures: list[str] = []
    phone = {"viewport": {"width": 375, "height": 740}, "locale": "en-US"}
    staff, staff_session = _signed_in_context(chromium_browser, principal, **phone)
    staff.add_cookies([{"name": staff_session["name"], "value": staff_session["value"], "url": base}])
    family, family_session = _signed_in_context(chromium_browser, parent, **phone)
    family.add_cookies([{"name": family_session["name"], "value": family_session["value"], "url": base}])
    anonymous = chromium_browser.new_context(bypass_csp=True, **phone)
    pages = {name: ctx.new_page() for name, ctx in (("staff", staff), ("family", family), ("anonymous", anonymous))}
    for page in pages.values():
        page.set_default_timeout(15000)
    for language in ("fa", "he", "en"):
        for ctx in (staff, family, anonymous):
            _set_language(ctx, base, language)
        for who, path in (("anonymous", "/signin/"), ("anonymous", "/recover/"), ("anonymous", "/no-such-page/"),
                          ("staff", "/console/?type=students"), ("staff", "/account/"), ("family", "/account/family/")):
            page = pages[who]
            page.goto(base + path)
            _check_page(page, language, path, failures, axe_source)
        page = pages["staff"]
        _issue_class(page, base, t["class_a1"].code)
        _check_page(page, language, "(issuance result)", failures, axe_source)
    for ctx in (staff, family, anonymous):
        ctx.close()
    assert not failures, "\n".join(failures)


def test_hebrew_registration_on_a_phone(chromium_browser, live_server, settings, smtp, gateway):
    """Seed 001 in Hebrew at 375 px: the birth date is typed day first (the hint says so, and the field
    is as wide as the others), and the registration pages, the codes page with its resend button
    included, pass axe-core and fit the window."""
    import random

    from schoolid.core.profiles import load_profile
    from schoolid.directory.national_ids import SCHEMES

    settings.SCHOOLID_PROFILE = load_profile("il")
    f.org_tree()
    base = live_server.url
    axe_source = _axe_path().read_text(encoding="utf-8")
    context = chromium_browser.new_context(bypass_csp=True, viewport={"width": 375, "height": 740}, locale="he-IL")
    _set_language(context, base, "he")
    page = context.new_page()
    page.set_default_timeout(15000)
    failures: list[str] = []
    page.goto(f"{base}/register/")
    _check_page(page, "he", "/register/", failures, axe_source)
    birth, name = page.locator("#id_birth_date"), page.locator("#id_given_name")
    assert birth.get_attribute("type") == "text"
    assert birth.evaluate("e => e.getBoundingClientRect().width") == name.evaluate("e => e.getBoundingClientRect().width")
    expect(page.locator("#birth_date-hint")).to_contain_text("23.04.1985")
    page.fill("#id_national_id", SCHEMES["il_teudat_zehut"].generate(random.Random(77)))
    page.fill("#id_given_name", "מרים")
    page.fill("#id_family_name", "כהן")
    page.fill("#id_birth_date", "23.04.1985")  # day first, as Israeli forms ask
    page.click("#registration-identity-submit")
    page.wait_for_url(f"{base}/register/contact/")
    _check_page(page, "he", "/register/contact/", failures, axe_source)
    page.fill("#id_email", "miriam@example.org")
    page.fill("#id_mobile", "050-234-5678")
    page.click("#registration-contact-submit")
    page.wait_for_url(f"{base}/register/codes/")
    _check_page(page, "he", "/register/codes/", failures, axe_source)
    context.close()
    assert not failures, "\n".join(failures)
