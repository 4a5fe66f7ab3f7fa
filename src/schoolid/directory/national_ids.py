"""National identification numbers of the five countries SchoolID serves.

Each scheme turns what a person typed (any digit script, with spaces, dashes, dots or slashes) into one
canonical string of ASCII digits, or raises InvalidNationalId with a reason code and a translatable,
user-facing message:

    ir_national_code  Iran, کد ملی: 10 digits, mod-11 check digit (8 or 9 digits are left-padded).
    il_teudat_zehut   Israel, מספר זהות: 9 digits, Luhn check digit (shorter numbers are left-padded).
    pl_pesel          Poland, PESEL: 11 digits, birth date and sex encoded, weighted mod-10 check digit.
    bd_nid            Bangladesh, NID: 10 (smart card), 13 (old) or 17 digits (birth year + 13), no check digit.
    ru_snils          Russia, СНИЛС: 9-digit number + 2 check digits, shown as "123-456-789 01".

Reason codes: "empty", "format", "length", "check_digit", "birth_date".
"""
from __future__ import annotations

import abc
import datetime
import operator
import random
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_exceptions
from stdnum import luhn
from stdnum.il import idnr
from stdnum.pl import pesel

from schoolid.core.digits import clean_text

REASONS = ("empty", "format", "length", "check_digit", "birth_date")

_DEFAULT_MESSAGES = {
    "empty": _("Enter the number."),
    "format": _("The number may contain only digits, spaces, dashes, dots and slashes."),
    "length": _("The number has the wrong length."),
    "check_digit": _("The check digit does not match: please look for a typing mistake."),
    "birth_date": _("The birth date in the number is not a real date."),
}
_MSG_REPEATED = _("A number made of one repeated digit is not valid.")
_MSG_ALL_ZEROS = _("The number cannot be all zeros.")
_MSG_DISTRICT = _("The number does not contain a valid district code.")
_MSG_LENGTH_9 = _("The number has the wrong length: expected 9 digits, got %(got)d.")
_MSG_LENGTH_10 = _("The number has the wrong length: expected 10 digits, got %(got)d.")
_MSG_LENGTH_11 = _("The number has the wrong length: expected 11 digits, got %(got)d.")
_MSG_LENGTH_BD = _("The number has the wrong length: expected 10, 13 or 17 digits, got %(got)d.")
_MSG_SNILS_CHECK = _("The last two digits (the check number) do not match the first nine digits.")
_MSG_FUTURE = _("The birth date in the number is in the future.")
_MSG_BD_YEAR = _("The birth year at the start of the number must be between 1900 and %(year)d.")


def _interpolate(message, params: dict[str, Any]):
    """`message % params`, still lazy: translated when it is shown, not when it is raised."""
    return lazy(lambda: str(message) % params, str)()


class InvalidNationalId(ValueError):
    """A national ID that cannot be right. `reason` is a code, `message` a translatable sentence."""

    def __init__(self, reason: str, message=None, **params: Any):
        super().__init__(reason)
        self.reason = reason
        message = _DEFAULT_MESSAGES[reason] if message is None else message
        self.message = _interpolate(message, params) if params else message

    def __str__(self) -> str:
        return str(self.message)


class UnknownScheme(KeyError, ValueError):
    """No scheme for that code or country (both a KeyError and a ValueError)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# Characters allowed between digits: white space, dashes, dots, slashes, and invisible format
# characters (category Cf: bidi marks and ZWNJ that copy-paste from RTL text brings along).
_SEPARATORS = frozenset("-./\u2010\u2011\u2012\u2013\u2014\u2212\u2044\u2215")


def _digits(raw: str | None) -> str:
    if raw and raw.isascii() and raw.isdigit():
        return raw  # the common case, already canonical digits
    text = clean_text("" if raw is None else str(raw))
    kept = []
    for ch in text:
        if "0" <= ch <= "9":
            kept.append(ch)
        elif not (ch.isspace() or ch in _SEPARATORS or unicodedata.category(ch) == "Cf"):
            raise InvalidNationalId("format")
    if not kept:
        raise InvalidNationalId("empty")
    return "".join(kept)


def _from_stdnum(exc: stdnum_exceptions.ValidationError, length_message, got: int) -> InvalidNationalId:
    """python-stdnum's exception as ours, reason for reason."""
    if isinstance(exc, stdnum_exceptions.InvalidLength):
        return InvalidNationalId("length", length_message, got=got)
    if isinstance(exc, stdnum_exceptions.InvalidChecksum):
        return InvalidNationalId("check_digit")
    if isinstance(exc, stdnum_exceptions.InvalidComponent):
        return InvalidNationalId("birth_date")
    return InvalidNationalId("format", _("The number is not in the expected format."))


def _random_digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _today() -> datetime.date:
    return datetime.date.today()


@dataclass(frozen=True)
class IdScheme(abc.ABC):
    code: str
    country: str
    label: Any = field(compare=False, repr=False)  # gettext_lazy
    has_check_digit: bool

    def normalize(self, raw: str) -> str:
        """Canonical digits of `raw`, or InvalidNationalId."""
        return self._validate(_digits(raw))

    def is_valid(self, raw: str) -> bool:
        try:
            self.normalize(raw)
        except InvalidNationalId:
            return False
        return True

    @abc.abstractmethod
    def generate(self, rng: random.Random, birth_date: datetime.date | None = None, female: bool | None = None) -> str:
        """A valid canonical number, for demo data and tests."""

    def birth_date(self, canonical: str) -> datetime.date | None:
        """The birth date the number encodes, where the scheme encodes a whole date."""
        return None

    def display(self, canonical: str) -> str:
        """The number grouped for people; normalize() reads it back."""
        return canonical

    @abc.abstractmethod
    def _validate(self, digits: str) -> str:
        """The canonical number from plain ASCII digits, or InvalidNationalId with the scheme's reason."""


# --- Iran -----------------------------------------------------------------------------------------

def ir_check_digit(first9: str) -> int:
    s = sum(int(d) * (10 - i) for i, d in enumerate(first9))
    r = s % 11
    return r if r < 2 else 11 - r


@dataclass(frozen=True)
class _IranNationalCode(IdScheme):
    def _validate(self, digits: str) -> str:
        got = len(digits)
        if got in (8, 9):  # Iranian systems commonly drop leading zeros.
            digits = digits.zfill(10)
        if len(digits) != 10:
            raise InvalidNationalId("length", _MSG_LENGTH_10, got=got)
        if len(set(digits)) == 1:  # every such code passes the checksum, none is issued
            raise InvalidNationalId("format", _MSG_REPEATED)
        if int(digits[9]) != ir_check_digit(digits[:9]):
            raise InvalidNationalId("check_digit")
        return digits

    def generate(self, rng, birth_date=None, female=None):
        while True:
            body = _random_digits(rng, 9)
            value = body + str(ir_check_digit(body))
            if len(set(value)) > 1:
                return value

    def display(self, canonical):
        if len(canonical) == 10 and canonical.isdigit():
            return f"{canonical[:3]}-{canonical[3:9]}-{canonical[9]}"
        return canonical


# --- Israel ---------------------------------------------------------------------------------------

# Shorter inputs are left-padded to 9 digits, as Israeli forms do, but not below this many digits:
# "18" padded would pass the Luhn check, and a typo that short is not an ID anyone holds.
IL_MIN_DIGITS = 5


@dataclass(frozen=True)
class _IsraeliTeudatZehut(IdScheme):
    def _validate(self, digits: str) -> str:
        got = len(digits)
        if not IL_MIN_DIGITS <= got <= 9:
            raise InvalidNationalId("length", _MSG_LENGTH_9, got=got)
        digits = digits.zfill(9)
        if int(digits) == 0:
            raise InvalidNationalId("format", _MSG_ALL_ZEROS)
        try:
            return idnr.validate(digits)
        except stdnum_exceptions.ValidationError as exc:
            raise _from_stdnum(exc, _MSG_LENGTH_9, got) from exc

    def generate(self, rng, birth_date=None, female=None):
        while True:
            body = str(rng.randint(0, 3)) + _random_digits(rng, 7)
            if int(body):
                return body + luhn.calc_check_digit(body)


# --- Poland ---------------------------------------------------------------------------------------

_PESEL_CENTURY_OFFSET = {1800: 80, 1900: 0, 2000: 20, 2100: 40, 2200: 60}


def _pesel_birth_date(digits: str) -> datetime.date | None:
    year, month, day = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    century = (1900, 2000, 2100, 2200, 1800)[month // 20] if month < 100 else None
    try:
        return datetime.date(century + year, month % 20, day) if century else None
    except ValueError:
        return None


_PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)


def pesel_check_digit(first10: str) -> int:
    s = sum(map(operator.mul, _PESEL_WEIGHTS, map(int, first10[:10])))
    return (10 - s % 10) % 10


@dataclass(frozen=True)
class _PolishPesel(IdScheme):
    """Checks in this order: length, birth date, check digit. The date comes before the check digit
    so that a number with an impossible date (31 February, month 13) is reported as "birth_date"
    even when its check digit is wrong too: that is the more useful sentence for the person."""

    def _validate(self, digits: str) -> str:
        if len(digits) == 11 and pesel_check_digit(digits) == int(digits[10]):
            born = _pesel_birth_date(digits)
            if born is not None and born <= _today() + datetime.timedelta(days=1):
                return digits  # fast path; any doubt takes the full checks below, with their reasons
        if len(digits) != 11:
            raise InvalidNationalId("length", _MSG_LENGTH_11, got=len(digits))
        try:
            born = pesel.get_birth_date(digits)
        except stdnum_exceptions.ValidationError as exc:
            raise _from_stdnum(exc, _MSG_LENGTH_11, len(digits)) from exc
        # A day of slack for a newborn registered where the date is already tomorrow here.
        if born > _today() + datetime.timedelta(days=1):
            raise InvalidNationalId("birth_date", _MSG_FUTURE)
        try:
            return pesel.validate(digits)
        except stdnum_exceptions.ValidationError as exc:
            raise _from_stdnum(exc, _MSG_LENGTH_11, len(digits)) from exc

    def generate(self, rng, birth_date=None, female=None):
        if birth_date is None:
            start, end = datetime.date(1950, 1, 1), _today()
            birth_date = start + datetime.timedelta(days=rng.randint(0, (end - start).days))
        century = birth_date.year // 100 * 100
        if century not in _PESEL_CENTURY_OFFSET:
            raise ValueError(f"PESEL cannot encode the year {birth_date.year}")
        month = birth_date.month + _PESEL_CENTURY_OFFSET[century]
        if female is None:
            female = rng.random() < 0.5
        sex = rng.choice("02468" if female else "13579")
        body = f"{birth_date.year % 100:02d}{month:02d}{birth_date.day:02d}{_random_digits(rng, 3)}{sex}"
        return body + str(pesel_check_digit(body))

    def birth_date(self, canonical):
        if len(canonical) != 11 or not canonical.isdigit():
            return None
        return _pesel_birth_date(canonical)


# --- Bangladesh -----------------------------------------------------------------------------------

# The 13-digit number (and the last 13 of the 17-digit one) reads: district (2), RMO (1: 1 rural,
# 2 municipality, 3 other urban, 5 cantonment, 9 city corporation), upazila/thana (2), union/ward (2),
# serial (6). The district is the Bangladesh Bureau of Statistics geocode (Dhaka 26, Kurigram 49,
# Magura 55): these are the 64 codes. The 10-digit smart-card number has no public structure, and no
# form has a public check digit, so only the length, birth year and district are checked.
BD_DISTRICT_CODES = frozenset(
    "01 03 04 06 09 10 12 13 15 18 19 22 26 27 29 30 32 33 35 36 38 39 41 42 44 46 47 48 49 50 51 52"
    " 54 55 56 57 58 59 61 64 65 67 68 69 70 72 73 75 76 77 78 79 81 82 84 85 86 87 88 89 90 91 93 94".split()
)
BD_FIRST_YEAR = 1900


@dataclass(frozen=True)
class _BangladeshNid(IdScheme):
    def _validate(self, digits: str) -> str:
        n = len(digits)
        if n not in (10, 13, 17):
            raise InvalidNationalId("length", _MSG_LENGTH_BD, got=n)
        if n == 17:
            this_year = _today().year
            if not BD_FIRST_YEAR <= int(digits[:4]) <= this_year:
                raise InvalidNationalId("birth_date", _MSG_BD_YEAR, year=this_year)
        if n in (13, 17) and digits[-13:-11] not in BD_DISTRICT_CODES:
            raise InvalidNationalId("format", _MSG_DISTRICT)
        return digits

    def generate(self, rng, birth_date=None, female=None):
        if birth_date is None:  # the smart-card form
            return str(rng.randint(1, 9)) + _random_digits(rng, 9)
        if not BD_FIRST_YEAR <= birth_date.year <= _today().year:
            raise ValueError(f"a 17-digit NID cannot start with the year {birth_date.year}")
        district = rng.choice(sorted(BD_DISTRICT_CODES))
        rmo = rng.choice("12359")
        return f"{birth_date.year:04d}{district}{rmo}{_random_digits(rng, 10)}"


# --- Russia ---------------------------------------------------------------------------------------

# Check numbers are verified only for numbers above 001-001-998 (the official rule).
SNILS_LAST_UNCHECKED = 1001998


def snils_check_number(first9: str) -> int:
    s = sum(int(d) * (9 - i) for i, d in enumerate(first9))
    if s < 100:
        return s
    if s in (100, 101):
        return 0
    r = s % 101
    return 0 if r == 100 else r


@dataclass(frozen=True)
class _RussianSnils(IdScheme):
    def _validate(self, digits: str) -> str:
        if len(digits) != 11:
            raise InvalidNationalId("length", _MSG_LENGTH_11, got=len(digits))
        if int(digits[:9]) > SNILS_LAST_UNCHECKED and int(digits[9:]) != snils_check_number(digits[:9]):
            raise InvalidNationalId("check_digit", _MSG_SNILS_CHECK)
        return digits

    def generate(self, rng, birth_date=None, female=None):
        body = f"{rng.randint(SNILS_LAST_UNCHECKED + 1, 999_999_999):09d}"
        return f"{body}{snils_check_number(body):02d}"

    def display(self, canonical):
        if len(canonical) == 11 and canonical.isdigit():
            return f"{canonical[:3]}-{canonical[3:6]}-{canonical[6:9]} {canonical[9:]}"
        return canonical


SCHEMES: dict[str, IdScheme] = {
    scheme.code: scheme
    for scheme in (
        _IranNationalCode("ir_national_code", "IR", _("National code"), True),
        _IsraeliTeudatZehut("il_teudat_zehut", "IL", _("Teudat Zehut number"), True),
        _PolishPesel("pl_pesel", "PL", _("PESEL"), True),
        _BangladeshNid("bd_nid", "BD", _("NID number"), False),
        _RussianSnils("ru_snils", "RU", _("SNILS"), True),
    )
}


def scheme_for_country(country: str) -> IdScheme:
    """The scheme of a country code, "ir" or "IR"; UnknownScheme (a ValueError and KeyError) otherwise."""
    key = (country or "").strip().upper()
    for scheme in SCHEMES.values():
        if scheme.country == key:
            return scheme
    raise UnknownScheme(f"no national ID scheme for country {country!r}")


def normalize_national_id(scheme_code: str, raw: str) -> str:
    """Canonical digits of `raw` under the scheme `scheme_code`, or InvalidNationalId."""
    try:
        scheme = SCHEMES[scheme_code]
    except KeyError:
        raise UnknownScheme(f"unknown national ID scheme {scheme_code!r}") from None
    return scheme.normalize(raw)
