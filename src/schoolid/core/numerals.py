"""Numbers and dates as a person reads them, one rule per language (issue 14).

- fa: Persian digits (۰–۹) and Solar Hijri dates ("۱ فروردین ۱۴۰۵");
- bn: Bengali digits (০–৯), Gregorian dates in Bengali;
- every other language: its locale's own format with ASCII digits.

Codes people type (one-time passwords, user codes, SMS codes, login identifiers) keep ASCII digits:
a word holding a Latin letter is never touched (user codes, passwords, e-mail addresses, links, org
codes), plain digit codes are wrapped in `keep()` (text: Unicode left-to-right isolates) or sit in
<code>/<kbd>/<samp> or an element with `data-keep-digits` (HTML). Inputs accept every digit system
anyway (core/digits.py).
"""
from __future__ import annotations

import datetime
import re

from django.utils import timezone, translation
from django.utils.formats import date_format

from schoolid.core.digits import native_digits

# Languages whose readers expect their own digits.
NATIVE_DIGIT_LANGUAGES = frozenset({"fa", "bn"})

# U+2066 LEFT-TO-RIGHT ISOLATE ... U+2069 POP DIRECTIONAL ISOLATE: a code stays ASCII and reads
# left to right inside right-to-left text.
LRI, PDI = "\u2066", "\u2069"

_FA_MONTHS = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
              "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")

# A word (anything between spaces), or an isolated code, which is left alone.
_WORD = re.compile(r"\u2066[^\u2069]*\u2069|[^\s\u2066]+")
# Character references such as &#x27; or &amp; carry ASCII digits and letters of their own.
_ENTITY = re.compile(r"&#?[0-9A-Za-z]+;")
_ASCII_DIGIT = re.compile(r"[0-9]")
_LATIN = re.compile(r"[A-Za-z@]")


def base_language(language: str | None = None) -> str:
    language = language or translation.get_language() or "en"
    return language.replace("_", "-").split("-")[0].lower()


def uses_native_digits(language: str | None = None) -> bool:
    return base_language(language) in NATIVE_DIGIT_LANGUAGES


def keep(code) -> str:
    """`code` marked as typed by people: its digits stay ASCII, and it reads left to right."""
    return f"{LRI}{code}{PDI}"


def _word(match: re.Match, language: str) -> str:
    word = match.group(0)
    if word[0] == LRI or not _ASCII_DIGIT.search(word):
        return word
    if "&" in word:
        if _LATIN.search(_ENTITY.sub("", word)):
            return word
        # Convert between the character references, never inside them.
        parts = _ENTITY.split(word)
        refs = _ENTITY.findall(word)
        out = [native_digits(parts[0], language)]
        for ref, part in zip(refs, parts[1:]):
            out += [ref, native_digits(part, language)]
        return "".join(out)
    if _LATIN.search(word):
        return word
    return native_digits(word, language)


def local_digits(text, language: str | None = None) -> str:
    """`text` with the digits a person reads in their language's digits (see the module doc)."""
    text = "" if text is None else str(text)
    language = base_language(language)
    if language not in NATIVE_DIGIT_LANGUAGES or not _ASCII_DIGIT.search(text):
        return text
    return _WORD.sub(lambda m: _word(m, language), text)


def format_number(value, language: str | None = None) -> str:
    return local_digits(str(value), language)


def _as_date(value) -> datetime.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date()
    return value


def solar_hijri(day: datetime.date) -> tuple[int, int, int]:
    """(year, month, day) of the Solar Hijri calendar for a Gregorian date."""
    import jdatetime

    j = jdatetime.date.fromgregorian(date=day)
    return j.year, j.month, j.day


def format_date(value, language: str | None = None, short: bool = False) -> str:
    """A date as its reader writes it: "۱ فروردین ۱۴۰۵" (fa), "২১ মার্চ ২০২৬" (bn), "21 March 2026"."""
    day = _as_date(value)
    if day is None:
        return ""
    language = base_language(language)
    if language == "fa":
        y, m, d = solar_hijri(day)
        text = f"{y}/{m:02d}/{d:02d}" if short else f"{d} {_FA_MONTHS[m - 1]} {y}"
        return native_digits(text, "fa")
    with translation.override(language):
        text = date_format(day, "SHORT_DATE_FORMAT" if short else "DATE_FORMAT")
    return local_digits(text, language)


def format_datetime(value, language: str | None = None, short: bool = False) -> str:
    """A moment in the service's time zone: date as format_date, then the time (24 h in fa)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime.datetime):
        return format_date(value, language, short)
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    language = base_language(language)
    if language == "fa":
        return format_date(value, "fa", short) + "، " + native_digits(value.strftime("%H:%M"), "fa")
    with translation.override(language):
        text = date_format(value, "SHORT_DATETIME_FORMAT" if short else "DATETIME_FORMAT")
    return local_digits(text, language)


# --- HTML pages ----------------------------------------------------------------------------

_TAG = re.compile(r"<!--.*?-->|<[^>]*>", re.S)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")
# Elements whose text is never a number to read: scripts, styles, typed codes, editable text.
_KEEP_ELEMENTS = frozenset({"script", "style", "code", "kbd", "samp", "pre", "textarea"})


def local_digits_html(html: str, language: str | None = None) -> str:
    """Apply `local_digits` to the text of an HTML page, never to markup, attributes or kept
    elements (those in _KEEP_ELEMENTS and any element carrying `data-keep-digits`)."""
    language = base_language(language)
    if language not in NATIVE_DIGIT_LANGUAGES:
        return html
    out: list[str] = []
    kept: list[list] = []  # [tag name, open count] of the kept element we are inside
    pos = 0
    for match in _TAG.finditer(html):
        text = html[pos:match.start()]
        if text:
            out.append(text if kept else local_digits(text, language))
        tag = match.group(0)
        out.append(tag)
        pos = match.end()
        name_match = _TAG_NAME.match(tag)
        if not name_match:
            continue
        name = name_match.group(1).lower()
        closing = tag.startswith("</")
        self_closing = tag.endswith("/>") or name in ("input", "br", "img", "meta", "link", "hr")
        if kept:
            if name == kept[-1][0] and not self_closing:
                kept[-1][1] += -1 if closing else 1
                if kept[-1][1] == 0:
                    kept.pop()
        elif not closing and not self_closing and (name in _KEEP_ELEMENTS or "data-keep-digits" in tag):
            kept.append([name, 1])
    rest = html[pos:]
    out.append(rest if kept else local_digits(rest, language))
    return "".join(out)
