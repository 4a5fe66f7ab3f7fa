"""Sessions in the database (the embedded default), written once at sign-in."""
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore

from schoolid.core.randomness import get_random_string


class SessionStore(DbSessionStore):
    def cycle_key(self):
        # See session_cache.SessionStore.cycle_key: nothing stored yet, so the key is made on first save.
        if self.session_key is None:
            self.modified = True
            return
        super().cycle_key()

    def _get_new_session_key(self):
        # As Django's, with one os.urandom read for the key (core/randomness.py).
        while True:
            session_key = get_random_string(32, VALID_KEY_CHARS)
            if not self.exists(session_key):
                return session_key
