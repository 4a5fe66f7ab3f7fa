"""The password policy (shared/docs/security-requirements.md §1).

Defaults: at least 15 characters when the password is the only factor and 8 when the role always
uses a second factor (NIST SP 800-63B rev. 4 §3.1.1.2); up to 128; any characters, counted in code
points after NFC; no composition rules; the whole password checked against a blocklist of common and
breached passwords and against context words (names, user code, school, service). Every rejection
has a reason in the user's language. A country profile may switch on the legacy composition rule of a
source system; it is labelled as non-conformant.
"""
from __future__ import annotations

import functools
import gzip
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import django.contrib.auth
from django.utils.translation import gettext_lazy as _

from schoolid.core.profiles import Profile, current_profile

SERVICE_WORDS = ("schoolid", "school", "password", "passwort", "parol", "haslo", "admin", "login")


@dataclass(frozen=True)
class PolicyProblem:
    code: str  # "too_short", "too_long", "blocklisted", "context", "composition"
    message: str


@functools.cache
def _common_passwords() -> frozenset[str]:
    """Django's list of 20,000 common and breached passwords (lower-case)."""
    path = Path(django.contrib.auth.__file__).parent / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip().casefold() for line in handle if line.strip())


# Keyboard rows and sequences: long passwords walked along them are among the first guessed.
_SEQUENCES = (
    "0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "йцукенгшщзхъфывапролджэячсмитьбю",
)


def _predictable(value: str) -> bool:
    """Repetitions of a few characters, or a walk along a keyboard row or a sequence (forwards or back)."""
    folded = "".join(value.casefold().split())
    if len(set(folded)) <= 3:
        return True
    for sequence in _SEQUENCES:
        walk = sequence * (len(folded) // len(sequence) + 2)
        if folded in walk or folded[::-1] in walk:
            return True
    return False


# --- derivations of listed passwords (issue 11, item 4) ---------------------------------------------
# A long password can still be a listed one with predictable changes: "iloveyou12345678" is "iloveyou"
# and a digit run, "qwertyuiop123456" two keyboard walks. The password is split into known parts
# (listed passwords or their words, walks and sequences, repeats, digits, symbols; common letter-for-
# digit swaps undone) and the guesses of the cheapest split are estimated, as zxcvbn does. A password
# with any part that is none of these (a word not on the list, random letters) is not a derivation, so
# "maple river lantern quietly" or a sentence that contains a listed word stay accepted (NIST 3.1.1.2).
GUESS_FLOOR = 10**10  # zxcvbn's "very unguessable" (score 4) starts here
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "+": "t"})
_LEET_L = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "l", "+": "t"})


@functools.cache
def _ranked_words() -> dict[str, int]:
    """Listed passwords and the words inside them (digits and symbols taken off), by rank (1 = most common)."""
    path = Path(django.contrib.auth.__file__).parent / "common-passwords.txt.gz"
    ranks: dict[str, int] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for rank, line in enumerate(handle, start=1):
            entry = line.strip().casefold()
            if len(entry) < 4:
                continue
            ranks.setdefault(entry, rank)
            core = entry.strip("0123456789!@#$%^&*()-_=+.,?;:'\"~` ")
            if len(core) >= 4 and core.isalpha():
                ranks.setdefault(core, rank)
    return ranks


@functools.cache
def _walks() -> frozenset[str]:
    """Every stretch of 3 or more characters along a keyboard row or a sequence, both ways."""
    parts = set()
    for sequence in _SEQUENCES:
        for text in (sequence, sequence[::-1]):
            for start in range(len(text)):
                for end in range(start + 3, len(text) + 1):
                    parts.add(text[start:end])
    return frozenset(parts)


def _part_guesses(raw: str, variants: tuple[str, ...]) -> float | None:
    """Guesses for one part of a password, or None when the part is not a predictable one."""
    best = None

    def better(value):
        nonlocal best
        best = value if best is None else min(best, value)

    ranks = _ranked_words()
    for text in (raw, *variants):
        if text in ranks:
            better(ranks[text] * (1 if text == raw else 4))
    if len(raw) >= 3 and raw in _walks():
        better(40 * len(raw))
    if len(raw) >= 2 and len(set(raw)) == 1:
        better(20 * len(raw))
    if raw.isdigit():
        better(200 if len(raw) == 4 and raw[:2] in ("19", "20") else 10 ** len(raw))
    if not any(ch.isalnum() for ch in raw):
        better(30 ** len(raw))
    return best


def derivation_guesses(password: str) -> float:
    """Estimated guesses if the password is built only of predictable parts; infinity otherwise."""
    folded = "".join(unicodedata.normalize("NFC", password).casefold().split())
    if not folded:
        return 0.0
    for size in range(1, len(folded) // 2 + 1):
        if len(folded) % size == 0 and folded[:size] * (len(folded) // size) == folded:
            # A repeated unit costs its own guesses (or trying every unit of that length) per repeat.
            unit = folded[:size]
            return min(derivation_guesses(unit) if size > 1 else float("inf"), 95.0 ** size) * (len(folded) // size)
    variants = (folded.translate(_LEET), folded.translate(_LEET_L))
    longest = 32
    n = len(folded)
    best = [0.0] + [float("inf")] * n
    for end in range(1, n + 1):
        for start in range(max(0, end - longest), end):
            if best[start] == float("inf"):
                continue
            guesses = _part_guesses(folded[start:end], tuple(v[start:end] for v in variants))
            if guesses is not None:
                best[end] = min(best[end], best[start] * max(guesses, 1) if start else guesses)
    return best[n]


def _letters(value: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFC", value).casefold() if ch.isalpha())


def _made_of(words: set[str], text: str) -> bool:
    """Whether `text` is nothing but a sequence of the given words (each may repeat)."""
    if not text or not words:
        return False
    reachable = [True] + [False] * len(text)
    for end in range(1, len(text) + 1):
        reachable[end] = any(reachable[end - len(w)] and text.endswith(w, 0, end) for w in words if len(w) <= end)
    return reachable[-1]


def requires_second_factor(roles: set[str], profile: Profile) -> bool:
    return bool(roles & set(profile.mfa_required_roles))


def minimum_length(roles: set[str], profile: Profile) -> int:
    policy = profile.password_policy
    return policy.min_length_with_mfa if requires_second_factor(roles, profile) else policy.min_length_single_factor


def check_password_policy(password: str, *, roles: set[str] = frozenset(), context_words: tuple[str, ...] = (), profile: Profile | None = None) -> list[PolicyProblem]:
    """Every reason `password` is refused; an empty list means it is accepted."""
    profile = profile or current_profile()
    policy = profile.password_policy
    value = unicodedata.normalize("NFC", password)
    problems: list[PolicyProblem] = []
    length = len(value)
    minimum = minimum_length(set(roles), profile)
    if length < minimum:
        problems.append(PolicyProblem("too_short", str(_("Use at least %(min)d characters; this one has %(n)d.") % {"min": minimum, "n": length})))
    if length > policy.max_length:
        problems.append(PolicyProblem("too_long", str(_("Use at most %(max)d characters.") % {"max": policy.max_length})))
    if policy.blocklist:
        folded = value.casefold()
        if folded in _common_passwords() or folded.strip() in _common_passwords() or _predictable(value):
            problems.append(PolicyProblem("blocklisted", str(_("This password is on a list of common or leaked passwords. Choose another one, for example a few unrelated words."))))
        else:
            words = {_letters(w) for w in (*context_words, *SERVICE_WORDS)}
            words |= {_letters(part) for w in context_words for part in w.split()}
            words = {w for w in words if len(w) >= 3}
            if _made_of(words, _letters(value)):
                problems.append(PolicyProblem("context", str(_("This password is made from your name, user code, school or this service's name. Choose something others cannot guess."))))
            elif derivation_guesses(value) < GUESS_FLOOR:
                problems.append(PolicyProblem("blocklisted", str(_(
                    "This password is a common password or keyboard pattern with a predictable ending, sequence or "
                    "repetition added, which attackers try first. Making it longer that way does not help; "
                    "choose something of your own, for example four or more unrelated words."))))
    if policy.legacy_composition:
        # Legacy option of a source system (seed 000); non-conformant with NIST 800-63B-4 / ASVS 6.2.5.
        classes = [any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value), any(not c.isalnum() for c in value)]
        if not all(classes):
            problems.append(PolicyProblem("composition", str(_("Legacy rule of this country: use lower-case and upper-case letters, a digit and a symbol."))))
    return problems


def context_words_for(account) -> tuple[str, ...]:
    """Words a password must not be made of: the person's names, user code and schools."""
    words: list[str] = [account.user_code]
    person = getattr(account, "person", None)
    if person is not None:
        words += [person.given_name, person.family_name, person.given_name_latin, person.family_name_latin, person.national_id]
        if person.email:
            words.append(person.email.split("@")[0])
    for assignment in account.assignments.current().select_related("org_unit"):
        words += [assignment.org_unit.name, assignment.org_unit.name_latin]
    return tuple(w for w in words if w)
