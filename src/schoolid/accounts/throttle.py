"""Sign-in throttling (security requirements §2).

Per account, not per IP: each failure beyond the free ones makes the next attempt wait longer
(base · 2^k, capped); at the lock limit (≤ 100, NIST §3.2.2) the password stops working until the
account is recovered. Identifiers that match no account get the same treatment in the cache, so the
answers do not tell which accounts exist. A per-address counter catches password spraying.
"""
from __future__ import annotations

import datetime
import hashlib
import math

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone


def delay_after(failures: int) -> int:
    """Seconds to wait after `failures` consecutive failures (0 while within the free attempts)."""
    extra = failures - settings.LOGIN_FREE_ATTEMPTS
    if extra <= 0:
        return 0
    return min(settings.LOGIN_DELAY_BASE_SECONDS * 2 ** min(extra - 1, 30), settings.LOGIN_DELAY_CAP_SECONDS)


def seconds_left(until: datetime.datetime | None) -> int:
    if until is None:
        return 0
    return max(0, math.ceil((until - timezone.now()).total_seconds()))


# --- identifiers that match no account --------------------------------------------------------
def _phantom_key(identifier_key: str) -> str:
    return "signin:phantom:" + hashlib.sha256(identifier_key.encode()).hexdigest()[:32]


def phantom_state(identifier_key: str) -> tuple[int, datetime.datetime | None]:
    failures, until = cache.get(_phantom_key(identifier_key), (0, None))
    return failures, until


def phantom_failure(identifier_key: str) -> tuple[int, datetime.datetime | None]:
    failures, _until = phantom_state(identifier_key)
    failures += 1
    wait = delay_after(failures)
    until = timezone.now() + datetime.timedelta(seconds=wait) if wait else None
    cache.set(_phantom_key(identifier_key), (failures, until), timeout=max(settings.LOGIN_DELAY_CAP_SECONDS * 4, 86400))
    return failures, until


# --- client addresses (password spraying) ----------------------------------------------------
def _ip_key(ip: str | None) -> str:
    # The window starts at the address's first failure and lasts LOGIN_IP_WINDOW_SECONDS.
    return f"signin:ip:{ip or '-'}"


def ip_blocked_for(ip: str | None) -> int:
    """Seconds this address should wait because of failures across many accounts, or 0. The answer
    is the whole window: an upper bound, as the cache does not tell how much of it is left."""
    count = cache.get(_ip_key(ip), 0)
    if count < settings.LOGIN_IP_FAILURE_LIMIT:
        return 0
    return settings.LOGIN_IP_WINDOW_SECONDS


def ip_failure(ip: str | None) -> int:
    key = _ip_key(ip)
    try:
        return cache.incr(key)
    except ValueError:
        cache.add(key, 0, timeout=settings.LOGIN_IP_WINDOW_SECONDS)
        return cache.incr(key)
