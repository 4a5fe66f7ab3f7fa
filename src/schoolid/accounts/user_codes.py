"""Permanent user codes: random, checkable, never derived from personal data.

Format: 9 symbols of Crockford base32 (no I, L, O, U), shown as "KQ7-M4X-9TR". The first symbol is a
letter, so a user code never looks like a national ID; the last is a check symbol that catches one
wrong symbol (and most swapped pairs) before any database look-up.
"""
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LETTERS = "ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# Crockford's reading of look-alikes: O is 0, I and L are 1.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
LENGTH = 9


def _check_symbol(body: str) -> str:
    # Luhn mod N (N = 32): catches every single substitution and most adjacent swaps.
    n = len(ALPHABET)
    factor, total = 2, 0
    for ch in reversed(body):
        addend = factor * _VALUE[ch]
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def generate_user_code() -> str:
    body = secrets.choice(LETTERS) + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH - 2))
    return body + _check_symbol(body)


def generate_user_codes(count: int) -> list[str]:
    """`count` fresh codes at once, for imports: the same distribution as generate_user_code() (a
    letter, then uniform symbols; 256 is a multiple of 32), from one read of the CSPRNG per batch."""
    codes = []
    letters = len(LETTERS)
    while len(codes) < count:
        raw = secrets.token_bytes(9 * (count - len(codes)) + 64)
        for i in range(0, len(raw) - 8, 9):
            first = raw[i]
            if first >= 256 - 256 % letters:
                continue  # rejection keeps the first letter uniform
            body = LETTERS[first % letters] + "".join(ALPHABET[b & 31] for b in raw[i + 1:i + 8])
            codes.append(body + _check_symbol(body))
            if len(codes) == count:
                break
    return codes


def normalize_user_code(raw: str) -> str | None:
    """The canonical code if `raw` is a well-formed user code, else None."""
    from schoolid.core.digits import ascii_digits

    value = ascii_digits(raw).upper().translate(_READ_AS)
    value = "".join(ch for ch in value if ch not in " -_.")
    if len(value) != LENGTH or any(ch not in _VALUE for ch in value) or value[0] not in LETTERS:
        return None
    return value if _check_symbol(value[:-1]) == value[-1] else None


def display_user_code(code: str) -> str:
    return f"{code[:3]}-{code[3:6]}-{code[6:]}"
