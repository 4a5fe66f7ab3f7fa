"""Sessions in the cache (Redis), written once at sign-in."""
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore


class SessionStore(CacheSessionStore):
    def cycle_key(self):
        # Signing in rotates the session key (ASVS v5 7.2.4). With no session stored yet there is no
        # old key to leave behind: the fresh key is made when the session is first saved, in one
        # write instead of two.
        if self.session_key is None:
            self.modified = True
            return
        super().cycle_key()
