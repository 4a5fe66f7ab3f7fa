"""Mobile phone numbers: what a person typed, in the profile's country, to E.164.

Reason codes: "empty", "format" (not a valid number), "not_mobile", "region" (a valid number of
another country).
"""
from __future__ import annotations

import functools
import random
import unicodedata
from typing import Any

import phonenumbers
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumberFormat, PhoneNumberType, ValidationResult
from phonenumbers.phonenumberutil import _number_type_helper  # the exact type test of number_type()

from schoolid.core.digits import clean_text

REASONS = ("empty", "format", "not_mobile", "region")
MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

_DEFAULT_MESSAGES = {
    "empty": _("Enter the phone number."),
    "format": _("This is not a valid phone number."),
    "not_mobile": _("This is not a mobile number."),
    "region": _("The phone number belongs to another country."),
}
_MSG_CHARACTERS = _("The phone number may contain only digits, spaces, dashes, dots, parentheses and a leading +.")
_MSG_TOO_SHORT = _("The phone number is too short.")
_MSG_TOO_LONG = _("The phone number is too long.")
_MSG_LANDLINE = _("This is a landline number; enter a mobile number.")

_SEPARATORS = frozenset("-.()\u2010\u2011\u2012\u2013\u2014\u2212")


class InvalidPhone(ValueError):
    """A phone number SchoolID does not accept. `reason` is a code, `message` a translatable sentence."""

    def __init__(self, reason: str, message: Any = None):
        super().__init__(reason)
        self.reason = reason
        self.message = _DEFAULT_MESSAGES[reason] if message is None else message

    def __str__(self) -> str:
        return str(self.message)


def _check_region(region: str) -> str:
    code = (region or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r}")
    return code


def _compact(raw: str | None) -> str:
    """"+" and ASCII digits of `raw`, with "00" in front read as "+"; InvalidPhone for other characters."""
    text = clean_text("" if raw is None else str(raw))
    kept = []
    for ch in text:
        if "0" <= ch <= "9":
            kept.append(ch)
        elif ch in "+\uff0b" and not kept:
            kept.append("+")
        elif not (ch.isspace() or ch in _SEPARATORS or unicodedata.category(ch) == "Cf"):
            raise InvalidPhone("format", _MSG_CHARACTERS)
    value = "".join(kept)
    if value in ("", "+"):
        raise InvalidPhone("empty")
    # No national number of the supported countries starts with 00, and Russia's own international
    # prefix is 810, so the 00 many people type is turned into + here.
    if value.startswith("00"):
        value = "+" + value[2:]
    return value


def _fast_mobile_e164(value: str, region: str) -> str | None:
    """`value` itself when it is already the E.164 form of a mobile number of `region`, decided with
    the same metadata test phonenumbers applies (its number-type helper); None means "take the full
    path". Imports check hundreds of thousands of numbers, and this is four times faster."""
    if not (value.startswith("+") and value[1:].isdigit() and value.isascii()):
        return None
    prefix, metadata = _main_region(region)
    national = value[len(prefix):]
    if metadata is None or not value.startswith(prefix) or not national or national[0] == "0":
        return None
    if _number_type_helper(national, metadata) not in MOBILE_TYPES:
        return None
    return value


@functools.cache
def _main_region(region: str):
    """("+48", metadata) for a region that is the main one of its calling code (region_code_for_number
    tries that one first), else (prefix, None): the fast path then steps aside."""
    country_code = phonenumbers.country_code_for_region(region)
    main = phonenumbers.region_code_for_country_code(country_code) == region
    return f"+{country_code}", (phonenumbers.PhoneMetadata.metadata_for_region(region) if main else None)


def normalize_phone(raw: str, region: str) -> str:
    """E.164 form ("+989121234567") of a mobile number of `region`, or InvalidPhone."""
    region = _check_region(region)
    fast = _fast_mobile_e164(raw, region) if raw else None
    if fast is not None:
        return fast
    value = _compact(raw)
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.TOO_SHORT_NSN:
            raise InvalidPhone("format", _MSG_TOO_SHORT) from exc
        if exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
            raise InvalidPhone("format", _MSG_TOO_LONG) from exc
        raise InvalidPhone("format") from exc
    if not phonenumbers.is_valid_number(number):
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible == ValidationResult.TOO_SHORT:
            raise InvalidPhone("format", _MSG_TOO_SHORT)
        if possible == ValidationResult.TOO_LONG:
            raise InvalidPhone("format", _MSG_TOO_LONG)
        raise InvalidPhone("format")
    if phonenumbers.region_code_for_number(number) != region:
        raise InvalidPhone("region")
    kind = phonenumbers.number_type(number)
    if kind not in MOBILE_TYPES:
        raise InvalidPhone("not_mobile", _MSG_LANDLINE if kind == PhoneNumberType.FIXED_LINE else None)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """International format for people ("+98 912 123 4567"); the input unchanged if it does not parse."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def generate_mobile(rng: random.Random, region: str) -> str:
    """A valid E.164 mobile number of `region`, for demo data: the example mobile number's leading
    digits with random subscriber digits, re-checked until valid."""
    region = _check_region(region)
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if example is None:
        raise ValueError(f"no example mobile number for {region}")
    national = phonenumbers.national_significant_number(example)
    keep = max(2, len(national) - 7)
    for attempt in range(200):
        # Mostly only the first digit kept, for variety across operators; then the example's prefix.
        k = 1 if attempt < 100 else keep
        digits = national[:k] + "".join(rng.choice("0123456789") for _ in national[k:])
        candidate = phonenumbers.parse(f"+{example.country_code}{digits}", None)
        if (
            phonenumbers.is_valid_number(candidate)
            and phonenumbers.region_code_for_number(candidate) == region
            and phonenumbers.number_type(candidate) in MOBILE_TYPES
        ):
            return phonenumbers.format_number(candidate, PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, PhoneNumberFormat.E164)
