"""The privacy duties: subject access (audited), erasure, retention and recognising people who return.

This app owns only its erasure records; every other change goes through the owning app's verb
(directory.erase_person, accounts.erase_account, audit.pseudonymise_target, notify.purge_older_than …).
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from schoolid.accounts import services as accounts
from schoolid.accounts.models import Account
from schoolid.accounts.services import erase_account
from schoolid.audit import services as audit
from schoolid.audit.services import record_event
from schoolid.core.profiles import current_profile
from schoolid.credentials.services import forget_account as forget_credentials
from schoolid.directory.models import Person
from schoolid.directory.services import erase_person, is_erased
from schoolid.flows import retention as flows
from schoolid.notify import services as notify
from schoolid.privacy import selectors
from schoolid.privacy.models import ErasureRecord
from schoolid.provisioning import services as provisioning

logger = logging.getLogger("schoolid.privacy")


# --- Keys --------------------------------------------------------------------------------------

def _key() -> bytes:
    configured = getattr(settings, "SCHOOLID_PRIVACY_KEY", "")
    if configured:
        return configured.encode()
    # Derived from the secret key, under its own label, when no key of its own is configured.
    return hmac.new(settings.SECRET_KEY.encode(), b"schoolid.privacy.key", hashlib.sha256).digest()


def national_id_token(scheme: str, number: str) -> str:
    """A keyed hash of a national ID: recognises the number without storing it ("#" + 186 bits).
    A plain hash would not do: national IDs are few enough to hash them all and look the number up."""
    mac = hmac.new(_key(), f"national-id:{scheme}:{number}".encode(), hashlib.sha256).digest()
    return "#" + base64.urlsafe_b64encode(mac).decode().rstrip("=")[:31]


def _row_token(token: str, person_pk: int) -> str:
    """What the erased person's row keeps in place of the number: the start of the keyed hash and the
    row's id, so that someone erased, returning and erased again leaves two distinct rows. Recognition
    uses the full hash on the erasure record."""
    digits, n = "", person_pk
    while True:
        n, r = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
        if not n:
            break
    return f"{token[:24]}.{digits}"[:32]


def pseudonym_for(account_pk: int | None, person_pk: int) -> str:
    """The name an erased person keeps in the audit log: stable (their events still belong together),
    meaningless without the key."""
    mac = hmac.new(_key(), f"pseudonym:{account_pk}:{person_pk}".encode(), hashlib.sha256).hexdigest()
    return f"erased-{mac[:12]}"


# --- Subject access ----------------------------------------------------------------------------

class ExportRefused(PermissionError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def export_for(requester, person: Person, *, request=None, channel: str, fmt: str) -> dict:
    """The subject access export of `person`, audited (who asked, through which channel, which format).
    The caller has checked that `requester` may have it (self, guardian of a young child, staff in scope,
    or an operator at the command line)."""
    data = selectors.subject_access(person)
    target = Account.objects.filter(person=person).first() or f"person:{person.pk}"
    record_event("privacy.exported", "success", actor=requester, target=target, request=request,
                 detail={"via": channel, "format": fmt})
    return data


# --- Erasure -----------------------------------------------------------------------------------

class ErasureRefused(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def erase(person: Person, *, actor=None, reason: str = ErasureRecord.Reason.OPERATOR, request=None) -> ErasureRecord:
    """Erase a person who left the register. Refused (ErasureRefused, audited) while they are in it."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        account = Account.objects.filter(person=person).first()
        refusal = selectors.erasure_refusal(person)
        if refusal is not None:
            transaction.set_rollback(True)
        else:
            record = _erase(person, account, actor=actor, reason=reason, request=request)
    if refusal is not None:
        record_event("privacy.erase", "denied", actor=actor, target=account or f"person:{person.pk}", request=request,
                     detail={"reason": "in_register" if not is_erased(person) else "already_erased"})
        raise ErasureRefused(refusal)
    return record


def _erase(person: Person, account: Account | None, *, actor, reason: str, request) -> ErasureRecord:
    token = national_id_token(person.national_id_scheme, person.national_id)
    pseudonym = pseudonym_for(account.pk if account else None, person.pk)
    # Not the name: another person may have the same one. Events name accounts by user code.
    labels = [account.user_code] if account else []
    labels.append(f"person:{person.pk}")
    addresses = selectors.own_addresses(person)
    needles = [person.national_id, *addresses, *(labels[:1] if account else [])]
    if account is not None:
        flows.forget_account(account)
        forget_credentials(account)
        erase_account(account)
    provisioning.forget_person(person)
    notify.forget_recipients(addresses)
    erase_person(person, national_id_token=_row_token(token, person.pk))
    changed = audit.pseudonymise_target(account_ids=selectors.related_account_ids(person, account), labels=labels,
                                        needles=needles, pseudonym=pseudonym)
    actor_label = getattr(actor, "user_code", None) or (actor if isinstance(actor, str) else "")
    record = ErasureRecord.objects.create(person_id=person.pk, user_code=account.user_code if account else "", national_id_token=token,
                                          pseudonym=pseudonym, reason=reason, erased_by=actor_label[:64])
    record_event("privacy.erased", "success", actor=actor, target=pseudonym, request=request,
                 detail={"erasure": record.pk, "reason": reason, "audit_events_pseudonymised": changed})
    return record


# --- People who come back ----------------------------------------------------------------------

def _returned(record: ErasureRecord, person: Person) -> None:
    updated = ErasureRecord.objects.filter(pk=record.pk, returned_person_id__isnull=True).update(returned_person_id=person.pk, returned_at=timezone.now())
    if updated:
        record_event("privacy.person_returned", "success", target=f"person:{person.pk}",
                     detail={"erasure": record.pk, "erased_user_code": record.user_code})


def recognise(person: Person) -> ErasureRecord | None:
    """If `person` (just created) was erased before, link the erasure record to them."""
    if is_erased(person) or not ErasureRecord.objects.filter(returned_person_id__isnull=True).exists():
        return None
    record = ErasureRecord.objects.filter(national_id_token=national_id_token(person.national_id_scheme, person.national_id),
                                          returned_person_id__isnull=True).first()
    if record is not None and record.person_id != person.pk:
        _returned(record, person)
        return record
    return None


def recognise_on_save(sender, instance: Person, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        recognise(instance)


def returning_people(limit: int | None = None) -> list[tuple[ErasureRecord, Person]]:
    """People created (by a bulk import, which sends no signals) since an open erasure whose national ID
    hashes to it."""
    open_records = {r.national_id_token: r for r in ErasureRecord.objects.filter(returned_person_id__isnull=True)}
    if not open_records:
        return []
    since = min(r.erased_at for r in open_records.values())
    found = []
    candidates = Person.objects.filter(created_at__gte=since).exclude(national_id__startswith="#").values_list("pk", "national_id_scheme", "national_id")
    for pk, scheme, number in candidates.iterator(chunk_size=5000):
        record = open_records.get(national_id_token(scheme, number))
        if record is not None:
            found.append((record, Person.objects.get(pk=pk)))
            if limit is not None and len(found) >= limit:
                break
    return found


# --- Retention ---------------------------------------------------------------------------------

@dataclass
class Step:
    category: str
    setting: str  # the profile setting that decides it
    cutoff: datetime.datetime | None
    ids: list = field(default_factory=list)
    done: int = 0


@dataclass
class RetentionPlan:
    steps: list[Step]
    dry_run: bool

    def lines(self) -> list[str]:
        """What the run does (dry run: would do), one line per category; identical for both."""
        out = []
        for step in self.steps:
            since = f"before {step.cutoff:%Y-%m-%d %H:%M} UTC" if step.cutoff else ""
            out.append(f"{step.category}: {len(step.ids)} {since} ({step.setting})".replace("  ", " "))
        return out


def _batch() -> int:
    return max(1, int(getattr(settings, "SCHOOLID_PRIVACY_BATCH_SIZE", 1000)))


def plan_retention(now=None, limit: int | None = None) -> list[Step]:
    """What the retention settings ask for now: each category's rows (at most `limit` each)."""
    now = now or timezone.now()
    r = current_profile().retention
    days = datetime.timedelta(days=1)
    steps = []

    left = Step("erase people who left the register", "left_people_days", now - r.left_people_days * days)
    left.ids = [p.pk for p in selectors.left_before(left.cutoff, limit)]
    steps.append(left)
    returning = Step("recognise returning people", "-", None)
    returning.ids = [(rec.pk, p.pk) for rec, p in returning_people(limit)]
    steps.append(returning)
    events = Step("delete audit events", "audit_event_days", now - r.audit_event_days * days)
    events.ids = audit.event_ids_before(events.cutoff, limit)
    steps.append(events)
    bodies = Step("empty the text of sent messages", "outbox_body_hours", now - datetime.timedelta(hours=r.outbox_body_hours))
    bodies.ids = notify.finished_with_body_before(bodies.cutoff, limit)
    steps.append(bodies)
    messages = Step("delete sent messages", "outbox_message_days", now - r.outbox_message_days * days)
    messages.ids = notify.finished_before(messages.cutoff, limit)
    steps.append(messages)
    runs = Step("delete import reports", "import_report_days", now - r.import_report_days * days)
    runs.ids = provisioning.runs_before(runs.cutoff, limit)
    steps.append(runs)
    journeys = Step("delete ended journeys", "ended_session_days", now - r.ended_session_days * days)
    journeys.ids = flows.flows_ended_before(journeys.cutoff, limit)
    steps.append(journeys)
    sessions = Step("delete expired sessions", "ended_session_days", now - r.ended_session_days * days)
    sessions.ids = selectors.ended_sessions_before(sessions.cutoff, limit)
    steps.append(sessions)
    records = Step("delete ended session records", "ended_session_days", now - r.ended_session_days * days)
    records.ids = accounts.session_records_ended_before(records.cutoff, limit)
    steps.append(records)
    return steps


def _apply(step: Step) -> int:
    if not step.ids:
        return 0
    if step.setting == "left_people_days":
        done = 0
        for pk in step.ids:
            try:
                erase(Person.objects.get(pk=pk), actor="retention", reason=ErasureRecord.Reason.RETENTION)
                done += 1
            except ErasureRefused:  # came back in the meantime: nothing to do
                pass
        return done
    if step.category == "recognise returning people":
        for record_pk, person_pk in step.ids:
            _returned(ErasureRecord.objects.get(pk=record_pk), Person.objects.get(pk=person_pk))
        return len(step.ids)
    if step.setting == "audit_event_days":
        return audit.purge_events(step.ids)
    if step.setting == "outbox_body_hours":
        return notify.empty_bodies(step.ids)
    if step.setting == "outbox_message_days":
        return notify.purge_older_than(step.ids)
    if step.setting == "import_report_days":
        return provisioning.purge_runs(step.ids)
    if step.category == "delete ended journeys":
        return flows.purge_flows(step.ids)
    if step.category == "delete ended session records":
        return accounts.purge_session_records(step.ids)
    if step.category == "delete expired sessions":
        from importlib import import_module

        model = import_module(settings.SESSION_ENGINE).SessionStore.get_model_class()
        return model.objects.filter(session_key__in=step.ids).delete()[0]
    raise ValueError(step.category)


def retain(*, dry_run: bool = False, now=None) -> RetentionPlan:
    """Apply the retention settings; idempotent (a second run finds nothing). Everything is planned
    first, then applied in batches of SCHOOLID_PRIVACY_BATCH_SIZE, each in its own transaction, so a
    dry run plans exactly the rows the real run takes (an erasure that also removes a person's messages
    does not change the count of the message step)."""
    now = now or timezone.now()
    steps = plan_retention(now)
    if not dry_run:
        size = _batch()
        for step in steps:
            ids = step.ids
            for start in range(0, len(ids), size):
                step.done += _apply(Step(step.category, step.setting, step.cutoff, ids[start:start + size]))
        record_event("privacy.retention", "success", actor="retention", detail={s.category: s.done for s in steps})
    return RetentionPlan(steps=steps, dry_run=dry_run)
