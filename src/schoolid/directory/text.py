"""Search keys for names: case-, diacritic- and script-variant-insensitive."""
import functools
import re
import unicodedata

from schoolid.core.digits import ascii_digits

# Arabic letter forms that Persian writes differently; treat them alike (ي/ی, ك/ک, ة/ه, أ/إ/آ → ا).
_FOLD = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "آ": "ا", "ؤ": "و", "\u200c": " "})


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def search_key(value: str) -> str:
    """A normalised key for name search: NFKD without combining marks, folded case and letter forms."""
    # Word by word through a cache: names repeat, and an import computes a million keys. Every step
    # below works per character and white space never combines, so the words give the same key;
    # control characters (which glue words together below) take the whole-string path.
    if value and not _CONTROL.search(value):
        return " ".join(filter(None, map(_word_key, value.split())))
    return _search_key(value)


def person_search_name(given: str, family: str, given_latin: str, family_latin: str) -> str:
    """Person.search_name: the one definition, for Person.save and the import's set-based writes."""
    return search_key(f"{f'{given} {family}'.strip()} {f'{given_latin} {family_latin}'.strip()}")[:420]


@functools.lru_cache(maxsize=200_000)
def _word_key(word: str) -> str:
    return _search_key(word)


def _search_key(value: str) -> str:
    value = "".join(ch for ch in ascii_digits(value or "") if unicodedata.category(ch) != "Cc").translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", value)
    # Drop Latin/Cyrillic/Hebrew/Arabic combining marks, but keep Bengali vowel signs (category Mc/Mn in
    # the Bengali block carry meaning there).
    kept = "".join(
        ch for ch in decomposed if not (unicodedata.category(ch) == "Mn" and not ("\u0980" <= ch <= "\u09ff"))
    )
    kept = unicodedata.normalize("NFC", kept).casefold().replace("ł", "l").replace("ё", "е")
    return " ".join(kept.split())
