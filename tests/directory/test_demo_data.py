"""The per-country demo data files and their loader (no database, no Django needed)."""
import json
import random
import re
import string
import unicodedata
from importlib import resources

import pytest

from schoolid.directory.demo_data import COUNTRIES, DemoCountry, Name, Region, load


@pytest.fixture(autouse=True)
def _clean_cache():
    """Shadow the project-wide autouse fixture that clears Django's cache: nothing here touches Django."""
    yield


PACKAGE = "schoolid.directory.demo_data"
POLISH = "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"
NATIVE_LETTER = {
    "ir": lambda c: "\u0600" <= c <= "\u06ff",  # Arabic block (Persian letters live here)
    "il": lambda c: "\u0590" <= c <= "\u05ff",  # Hebrew
    "pl": lambda c: c in string.ascii_letters or c in POLISH,
    "bd": lambda c: "\u0980" <= c <= "\u09ff",  # Bengali
    "ru": lambda c: "\u0400" <= c <= "\u04ff",  # Cyrillic
}
GENDERED = {"pl", "ru"}
PLACEHOLDER = re.compile(r"\{(name|grade|section)\}")


def raw(code: str) -> dict:
    return json.loads(resources.files(PACKAGE).joinpath(f"{code}.json").read_text(encoding="utf-8"))


def all_names(data: DemoCountry) -> list[tuple[str, Name]]:
    out = [("ministry", data.ministry)]
    for region in data.regions:
        out.append(("region", region.name))
        out += [("district", d) for d in region.districts]
    out += [("pattern", p) for p in data.school_name_patterns]
    for field in ("school_names", "given_names_male", "given_names_female", "surnames", "surnames_female"):
        out += [(field, n) for n in getattr(data, field)]
    spec = data.class_names
    out += [("section", Name(s["native"], s["latin"])) for s in spec["sections"]]
    out += [("grade_label", Name(g["native"], g["latin"])) for g in spec.get("grade_labels", {}).values()]
    out.append(("class pattern", Name(spec["pattern"]["native"], spec["pattern"]["latin"])))
    return out


def script_problems(code: str, text: str, latin: bool) -> list[str]:
    """Letters/marks outside the expected script, stray format characters, bad whitespace."""
    problems = []
    if text != text.strip() or "  " in text:
        problems.append("whitespace")
    body = PLACEHOLDER.sub("", text)
    letters = [c for c in body if unicodedata.category(c)[0] in "LM"]
    if latin:
        allowed = (lambda c: c in string.ascii_letters or c in POLISH) if code == "pl" else (lambda c: c in string.ascii_letters)
    else:
        allowed = NATIVE_LETTER[code]
    problems += [f"{c!r} U+{ord(c):04X}" for c in letters if not allowed(c)]
    # Digits and section numbers are fine as long as the text carries letters somewhere; pure numbers
    # are allowed only for Israeli section numbers / Latin grade labels, which the caller filters.
    problems += [f"format char U+{ord(c):04X}" for c in body if unicodedata.category(c) == "Cf" and not (code == "ir" and c == "\u200c")]
    return problems


@pytest.mark.parametrize("code", COUNTRIES)
def test_file_is_package_data_and_loads(code):
    assert resources.files(PACKAGE).joinpath(f"{code}.json").is_file()
    data = load(code)
    assert isinstance(data, DemoCountry)
    assert data.country == code.upper() == raw(code)["country"]
    assert load(code.upper()) is data


def test_unknown_country_is_refused():
    with pytest.raises(ValueError):
        load("xx")


@pytest.mark.parametrize("code", COUNTRIES)
def test_every_name_has_native_and_latin_in_the_right_script(code):
    data = load(code)
    bad = []
    for where, name in all_names(data):
        assert isinstance(name, Name)
        if not name.native.strip() or not name.latin.strip():
            bad.append((where, name, "empty"))
            continue
        numeric = where in ("section", "grade_label")  # e.g. IL sections "1", "2"; IR latin grade "1"
        for text, latin in ((name.native, False), (name.latin, True)):
            problems = script_problems(code, text, latin)
            has_letters = any(unicodedata.category(c)[0] == "L" for c in PLACEHOLDER.sub("", text))
            if not has_letters and not (numeric or where == "class pattern"):
                problems.append("no letters")
            if problems:
                bad.append((where, text, problems))
    assert not bad


def test_persian_uses_persian_letters_not_arabic():
    text = resources.files(PACKAGE).joinpath("ir.json").read_text(encoding="utf-8")
    for arabic in ("\u064a", "\u0643", "\u0649"):  # ي ك ى
        assert arabic not in text, f"U+{ord(arabic):04X} in ir.json"
    assert "\u06cc" in text and "\u06a9" in text  # ی ک


@pytest.mark.parametrize("code", COUNTRIES)
def test_list_lengths_and_uniqueness(code):
    data, source = load(code), raw(code)
    assert 2 <= len(data.regions) <= 3
    assert all(isinstance(r, Region) and len(r.districts) == 2 for r in data.regions)
    assert 3 <= len(data.school_name_patterns) <= 5
    assert all("{name}" in p.native and "{name}" in p.latin for p in data.school_name_patterns)
    assert len(data.school_names) >= 15
    assert len(data.given_names_male) >= 40
    assert len(data.given_names_female) >= 40
    assert len(data.surnames) >= 60
    for field in ("school_names", "given_names_male", "given_names_female", "surnames", "surnames_female"):
        natives = [n.native for n in getattr(data, field)]
        assert len(natives) == len(set(natives)), field
    if code in GENDERED:
        assert len(source["surnames_female"]) == len(source["surnames"])
        assert len(data.surnames_female) == len(data.surnames)
        assert data.surnames_female != data.surnames
    else:
        assert "surnames_female" not in source
        assert data.surnames_female == data.surnames


def test_polish_and_russian_feminine_surnames():
    pl = load("pl")
    pairs = dict(zip((s.native for s in pl.surnames), (s.native for s in pl.surnames_female)))
    assert pairs["Kowalski"] == "Kowalska" and pairs["Nowak"] == "Nowak"
    for male, female in pairs.items():
        if male.endswith("ki"):
            assert female == male[:-1] + "a"
        else:
            assert female == male
    ru = load("ru")
    for male, female in zip(ru.surnames, ru.surnames_female):
        if male.native.endswith(("ов", "ев", "ёв", "ин")):
            assert (female.native, female.latin) == (male.native + "а", male.latin + "a")
        elif male.native.endswith("ий"):
            assert female.native == male.native[:-2] + "ая" and female.latin.endswith("aya")
    assert dict(zip((s.native for s in ru.surnames), (s.native for s in ru.surnames_female)))["Иванов"] == "Иванова"


@pytest.mark.parametrize("code", COUNTRIES)
def test_person_name(code):
    data = load(code)
    rng = random.Random(7)
    for _ in range(200):
        female = rng.random() < 0.5
        given, family = data.person_name(rng, female)
        assert given in (data.given_names_female if female else data.given_names_male)
        assert family in (data.surnames_female if female else data.surnames)
    assert data.person_name(random.Random(1), True) == data.person_name(random.Random(1), True)


@pytest.mark.parametrize("code", COUNTRIES)
def test_school_name(code):
    data = load(code)
    rng, used = random.Random(3), set()
    combos = {(p.native.replace("{name}", n.native), p.latin.replace("{name}", n.latin))
              for p in data.school_name_patterns for n in data.school_names}
    for _ in range(12):
        name = data.school_name(rng, used)
        assert name.native not in used
        assert (name.native, name.latin) in combos
        assert "{" not in name.native + name.latin
        used.add(name.native)
    # Even with every combination taken it still finds a fresh name.
    everything = {native for native, _latin in combos}
    extra = data.school_name(random.Random(0), everything)
    assert extra.native not in everything and extra.latin
    assert data.school_name(random.Random(5), set()) == data.school_name(random.Random(5), set())


@pytest.mark.parametrize("code", COUNTRIES)
def test_class_name(code):
    data = load(code)
    grades, sections = data.class_names["grades"], data.class_names["sections"]
    assert grades == list(range(1, len(grades) + 1))
    assert len(sections) >= 2
    seen = set()
    for grade in grades:
        for index in range(len(sections)):
            name = data.class_name(grade, index)
            assert "{" not in name.native + name.latin
            assert not script_problems(code, name.native, latin=False)
            assert not script_problems(code, name.latin, latin=True)
            seen.add(name.native)
    assert len(seen) == len(grades) * len(sections)
    with pytest.raises(ValueError):
        data.class_name(max(grades) + 1, 0)
    with pytest.raises(ValueError):
        data.class_name(grades[0], len(sections))


def test_class_name_conventions():
    assert load("pl").class_name(4, 1) == Name("4b", "Class 4b")
    assert load("ru").class_name(5, 0) == Name("5«А»", "Class 5A")
    assert load("il").class_name(3, 1) == Name("ג'2", "Gimel 2")
    assert load("ir").class_name(1, 0) == Name("کلاس اول الف", "Grade 1 A")
    assert load("bd").class_name(2, 1) == Name("দ্বিতীয় শ্রেণি, খ শাখা", "Class Two, Section B")
