"""Writes about accounts: creation, roles, the scope check with its audit, password sign-in."""
from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from schoolid.accounts import throttle
from schoolid.accounts.models import Account, PendingRole, RoleAssignment, new_session_epoch
from schoolid.accounts.scope import Action, Decision, decide, decide_many, extends_power, may_confirm_role
from schoolid.accounts.user_codes import generate_user_code
from schoolid.audit.services import client_ip, record_event
from schoolid.directory.models import OrgUnit, Person


class ScopeDenied(PermissionError):
    def __init__(self, decision: Decision):
        super().__init__(decision.reason)
        self.decision = decision


# --- accounts and roles -----------------------------------------------------------------------
def new_user_code() -> str:
    """A fresh code; codes of every account ever made stay taken, because accounts are never deleted."""
    for _attempt in range(20):
        code = generate_user_code()
        if not Account.objects.filter(user_code=code).exists():
            return code
    raise RuntimeError("could not find a free user code")


def create_account(person: Person | None, *, status: str = Account.Status.NOT_ACTIVATED) -> Account:
    for _attempt in range(5):
        account = Account(user_code=new_user_code(), person=person, status=status)
        account.set_unusable_password()
        try:
            with transaction.atomic():
                account.save()
            return account
        except IntegrityError:
            if person is not None and Account.objects.filter(person=person).exists():
                raise
    raise RuntimeError("could not store a new account")


def assign_role(account: Account, role: str, org_unit: OrgUnit, *, source: str = RoleAssignment.Source.STAFF) -> RoleAssignment:
    assignment, _created = RoleAssignment.objects.get_or_create(
        account=account, role=role, org_unit=org_unit, valid_until=None, defaults={"source": source}
    )
    account._role_cache = None
    return assignment


def end_role(assignment: RoleAssignment) -> None:
    ended = RoleAssignment.objects.filter(pk=assignment.pk, valid_until__isnull=True).update(valid_until=timezone.now())
    if ended:
        settle_pending_roles([assignment.account_id])


# --- roles asked for by a unit-scoped client (issue 11, item 2) ------------------------------------
def attach_role(account: Account, role: str, org_unit: OrgUnit, *, scope_unit: OrgUnit | None, source: str, requested_by: str,
                claimed: dict | None = None) -> RoleAssignment | PendingRole:
    """Give a role on behalf of a client limited to `scope_unit` (None: the whole country).

    A role that would extend the unit's power over a person who is also someone else's waits
    (PendingRole) and grants nothing; see scope.extends_power."""
    if scope_unit is None or not extends_power(account, scope_unit.path):
        return assign_role(account, role, org_unit, source=source)
    pending = PendingRole.objects.filter(account=account, role=role, org_unit=org_unit, status=PendingRole.Status.PENDING).first()
    if pending is None:
        pending = PendingRole.objects.create(account=account, role=role, org_unit=org_unit, scope_unit=scope_unit, requested_by=requested_by[:120],
                                             claimed=claimed or {})
        record_event("role.pending", "success", actor=requested_by, target=account, org_unit=org_unit,
                     detail={"role": role, "unit": org_unit.code, "pending": pending.pk})
    elif claimed is not None and pending.claimed != claimed:
        PendingRole.objects.filter(pk=pending.pk).update(claimed=claimed)
    return pending


def _grant(pending: PendingRole, *, status: str, decided_by: Account | None, how: str, request=None) -> None:
    if PendingRole.objects.filter(pk=pending.pk, status=PendingRole.Status.PENDING).update(
            status=status, decided_at=timezone.now(), decided_by=decided_by) != 1:
        return
    if status == PendingRole.Status.CONFIRMED:
        assign_role(pending.account, pending.role, pending.org_unit, source=RoleAssignment.Source.REGISTER)
    record_event(f"role.pending.{status}", "success", actor=decided_by or "register", target=pending.account, org_unit=pending.org_unit,
                 request=request, detail={"role": pending.role, "unit": pending.org_unit.code, "pending": pending.pk, "how": how})


def settle_pending_roles(account_ids=None) -> int:
    """Waiting roles whose person no longer belongs to anyone else take effect (the old school ended
    its role: the pupil has moved). Called when roles end; few rows wait, so all may be checked."""
    waiting = PendingRole.objects.filter(status=PendingRole.Status.PENDING).select_related("account", "org_unit", "scope_unit")
    if account_ids is not None:
        waiting = waiting.filter(account_id__in=list(account_ids))
    settled = 0
    for pending in waiting:
        if pending.org_unit.active and not extends_power(pending.account, pending.scope_unit.path):
            _grant(pending, status=PendingRole.Status.CONFIRMED, decided_by=None, how="old_roles_ended")
            settled += 1
    return settled


def withdraw_pending_role(pending: PendingRole, *, actor: str) -> None:
    if PendingRole.objects.filter(pk=pending.pk, status=PendingRole.Status.PENDING).update(
            status=PendingRole.Status.WITHDRAWN, decided_at=timezone.now()) == 1:
        record_event("role.pending.withdrawn", "success", actor=actor, target=pending.account, org_unit=pending.org_unit,
                     detail={"role": pending.role, "unit": pending.org_unit.code, "pending": pending.pk})


def decide_pending_role(actor: Account, pending: PendingRole, *, confirm: bool, request=None) -> None:
    """An actor who covers both the new unit and every place the person holds a role today confirms
    the role (it takes effect) or refuses it; anyone else is refused and audited."""
    if not may_confirm_role(actor, pending.account, pending.role, pending.org_unit):
        refuse(actor, "role.pending.decide", pending.account, "outside_scope", request=request, org_unit=pending.org_unit)
        raise PermissionError("outside scope")
    with transaction.atomic():
        _grant(pending, status=PendingRole.Status.CONFIRMED if confirm else PendingRole.Status.REFUSED, decided_by=actor,
               how="confirmed" if confirm else "refused", request=request)


def disable_accounts(account_ids) -> int:
    """Disable these accounts; a disabled account keeps no session anywhere, so the session epoch
    changes with the status (one fresh value serves them all: the session hash also covers the id)."""
    return Account.objects.filter(pk__in=account_ids).exclude(status=Account.Status.DISABLED).update(
        status=Account.Status.DISABLED, session_epoch=new_session_epoch())


def enable_accounts(account_ids) -> int:
    """Undo disable_accounts(): active again if the account was ever activated, else not activated."""
    disabled = Account.objects.filter(pk__in=account_ids, status=Account.Status.DISABLED)
    return (disabled.filter(activated_at__isnull=False).update(status=Account.Status.ACTIVE)
            + disabled.filter(activated_at__isnull=True).update(status=Account.Status.NOT_ACTIVATED))


def set_password(account: Account, raw_password: str, *, activate: bool = True, end_other_sessions: bool = True) -> None:
    """Store a new chosen password (callers check the password policy first). By default every
    session of the account ends; callers keep the current one with update_session_auth_hash."""
    now = timezone.now()
    account.password = make_password(raw_password)
    account.password_changed_at = now
    account.must_change_password = False
    fields = ["password", "password_changed_at", "must_change_password"]
    if end_other_sessions:
        account.session_epoch = new_session_epoch()
        fields.append("session_epoch")
    if activate and account.status == Account.Status.NOT_ACTIVATED:
        account.status = Account.Status.ACTIVE
        account.activated_at = now
        fields += ["status", "activated_at"]
    account.save(update_fields=fields)


def activate_by_verified_identity(account: Account) -> bool:
    """A register person's account activated by a national provider's verified identity (issue 16,
    seed 004): no password is set; the person signs in through the provider. False if not pending."""
    return Account.objects.filter(pk=account.pk, status=Account.Status.NOT_ACTIVATED).update(
        status=Account.Status.ACTIVE, activated_at=timezone.now()) == 1


# --- the scope check --------------------------------------------------------------------------
def refuse(actor: Account, action: str, target: Account | None, reason: str, *, request=None, org_unit=None) -> None:
    """The one writer of `scope.denied`: authorize and authorize_many call it, and so do pages that
    refuse a whole view (`action` then names the page, e.g. "console.view")."""
    record_event("scope.denied", "denied", actor=actor, target=target, request=request, org_unit=org_unit,
                 detail={"action": str(action), "reason": reason})


def authorize(actor: Account, action: Action | str, target: Account, *, request=None, profile=None) -> Decision:
    """Decide with the one scope rule; every refusal is audited and raised as ScopeDenied."""
    decision = decide(actor, action, target, profile=profile)
    if not decision.allowed:
        refuse(actor, Action(action).value, target, decision.reason, request=request)
        raise ScopeDenied(decision)
    return decision


def authorize_many(actor: Account, action: Action | str, targets: list[Account], *, request=None, profile=None) -> tuple[dict[int, Decision], list[Account]]:
    """The scope rule for many targets at once: (decisions by account id, refused targets in order).
    Every refusal is audited; the caller decides what one refusal means for the rest."""
    decisions = decide_many(actor, action, targets, profile=profile)
    refused = [t for t in targets if not decisions[t.pk].allowed]
    for target in refused:
        refuse(actor, Action(action).value, target, decisions[target.pk].reason, request=request)
    return decisions, refused


def unlock(account_ids) -> None:
    """Wrong-attempt counters back to zero and a lock lifted (a new password or secret was set)."""
    Account.objects.filter(pk__in=list(account_ids)).update(failed_logins=0, throttled_until=None)
    Account.objects.filter(pk__in=list(account_ids), status=Account.Status.LOCKED).update(status=Account.Status.ACTIVE)


def replace_passwords(account_ids, *, must_change: bool) -> None:
    """New one-time secrets were issued: old passwords stop working, every session ends, locks lift.
    One random unusable value for all keeps this to two UPDATE statements."""
    Account.objects.filter(pk__in=list(account_ids)).update(
        password=make_password(None), must_change_password=must_change, failed_logins=0, throttled_until=None, session_epoch=new_session_epoch(),
    )
    Account.objects.filter(pk__in=list(account_ids), status=Account.Status.LOCKED).update(status=Account.Status.ACTIVE)


# --- counting attempts (security requirements §2) ------------------------------------------------
def reserve_attempt(account: Account) -> tuple[bool, int, int]:
    """Count one attempt before any secret is checked, atomically and only when no wait is due, so
    parallel guesses cannot slip past the delay. Returns (reserved, failures if it fails, wait).

    A compare-and-set on the count: the row is updated only if its count is still the one the delay
    was computed from, so each reservation sees the one before it (40 parallel guesses get exactly
    LOGIN_FREE_ATTEMPTS + 1 checks). A lost race re-reads the row and tries again (bounded)."""
    known = account.failed_logins
    allowed = (Account.Status.ACTIVE, Account.Status.NOT_ACTIVATED)
    # Plain SQL: this runs on every sign-in and the ORM's query building cost more than the query.
    with connection.cursor() as cursor:
        for _race in range(64):
            now = timezone.now()
            failures = known + 1
            wait = throttle.delay_after(failures)
            until = now + datetime.timedelta(seconds=wait) if wait else None
            cursor.execute(
                "UPDATE accounts_account SET failed_logins = %s, throttled_until = %s "
                "WHERE id = %s AND failed_logins = %s AND status IN (%s, %s) AND (throttled_until IS NULL OR throttled_until <= %s)",
                [failures, _db(until), account.pk, known, *allowed, _db(now)],
            )
            if cursor.rowcount:
                account.failed_logins = failures
                return True, failures, wait
            cursor.execute("SELECT failed_logins, throttled_until, status FROM accounts_account WHERE id = %s", [account.pk])
            row = cursor.fetchone()
            if row is None or row[2] not in allowed or (row[1] is not None and _aware(row[1]) > now):
                return False, known + 1, 0
            known = row[0]
    return False, known + 1, 0


def _db(value):
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


def _aware(value) -> datetime.datetime:
    # SQLite hands back naive UTC datetimes from raw SQL.
    return value if timezone.is_aware(value) else timezone.make_aware(value, datetime.UTC)


def attempt_failed(account: Account, failures: int, *, request, factor: str) -> bool:
    """Record a failed check; at the lock limit the account is locked. Returns True if now locked."""
    throttle.ip_failure(client_ip(request))
    locked = failures >= settings.LOGIN_LOCK_LIMIT
    if locked:
        from django.utils.translation import gettext_lazy as _

        from schoolid.notify.services import notify_person

        Account.objects.filter(pk=account.pk).exclude(status=Account.Status.DISABLED).update(status=Account.Status.LOCKED)
        event = record_event("account.locked", "success", target=account, request=request, detail={"failures": failures})
        notify_person(
            account.person,
            purpose="account.locked",
            subject=_("Your SchoolID password was blocked"),
            text=_("After many wrong passwords, signing in to your SchoolID account with a password is blocked. Recover your access or ask your school to unblock it. If it was not you trying, someone may know your login: tell your school."),
            dedupe_key=f"account.locked:{event.pk}",
            language=account.preferred_language or None,
        )
    record_event("signin." + factor, "failure", target=account, request=request, detail={"reason": "wrong_" + factor, "factor": factor, "failures": failures})
    return locked


def _succeeded_sql(account: Account, *, last_login: bool) -> tuple[str, list]:
    if last_login:
        now = timezone.now()
        account.last_login = now
        return "UPDATE accounts_account SET failed_logins = 0, throttled_until = NULL, last_login = %s WHERE id = %s", [now, account.pk]
    return "UPDATE accounts_account SET failed_logins = 0, throttled_until = NULL WHERE id = %s", [account.pk]


def attempt_succeeded(account: Account, *, last_login: bool = False) -> None:
    """The failure count starts again (NIST §3.2.2). Plain SQL, like reserve_attempt: it runs on every sign-in."""
    with connection.cursor() as cursor:
        cursor.execute(*_succeeded_sql(account, last_login=last_login))
    account.failed_logins, account.throttled_until = 0, None


def signed_in(account: Account, *, request, factor: str):
    """attempt_succeeded(last_login=True) and the "signin" success event. On PostgreSQL they are one
    statement (audit.services._insert): the sign-in benchmark counts every round trip."""
    event = record_event(
        "signin", "success", actor=account, target=account, request=request, detail={"factor": factor},
        along=_succeeded_sql(account, last_login=True),
    )
    account.failed_logins, account.throttled_until = 0, None
    return event


def throttled_answer(account: Account, *, request, factor: str):
    """Why a reservation failed: ("locked", 0) or ("throttled", seconds)."""
    account.refresh_from_db(fields=["status", "throttled_until"])
    if account.status == Account.Status.LOCKED:
        return "locked", 0
    record_event("signin." + factor, "denied", target=account, request=request, detail={"reason": "throttled", "factor": factor})
    return "throttled", max(1, throttle.seconds_left(account.throttled_until))


def mark_compromised(account: Account, *, actor=None, request=None) -> None:
    """Evidence of compromise: the next sign-in must choose a new password (NIST §3.1.1.2(6))."""
    Account.objects.filter(pk=account.pk).update(must_change_password=True)
    record_event("account.marked_compromised", "success", actor=actor, target=account, request=request)


def change_password(request, account: Account, current: str, new: str, *, end_other_sessions: bool) -> str:
    """Hamgam's "change password" (seed 000), with the current password (ASVS v5 6.2.3). Returns
    "ok", "wrong_current", "throttled" or "locked". Callers check the policy for `new` first."""
    from django.contrib.auth import update_session_auth_hash
    from django.contrib.auth.hashers import check_password
    from django.utils.translation import gettext_lazy as _

    from schoolid.notify.services import notify_person

    reserved, failures, _wait = reserve_attempt(account)
    if not reserved:
        return throttled_answer(account, request=request, factor="password")[0]
    if not check_password(current, account.password):
        return "locked" if attempt_failed(account, failures, request=request, factor="password") else "wrong_current"
    attempt_succeeded(account)
    with transaction.atomic():
        set_password(account, new, end_other_sessions=end_other_sessions)
        event = record_event("password.changed", "success", actor=account, target=account, request=request, detail={"ended_other_sessions": end_other_sessions})
        notify_person(
            account.person,
            purpose="password.changed",
            subject=_("Your SchoolID password was changed"),
            text=_("The password of your SchoolID account was just changed. If you did not do this, recover your access at once and tell your school."),
            dedupe_key=f"password.changed:{event.pk}",
            language=account.preferred_language or None,
        )
    # This browser (or app token) stays signed in; the others end when the user asked for it.
    token_session = getattr(request, "token_session", None)
    if token_session is not None:
        from django.contrib.auth import HASH_SESSION_KEY

        token_session[HASH_SESSION_KEY] = account.get_session_auth_hash()
        token_session.save()
    else:
        update_session_auth_hash(request, account)
    return "ok"


# --- Erasure (the privacy app decides when). The account row stays: a user code is never reused. ---

@transaction.atomic
def erase_account(account: Account) -> None:
    """An erased person's account: disabled, no usable password, every session ended, no language or
    security answer kept. Its roles are history (they ended when the person left) and stay."""
    from schoolid.accounts import sessions
    from schoolid.accounts.models import PendingRole, SignedInSession
    from schoolid.accounts.security_questions import SecurityAnswer

    SecurityAnswer.objects.filter(account=account).delete()
    for row in SignedInSession.objects.filter(account=account, ended_at__isnull=True):
        sessions._destroy(row)  # the stored session itself goes too, wherever it lives
    SignedInSession.objects.filter(account=account).delete()  # devices and addresses are the person's
    PendingRole.objects.filter(account=account).update(claimed={})  # what a client sent about them
    Account.objects.filter(pk=account.pk).update(
        status=Account.Status.DISABLED, password=make_password(None), must_change_password=False, failed_logins=0,
        throttled_until=None, preferred_language="", session_epoch=new_session_epoch(),
    )


def session_records_ended_before(cutoff, limit: int | None = None) -> list[int]:
    """Signed-in session records that ended (or were last used) before `cutoff` (retention)."""
    from django.db.models import Q

    from schoolid.accounts.models import SignedInSession

    return list(SignedInSession.objects.filter(Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, last_seen_at__lt=cutoff))
                .order_by("id").values_list("pk", flat=True)[:limit])


def purge_session_records(ids) -> int:
    from schoolid.accounts.models import SignedInSession

    return SignedInSession.objects.filter(pk__in=list(ids)).delete()[0]
