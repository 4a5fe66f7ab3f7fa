"""Sessions in the cache (Redis), written once at sign-in."""
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore

from schoolid.core.randomness import get_random_string


class SessionStore(CacheSessionStore):
    def cycle_key(self):
        # Signing in rotates the session key (ASVS v5 7.2.4). With no session stored yet there is no
        # old key to leave behind: the fresh key is made when the session is first saved, in one
        # write instead of two.
        if self.session_key is None:
            self.modified = True
            return
        super().cycle_key()

    def _get_new_session_key(self):
        # Django asks the cache whether a random key is taken before create() stores it; but create()
        # stores with cache.add (Redis SET NX), which refuses a taken key and makes create() draw
        # another. The question was a second round trip to Redis on every sign-in, with no effect.
        return get_random_string(32, VALID_KEY_CHARS)
