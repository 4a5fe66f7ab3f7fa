"""The request id: one per HTTP request or CLI command, carried by every log line and audit event."""
import contextvars
import re
import uuid

_current: contextvars.ContextVar[str] = contextvars.ContextVar("schoolid_request_id", default="")
_ACCEPTED = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def new_request_id(incoming: str | None = None) -> str:
    """Take a well-formed id from a trusted proxy header, or make a fresh one."""
    if incoming and _ACCEPTED.match(incoming):
        return incoming
    return uuid.uuid4().hex


def get_request_id() -> str:
    return _current.get()


def set_request_id(value: str) -> contextvars.Token:
    return _current.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _current.reset(token)
