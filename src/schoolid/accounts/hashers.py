"""Password hashing: Argon2id with parameters from settings, over the NFC form of the password."""
import threading
import unicodedata

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

# Argon2 is ~20 ms of one core over 19 MiB of memory. Threads of one worker that hash at the same time
# on the same core finish no sooner: they take turns, each evicting the other's memory from the caches,
# and every hash costs 10–15 % more CPU (measured with 4 threads on one core). So a worker process
# hashes ARGON2_CONCURRENCY passwords at a time (default 1; `serve` runs one process per core) and the
# other threads wait their turn. It also bounds the memory that sign-ins can claim in one process.
# The wait is the same for every answer (a wrong password, an unknown account): no timing signal.
_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()


def argon2_slot() -> threading.BoundedSemaphore:
    global _slots
    if _slots is None:
        with _slots_lock:
            if _slots is None:
                _slots = threading.BoundedSemaphore(max(1, getattr(settings, "ARGON2_CONCURRENCY", 1)))
    return _slots


class SchoolArgon2Hasher(Argon2PasswordHasher):
    """Argon2id (m, t, p from settings; default 19 MiB, 2, 1).

    Passwords are NFC-normalised before hashing so the same password typed on different keyboards
    verifies (NIST §3.1.1.2). Nothing else is changed: no truncation, no case folding.
    """

    algorithm = "argon2"

    @property
    def time_cost(self):
        return settings.ARGON2_TIME_COST

    @property
    def memory_cost(self):
        return settings.ARGON2_MEMORY_KIB

    @property
    def parallelism(self):
        return settings.ARGON2_PARALLELISM

    def encode(self, password, salt):
        password = unicodedata.normalize("NFC", password)
        with argon2_slot():
            return super().encode(password, salt)

    def verify(self, password, encoded):
        password = unicodedata.normalize("NFC", password)
        with argon2_slot():
            return super().verify(password, encoded)
