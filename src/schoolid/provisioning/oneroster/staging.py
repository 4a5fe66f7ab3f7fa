"""Temporary staging tables, filled by COPY on PostgreSQL and by batched inserts on SQLite.

The import validates rows in Python, stages what is valid, and merges with set-based SQL that both
databases run, so a million rows cost a few statements rather than a million round trips.
"""
from __future__ import annotations

import datetime
import tempfile
from collections.abc import Iterable

from django.db import connection

BATCH = 5000


class Stage:
    def __init__(self):
        self.vendor = connection.vendor
        self.tables: list[str] = []

    def create(self, name: str, columns: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
            cursor.execute(f"CREATE TEMP TABLE {name} ({columns})")
        self.tables.append(name)

    def writer(self, name: str, columns: tuple[str, ...], *, spool: bool = False):
        """A writer for `name`. PostgreSQL runs one COPY at a time per connection, so a writer that is
        open beside another must `spool`: its rows wait in a temporary file and go in when it closes."""
        if spool and self.vendor == "postgresql":
            return _SpooledWriter(name, columns)
        return _Writer(self.vendor, name, columns)

    def deferred_writer(self, name: str, columns: tuple[str, ...]):
        """A spooled writer that loads only on `load()`, for rows read in another thread (PostgreSQL)."""
        return _SpooledWriter(name, columns, deferred=True)

    def load(self, name: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
        with self.writer(name, columns) as write:
            for row in rows:
                write(row)
            return write.count

    def index(self, name: str, columns: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX {name}_{columns.replace(', ', '_')}_ix ON {name} ({columns})")
            if self.vendor == "postgresql":
                cursor.execute(f"ANALYZE {name}")

    def drop_all(self) -> None:
        with connection.cursor() as cursor:
            for name in self.tables:
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
        self.tables.clear()


class _Writer:
    """Context manager giving a `write(row)` callable; rows go out in COPY or in batches."""

    def __init__(self, vendor, name, columns):
        self.vendor, self.name, self.columns = vendor, name, columns
        self.count = 0

    def __enter__(self):
        connection.ensure_connection()
        self._cursor = connection.cursor()
        if self.vendor == "postgresql":
            raw = self._cursor.cursor  # psycopg's own cursor under Django's wrapper
            self._copy_cm = raw.copy(f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN")
            copy = self._copy_cm.__enter__()

            def write(row):
                copy.write_row(row)
                self.count += 1
        else:
            self._batch: list[tuple] = []
            sql = f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES ({', '.join(['%s'] * len(self.columns))})"

            def write(row):
                self._batch.append(row)
                self.count += 1
                if len(self._batch) >= BATCH:
                    self._cursor.executemany(sql, self._batch)
                    self._batch.clear()

            self._sql = sql
        self._write = write
        return self

    def __call__(self, row):
        self._write(row)

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.vendor == "postgresql":
                self._copy_cm.__exit__(exc_type, exc, tb)
            elif exc_type is None and self._batch:
                self._cursor.executemany(self._sql, self._batch)
        finally:
            self._cursor.close()
        return False


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value).translate(_ESCAPES)


class _SpooledWriter:
    """Rows in COPY text format in a temporary file, loaded when the writer closes, or (deferred)
    when `load()` is called: a thread may fill it while the connection is busy with something else."""

    def __init__(self, name, columns, *, deferred: bool = False):
        self.name, self.columns, self.deferred = name, columns, deferred
        self.count = 0

    def __enter__(self):
        self._file = tempfile.TemporaryFile(mode="w+", encoding="utf-8", prefix="schoolid-stage-")
        return self

    def __call__(self, row):
        self._file.write("\t".join(map(_copy_text, row)) + "\n")
        self.count += 1

    def __exit__(self, exc_type, exc, tb):
        if self.deferred and exc_type is None:
            return False
        try:
            if exc_type is None:
                self.load()
        finally:
            self._file.close()
        return False

    def load(self) -> None:
        try:
            if self.count:
                self._file.seek(0)
                with connection.cursor() as cursor:
                    with cursor.cursor.copy(f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN") as copy:
                        while chunk := self._file.read(1 << 20):
                            copy.write(chunk)
        finally:
            self._file.close()
