"""What sign-in does to stay cheap (benchmarks/signin.py) without dropping any of its checks."""
import ctypes
import threading
import time

import argon2
import pytest
from django.contrib.auth.hashers import check_password, make_password

from schoolid.accounts import hashers, session_cache
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


def _longest_python_pause_during(verify) -> tuple[float, float]:
    """(the longest pause of another Python thread while `verify` ran, the CPU time `verify` took)."""
    longest, running, started = [0.0], [True], threading.Event()

    def watch():
        last = time.perf_counter()
        started.set()
        while running[0]:
            now = time.perf_counter()
            longest[0] = max(longest[0], now - last)
            last = now
            time.sleep(0)  # gives the interpreter lock back each turn

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        started.wait(10)
        time.sleep(0.01)
        longest[0] = 0.0
        cpu = time.thread_time()
        verify()
        cpu = time.thread_time() - cpu
        time.sleep(0.01)  # the watcher notes the pause that ends when the lock comes back
        return longest[0], cpu
    finally:
        running[0] = False
        watcher.join()


def test_verifying_holds_the_interpreter_lock():
    """While a password is verified (~20 ms at the production parameters), the worker's other
    threads run no Python, so they do not evict the hash's memory from the core's caches in slices.

    Deterministic on a busy machine (it once counted another thread's turns, 11 > 1 under load): the
    function is a ctypes.PyDLL one, which keeps the lock by definition; and another thread's longest
    pause covers at least the CPU time of the hash, which holds however the machine is loaded (a
    pause can only be longer than the call's CPU time, never shorter, when the lock is held)."""
    assert hashers._verify_holding_gil is not None
    assert hashers._verify_holding_gil._flags_ & ctypes._FUNCFLAG_PYTHONAPI  # PyDLL: called with the lock held
    hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
    encoded = hasher.hash("maple river lantern quietly")
    held = []
    pause, cpu = _longest_python_pause_during(lambda: held.append(verify_holding_gil(encoded.encode(), b"maple river lantern quietly")))
    assert held == [True]
    assert pause >= 0.9 * cpu, (pause, cpu)


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
