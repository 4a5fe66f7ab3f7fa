"""Password hashing: Argon2id with parameters from settings, over the NFC form of the password."""
import unicodedata

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


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
        return super().encode(unicodedata.normalize("NFC", password), salt)

    def verify(self, password, encoded):
        return super().verify(unicodedata.normalize("NFC", password), encoded)
