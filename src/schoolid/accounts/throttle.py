"""Sign-in throttling (security requirements §2).

Per account, not per IP: each failure beyond the free ones makes the next attempt wait longer
(base · 2^k, capped); at the lock limit (≤ 100, NIST §3.2.2) the password stops working until the
account is recovered. Identifiers that match no account get the same treatment in a shared counter, so the
answers do not tell which accounts exist. A per-address counter catches password spraying.
"""
from __future__ import annotations

import datetime
import hashlib
import math

from django.conf import settings
from django.utils import timezone

from schoolid.core import counters


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
# In the database, shared by every worker (core/counters.py), counted like an account's row, so an
# unknown identifier is throttled at the same attempt as a known one, in parallel too.
def _phantom_key(identifier_key: str) -> str:
    return "signin:phantom:" + hashlib.sha256(identifier_key.encode()).hexdigest()[:32]


def _phantom_lifetime() -> int:
    return max(settings.LOGIN_DELAY_CAP_SECONDS * 4, 86400)


def phantom_state(identifier_key: str) -> tuple[int, datetime.datetime | None]:
    return counters.read(_phantom_key(identifier_key))


def phantom_reserve(identifier_key: str) -> tuple[bool, int, int]:
    """reserve_attempt for an identifier with no account: (reserved, failures, wait)."""
    return counters.reserve(_phantom_key(identifier_key), _phantom_lifetime(), delay_after, lock_at=settings.LOGIN_LOCK_LIMIT)


def phantom_failure(identifier_key: str) -> tuple[int, datetime.datetime | None]:
    """Count a failure whatever wait is due (callers checked it); returns (failures, until)."""
    _reserved, failures, wait = counters.reserve(_phantom_key(identifier_key), _phantom_lifetime(), delay_after, respect_wait=False)
    return failures, (timezone.now() + datetime.timedelta(seconds=wait) if wait else None)


# --- client addresses (password spraying) ----------------------------------------------------
def _ip_key(ip: str | None) -> str:
    # The window starts at the address's first failure and lasts LOGIN_IP_WINDOW_SECONDS.
    return f"signin:ip:{ip or '-'}"


def ip_blocked_for(ip: str | None) -> int:
    """Seconds this address should wait because of failures across many accounts, or 0. The answer
    is the whole window: an upper bound."""
    if counters.peek(_ip_key(ip)) < settings.LOGIN_IP_FAILURE_LIMIT:
        return 0
    return settings.LOGIN_IP_WINDOW_SECONDS


def ip_failure(ip: str | None) -> int:
    return counters.hit(_ip_key(ip), settings.LOGIN_IP_WINDOW_SECONDS)
