"""The import-speed fast paths decide exactly as the full checks they short-cut (hypothesis)."""
import datetime
import random

import phonenumbers
import pytest
from django.core.validators import validate_email
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.pl import pesel as stdnum_pesel

from schoolid.core.digits import clean_text
from schoolid.directory import phones
from schoolid.directory.national_ids import SCHEMES, InvalidNationalId
from schoolid.directory.services import _PLAIN_EMAIL, RegisterError, normalize_email

PESEL = SCHEMES["pl_pesel"]


def _slow_pesel(value: str) -> bool:
    try:
        born = stdnum_pesel.get_birth_date(value)
        stdnum_pesel.validate(value)
    except Exception:
        return False
    return born <= datetime.date.today() + datetime.timedelta(days=1)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_pesel_fast_path_agrees_with_python_stdnum(value):
    try:
        PESEL.normalize(value)
        ours = True
    except InvalidNationalId:
        ours = False
    assert ours == _slow_pesel(value)
    if ours:
        assert PESEL.birth_date(value) == stdnum_pesel.get_birth_date(value)


def test_pesel_fast_path_on_generated_numbers():
    rng = random.Random(5)
    for _ in range(2000):
        value = PESEL.generate(rng)
        assert PESEL.normalize(value) == value
        assert PESEL.birth_date(value) == stdnum_pesel.get_birth_date(value)


def _full_phone_path(value, region):
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or phonenumbers.region_code_for_number(number) != region:
        return None
    if phonenumbers.number_type(number) not in phones.MOBILE_TYPES:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize("region", ["IR", "IL", "PL", "BD", "RU", "KZ"])
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_mobile_fast_path_agrees_with_phonenumbers(region, data):
    cc = phonenumbers.country_code_for_region(region)
    tail = data.draw(st.text(alphabet="0123456789", min_size=4, max_size=13))
    # Half of the draws start like a real mobile number of the region, so both answers are exercised.
    if data.draw(st.booleans()):
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        national = phonenumbers.national_significant_number(example)
        tail = national[: data.draw(st.integers(1, 4))] + tail[: len(national) - 1]
    value = f"+{cc}{tail}"
    fast = phones._fast_mobile_e164(value, region)
    if fast is not None:
        assert fast == _full_phone_path(value, region)


@settings(max_examples=3000, deadline=None)
@given(st.from_regex(r"[a-z0-9._%+\-]{1,12}@[a-z0-9.\-]{1,20}\.[a-z]{2,6}", fullmatch=True) | st.emails().map(str.lower))
def test_plain_email_fast_path_is_a_subset_of_djangos_validator(value):
    if _PLAIN_EMAIL.fullmatch(value) and len(value) <= 254:
        validate_email(value)  # must not raise


def test_email_fast_path_keeps_the_full_check_for_the_rest():
    assert normalize_email("Jan.Kowalski@Szkola.EDU.pl") == "jan.kowalski@szkola.edu.pl"
    with pytest.raises(RegisterError):
        normalize_email("jan..kowalski@szkola.pl")
    with pytest.raises(RegisterError):
        normalize_email("jan@-szkola.pl")


@given(st.text(max_size=40))
def test_clean_text_fast_path_matches_the_definition(value):
    import unicodedata

    from schoolid.core.digits import ascii_digits

    expected = unicodedata.normalize("NFC", value)
    expected = "".join(ch for ch in expected if unicodedata.category(ch) != "Cc")
    assert clean_text(value) == ascii_digits(expected).strip()


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.text(max_size=12) | st.sampled_from(["Łucja", "زهرا\u200cسادات", "আমিনা", "Ёлка", "a\u0308", "\u00a8x", " ", "\u3000"]), max_size=5)
       .map(" ".join))
def test_search_key_by_words_matches_the_whole_string_path(value):
    from schoolid.directory.text import _search_key, search_key

    assert search_key(value) == _search_key(value)
