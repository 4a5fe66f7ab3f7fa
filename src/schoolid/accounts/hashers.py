"""Password hashing: Argon2id with parameters from settings, over the NFC form of the password."""
import ctypes
import logging
import threading
import unicodedata

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

logger = logging.getLogger(__name__)

# Argon2 is ~20 ms of one core over 19 MiB of memory. Threads of one worker that hash at the same time
# on the same core finish no sooner: they take turns, each evicting the other's memory from the caches,
# and every hash costs 10–15 % more CPU (measured with 4 threads on one core). So a worker process
# hashes ARGON2_CONCURRENCY new passwords at a time (default 1; `serve` runs one process per core), and
# the argon2-cffi fallback of verify below does the same. Verifying normally holds the interpreter
# lock, which already makes it one at a time. The wait is the same for every answer: no timing signal.
_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()


def argon2_slot() -> threading.BoundedSemaphore:
    global _slots
    if _slots is None:
        with _slots_lock:
            if _slots is None:
                _slots = threading.BoundedSemaphore(max(1, getattr(settings, "ARGON2_CONCURRENCY", 1)))
    return _slots


# Verifying holds the interpreter lock (GIL). argon2-cffi releases it, so the worker's other threads
# ran their Python in slices between the hash's: every switch evicted the other side's data from the
# core's caches, and a sign-in cost about 1 ms more CPU (measured with benchmarks/signin.py, perf and
# /proc context-switch counts). Holding it, the other threads' network and database waits still run
# on while the hash does (the kernel does that work), and their Python runs once the hash is done.
# The function is argon2_verify from the same compiled library argon2-cffi uses, called through
# ctypes.PyDLL, which keeps the lock; if that library cannot be found, argon2-cffi verifies.
_ARGON2_TYPES = {b"$argon2d$": 0, b"$argon2i$": 1, b"$argon2id": 2}
_ARGON2_OK = 0


def _load_verify():
    try:
        from _argon2_cffi_bindings import _ffi

        library = ctypes.PyDLL(_ffi.__file__)
        verify = library.argon2_verify
    except (ImportError, OSError, AttributeError) as exc:  # another argon2-cffi build
        logger.warning("argon2_verify not loadable with the interpreter lock held (%s); using argon2-cffi", exc)
        return None
    verify.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
    verify.restype = ctypes.c_int
    return verify


_verify_holding_gil = _load_verify()


def verify_holding_gil(encoded: bytes, password: bytes) -> bool | None:
    """argon2_verify(encoded, password) with the GIL held: True or False, or None when this build
    cannot (the caller verifies another way)."""
    argon2_type = _ARGON2_TYPES.get(encoded[:9])
    if _verify_holding_gil is None or argon2_type is None:
        return None
    return _verify_holding_gil(encoded, password, len(password), argon2_type) == _ARGON2_OK


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
        algorithm, rest = encoded.split("$", 1)
        assert algorithm == self.algorithm
        matched = verify_holding_gil(("$" + rest).encode("ascii"), password.encode("utf-8"))
        if matched is not None:
            return matched
        with argon2_slot():
            return super().verify(password, encoded)
