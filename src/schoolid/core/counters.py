"""Counters that limits rely on, shared by every process of one deployment (issue 11 item 3).

They live in the database, the one store every worker shares in the embedded default as in
production; Redis is not needed for them. Each change is one atomic statement (an upsert, or a
compare-and-set on the count), so parallel requests in several workers never read a stale count.
"""
from __future__ import annotations

import datetime
import time

from django.db import connection
from django.utils import timezone

_TABLE = "core_counter"
_last_purge = [0.0]
PURGE_EVERY_SECONDS = 60


def _aware(value):
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value, datetime.UTC)


def _db(value):
    # As the ORM stores it (SQLite: naive UTC text), so raw comparisons and ORM reads agree.
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


def _purge(now: datetime.datetime) -> None:
    # Expired windows are forgotten now and then (each process at most once a minute).
    if time.monotonic() - _last_purge[0] < PURGE_EVERY_SECONDS:
        return
    _last_purge[0] = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_TABLE} WHERE expires_at <= %s", [_db(now)])


def hit(name: str, window: int) -> int:
    """Add one to the counter `name`, whose window starts at its first hit and lasts `window`
    seconds; returns the new count."""
    now = timezone.now()
    expires = now + datetime.timedelta(seconds=window)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (name, count, until, expires_at) VALUES (%s, 1, NULL, %s) "
            f"ON CONFLICT (name) DO UPDATE SET "
            f"count = CASE WHEN {_TABLE}.expires_at <= %s THEN 1 ELSE {_TABLE}.count + 1 END, "
            f"expires_at = CASE WHEN {_TABLE}.expires_at <= %s THEN excluded.expires_at ELSE {_TABLE}.expires_at END "
            f"RETURNING count",
            [name, _db(expires), _db(now), _db(now)],
        )
        count = cursor.fetchone()[0]
    if count == 1:
        _purge(now)
    return count


def peek(name: str) -> int:
    """The counter's value within its window (0 once it expired)."""
    state = read(name)
    return state[0]


def read(name: str) -> tuple[int, datetime.datetime | None]:
    """(count, until) within the window, else (0, None)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count, until FROM {_TABLE} WHERE name = %s AND expires_at > %s", [name, _db(timezone.now())])
        row = cursor.fetchone()
    return (row[0], _aware(row[1])) if row else (0, None)


def reserve(name: str, lifetime: int, delay_after, *, lock_at: int | None = None, respect_wait: bool = True) -> tuple[bool, int, int]:
    """Count one attempt on `name` the way accounts_account counts sign-in failures
    (accounts.services.reserve_attempt): only when no wait is due (and the count is below `lock_at`),
    and the next wait is set in the same statement. Returns (reserved, count if reserved, wait)."""
    now = timezone.now()
    expires = now + datetime.timedelta(seconds=lifetime)
    with connection.cursor() as cursor:
        # The row exists (a fresh one if the old one expired) before the compare-and-set.
        cursor.execute(
            f"INSERT INTO {_TABLE} (name, count, until, expires_at) VALUES (%s, 0, NULL, %s) "
            f"ON CONFLICT (name) DO UPDATE SET count = 0, until = NULL, expires_at = excluded.expires_at WHERE {_TABLE}.expires_at <= %s",
            [name, _db(expires), _db(now)],
        )
        cursor.execute(f"SELECT count, until FROM {_TABLE} WHERE name = %s", [name])
        known, until = cursor.fetchone()
        for _race in range(64):
            if respect_wait and until is not None and _aware(until) > now:
                return False, known, 0
            if lock_at is not None and known >= lock_at:
                return False, known, 0
            count = known + 1
            wait = delay_after(count)
            new_until = now + datetime.timedelta(seconds=wait) if wait else None
            cursor.execute(
                f"UPDATE {_TABLE} SET count = %s, until = %s, expires_at = %s WHERE name = %s AND count = %s",
                [count, _db(new_until), _db(expires), name, known],
            )
            if cursor.rowcount:
                return True, count, wait
            cursor.execute(f"SELECT count, until FROM {_TABLE} WHERE name = %s", [name])
            row = cursor.fetchone()
            if row is None:
                return False, known, 0
            known, until = row
            now = timezone.now()
    return False, known, 0
