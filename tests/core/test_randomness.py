"""Session keys and CSRF secrets from core.randomness: Django's alphabets, lengths and distribution
(ASVS v5 7.2.3: session tokens of at least 128 bits from a CSPRNG)."""
import collections
import math
import string

import pytest
from django.contrib.sessions.backends import base as session_base
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.middleware import csrf
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from schoolid.accounts import session_cache, session_db
from schoolid.core import randomness


@given(st.integers(min_value=0, max_value=200), st.lists(st.sampled_from(string.printable), min_size=2, max_size=100, unique=True).map("".join))
def test_length_and_alphabet(length, alphabet):
    drawn = randomness.get_random_string(length, alphabet)
    assert len(drawn) == length
    assert set(drawn) <= set(alphabet)


@pytest.mark.parametrize("alphabet", [VALID_KEY_CHARS, csrf.CSRF_ALLOWED_CHARS, "abc", "0123456789"])
def test_every_character_equally_likely(alphabet):
    """Chi-square over 200,000 draws. 256 is not a multiple of 36, 62 or 3, so a plain byte % size
    would favour the first characters by up to ~3 % and fail this; the limit is the 99.99th percentile."""
    counts = collections.Counter(randomness.get_random_string(200_000, alphabet))
    expected = 200_000 / len(alphabet)
    chi2 = sum((counts[c] - expected) ** 2 / expected for c in alphabet)
    dof = len(alphabet) - 1
    assert chi2 < dof + 3.72 * math.sqrt(2 * dof) + 10


def test_a_biased_draw_would_be_caught():
    """The same check on byte % 62 without dropping bytes: the test above can fail."""
    import os

    data = os.urandom(200_000)
    alphabet = csrf.CSRF_ALLOWED_CHARS
    counts = collections.Counter(alphabet[b % 62] for b in data)
    expected = 200_000 / 62
    chi2 = sum((counts[c] - expected) ** 2 / expected for c in alphabet)
    assert chi2 > 61 + 3.72 * math.sqrt(2 * 61) + 10


def test_no_two_alike():
    keys = {randomness.get_random_string(32, VALID_KEY_CHARS) for _ in range(10_000)}
    assert len(keys) == 10_000


def test_django_csrf_and_session_keys_use_it(monkeypatch):
    calls = []
    real = randomness.get_random_string
    monkeypatch.setattr(csrf, "get_random_string", lambda n, allowed_chars: calls.append(n) or real(n, allowed_chars))
    request = RequestFactory().get("/")
    token = csrf.get_token(request)
    assert len(token) == csrf.CSRF_TOKEN_LENGTH and set(token) <= set(csrf.CSRF_ALLOWED_CHARS)
    assert calls == [csrf.CSRF_SECRET_LENGTH, csrf.CSRF_SECRET_LENGTH]  # the secret and its mask
    assert session_cache.get_random_string is randomness.get_random_string
    assert session_base.get_random_string is randomness.get_random_string  # database sessions' keys


@pytest.mark.django_db
def test_database_sessions_get_keys_from_it():
    store = session_db.SessionStore()
    store["owner"] = "someone"
    store.create()
    assert len(store.session_key) == 32 and set(store.session_key) <= set(VALID_KEY_CHARS)
    assert session_db.SessionStore(store.session_key).load()["owner"] == "someone"


def test_installed_at_start_up():
    assert csrf.get_random_string is randomness.get_random_string
