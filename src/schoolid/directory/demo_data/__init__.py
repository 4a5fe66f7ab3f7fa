"""Fictitious-but-typical demo data per country: ministry, regions, school and class names, people's names.

Each country has a UTF-8 JSON file next to this module (``ir.json``, ``il.json``, ``pl.json``, ``bd.json``,
``ru.json``), shipped as package data and read with :mod:`importlib.resources`. Every name carries the native
script and a conventional Latin transliteration (or an English rendering for institutions).
"""
from __future__ import annotations

import functools
import json
import random
from dataclasses import dataclass
from importlib import resources

COUNTRIES = ("ir", "il", "pl", "bd", "ru")

# Native digits for the (unlikely) numbered fallback when every pattern/name combination is used.
_DIGITS = {"IR": "۰۱۲۳۴۵۶۷۸۹", "BD": "০১২৩৪৫৬৭৮৯"}


@dataclass(frozen=True)
class Name:
    native: str
    latin: str


@dataclass(frozen=True)
class Region:
    name: Name
    districts: list[Name]


@dataclass(frozen=True)
class DemoCountry:
    country: str
    ministry: Name
    regions: list[Region]
    school_name_patterns: list[Name]  # with "{name}"
    school_names: list[Name]
    class_names: dict  # raw dict from JSON
    given_names_male: list[Name]
    given_names_female: list[Name]
    surnames: list[Name]
    surnames_female: list[Name]  # == surnames when the language has no gendered family names

    def person_name(self, rng: random.Random, female: bool) -> tuple[Name, Name]:
        """A random (given, family) pair; the family name is in the form matching ``female``."""
        given = rng.choice(self.given_names_female if female else self.given_names_male)
        i = rng.randrange(len(self.surnames))
        return given, (self.surnames_female[i] if female else self.surnames[i])

    def school_name(self, rng: random.Random, used: set[str]) -> Name:
        """A pattern filled with a name, whose native form is not in ``used``."""
        for _ in range(20):
            candidate = _fill(rng.choice(self.school_name_patterns), name=rng.choice(self.school_names))
            if candidate.native not in used:
                return candidate
        combos = [(p, n) for p in self.school_name_patterns for n in self.school_names]
        rng.shuffle(combos)
        for pattern, name in combos:
            candidate = _fill(pattern, name=name)
            if candidate.native not in used:
                return candidate
        # Every combination is taken: number them, as real systems do ("... 2").
        base = _fill(combos[0][0], name=combos[0][1])
        number = 2
        while True:
            digits = str(number).translate(str.maketrans("0123456789", _DIGITS.get(self.country, "0123456789")))
            candidate = Name(f"{base.native} {digits}", f"{base.latin} {number}")
            if candidate.native not in used:
                return candidate
            number += 1

    def class_name(self, grade: int, section_index: int) -> Name:
        """The class name for ``grade`` and the ``section_index``-th section (0-based), e.g. PL "4b", RU 5«А»."""
        spec = self.class_names
        if grade not in spec["grades"]:
            raise ValueError(f"{self.country}: no grade {grade!r} (grades are {spec['grades']})")
        sections = spec["sections"]
        if not 0 <= section_index < len(sections):
            raise ValueError(f"{self.country}: no section #{section_index} (there are {len(sections)})")
        label = spec.get("grade_labels", {}).get(str(grade))
        grade_name = Name(label["native"], label["latin"]) if label else Name(str(grade), str(grade))
        return _fill(_name(spec["pattern"]), grade=grade_name, section=_name(sections[section_index]))


def _name(raw: dict) -> Name:
    return Name(raw["native"], raw["latin"])


def _names(raw: list) -> list[Name]:
    return [_name(item) for item in raw]


def _fill(pattern: Name, **parts: Name) -> Name:
    native, latin = pattern.native, pattern.latin
    for key, part in parts.items():
        native = native.replace("{" + key + "}", part.native)
        latin = latin.replace("{" + key + "}", part.latin)
    return Name(native, latin)


@functools.cache
def _read(code: str) -> DemoCountry:
    resource = resources.files(__name__).joinpath(f"{code}.json")
    raw = json.loads(resource.read_text(encoding="utf-8"))
    surnames = _names(raw["surnames"])
    surnames_female = _names(raw["surnames_female"]) if "surnames_female" in raw else surnames
    if len(surnames_female) != len(surnames):
        raise ValueError(f"{code}.json: surnames_female must match surnames in length and order")
    return DemoCountry(
        country=raw["country"],
        ministry=_name(raw["ministry"]),
        regions=[Region(_name(r), _names(r["districts"])) for r in raw["regions"]],
        school_name_patterns=_names(raw["school_name_patterns"]),
        school_names=_names(raw["school_names"]),
        class_names=raw["class_names"],
        given_names_male=_names(raw["given_names_male"]),
        given_names_female=_names(raw["given_names_female"]),
        surnames=surnames,
        surnames_female=surnames_female,
    )


@functools.cache
def load(country: str) -> DemoCountry:
    """Demo data for ``country`` ("ir" or "IR", ...); the same object for either spelling."""
    code = country.strip().lower()
    if code not in COUNTRIES:
        raise ValueError(f"no demo data for country {country!r}; known: {', '.join(COUNTRIES)}")
    return _read(code)
