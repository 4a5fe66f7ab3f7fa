from schoolid.audit.models import AuditEvent


def events_for_target(target_id: int, limit: int = 100):
    return AuditEvent.objects.filter(target_id=target_id).order_by("-id")[:limit]


def recent_events(action: str | None = None, limit: int = 100):
    qs = AuditEvent.objects.all()
    if action:
        qs = qs.filter(action=action)
    return qs.order_by("-id")[:limit]
