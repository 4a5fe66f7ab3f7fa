"""Writing audit events. The only write path to the audit table."""
from __future__ import annotations

import logging
from typing import Any

from django.db import connection
from django.utils import timezone

from schoolid.audit.models import AuditEvent
from schoolid.core import metrics
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
    metrics.record_audit(action, result)
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


# --- Owner verbs for the privacy duties (retention, erasure): the only changes an event may see. ---

class _Maintenance:
    """A marker row visible only inside the caller's transaction: the triggers allow the change."""

    def __init__(self, reason: str):
        self.reason = reason

    def __enter__(self):
        from schoolid.audit.models import AuditMaintenance

        self.marker = AuditMaintenance.objects.create(reason=self.reason[:32])
        return self

    def __exit__(self, *exc):
        from schoolid.audit.models import AuditMaintenance

        AuditMaintenance.objects.filter(pk=self.marker.pk).delete()
        return False


def event_ids_before(cutoff, limit: int | None = None) -> list[int]:
    """The oldest events older than `cutoff`, at most `limit` of them (retention plans from this)."""
    return list(AuditEvent.objects.filter(at__lt=cutoff).order_by("id").values_list("id", flat=True)[:limit])


def purge_events(ids: list[int]) -> int:
    """Delete these events (retention). Runs in its own transaction."""
    from django.db import transaction

    if not ids:
        return 0
    with transaction.atomic(), _Maintenance("retention"), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id IN ({', '.join(['%s'] * len(ids))})", list(ids))
        return cursor.rowcount


def _scrub(value, needles: list[str]):
    if isinstance(value, str):
        return "[erased]" if any(n and n in value for n in needles) else value
    if isinstance(value, list):
        return [_scrub(v, needles) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, needles) for k, v in value.items()}
    return value


def pseudonymise_target(*, account_ids: list[int], labels: list[str], needles: list[str], pseudonym: str) -> int:
    """An erased person's events keep their shape (time, action, result, ids, unit) but name them only by
    `pseudonym`. Looked at: the events of `account_ids` as actor or target (the person's account and
    those of their linked guardians or children, whose events may name them in detail), through the
    indexed ids; without an account, events whose target is one of `labels`. Actor and target labels
    that are one of `labels` become the pseudonym (and the address of their own actions is dropped);
    detail values containing one of `needles` become "[erased]". Returns the number of events changed."""
    from django.db import transaction
    from django.db.models import Q

    labels = [label for label in labels if label]
    needles = [n for n in needles if n and len(n) >= 3]
    if not labels:
        return 0
    scope = Q(actor_id__in=account_ids) | Q(target_id__in=account_ids) if account_ids else Q(target__in=labels)
    table = AuditEvent._meta.db_table
    detail_field = AuditEvent._meta.get_field("detail")
    changed = 0
    with transaction.atomic(), _Maintenance("erasure"):
        rows = list(AuditEvent.objects.filter(scope).values_list("id", "actor", "target", "ip", "detail"))
        for pk, actor, target, ip, detail in rows:
            new_actor = pseudonym if actor in labels else actor
            new_ip = None if actor in labels else ip
            new_target = pseudonym if target in labels else target
            new_detail = _scrub(detail, needles)
            if (new_actor, new_ip, new_target, new_detail) == (actor, ip, target, detail):
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {table} SET actor = %s, ip = %s, target = %s, detail = %s WHERE id = %s",
                               [new_actor, new_ip, new_target, detail_field.get_db_prep_save(new_detail, connection), pk])
            changed += 1
    return changed
