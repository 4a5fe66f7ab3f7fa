"""Mobile numbers: national and international input in any digit script, every reason code, and
generated demo numbers that are valid mobiles of their country."""
import random

import django
from django.conf import settings

if not settings.configured:  # run on its own (`pytest -p no:django`): minimal settings for gettext
    settings.configure(USE_I18N=True, LANGUAGE_CODE="en")
    django.setup()

import phonenumbers  # noqa: E402
import pytest  # noqa: E402
from django.utils import translation  # noqa: E402
from django.utils.functional import Promise  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from schoolid.directory.phones import InvalidPhone, display_phone, generate_mobile, normalize_phone  # noqa: E402

REGIONS = ["IR", "IL", "PL", "BD", "RU"]


def reason_of(raw, region):
    try:
        normalize_phone(raw, region)
    except InvalidPhone as exc:
        return exc.reason
    return None


@pytest.mark.parametrize(
    "raw,region,e164",
    [
        ("0912 123 4567", "IR", "+989121234567"),
        ("۰۹۱۲ ۱۲۳ ۴۵۶۷", "IR", "+989121234567"),  # Persian digits
        ("٠٩١٢-١٢٣-٤٥٦٧", "IR", "+989121234567"),  # Arabic-Indic digits
        ("\u200f۰۹۱۲۱۲۳۴۵۶۷\u200e", "IR", "+989121234567"),  # bidi marks from RTL text
        ("912 123 4567", "IR", "+989121234567"),  # without the trunk 0
        ("+98 912 123 4567", "IR", "+989121234567"),
        ("0098 (912) 123-4567", "IR", "+989121234567"),
        ("050-234-5678", "IL", "+972502345678"),
        ("+972 50-234-5678", "IL", "+972502345678"),
        ("512 345 678", "PL", "+48512345678"),
        ("0048 512-345-678", "PL", "+48512345678"),
        ("01712-345678", "BD", "+8801712345678"),
        ("০১৭১২-৩৪৫৬৭৮", "BD", "+8801712345678"),  # Bengali digits
        ("+880 1712-345678", "BD", "+8801712345678"),
        ("8 (912) 345-67-89", "RU", "+79123456789"),
        ("+7 912 345-67-89", "RU", "+79123456789"),
        ("00 7 912 345 67 89", "RU", "+79123456789"),  # 00 although Russia's own prefix is 810
        ("8.912.345.67.89", "RU", "+79123456789"),
    ],
)
def test_normalize_phone(raw, region, e164):
    assert normalize_phone(raw, region) == e164
    assert normalize_phone(e164, region) == e164


def test_region_is_case_insensitive_and_must_exist():
    assert normalize_phone("0912 123 4567", "ir") == "+989121234567"
    with pytest.raises(ValueError) as info:
        normalize_phone("0912 123 4567", "XX")
    assert not isinstance(info.value, InvalidPhone)  # a configuration error, not the person's


@pytest.mark.parametrize(
    "raw,region,reason",
    [
        ("", "IR", "empty"),
        ("   ", "IR", "empty"),
        (None, "IR", "empty"),
        ("+", "IR", "empty"),
        ("0912abc4567", "IR", "format"),
        ("0912 123 4567 ext 5", "IR", "format"),
        ("0912+1234567", "IR", "format"),
        ("0912", "IR", "format"),
        ("0912 123 45678", "IR", "format"),  # one digit too many
        ("1", "PL", "format"),
        # The 050-1 block is not allocated in libphonenumber's metadata, so is_valid_number says no.
        ("050-123-4567", "IL", "format"),
        ("021 1234 5678", "IR", "not_mobile"),  # Tehran landline
        ("02-123-4567", "IL", "not_mobile"),  # Jerusalem landline
        ("22 123 45 67", "PL", "not_mobile"),  # Warsaw landline
        ("02-9876543", "BD", "not_mobile"),  # Dhaka landline
        ("8 (495) 123-45-67", "RU", "not_mobile"),  # Moscow landline
        ("+44 7400 123456", "IR", "region"),  # a British mobile
        ("+7 701 234 5678", "RU", "region"),  # +7 but Kazakhstan
        ("+98 912 123 4567", "PL", "region"),
    ],
)
def test_invalid_phone_reasons(raw, region, reason):
    with pytest.raises(InvalidPhone) as info:
        normalize_phone(raw, region)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value.message, Promise)


def test_phone_messages_are_precise_english():
    with translation.override("en"):
        for raw, region, message in [
            ("", "IR", "Enter the phone number."),
            ("0912abc", "IR", "The phone number may contain only digits, spaces, dashes, dots, parentheses and a leading +."),
            ("021 1234 5678", "IR", "This is a landline number; enter a mobile number."),
            ("+44 7400 123456", "IR", "The phone number belongs to another country."),
            ("050-123-4567", "IL", "This is not a valid phone number."),
        ]:
            with pytest.raises(InvalidPhone) as info:
                normalize_phone(raw, region)
            assert str(info.value) == str(info.value.message) == message


def test_display_phone():
    assert display_phone("+989121234567") == "+98 912 123 4567"
    assert display_phone("+79123456789") == "+7 912 345-67-89"
    assert display_phone("+48512345678") == "+48 512 345 678"
    assert display_phone("") == ""
    assert display_phone("not a number") == "not a number"


@pytest.mark.parametrize("region", REGIONS)
@hsettings(deadline=None, max_examples=60)
@given(seed=st.integers(min_value=0, max_value=2**64))
def test_generated_mobiles_are_valid_mobiles_of_the_region(region, seed):
    e164 = generate_mobile(random.Random(seed), region)
    number = phonenumbers.parse(e164, None)
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.region_code_for_number(number) == region
    assert phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    assert normalize_phone(e164, region) == e164
    assert normalize_phone(display_phone(e164), region) == e164
    assert generate_mobile(random.Random(seed), region) == e164  # deterministic for a seed


def test_generated_mobiles_vary():
    for region in REGIONS:
        rng = random.Random(3)
        assert len({generate_mobile(rng, region) for _ in range(20)}) > 15
