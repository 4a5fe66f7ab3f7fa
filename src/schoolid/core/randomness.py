"""Random strings for session keys and CSRF secrets, from one read of the OS random source.

Django's get_random_string draws each character with secrets.choice: one os.urandom system call per
character, 128 of them on every sign-in (a session key and three CSRF strings), about 0.2 ms of a
sign-in's CPU. This draws the bytes once and keeps the same distribution: every character uniform
over the alphabet, from the same source (bytes that would favour some characters are dropped)."""
import os

from django.utils import crypto

_django_get_random_string = crypto.get_random_string


def get_random_string(length: int, allowed_chars: str = crypto.RANDOM_STRING_CHARS) -> str:
    size = len(allowed_chars)
    if not 1 < size <= 256:
        return _django_get_random_string(length, allowed_chars)
    limit = 256 - 256 % size  # bytes from `limit` up would make the first 256 % size characters likelier
    chars: list[str] = []
    while len(chars) < length:
        for byte in os.urandom(length - len(chars) + 8):
            if byte < limit:
                chars.append(allowed_chars[byte % size])
                if len(chars) == length:
                    break
    return "".join(chars)


def use_for_django() -> None:
    """Let Django's CSRF protection (secrets and masks) and session stores (keys) draw here; both
    imported the function by name."""
    from django.contrib.sessions.backends import base as session_base
    from django.middleware import csrf

    csrf.get_random_string = get_random_string
    session_base.get_random_string = get_random_string
