"""Digit and text normalisation for everything a person types.

Persian (U+06F0..), Arabic-Indic (U+0660..) and Bengali (U+09E6..) digits, and any other
Unicode decimal digit, are mapped to ASCII so that every input accepts them.
"""
import re
import sys
import unicodedata

# Every Unicode decimal digit (category Nd) maps to its ASCII value.
_DIGIT_TABLE = {
    cp: ord("0") + unicodedata.decimal(chr(cp))
    for cp in range(sys.maxunicode + 1)
    if unicodedata.category(chr(cp)) == "Nd" and not (0x30 <= cp <= 0x39)
}

_NATIVE_ZERO = {"fa": 0x06F0, "ar": 0x0660, "bn": 0x09E6}


def ascii_digits(value: str) -> str:
    """Return `value` with every decimal digit, in any script, as an ASCII digit."""
    return value.translate(_DIGIT_TABLE)


def only_digits(value: str) -> str:
    """ASCII digits of `value`, dropping separators such as spaces, dashes, dots and slashes."""
    return "".join(ch for ch in ascii_digits(value) if "0" <= ch <= "9")


def native_digits(value: str, language: str) -> str:
    """Show ASCII digits in the digits the language expects (fa and bn); others unchanged."""
    zero = _NATIVE_ZERO.get(language)
    if zero is None:
        return value
    return "".join(chr(zero + int(ch)) if "0" <= ch <= "9" else ch for ch in value)


# Category Cc is exactly U+0000-U+001F and U+007F-U+009F.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def clean_text(value: str) -> str:
    """NFC-normalise, map digits to ASCII, drop control characters (a NUL byte cannot even be stored
    by PostgreSQL) and trim; for identifiers, names and search terms."""
    # Imports run this on millions of fields: plain ASCII needs neither NFC nor the digit table.
    if not value:
        return value
    if not value.isascii():
        if not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
        value = value.translate(_DIGIT_TABLE)
    if _CONTROL.search(value):
        value = _CONTROL.sub("", value)
    return value.strip()
