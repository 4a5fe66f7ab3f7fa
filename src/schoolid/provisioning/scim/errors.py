"""SCIM errors (RFC 7644 §3.12): an HTTP status, an optional scimType and a detail.

Details go to machines (identity management systems), so most stay in English; reasons that come from
the register (a national ID's check digit, a phone number) are the register's own translated messages.
"""
from __future__ import annotations


class ScimError(Exception):
    def __init__(self, status: int, detail, scim_type: str | None = None):
        super().__init__(str(detail))
        self.status = status
        self.detail = str(detail)
        self.scim_type = scim_type


def bad(detail, scim_type: str = "invalidValue") -> ScimError:
    return ScimError(400, detail, scim_type)


def not_found(detail="Resource not found") -> ScimError:
    return ScimError(404, detail)


def conflict(detail) -> ScimError:
    return ScimError(409, detail, "uniqueness")


def forbidden(detail) -> ScimError:
    return ScimError(403, detail)
