"""Reads for the privacy duties: what is held about one person (subject access), who may be erased,
who left long enough ago, and the counts for the records of processing."""
from __future__ import annotations

import datetime
import itertools
from importlib import import_module

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from schoolid.accounts.models import Account, RoleAssignment
from schoolid.audit.models import AuditEvent
from schoolid.credentials.models import IssuedSecret, RecoveryCode, TotpDevice
from schoolid.directory.models import AccessRequest, Guardianship, Person
from schoolid.directory.services import is_erased
from schoolid.flows.models import Flow
from schoolid.notify.models import OutboxMessage
from schoolid.provisioning.models import ImportProblem, ImportRun, RegisterRecord

EXPORT_FORMAT = "schoolid-subject-access/1"
# Audit detail keys that describe what happened, never who else was involved (a guardian's events may
# name a child by user code, a staff member's by theirs): only these reach an export.
_SAFE_DETAIL_KEYS = frozenset({"reason", "factor", "channel", "client", "fields", "need", "via", "count", "ended_other_sessions",
                               "format", "resend", "removed", "failures", "expired", "wrong", "email", "mobile", "activation_link", "role"})


def _iso(value) -> str | None:
    return value.isoformat() if value else None


# --- Subject access -----------------------------------------------------------------------------

def _person_section(person: Person) -> dict:
    return {
        "national_id_scheme": person.national_id_scheme,
        "national_id": person.national_id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "given_name_latin": person.given_name_latin,
        "family_name_latin": person.family_name_latin,
        "birth_date": _iso(person.birth_date),
        "from_school_register": bool(person.sourced_id),
        "created_at": _iso(person.created_at),
        "updated_at": _iso(person.updated_at),
    }


def _contacts_section(person: Person) -> list[dict]:
    contacts = []
    if person.email:
        contacts.append({"kind": "email", "value": person.email, "verified": person.email_verified, "edited_here_at": _iso(person.email_edited_at)})
    if person.mobile:
        contacts.append({"kind": "mobile", "value": person.mobile, "verified": person.mobile_verified, "edited_here_at": _iso(person.mobile_edited_at)})
    return contacts


def _account_section(account: Account | None) -> dict | None:
    if account is None:
        return None
    from schoolid.accounts.security_questions import SecurityAnswer

    return {
        "user_code": account.user_code,
        "status": account.status,
        "created_at": _iso(account.created_at),
        "activated_at": _iso(account.activated_at),
        "last_sign_in": _iso(account.last_login),
        "password_changed_at": _iso(account.password_changed_at),
        "must_change_password": account.must_change_password,
        "preferred_language": account.preferred_language,
        "second_factor": TotpDevice.objects.filter(account=account, confirmed_at__isnull=False).exists(),
        "recovery_codes_unused": RecoveryCode.objects.filter(account=account, used_at__isnull=True).count(),
        "security_question_set": SecurityAnswer.objects.filter(account=account).exists(),
        "one_time_passwords_issued": [
            {"issued_at": _iso(s.created_at), "expires_at": _iso(s.expires_at), "used_at": _iso(s.used_at), "revoked_at": _iso(s.revoked_at)}
            for s in IssuedSecret.objects.filter(account=account).order_by("created_at")
        ],
    }


def _roles_section(account: Account | None) -> list[dict]:
    if account is None:
        return []
    from schoolid.accounts.models import PendingRole

    held = [
        {"role": a.role, "org_unit": a.org_unit.name, "org_unit_code": a.org_unit.code, "org_unit_kind": a.org_unit.kind,
         "source": a.source, "valid_from": _iso(a.valid_from), "valid_until": _iso(a.valid_until)}
        for a in RoleAssignment.objects.filter(account=account).select_related("org_unit").order_by("valid_from", "pk")
    ]
    waiting = [
        {"role": p.role, "org_unit": p.org_unit.name, "org_unit_code": p.org_unit.code, "org_unit_kind": p.org_unit.kind,
         "source": "pending", "status": p.status, "valid_from": None, "valid_until": None, "asked_at": _iso(p.created_at)}
        for p in PendingRole.objects.filter(account=account).select_related("org_unit").order_by("created_at", "pk")
    ]
    return held + waiting


def _links_section(person: Person) -> dict:
    """Guardian links: the other side by name only (no national ID, birth date, contact or account)."""
    def row(link, other):
        return {"name": other.full_name, "status": link.status, "source": link.source, "since": _iso(link.created_at), "decided_at": _iso(link.decided_at)}

    return {
        "guardians": [row(link, link.guardian) for link in Guardianship.objects.filter(student=person).select_related("guardian").order_by("created_at")],
        "children": [row(link, link.student) for link in Guardianship.objects.filter(guardian=person).select_related("student").order_by("created_at")],
    }


def _register_section(person: Person) -> dict | None:
    record = RegisterRecord.objects.filter(person=person).first()
    if record is None:
        return None
    return {"last_changed_at": _iso(record.last_changed_at), "missing_since": _iso(record.missing_since),
            "roles_ended_at": _iso(record.deactivated_at), "disabled_at": _iso(record.disabled_at),
            "email_from_register": record.register_email, "mobile_from_register": record.register_mobile}


def _sessions_section(account: Account | None) -> dict:
    """Where the person was signed in (the session index: device, address, times) and their journeys."""
    if account is None:
        return {"signed_in": [], "journeys": []}
    from schoolid.accounts.models import SignedInSession
    from schoolid.accounts.sessions import device_label

    return {
        "signed_in": [{"device": device_label(r.user_agent), "user_agent": r.user_agent, "ip": r.ip, "signed_in_at": _iso(r.created_at),
                       "last_seen_at": _iso(r.last_seen_at), "ended_at": _iso(r.ended_at)}
                      for r in SignedInSession.objects.filter(account=account).order_by("created_at")],
        "journeys": [{"kind": f.kind, "state": f.state, "started_at": _iso(f.created_at), "expires_at": _iso(f.expires_at)}
                     for f in Flow.objects.filter(account=account).order_by("created_at")],
    }


def own_addresses(person: Person) -> list[str]:
    """The person's e-mail and mobile that nobody else in the register holds (a child may share a
    parent's): messages to a shared address may be about the other person."""
    own = []
    for field in ("email", "mobile"):
        value = getattr(person, field)
        if value and not Person.objects.filter(**{field: value}).exclude(pk=person.pk).exists():
            own.append(value)
    return own


def _messages_section(person: Person) -> list[dict]:
    """Messages sent to the person's own addresses; never their text (it may carry a live code or link)."""
    addresses = own_addresses(person)
    if not addresses:
        return []
    return [{"channel": m.channel, "to": m.to, "subject": m.subject, "purpose": m.purpose, "status": m.status,
             "created_at": _iso(m.created_at), "sent_at": _iso(m.sent_at)}
            for m in OutboxMessage.objects.filter(to__in=addresses).order_by("created_at")]


def _access_requests_section(person: Person) -> list[dict]:
    rows = AccessRequest.objects.filter(Q(national_id_scheme=person.national_id_scheme, national_id=person.national_id) | Q(matched_person=person))
    return [{"role": r.role, "school": r.school.name, "given_name": r.given_name, "family_name": r.family_name, "email": r.email,
             "mobile": r.mobile, "status": r.status, "created_at": _iso(r.created_at), "decided_at": _iso(r.decided_at)}
            for r in rows.select_related("school").order_by("created_at")]


def _actor_kind(event: AuditEvent, account: Account | None) -> str:
    if account is not None and event.actor_id == account.pk and event.actor == account.user_code:
        return "self"
    if event.actor in ("", None):
        return "system"
    if event.actor in ("cli", "register", "sync") or event.actor.startswith("scim"):
        return "system"
    return "staff"


def _audit_section(person: Person, account: Account | None) -> list[dict]:
    """Events where the person is the target. Who else acted is said by kind only (self, staff,
    system); the address is given only for their own actions; detail keeps only descriptive keys."""
    if account is None:
        return []
    events = AuditEvent.objects.filter(target_id=account.pk, target=account.user_code).order_by("id")
    rows = []
    for event in events.iterator(chunk_size=1000):
        actor = _actor_kind(event, account)
        rows.append({"at": _iso(event.at), "action": event.action, "result": event.result, "by": actor,
                     "ip": event.ip if actor == "self" else None,
                     "detail": {k: v for k, v in (event.detail or {}).items() if k in _SAFE_DETAIL_KEYS}})
    return rows


def _extra_sections(person: Person, account: Account | None) -> dict:
    """Consents and linked providers (and any later category): each app that holds one names a
    function `f(person, account) -> list` in SCHOOLID_SUBJECT_ACCESS_SECTIONS; until then, empty."""
    sections = {"consents": [], "linked_providers": []}
    for name, path in getattr(settings, "SCHOOLID_SUBJECT_ACCESS_SECTIONS", {}).items():
        sections[name] = import_string(path)(person, account)
    return sections


def subject_access(person: Person) -> dict:
    """Everything SchoolID holds about `person`, and nothing about anyone else (docs/privacy.md)."""
    account = Account.objects.filter(person=person).first()
    return {
        "format": EXPORT_FORMAT,
        "generated_at": _iso(timezone.now()),
        "controller": settings.SCHOOLID_PROFILE.name,
        "person": _person_section(person),
        "contacts": _contacts_section(person),
        "account": _account_section(account),
        "roles": _roles_section(account),
        "guardian_links": _links_section(person),
        "school_register": _register_section(person),
        "sessions": _sessions_section(account),
        "messages": _messages_section(person),
        "access_requests": _access_requests_section(person),
        **_extra_sections(person, account),
        "audit_events": _audit_section(person, account),
    }


# --- Erasure and retention ----------------------------------------------------------------------

def erasure_refusal(person: Person) -> str | None:
    """Why `person` may not be erased, in the reader's language; None when they may be."""
    if is_erased(person):
        return _("This person was erased already.")
    account = Account.objects.filter(person=person).first()
    if account is not None:
        current = list(RoleAssignment.objects.current().filter(account=account).select_related("org_unit"))
        if current:
            return _("This person is still in the register (%(roles)s). The register is the source: the school ends these roles first.") % {
                "roles": ", ".join(f"{a.get_role_display()} — {a.org_unit.name}" for a in current)}
    if RegisterRecord.objects.filter(person=person, missing_since__isnull=True).exists():
        return _("The school register still lists this person. The register is the source: the school removes them there first.")
    present_children = Guardianship.objects.filter(guardian=person, status=Guardianship.Status.CONFIRMED).filter(
        student__account__assignments__in=RoleAssignment.objects.current())
    if present_children.exists():
        return _("This person is the confirmed guardian of a pupil still in the register.")
    return None


def related_account_ids(person: Person, account: Account | None) -> list[int]:
    """The person's account and those of everyone linked to them as guardian or child: the events
    that can name the person."""
    if account is None:
        return []
    linked = Guardianship.objects.filter(Q(guardian=person) | Q(student=person)).values_list("guardian_id", "student_id")
    people = {pk for pair in linked for pk in pair} - {person.pk}
    return [account.pk, *Account.objects.filter(person_id__in=people).values_list("pk", flat=True)]


def left_before(cutoff, limit: int | None = None) -> list[Person]:
    """People who left the register before `cutoff`: every role ended by then, account disabled, not
    erased yet. Each is checked again with `erasure_refusal`."""
    left = (
        Account.objects.filter(status=Account.Status.DISABLED, person__isnull=False)
        .exclude(person__national_id__startswith="#")
        .exclude(assignments__in=RoleAssignment.objects.current())
        .annotate(left_at=Max("assignments__valid_until"))
        .filter(left_at__lt=cutoff)
        .order_by("left_at", "pk")
        .select_related("person")
    )
    # Parents known only by their links (no role of their own): left when every link ended before the
    # cutoff and they have not signed in since.
    link_only = (
        Account.objects.filter(person__isnull=False, assignments__isnull=True)
        .exclude(person__national_id__startswith="#")
        .exclude(person__wards__status__in=[Guardianship.Status.PROPOSED, Guardianship.Status.CONFIRMED])
        .filter(person__wards__isnull=False)
        .annotate(left_at=Max("person__wards__decided_at"))
        .filter(left_at__lt=cutoff)
        .filter(Q(last_login__isnull=True) | Q(last_login__lt=cutoff))
        .order_by("left_at", "pk")
        .select_related("person")
    )
    people = []
    for account in itertools.chain(left.iterator(chunk_size=500), link_only.iterator(chunk_size=500)):
        if erasure_refusal(account.person) is None:
            people.append(account.person)
            if limit is not None and len(people) >= limit:
                break
    return people


def ended_sessions_before(cutoff, limit: int | None = None) -> list[str]:
    """Expired database sessions (the embedded default; Redis ends its own)."""
    engine = import_module(settings.SESSION_ENGINE)
    if not hasattr(engine.SessionStore, "get_model_class"):
        return []
    model = engine.SessionStore.get_model_class()
    return list(model.objects.filter(expire_date__lt=cutoff).order_by("expire_date").values_list("session_key", flat=True)[:limit])


# --- Records of processing ---------------------------------------------------------------------

def _session_records():
    from schoolid.accounts.models import SignedInSession

    return SignedInSession.objects.all()


AGE_BUCKETS = ((30, "< 30 d"), (365, "30 d – 1 y"), (730, "1 – 2 y"), (None, "> 2 y"))


def _by_age(qs, field: str, now) -> dict[str, int]:
    counts, newer = {}, None
    for days, label in AGE_BUCKETS:
        part = qs
        if days is not None:
            part = part.filter(**{f"{field}__gte": now - datetime.timedelta(days=days)})
        if newer is not None:
            part = part.filter(**{f"{field}__lt": now - datetime.timedelta(days=newer)})
        counts[label] = part.count()
        newer = days
    return counts


def records_report() -> list[tuple[str, dict[str, int]]]:
    """(category, {age bucket: count}) for what is held, aged by the time each record was made or
    last changed."""
    now = timezone.now()
    people = Person.objects.all()
    current = RoleAssignment.objects.current()
    present = people.filter(account__assignments__in=current)
    in_register = people.filter(Q(pk__in=present.values("pk")) | Q(
        wards__status=Guardianship.Status.CONFIRMED, wards__student__in=present.values("pk"))).distinct()
    erased = people.filter(national_id__startswith="#")
    left = people.exclude(national_id__startswith="#").exclude(pk__in=in_register.values("pk"))
    return [
        ("people in the register", _by_age(in_register, "updated_at", now)),
        ("people who left (not erased yet)", _by_age(left, "updated_at", now)),
        ("people erased (keyed hash only)", _by_age(erased, "updated_at", now)),
        ("people with an e-mail address", _by_age(people.exclude(email=""), "updated_at", now)),
        ("people with a mobile number", _by_age(people.exclude(mobile=""), "updated_at", now)),
        ("people with a birth date", _by_age(people.filter(birth_date__isnull=False), "updated_at", now)),
        ("accounts", _by_age(Account.objects.all(), "created_at", now)),
        ("role assignments (current and ended)", _by_age(RoleAssignment.objects.all(), "valid_from", now)),
        ("guardian links", _by_age(Guardianship.objects.all(), "created_at", now)),
        ("access requests", _by_age(AccessRequest.objects.all(), "created_at", now)),
        ("audit events", _by_age(AuditEvent.objects.all(), "at", now)),
        ("outbox messages with text", _by_age(OutboxMessage.objects.exclude(body=""), "created_at", now)),
        ("outbox messages, text emptied", _by_age(OutboxMessage.objects.filter(body=""), "created_at", now)),
        ("import runs", _by_age(ImportRun.objects.all(), "started_at", now)),
        ("refused import rows", _by_age(ImportProblem.objects.all(), "run__started_at", now)),
        ("journeys (flows)", _by_age(Flow.objects.all(), "created_at", now)),
        ("signed-in session records", _by_age(_session_records(), "created_at", now)),
        ("one-time passwords issued (hashes)", _by_age(IssuedSecret.objects.all(), "created_at", now)),
    ]
