"""Writing audit events. The only write path to the audit table."""
from __future__ import annotations

import logging
from typing import Any

from django.db import connection
from django.utils import timezone

from schoolid.audit.models import AuditEvent
from schoolid.core.requestid import get_request_id

logger = logging.getLogger("schoolid.audit")

# Keys whose values must never reach the audit table or logs (ASVS 16.2.5).
_SECRET_KEYS = {"password", "secret", "token", "code", "otp", "answer", "session", "sessionid"}


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _clean_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    if not detail:
        return {}
    return {k: ("[redacted]" if k.lower() in _SECRET_KEYS else v) for k, v in detail.items()}


def _label(obj) -> tuple[int | None, str]:
    if obj is None:
        return None, ""
    if isinstance(obj, str):
        return None, obj[:64]
    return getattr(obj, "pk", None), str(getattr(obj, "audit_label", obj))[:64]


_COLUMNS = ("at", "action", "result", "actor_id", "actor", "target_id", "target", "org_unit_path", "ip", "request_id", "parent_id", "detail")
_INSERT_SQL = (
    f"INSERT INTO {AuditEvent._meta.db_table} ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))}) RETURNING id"
)


def _insert(event: AuditEvent, along: tuple[str, list] | None = None) -> None:
    """One plain INSERT ... RETURNING: every sign-in writes an event, and the ORM's insert machinery
    cost more than the statement. Values go through the fields' own conversions.

    `along` is one UPDATE (SQL, parameters) that belongs with the event. PostgreSQL runs it in the
    same statement, as a data-modifying WITH (one round trip and one commit instead of two); other
    databases run it just before the INSERT, as two statements."""
    fields = {f.name: f for f in AuditEvent._meta.concrete_fields}
    values = [fields[name].get_db_prep_save(getattr(event, fields[name].attname), connection) for name in _COLUMNS]
    with connection.cursor() as cursor:
        if along is None:
            cursor.execute(_INSERT_SQL, values)
        elif connection.vendor == "postgresql":
            cursor.execute(f"WITH along AS ({along[0]}) {_INSERT_SQL}", [*along[1], *values])
        else:
            cursor.execute(*along)
            cursor.execute(_INSERT_SQL, values)
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias


def record_event(
    action: str,
    result: str,
    *,
    actor=None,
    target=None,
    org_unit=None,
    request=None,
    ip: str | None = None,
    parent: AuditEvent | None = None,
    detail: dict[str, Any] | None = None,
    along: tuple[str, list] | None = None,
) -> AuditEvent:
    """Append one audit event; also emit it as a structured log line. `along`: see `_insert`."""
    actor_id, actor_label = _label(actor)
    target_id, target_label = _label(target)
    if actor is not None and not isinstance(actor, str) and not getattr(actor, "is_authenticated", True):
        actor_id, actor_label = None, ""
    event = AuditEvent(
        at=timezone.now(),
        action=action,
        result=result,
        actor_id=actor_id,
        actor=actor_label,
        target_id=target_id,
        target=target_label,
        org_unit_path=getattr(org_unit, "path", "") or "",
        ip=ip or client_ip(request),
        request_id=get_request_id() or getattr(request, "request_id", "") or "",
        parent_id=parent.pk if parent else None,
        detail=_clean_detail(detail),
    )
    _insert(event, along)
    logger.info(
        "audit %s %s",
        action,
        result,
        extra={"audit_id": event.pk, "action": action, "result": result, "actor": actor_label, "target": target_label},
    )
    return event


def record_events(action: str, result: str, *, actor=None, targets, request=None, parent: AuditEvent | None = None,
                  detail: dict[str, Any] | None = None) -> None:
    """One event per target with the same action, actor and detail, in bulk (a whole class issued at
    once); not logged line by line: the parent event is."""
    actor_id, actor_label = _label(actor)
    ip, request_id = client_ip(request), get_request_id() or getattr(request, "request_id", "") or ""
    clean = _clean_detail(detail)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(action=action, result=result, actor_id=actor_id, actor=actor_label, target_id=t.pk, target=str(getattr(t, "audit_label", t))[:64],
                       ip=ip, request_id=request_id, parent_id=parent.pk if parent else None, detail=clean)
            for t in targets
        ],
        batch_size=1000,
    )

