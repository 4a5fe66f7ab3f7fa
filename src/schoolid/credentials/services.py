"""Issuing one-time secrets: group issue, individual reset, and signing in with a secret.

One service for the console, the API and the CLI: the scope rule is checked for every target before
anything is written, and the whole batch is written in one transaction, so a refusal or a failure
issues nothing (all or nothing). A repeated idempotency key returns the first batch instead of
issuing again.
"""
from __future__ import annotations

import datetime
import json
import secrets as pysecrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from schoolid.accounts.models import Account
from schoolid.accounts.scope import Action
from schoolid.accounts.selectors import login_identifier_for
from schoolid.accounts.services import ScopeDenied, authorize_many, replace_passwords
from schoolid.audit.services import record_event, record_events
from schoolid.core.profiles import Profile, current_profile
from schoolid.credentials.generators import (
    generate_secret,
    hash_secret,
    new_link_token,
    normalize_secret,
    token_digest,
    verify_secret,
)
from schoolid.credentials.models import IssuanceBatch, IssuedSecret


@dataclass
class IssuedItem:
    account_id: int
    user_code: str
    name: str
    school: str
    class_name: str
    login_kind: str
    login_id: str
    secret: str
    link: str
    expires_at: str  # ISO date


@dataclass
class IssuanceResult:
    batch: IssuanceBatch
    items: list[IssuedItem] | None  # None when the key was used before: secrets are never shown twice
    replayed: bool = False


class IssuanceRefused(ScopeDenied):
    """At least one target is outside the actor's scope; nothing was issued."""

    def __init__(self, decision, refused: list[Account]):
        super().__init__(decision)
        self.refused = refused


def _place(account: Account) -> tuple[str, str]:
    """(school, class) names from the account's current assignments (loaded by decide_many)."""
    school = klass = ""
    assignments = getattr(account, "current_assignments", None)
    if assignments is None:
        assignments = account.assignments.current().select_related("org_unit__parent")
    for assignment in assignments:
        unit = assignment.org_unit
        if unit.kind == "class":
            klass, school = unit.name, unit.parent.name if unit.parent else school
        elif unit.kind == "school" and not school:
            school = unit.name
    return school, klass


def sign_in_link(token: str) -> str:
    return f"{settings.BASE_URL}/signin/slip/{token}/"


def issue_secrets(
    actor: Account,
    targets: list[Account],
    *,
    idempotency_key: str,
    kind: str = IssuanceBatch.Kind.GROUP,
    description: str = "",
    request=None,
    profile: Profile | None = None,
) -> IssuanceResult:
    profile = profile or current_profile()
    existing = IssuanceBatch.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.actor_id != actor.pk:
            raise ValueError("idempotency key belongs to another actor")
        return IssuanceResult(existing, None, replayed=True)
    if not targets:
        raise ValueError("no accounts selected")

    # The scope rule for every target first; one refusal stops the whole batch.
    decisions, refused = authorize_many(actor, Action.ISSUE_CREDENTIALS, targets, request=request, profile=profile)
    if refused:
        raise IssuanceRefused(decisions[refused[0].pk], refused)
    return _write_issue(actor, targets, idempotency_key=idempotency_key, kind=kind, description=description, request=request, profile=profile)


def _write_issue(actor: Account, targets: list[Account], *, idempotency_key: str, kind: str, description: str, request, profile: Profile) -> IssuanceResult:
    """Generate, hash and store the secrets, all or nothing; callers have checked who may do it."""
    now = timezone.now()
    expires = now + datetime.timedelta(days=profile.issued_secret_days)
    plain = [generate_secret() for _ in targets]
    tokens = [new_link_token() for _ in targets]
    # argon2-cffi releases the GIL, so two threads use both cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashes = list(pool.map(hash_secret, plain, chunksize=64))

    try:
        with transaction.atomic():
            batch = IssuanceBatch.objects.create(kind=kind, actor=actor, idempotency_key=idempotency_key, count=len(targets), description=description[:255])
            ids = [t.pk for t in targets]
            IssuedSecret.objects.filter(account_id__in=ids, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
            IssuedSecret.objects.bulk_create(
                [
                    IssuedSecret(account=t, batch=batch, secret_hash=h, link_digest=token_digest(tok), expires_at=expires, forces_change=profile.first_use_forces_change)
                    for t, h, tok in zip(targets, hashes, tokens)
                ],
                batch_size=1000,
            )
            # Old passwords stop working and every session of these accounts ends.
            replace_passwords(ids, must_change=profile.first_use_forces_change)
            parent = record_event(f"credentials.{kind}_issue", "success", actor=actor, request=request,
                                  detail={"batch": str(batch.pk), "count": len(targets), "description": description[:200]})
            record_events("credentials.issue", "success", actor=actor, targets=targets, request=request, parent=parent, detail={"batch": str(batch.pk)})
            IssuanceBatch.objects.filter(pk=batch.pk).update(audit_event_id=parent.pk)
    except IntegrityError:
        # A concurrent double submit with the same key won the race: show its batch, issue nothing.
        existing = IssuanceBatch.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return IssuanceResult(existing, None, replayed=True)

    items = []
    for target, secret, token in zip(targets, plain, tokens):
        kind_, login_id = login_identifier_for(target, profile)
        school, klass = _place(target)
        person = target.person
        items.append(IssuedItem(target.pk, target.user_code, person.full_name if person else target.display_code, school, klass,
                                kind_, login_id, secret, sign_in_link(token), expires.date().isoformat()))
    return IssuanceResult(batch, items)


# --- keeping a result for its page only ---------------------------------------------------------
RESULT_TTL_SECONDS = 15 * 60


def stash_result(session, result: IssuanceResult) -> None:
    """Keep the secrets encrypted in the cache; the key lives only in this browser's session.

    The result page and its PDF and CSV downloads read them; any other console page calls
    `forget_results`, after which they cannot be shown again (re-issue instead)."""
    key = Fernet.generate_key()
    blob = Fernet(key).encrypt(json.dumps([asdict(i) for i in result.items]).encode())
    cache.set(f"issuance:{result.batch.pk}", blob, timeout=RESULT_TTL_SECONDS)
    session.setdefault("issuance_keys", {})[str(result.batch.pk)] = key.decode()
    session.modified = True


def stashed_result(session, batch_id: str) -> list[IssuedItem] | None:
    key = session.get("issuance_keys", {}).get(str(batch_id))
    blob = cache.get(f"issuance:{batch_id}")
    if not key or not blob:
        return None
    try:
        return [IssuedItem(**row) for row in json.loads(Fernet(key.encode()).decrypt(blob))]
    except (InvalidToken, TypeError, ValueError):
        return None


def forget_results(session) -> None:
    keys = session.pop("issuance_keys", None)
    for batch_id in keys or {}:
        cache.delete(f"issuance:{batch_id}")


# --- signing in with a secret -------------------------------------------------------------------
def open_secret(account: Account) -> IssuedSecret | None:
    now = timezone.now()
    return (
        IssuedSecret.objects.filter(account=account, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )


def matching_secret(account: Account, typed: str) -> IssuedSecret | None:
    secret = normalize_secret(typed)
    if secret is None:
        return None
    candidate = open_secret(account)
    if candidate is not None and verify_secret(secret, candidate.secret_hash):
        return candidate
    return None


def secret_for_link(token: str) -> IssuedSecret | None:
    """The open secret a QR link points to, if the link is unused and unexpired."""
    now = timezone.now()
    return (
        IssuedSecret.objects.select_related("account__person")
        .filter(link_digest=token_digest(token), link_used_at__isnull=True, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )


def mark_link_used(secret: IssuedSecret) -> bool:
    return IssuedSecret.objects.filter(pk=secret.pk, link_used_at__isnull=True).update(link_used_at=timezone.now()) == 1


def mark_secret_used(secret: IssuedSecret) -> bool:
    return IssuedSecret.objects.filter(pk=secret.pk, used_at__isnull=True).update(used_at=timezone.now()) == 1


def new_idempotency_key() -> str:
    return pysecrets.token_urlsafe(24)


def reset_second_factor(actor: Account, target: Account, *, request=None) -> None:
    """The person above in scope removes a staff member's authenticator; they enrol again at their
    next sign-in. Same scope rule as a password reset."""
    from django.utils.translation import gettext_lazy as _

    from schoolid.accounts.services import authorize
    from schoolid.credentials.totp import remove_second_factor
    from schoolid.notify.services import notify_person

    authorize(actor, Action.ISSUE_CREDENTIALS, target, request=request)
    with transaction.atomic():
        removed = remove_second_factor(target)
        event = record_event("second_factor.reset", "success", actor=actor, target=target, request=request, detail={"removed": removed})
        # A changed factor is announced on every verified contact, with a way to dispute it (NIST §4.6).
        notify_person(
            target.person,
            purpose="second_factor.reset",
            subject=_("Your SchoolID sign-in was changed"),
            text=_("The second sign-in step of your SchoolID account was removed by your school. You will set up a new authenticator app at your next sign-in. If you did not ask for this, tell your school or district office at once."),
            dedupe_key=f"second_factor.reset:{event.pk}",
            language=target.preferred_language or None,
        )


class ParentResetRefused(PermissionError):
    """The parent may not reset this child's password; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def parent_reset(guardian: Account, child: Account, *, idempotency_key: str, request=None, profile: Profile | None = None) -> IssuanceResult:
    """Issue 6: a parent resets the password of their own young child (under the profile's age
    threshold, where the profile allows it, NIST §4.2.1.3 recovery contacts). The school is told."""
    from django.utils.translation import gettext_lazy as _

    from schoolid.accounts.models import Role, RoleAssignment
    from schoolid.accounts.services import ScopeDenied, authorize
    from schoolid.notify.services import notify_person

    profile = profile or current_profile()
    try:
        authorize(guardian, Action.PARENT_RESET, child, request=request, profile=profile)
    except ScopeDenied as exc:
        raise ParentResetRefused(exc.decision.reason) from exc
    result = _write_issue(guardian, [child], idempotency_key=idempotency_key, kind=IssuanceBatch.Kind.PARENT, description=child.user_code, request=request, profile=profile)
    if result.items is not None:
        school_ids = RoleAssignment.objects.current().filter(account=child, role=Role.STUDENT).values_list("org_unit__parent_id", flat=True)
        for principal in Account.objects.filter(assignments__role=Role.PRINCIPAL, assignments__org_unit_id__in=list(school_ids)).select_related("person").distinct():
            notify_person(
                principal.person,
                purpose="credentials.parent_reset",
                subject=_("A parent reset a pupil's password"),
                text=_("A parent used SchoolID to give their child a new one-time password. No action is needed; the audit log has the details."),
                dedupe_key=f"parent_reset:{result.batch.pk}:{principal.pk}",
            )
    return result


# --- Erasure (the privacy app decides when). ---

@transaction.atomic
def forget_account(account: Account) -> None:
    """An erased person's credentials: open one-time secrets revoked, the authenticator seed and the
    recovery codes deleted (their hashes tell nothing, but nothing may sign in any more)."""
    from schoolid.credentials.models import RecoveryCode, TotpDevice

    IssuedSecret.objects.filter(account=account, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=timezone.now())
    TotpDevice.objects.filter(account=account).delete()
    RecoveryCode.objects.filter(account=account).delete()
