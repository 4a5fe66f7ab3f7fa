"""Sessions in the database (the embedded default), written once at sign-in."""
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore


class SessionStore(DbSessionStore):
    def cycle_key(self):
        # See session_cache.SessionStore.cycle_key: nothing stored yet, so the key is made on first save.
        if self.session_key is None:
            self.modified = True
            return
        super().cycle_key()

