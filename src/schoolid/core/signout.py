"""Where the browser goes after signing out. An upper app (federation: the national provider's logout
URL, issue 16) registers a resolver here, so the sign-out page imports no upper floor."""
from __future__ import annotations

from collections.abc import Callable

_resolvers: list[Callable[[dict, str], str | None]] = []


def register(resolver: Callable[[dict, str], str | None]) -> None:
    """`resolver(session_data, signed_out_url)` returns a URL to send the browser to, or None."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def next_url(session_data: dict, signed_out_url: str) -> str:
    for resolver in _resolvers:
        url = resolver(session_data, signed_out_url)
        if url:
            return url
    return signed_out_url
