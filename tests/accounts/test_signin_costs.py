"""What sign-in does to stay cheap (benchmarks/signin.py) without dropping any of its checks."""
import threading

import pytest
from django.contrib.auth.hashers import check_password, make_password

from schoolid.accounts import session_cache
from schoolid.accounts.hashers import argon2_slot


def test_one_password_hash_at_a_time_per_process():
    """Threads of a worker take turns at Argon2 instead of sharing a core (accounts/hashers.py)."""
    encoded = make_password("maple river lantern quietly")
    results = []
    slot = argon2_slot()
    slot.acquire()
    try:
        worker = threading.Thread(target=lambda: results.append(check_password("maple river lantern quietly", encoded)))
        worker.start()
        worker.join(0.3)
        assert worker.is_alive() and results == []  # waiting for its turn
    finally:
        slot.release()
    worker.join(10)
    assert results == [True]
    # The slot is free again: a wrong password still gets a full check and a plain False.
    assert check_password("wrong", encoded) is False


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
