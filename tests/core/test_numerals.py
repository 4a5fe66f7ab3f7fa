"""Numbers and dates a person reads, one rule per language (issue 14)."""
import datetime
import re

import pytest
from django.test import Client
from django.utils import translation

from schoolid.core import numerals
from schoolid.core.numerals import format_date, keep, local_digits, local_digits_html
from schoolid.notify import services


@pytest.mark.parametrize(("day", "expected"), [
    (datetime.date(2026, 3, 21), "۱ فروردین ۱۴۰۵"),  # Nowruz 1405
    (datetime.date(2025, 3, 20), "۳۰ اسفند ۱۴۰۳"),  # last day of a leap year
    (datetime.date(2026, 12, 20), "۲۹ آذر ۱۴۰۵"),
    (datetime.date(2000, 1, 1), "۱۱ دی ۱۳۷۸"),
])
def test_persian_dates_are_solar_hijri_in_persian_digits(day, expected):
    assert format_date(day, "fa") == expected
    assert numerals.solar_hijri(datetime.date(2026, 3, 21)) == (1405, 1, 1)
    assert format_date(datetime.date(2026, 3, 21), "fa", short=True) == "۱۴۰۵/۰۱/۰۱"


def test_other_languages_use_their_locale():
    day = datetime.date(2026, 3, 21)
    assert format_date(day, "bn") == "২১ মার্চ, ২০২৬"
    assert format_date(day, "bn", short=True) == "২১/০৩/২০২৬"
    assert format_date(day, "en") == "March 21, 2026"
    assert format_date(day, "he", short=True) == "21.03.2026"


def test_one_rule_for_numbers_and_typed_codes_stay_ascii():
    assert local_digits("همه 25 نفر، صفحه 1 از 6", "fa") == "همه ۲۵ نفر، صفحه ۱ از ۶"
    assert local_digits("কমপক্ষে 8টি (10 মিনিট)", "bn") == "কমপক্ষে ৮টি (১০ মিনিট)"
    assert local_digits("Strona 1 z 6", "pl") == "Strona 1 z 6"
    # One-time passwords, user codes, e-mail addresses, links and codes marked with keep().
    kept = "7TKCP-W9AP6-ZWQJA KQ7-M4X-9TR ali1990@example.org http://127.0.0.1:8000/s/ab12 " + keep("481516")
    assert local_digits(kept, "fa") == kept


def test_html_converts_text_only():
    html = '<p title="5" data-n="7">صفحه 1 &#x27;2</p><code>123456</code><span data-keep-digits>0912<b>3</b></span>4<script>var a = 1;</script>'
    assert local_digits_html(html, "fa") == (
        '<p title="5" data-n="7">صفحه ۱ &#x27;۲</p><code>123456</code><span data-keep-digits>0912<b>3</b></span>۴<script>var a = 1;</script>')


def test_messages_read_in_the_readers_digits_but_codes_do_not(db, gateway):
    with translation.override("bn"):
        message = services.enqueue(channel="sms", to="+8801712345678", subject="", purpose="t", dedupe_key="n1",
                                   body=f"কোড {keep('123456')}, 10 মিনিট")
    assert message.body == "কোড 123456, ১০ মিনিট"  # no isolate marks outside right-to-left text
    with translation.override("fa"):
        message = services.enqueue(channel="sms", to="+989121234567", subject="", purpose="t", dedupe_key="n2",
                                   body=f"کد {keep('123456')}، 10 دقیقه")
    assert message.body == "کد \u2066123456\u2069، ۱۰ دقیقه"


@pytest.mark.django_db
def test_pages_show_every_number_in_the_readers_digits():
    page = Client().get("/signin/", HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert "lang=\"fa\"" in page
    body = page.split("<body>", 1)[1]
    visible = re.sub(r"<[^>]*>", " ", re.sub(r"<script.*?</script>", "", body, flags=re.S))
    assert not re.search(r"(?<![A-Za-z0-9@])[0-9]+(?![A-Za-z0-9@])", visible), visible


@pytest.mark.django_db
def test_error_pages_admin_headings_and_slip_titles_speak_the_language():
    """Issue 14: the 404 page and the /admin/ app headings are translated; the slips' header says
    "Class 1A, students" in words, not the stored filter "type=students; class=…"."""
    from schoolid.console.selectors import batch_title
    from schoolid.credentials.models import IssuanceBatch
    from tests import factories as f

    page = Client().get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="fa")
    assert page.status_code == 404 and "صفحه پیدا نشد" in page.content.decode()
    from django.apps import apps

    with translation.override("ru"):
        assert str(apps.get_app_config("accounts").verbose_name) == "Учётные записи"
    t = f.org_tree()
    batch = IssuanceBatch(description=f"type=students; class={t['class_a1'].code}")
    with translation.override("pl"):
        assert batch_title(batch) == "Klasa 1A, uczniowie"
    with translation.override("fa"):
        assert batch_title(IssuanceBatch(description="12 selected")) == "۱۲ نفر برگزیده"
        assert batch_title(IssuanceBatch(description="type=teachers")) == "معلمان"
