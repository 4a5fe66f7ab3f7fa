"""The outbox: enqueue in the caller's transaction, deliver after commit, retry with back-off."""
from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from schoolid.notify import channels
from schoolid.notify.models import OutboxMessage

logger = logging.getLogger("schoolid.notify")
# A message being sent holds a lease; if the process dies the lease runs out and it is tried again.
LEASE_SECONDS = 300


def enqueue(*, channel: str, to: str, subject: str, body: str, purpose: str, dedupe_key: str) -> OutboxMessage:
    """Store the message (once per dedupe key) and deliver it after the surrounding commit."""
    message, created = OutboxMessage.objects.get_or_create(
        dedupe_key=dedupe_key[:128],
        defaults={"channel": channel, "to": to, "subject": subject[:200], "body": body, "purpose": purpose},
    )
    if created:
        transaction.on_commit(lambda: schedule_delivery(message.pk))
    return message


def schedule_delivery(message_id) -> None:
    from schoolid.notify.tasks import deliver_message

    deliver_message.delay(str(message_id))


def _retry_delay(attempts: int) -> int:
    return min(settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1), 6 * 3600)


def deliver(message_id) -> str:
    """Try one message now if it is due. Returns its status afterwards."""
    now = timezone.now()
    claimed = OutboxMessage.objects.filter(pk=message_id, status=OutboxMessage.Status.QUEUED, next_attempt_at__lte=now).update(
        status=OutboxMessage.Status.SENDING, next_attempt_at=now + datetime.timedelta(seconds=LEASE_SECONDS)
    )
    message = OutboxMessage.objects.get(pk=message_id)
    if not claimed:
        return message.status
    try:
        if message.channel == OutboxMessage.Channel.EMAIL:
            channels.send_email(message.to, message.subject, message.body)
        else:
            channels.send_sms(message.to, message.body)
    except channels.DeliveryError as exc:
        attempts = message.attempts + 1
        dead = attempts >= settings.OUTBOX_MAX_ATTEMPTS
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxMessage.Status.DEAD if dead else OutboxMessage.Status.QUEUED,
            attempts=attempts,
            last_error=str(exc)[:300],
            next_attempt_at=timezone.now() + datetime.timedelta(seconds=_retry_delay(attempts)),
        )
        logger.warning("outbox delivery failed", extra={"message_id": str(message.pk), "channel": message.channel, "attempts": attempts, "dead": dead, "error": str(exc)[:200]})
        return OutboxMessage.Status.DEAD if dead else OutboxMessage.Status.QUEUED
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.SENT, attempts=message.attempts + 1, sent_at=timezone.now(), last_error="")
    return OutboxMessage.Status.SENT


def deliver_due(limit: int = 500) -> dict[str, int]:
    """Deliver every message whose time has come; lost leases are taken back first."""
    now = timezone.now()
    OutboxMessage.objects.filter(status=OutboxMessage.Status.SENDING, next_attempt_at__lte=now).update(status=OutboxMessage.Status.QUEUED)
    counts: dict[str, int] = {}
    for message_id in OutboxMessage.objects.filter(status=OutboxMessage.Status.QUEUED, next_attempt_at__lte=now).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]:
        status = deliver(message_id)
        counts[status] = counts.get(status, 0) + 1
    return counts


def notify_person(person, *, purpose: str, subject, text, dedupe_key: str, language: str | None = None) -> list[OutboxMessage]:
    """Send a notice to every verified contact point of a person (NIST §4.6: notify all addresses)."""
    messages = []
    if person is None:
        return messages
    with translation.override(language or settings.SCHOOLID_PROFILE.default_language):
        subject_text, body = str(subject), str(text)
    if person.email and person.email_verified:
        messages.append(enqueue(channel="email", to=person.email, subject=subject_text, body=body, purpose=purpose, dedupe_key=f"{dedupe_key}:email"))
    if person.mobile and person.mobile_verified:
        messages.append(enqueue(channel="sms", to=person.mobile, subject="", body=body, purpose=purpose, dedupe_key=f"{dedupe_key}:sms"))
    return messages


# --- Retention and erasure (the privacy app decides when). ---

_FINISHED = (OutboxMessage.Status.SENT, OutboxMessage.Status.DEAD)


def finished_with_body_before(cutoff, limit: int | None = None) -> list:
    """Delivered or failed messages older than `cutoff` whose text is still stored."""
    return list(OutboxMessage.objects.filter(status__in=_FINISHED, created_at__lt=cutoff).exclude(body="")
                .order_by("created_at").values_list("pk", flat=True)[:limit])


def empty_bodies(ids) -> int:
    """Forget the text (with whatever code or link it carried) of finished messages; who, when and
    why stay until the message itself is purged."""
    return OutboxMessage.objects.filter(pk__in=list(ids), status__in=_FINISHED).update(body="", subject="")


def finished_before(cutoff, limit: int | None = None) -> list:
    return list(OutboxMessage.objects.filter(status__in=_FINISHED, created_at__lt=cutoff).order_by("created_at").values_list("pk", flat=True)[:limit])


def purge_older_than(ids) -> int:
    """Delete finished messages (retention); queued ones are never purged."""
    return OutboxMessage.objects.filter(pk__in=list(ids), status__in=_FINISHED).delete()[0]


def forget_recipients(addresses) -> int:
    """An erased person's messages, whatever their state: nothing more goes to them."""
    addresses = [a for a in addresses if a]
    if not addresses:
        return 0
    return OutboxMessage.objects.filter(to__in=addresses).delete()[0]
