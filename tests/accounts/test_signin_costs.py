"""What sign-in does to stay cheap (benchmarks/signin.py) without dropping any of its checks."""
import threading
import time

import argon2

import pytest
from django.contrib.auth.hashers import check_password, make_password

from schoolid.accounts import session_cache
from schoolid.accounts import hashers
from schoolid.accounts.hashers import argon2_slot, verify_holding_gil


def test_one_password_hash_at_a_time_per_process():
    """Threads of a worker take turns at hashing a new password instead of sharing a core
    (accounts/hashers.py)."""
    results = []
    slot = argon2_slot()
    slot.acquire()
    try:
        worker = threading.Thread(target=lambda: results.append(make_password("maple river lantern quietly")))
        worker.start()
        worker.join(0.3)
        assert worker.is_alive() and results == []  # waiting for its turn
    finally:
        slot.release()
    worker.join(10)
    assert check_password("maple river lantern quietly", results[0]) is True
    # A wrong password still gets a full check and a plain False.
    assert check_password("wrong", results[0]) is False


def _python_progress_during(verify) -> int:
    """How often another Python thread got to run while `verify` ran."""
    ticks, running = [0], [True]

    def count():
        while running[0]:
            ticks[0] += 1
            time.sleep(0.0002)  # gives the interpreter lock back each turn

    counter = threading.Thread(target=count)
    counter.start()
    try:
        time.sleep(0.01)
        before = ticks[0]
        verify()
        return ticks[0] - before
    finally:
        running[0] = False
        counter.join()


def test_verifying_holds_the_interpreter_lock():
    """While a password is verified (~20 ms at the production parameters), the worker's other
    threads run no Python, so they do not evict the hash's memory from the core's caches in
    slices; argon2-cffi's own call lets them (the contrast shows the measure can see it)."""
    hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
    encoded = hasher.hash("maple river lantern quietly")
    assert _python_progress_during(lambda: hasher.verify(encoded, "maple river lantern quietly")) >= 5
    held = []
    assert _python_progress_during(lambda: held.append(verify_holding_gil(encoded.encode(), b"maple river lantern quietly"))) <= 1  # a turn taken just before the call
    assert held == [True]


@pytest.mark.parametrize("argon2_type", [argon2.Type.ID, argon2.Type.I])
def test_the_held_lock_verify_answers_as_argon2_cffi(argon2_type):
    """Same answers as argon2-cffi for right, wrong, non-ASCII, NUL-bearing and empty passwords."""
    hasher = argon2.PasswordHasher(time_cost=1, memory_cost=256, parallelism=1, type=argon2_type)
    for password in ["maple river lantern quietly", "رمز عبور امن من", "zażółć gęślą jaźń", "a\x00b", ""]:
        encoded = hasher.hash(password).encode()
        assert verify_holding_gil(encoded, password.encode()) is True
        assert verify_holding_gil(encoded, (password + "x").encode()) is False
        assert verify_holding_gil(encoded[:-2] + b"AA", password.encode()) is False
    assert verify_holding_gil(b"$scrypt$whatever", b"x") is None  # not Argon2: the caller decides


def test_verify_falls_back_to_argon2_cffi(monkeypatch):
    """Without the compiled library at hand (another argon2-cffi build), argon2-cffi verifies."""
    encoded = make_password("maple river lantern quietly")
    monkeypatch.setattr(hashers, "_verify_holding_gil", None)
    assert check_password("maple river lantern quietly", encoded) is True
    assert check_password("maple river lantern", encoded) is False


@pytest.mark.django_db
def test_a_session_key_already_taken_is_never_reused(monkeypatch):
    """Without the exists() round trip, create() still never overwrites a stored session: the cache
    refuses the taken key (add, SET NX) and another key is drawn."""
    first = session_cache.SessionStore()
    first["owner"] = "first"
    first.create()
    first.save()
    drawn = iter([first.session_key, "k" * 32])
    monkeypatch.setattr(session_cache, "get_random_string", lambda length, chars: next(drawn))
    second = session_cache.SessionStore()
    second["owner"] = "second"
    second.save()
    assert second.session_key == "k" * 32
    assert session_cache.SessionStore(first.session_key).load()["owner"] == "first"
    assert session_cache.SessionStore("k" * 32).load()["owner"] == "second"
    second.delete()
    first.delete()
