"""National ID schemes: known numbers, normalisation, every reason code, and properties of generated
numbers (each single-digit change is caught exactly where the scheme's arithmetic says it must be)."""
import datetime
import random

import django
from django.conf import settings

if not settings.configured:  # run on its own (`pytest -p no:django`): minimal settings for gettext
    settings.configure(USE_I18N=True, LANGUAGE_CODE="en")
    django.setup()

import pytest  # noqa: E402
from django.utils import translation  # noqa: E402
from django.utils.functional import Promise  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from schoolid.directory.national_ids import (  # noqa: E402
    SCHEMES,
    IdScheme,
    InvalidNationalId,
    normalize_national_id,
    scheme_for_country,
)

IR, IL, PL, BD, RU = (SCHEMES[c] for c in ("ir_national_code", "il_teudat_zehut", "pl_pesel", "bd_nid", "ru_snils"))
TODAY = datetime.date.today()

seeds = st.integers(min_value=0, max_value=2**64)
birth_dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY)
sexes = st.one_of(st.none(), st.booleans())
PROPERTY = hsettings(deadline=None, max_examples=150)


def reason_of(scheme: IdScheme, raw) -> str | None:
    try:
        scheme.normalize(raw)
    except InvalidNationalId as exc:
        return exc.reason
    return None


def single_digit_changes(value: str):
    for i, old in enumerate(value):
        for new in "0123456789":
            if new != old:
                yield i, value[:i] + new + value[i + 1:]


# --- reference arithmetic, written independently of the module ---------------------------------------

def ir_remainder(code: str) -> int:
    return sum(int(code[i]) * (10 - i) for i in range(9)) % 11


def ir_reference_valid(code: str) -> bool:
    r, c = ir_remainder(code), int(code[9])
    return len(set(code)) > 1 and ((r < 2 and c == r) or (r >= 2 and c + r == 11))


def snils_sum(number: str) -> int:
    return sum(int(number[i]) * (9 - i) for i in range(9))


def snils_reference_valid(number: str) -> bool:
    # s % 101 % 100 is the official table: s < 100 -> s; 100, 101 -> 0; else s mod 101, and 100 -> 0.
    return int(number[:9]) <= 1001998 or snils_sum(number) % 101 % 100 == int(number[9:])


def pesel_reference_date(number: str) -> datetime.date | None:
    yy, mm, dd = int(number[:2]), int(number[2:4]), int(number[4:6])
    century = {0: 1900, 1: 2000, 2: 2100, 3: 2200, 4: 1800}[mm // 20]
    try:
        return datetime.date(century + yy, mm % 20, dd)
    except ValueError:
        return None


# --- known numbers ------------------------------------------------------------------------------------

def test_known_valid_numbers():
    # IR 0499370899: 0*10+4*9+9*8+9*7+3*6+7*5+0*4+8*3+9*2 = 266; 266 % 11 = 2; check 11-2 = 9.
    assert IR.normalize("0499370899") == "0499370899"
    assert IL.normalize("039337423") == "039337423"
    assert PL.normalize("44051401359") == "44051401359"
    # SNILS 112-233-445 95: 1*9+1*8+2*7+2*6+3*5+3*4+4*3+4*2+5*1 = 95 < 100, so the check number is 95.
    assert RU.normalize("112-233-445 95") == "11223344595"
    assert BD.normalize("5525708146231") == "5525708146231"  # Magura (55), municipality (2)
    assert BD.normalize("19905525708146231") == "19905525708146231"
    assert BD.normalize("4212964672") == "4212964672"


def test_pesel_birth_date_and_sex():
    assert PL.birth_date("44051401359") == datetime.date(1944, 5, 14)
    assert PL.birth_date("02270803628") == datetime.date(2002, 7, 8)  # month 27: 2000s
    assert PL.birth_date("not a pesel") is None
    assert PL.birth_date("02223000000") is None  # 30 February
    for scheme in (IR, IL, BD, RU):
        assert scheme.birth_date(scheme.generate(random.Random(1), birth_date=datetime.date(2001, 2, 3))) is None


@pytest.mark.parametrize(
    "scheme,raw,reason",
    [
        (PL, "44051401358", "check_digit"),
        (IR, "0499370898", "check_digit"),
        (IL, "039337422", "check_digit"),
        (RU, "112-233-445 96", "check_digit"),
        (PL, "44131401359", "birth_date"),  # month 13
        (PL, "4405320135", "length"),
        (BD, "189955257081462310", "length"),
    ],
)
def test_known_invalid_numbers(scheme, raw, reason):
    assert reason_of(scheme, raw) == reason


def pesel_with(body: str, correct_check: bool) -> str:
    check = (10 - sum(w * int(d) for w, d in zip((1, 3, 7, 9, 1, 3, 7, 9, 1, 3), body)) % 10) % 10
    return body + str(check if correct_check else (check + 1) % 10)


@pytest.mark.parametrize("correct_check", [True, False])
@pytest.mark.parametrize("body", ["0222300012", "8402310012", "4413010012", "0200000012", "0532320012"])
def test_pesel_impossible_date_is_birth_date_whatever_the_check_digit(body, correct_check):
    # 30 February 2002, 31 February 1984, month 13, month 0, day 32 (2105-12-32).
    with pytest.raises(InvalidNationalId) as info:
        PL.normalize(pesel_with(body, correct_check))
    assert info.value.reason == "birth_date"


def test_pesel_future_birth_date():
    future = pesel_with("5061010012", True)  # 2250-01-01
    with pytest.raises(InvalidNationalId) as info:
        PL.normalize(future)
    assert info.value.reason == "birth_date"
    with translation.override("en"):
        assert str(info.value) == "The birth date in the number is in the future."


# --- normalisation --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "scheme,raw,canonical",
    [
        (IR, "۰۴۹۹۳۷۰۸۹۹", "0499370899"),  # Persian digits
        (IR, "٠٤٩٩٣٧٠٨٩٩", "0499370899"),  # Arabic-Indic digits
        (IR, "049-937089-9", "0499370899"),
        (IR, " 049.937.0899 ", "0499370899"),
        (IR, "049/937089/9", "0499370899"),
        (IR, "\u200f۰۴۹۹۳۷۰۸۹۹\u200e", "0499370899"),  # bidi marks from copied RTL text
        (IR, "499370899", "0499370899"),  # 9 digits: left-padded
        (IR, "12345695", "0012345695"),  # 8 digits, left-padded: s = 116, r = 6, check 5
        (IL, "3933742-3", "039337423"),
        (IL, "39337423", "039337423"),
        (IL, "׳039 337 423", None),  # a geresh is not a separator
        (PL, "440514 01359", "44051401359"),
        (PL, "４４０５１４０１３５９", "44051401359"),  # full-width digits
        (BD, "৫৫২৫৭০৮১৪৬২৩১", "5525708146231"),  # Bengali digits
        (BD, "১৯৯০ ৫৫২৫৭০৮১৪৬২৩১", "19905525708146231"),
        (RU, "112 233 445 95", "11223344595"),
        (RU, "112–233–445–95", "11223344595"),  # en dashes
        (RU, "۱۱۲-۲۳۳-۴۴۵ ۹۵", "11223344595"),
    ],
)
def test_normalize_accepts_separators_and_any_digits(scheme, raw, canonical):
    if canonical is None:
        assert reason_of(scheme, raw) == "format"
    else:
        assert scheme.normalize(raw) == canonical
        assert scheme.is_valid(raw)


def test_normalize_national_id_and_scheme_for_country():
    assert normalize_national_id("ir_national_code", "۰۴۹۹۳۷۰۸۹۹") == "0499370899"
    assert scheme_for_country("ir") is IR and scheme_for_country("IR") is IR and scheme_for_country(" ru ") is RU
    assert {code: scheme.country for code, scheme in SCHEMES.items()} == {
        "ir_national_code": "IR", "il_teudat_zehut": "IL", "pl_pesel": "PL", "bd_nid": "BD", "ru_snils": "RU",
    }
    assert [s.has_check_digit for s in (IR, IL, PL, BD, RU)] == [True, True, True, False, True]
    for bad in ("xx", "", "IRN"):
        with pytest.raises(ValueError):
            scheme_for_country(bad)
        with pytest.raises(KeyError):
            scheme_for_country(bad)
    with pytest.raises(ValueError):
        normalize_national_id("fr_insee", "1")


# --- every reason -----------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", list(SCHEMES.values()), ids=list(SCHEMES))
@pytest.mark.parametrize("raw", ["", "   ", None, " - / . "])
def test_reason_empty(scheme, raw):
    assert reason_of(scheme, raw) == "empty"
    assert not scheme.is_valid(raw)


@pytest.mark.parametrize(
    "scheme,raw",
    [
        (IR, "04993708a9"),
        (IR, "0499370899+"),
        (IL, "O39337423"),  # letter O
        (PL, "44051401359x"),
        (BD, "abc"),
        (RU, "112_233_445 95"),
        (IL, "000000000"),  # passes Luhn, never issued
        (IL, "00000"),
        (BD, "0025708146231"),  # district 00
        (BD, "6625708146231"),  # 66 is no district (65 Narail and 67 Narayanganj are)
        (BD, "19906625708146231"),
    ],
)
def test_reason_format(scheme, raw):
    assert reason_of(scheme, raw) == "format"
    assert BD.normalize("6525708146231") and BD.normalize("6725708146231")


@pytest.mark.parametrize("digit", "0123456789")
def test_ir_codes_of_one_repeated_digit_are_format(digit):
    code = digit * 10
    assert ir_reference_valid(code) is False
    # ...even though each of them satisfies the check-digit equation:
    r = ir_remainder(code)
    assert int(code[9]) == (r if r < 2 else 11 - r)
    assert reason_of(IR, code) == "format"
    assert reason_of(IR, "0" * 8) == "format"  # padded to ten zeros


@pytest.mark.parametrize(
    "scheme,raw,got",
    [
        (IR, "1234567", 7),
        (IR, "04993708991", 11),
        (IL, "1234", 4),
        (IL, "0393374230", 10),
        (PL, "4405140135", 10),
        (PL, "440514013590", 12),
        (BD, "123456789", 9),
        (BD, "12345678901", 11),
        (BD, "1990552570814623", 16),
        (RU, "1122334459", 10),
        (RU, "112233445950", 12),
    ],
)
def test_reason_length(scheme, raw, got):
    with pytest.raises(InvalidNationalId) as info:
        scheme.normalize(raw)
    assert info.value.reason == "length"
    with translation.override("en"):
        assert f"got {got}." in str(info.value.message)


def test_reason_birth_date_bangladesh_year():
    assert reason_of(BD, "18995525708146231") == "birth_date"
    assert reason_of(BD, f"{TODAY.year + 1}5525708146231") == "birth_date"
    assert BD.normalize(f"{TODAY.year}5525708146231")
    assert BD.normalize("19005525708146231")


def test_messages_are_lazy_english_and_precise():
    with pytest.raises(InvalidNationalId) as info:
        IR.normalize("1234567")
    exc = info.value
    assert isinstance(exc.message, Promise)
    assert isinstance(exc, ValueError)
    with translation.override("en"):
        assert str(exc.message) == "The number has the wrong length: expected 10 digits, got 7."
        assert str(exc) == str(exc.message)
        assert str(InvalidNationalId("check_digit")) == "The check digit does not match: please look for a typing mistake."
        with pytest.raises(InvalidNationalId) as bd:
            BD.normalize("12")
        assert str(bd.value) == "The number has the wrong length: expected 10, 13 or 17 digits, got 2."
        with pytest.raises(InvalidNationalId) as year:
            BD.normalize("18995525708146231")
        assert str(year.value) == f"The birth year at the start of the number must be between 1900 and {TODAY.year}."
    for scheme in SCHEMES.values():
        assert isinstance(scheme.label, Promise)


# --- properties of generated numbers --------------------------------------------------------------

@PROPERTY
@given(seed=seeds, birth=st.one_of(st.none(), birth_dates), female=sexes)
def test_generated_numbers_are_canonical_and_valid(seed, birth, female):
    for scheme in SCHEMES.values():
        value = scheme.generate(random.Random(seed), birth_date=birth, female=female)
        assert value.isdigit()
        assert scheme.normalize(value) == value
        assert scheme.normalize(scheme.display(value)) == value
        assert scheme.generate(random.Random(seed), birth_date=birth, female=female) == value  # deterministic


@PROPERTY
@given(seed=seeds)
def test_ir_single_digit_changes(seed):
    code = IR.generate(random.Random(seed))
    r = ir_remainder(code)
    for i, changed in single_digit_changes(code):
        r2 = ir_remainder(changed)
        # A change in the first nine digits moves the sum by (new-old)*(10-i), never 0 mod 11 (11 is
        # prime, both factors are below 11), so r2 != r. The check digit only repeats for r, r2 = 1, 10
        # (both give 1); a change in the check digit itself always breaks the code.
        collision = i < 9 and {r, r2} == {1, 10} and len(set(changed)) > 1
        assert ir_reference_valid(changed) == collision
        if collision:
            assert IR.normalize(changed) == changed
        else:
            assert reason_of(IR, changed) == ("format" if len(set(changed)) == 1 else "check_digit")


def test_ir_collision_really_happens():
    code = "0000000051"  # s = 5*2 = 10, r = 10 -> check 11 - 10 = 1
    assert IR.normalize(code) == code
    collided = "0000000061"  # one digit changed: s = 12, r = 1 -> check 1 as well
    assert IR.normalize(collided) == collided
    assert reason_of(IR, "0000001051") == "check_digit"  # s = 1*4 + 10 = 14, r = 3 -> check 8


@PROPERTY
@given(seed=seeds)
def test_il_every_single_digit_change_fails(seed):
    number = IL.generate(random.Random(seed))
    for _i, changed in single_digit_changes(number):
        assert reason_of(IL, changed) == ("format" if int(changed) == 0 else "check_digit")


@PROPERTY
@given(seed=seeds, birth=st.dates(min_value=datetime.date(1800, 1, 1), max_value=TODAY), female=sexes)
def test_pesel_generated_and_every_single_digit_change_fails(seed, birth, female):
    number = PL.generate(random.Random(seed), birth_date=birth, female=female)
    assert PL.birth_date(number) == birth == pesel_reference_date(number)
    if female is not None:
        assert int(number[9]) % 2 == (0 if female else 1)
    for i, changed in single_digit_changes(number):
        with pytest.raises(InvalidNationalId) as info:
            PL.normalize(changed)
        date = pesel_reference_date(changed)
        real_past_date = date is not None and date <= TODAY + datetime.timedelta(days=1)
        assert info.value.reason == ("check_digit" if real_past_date else "birth_date")
        if i >= 6:
            assert info.value.reason == "check_digit"
        else:
            assert info.value.reason in ("check_digit", "birth_date")


@PROPERTY
@given(seed=seeds)
def test_snils_single_digit_changes(seed):
    number = RU.generate(random.Random(seed))
    assert int(number[:9]) > 1001998
    zero_class = {0, 100, 101, 201, 202, 302, 303, 403, 404}  # sums whose check number is 00
    for i, changed in single_digit_changes(number):
        expected_valid = snils_reference_valid(changed)
        if expected_valid and int(changed[:9]) > 1001998:
            # Only possible in the body, moving the sum by one inside the class that maps to 00
            # (a single change moves the sum by at most 9*9 = 81 < 101).
            assert i < 9
            assert {snils_sum(number), snils_sum(changed)} <= zero_class
            assert abs(snils_sum(number) - snils_sum(changed)) == 1
        if expected_valid:
            assert RU.normalize(changed) == changed
        else:
            assert reason_of(RU, changed) == "check_digit"


def test_snils_check_number_table_and_unchecked_range():
    assert RU.normalize("00100199800") == "00100199800"  # <= 001-001-998: length only
    assert RU.normalize("001-001-998 57") == "00100199857"
    assert reason_of(RU, "001-001-999 57") == "check_digit"  # s = 7+4+27+18+9 = 65
    assert RU.normalize("001-001-999 65") == "00100199965"
    # Sums of 100 and 101 give check number 00; 102 gives 01; 201 (201 % 101 = 100) gives 00.
    sums = {}
    rng = random.Random(7)
    while not {100, 101, 102, 201}.issubset(sums):
        body = f"{rng.randint(1001999, 999999999):09d}"
        sums.setdefault(snils_sum(body + "00"), body)
    for s, expected in ((100, "00"), (101, "00"), (102, "01"), (201, "00")):
        assert RU.normalize(sums[s] + expected) == sums[s] + expected
        assert reason_of(RU, sums[s] + "99") == "check_digit"
    assert RU.display("11223344595") == "112-233-445 95"


@PROPERTY
@given(seed=seeds, birth=st.one_of(st.none(), birth_dates))
def test_bangladesh_generated_numbers(seed, birth):
    number = BD.generate(random.Random(seed), birth_date=birth)
    if birth is None:
        assert len(number) == 10
    else:
        assert len(number) == 17 and number[:4] == f"{birth.year:04d}"
    # No check digit: a change in the serial number is still a well-formed NID.
    changed = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert BD.normalize(changed) == changed


def test_generate_refuses_what_cannot_be_encoded():
    with pytest.raises(ValueError):
        PL.generate(random.Random(1), birth_date=datetime.date(1799, 12, 31))
    with pytest.raises(ValueError):
        BD.generate(random.Random(1), birth_date=datetime.date(1899, 12, 31))
