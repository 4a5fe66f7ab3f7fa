"""Every SCIM write: tokens, Users (people and accounts) and Groups (classes), each audited.

Writes reuse the register's and the accounts' own services, so a SCIM client meets exactly the checks
of every other way in (national ID scheme, phone numbers, e-mail, the permanent user code). Each
request is one transaction: a refused value leaves nothing half-written.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from schoolid.accounts.models import Account, PendingRole, RoleAssignment
from schoolid.accounts.scope import extends_power
from schoolid.accounts.services import (
    attach_role,
    create_account,
    disable_accounts,
    enable_accounts,
    end_role,
    withdraw_pending_role,
)
from schoolid.accounts.user_codes import normalize_user_code
from schoolid.audit.services import record_event
from schoolid.core.digits import clean_text
from schoolid.directory.models import OrgUnit, Person
from schoolid.directory.services import PersonInput, RegisterError, build_person, create_org_unit
from schoolid.provisioning.models import ScimToken
from schoolid.provisioning.scim import schemas as S
from schoolid.provisioning.scim import selectors
from schoolid.provisioning.scim.errors import ScimError, bad, conflict, forbidden
from schoolid.provisioning.scim.patching import ResourceShape

USER_SHAPE = ResourceShape(S.USER, S.USER_ATTRIBUTES, S.SCHOOL_USER, S.SCHOOL_USER_ATTRIBUTES)
GROUP_SHAPE = ResourceShape(S.GROUP, S.GROUP_ATTRIBUTES, S.SCHOOL_GROUP, S.SCHOOL_GROUP_ATTRIBUTES)
TOKEN_PREFIX = "scim_"
LAST_USED_EVERY = datetime.timedelta(seconds=60)


# --- tokens ---------------------------------------------------------------------------------------
class TokenError(ValueError):
    """A token command was refused; the message is for the operator, in their language."""


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_token(name: str, org_code: str | None = None) -> tuple[ScimToken, str]:
    """A new token (256 random bits); only its SHA-256 is kept, so the plain value is returned once."""
    name = clean_text(name or "")
    if not name or len(name) > 100:
        raise TokenError(_("A token needs a name of at most 100 characters."))
    if ScimToken.objects.filter(name=name).exists():
        raise TokenError(_("A SCIM token with this name already exists."))
    unit = None
    if org_code:
        unit = OrgUnit.objects.filter(code=clean_text(org_code)).first()
        if unit is None:
            raise TokenError(_("No org unit has the code %(code)s.") % {"code": org_code})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ScimToken.objects.create(name=name, token_hash=hash_token(raw), prefix=raw[:12], org_unit=unit)
    record_event("scim.token.created", "success", actor="cli", target=f"scim:{name}", org_unit=unit,
                 detail={"prefix": token.prefix, "scope": unit.code if unit else "country"})
    return token, raw


@transaction.atomic
def revoke_token(name: str) -> ScimToken:
    token = ScimToken.objects.select_for_update().filter(name=clean_text(name or "")).first()
    if token is None:
        raise TokenError(_("No SCIM token has this name."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_event("scim.token.revoked", "success", actor="cli", target=f"scim:{token.name}", org_unit=token.org_unit,
                     detail={"prefix": token.prefix})
    return token


_BEARER = re.compile(r"^Bearer\s+([A-Za-z0-9._~+/=-]{1,200})\s*$", re.IGNORECASE)


def authenticate(request) -> ScimToken:
    """The token named by `Authorization: Bearer …`, or a 401 that is audited (ASVS v5 16.3.2).

    The look-up is by the token's SHA-256, so timing says nothing about how much of a guess matched;
    the stored hash is compared once more in constant time."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    match = _BEARER.match(header)
    reason, token = None, None
    if not header:
        reason = "missing"
    elif not match:
        reason = "malformed"
    else:
        digest = hash_token(match.group(1))
        token = ScimToken.objects.select_related("org_unit").filter(token_hash=digest).first()
        if token is None or not hmac.compare_digest(token.token_hash, digest):
            reason, token = "unknown", None
        elif token.revoked_at is not None:
            reason = "revoked"
        elif token.org_unit_id and not token.org_unit.active:
            reason = "scope_inactive"
    if reason:
        record_event("scim.auth", "denied", actor=f"scim:{token.name}" if token else "", request=request,
                     detail={"reason": reason, "path": request.path[:200]})
        raise ScimError(401, "A valid bearer token is required")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def _actor(token: ScimToken) -> str:
    return f"scim:{token.name}"


def _deny(token: ScimToken, request, reason: str, detail: str, target=None) -> ScimError:
    """A 403 whose audit event is written by the view once the refused transaction is rolled back,
    so the refusal stays on record (ASVS v5 16.3.2) while nothing of the request does."""
    error = forbidden(detail)
    error.audit = lambda: record_event("scim.scope.denied", "denied", actor=_actor(token), target=target, org_unit=token.org_unit,
                                       request=request, detail={"reason": reason})
    return error


# --- reading a User body --------------------------------------------------------------------------
_REGISTER_FIELDS = {"national_id": "nationalId", "birth_date": "nationalId", "email": "emails", "mobile": "phoneNumbers",
                    "given_name": "name.givenName", "family_name": "name.familyName"}


def _bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise bad(f"{name} must be true or false")


def _string(value, name: str, *, max_length: int = 254) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise bad(f"{name} must be a string")
    text = clean_text(str(value))
    if len(text) > max_length:
        raise bad(f"{name} is longer than {max_length} characters")
    return text


def _single_value(items, name: str) -> str:
    """The one value of a multi-valued contact attribute: the register keeps one e-mail, one mobile."""
    if items in (None, []):
        return ""
    if not isinstance(items, list):
        items = [items]
    values = []
    for item in items:
        raw = item.get("value") if isinstance(item, dict) else item
        text = _string(raw, f"{name}.value")
        if text:
            values.append((text, isinstance(item, dict) and item.get("primary") in (True, "true", "True")))
    distinct = {v for v, _p in values}
    if len(distinct) > 1:
        primary = [v for v, p in values if p]
        if len(primary) != 1:
            raise bad(f"SchoolID keeps one value of {name}; mark one as primary")
        return primary[0]
    return values[0][0] if values else ""


@dataclass
class UserData:
    given_name: str
    family_name: str
    national_id: str
    email: str
    mobile: str
    external_id: str | None
    active: bool
    roles: list[tuple[str, str]]


def _refuse_password(body) -> None:
    """Nobody but the person chooses a password (ASVS v5 6.4.6): SCIM clients cannot send one."""
    if isinstance(body, dict) and any(str(k).lower().rsplit(":", 1)[-1] == "password" for k in body):
        raise bad("Passwords cannot be set over SCIM; issue a one-time password instead")


def _user_data(doc: dict) -> UserData:
    name = doc.get("name") or {}
    if not isinstance(name, dict):
        raise bad("name must be an object", "invalidSyntax")
    ext = doc.get(S.SCHOOL_USER) or {}
    roles_in = ext.get("roles")
    if roles_in is None:
        roles_in = []
    if not isinstance(roles_in, list):
        roles_in = [roles_in]
    roles = []
    for item in roles_in:
        if not isinstance(item, dict):
            raise bad("Each role needs a value and an org", "invalidSyntax")
        pair = (_string(item.get("value"), "roles.value", max_length=32), _string(item.get("org"), "roles.org", max_length=64))
        if pair not in roles:
            roles.append(pair)
    external = doc.get("externalId")
    return UserData(
        given_name=_string(name.get("givenName"), "name.givenName", max_length=100),
        family_name=_string(name.get("familyName"), "name.familyName", max_length=100),
        national_id=_string(ext.get("nationalId"), "nationalId", max_length=64),
        email=_single_value(doc.get("emails"), "emails"),
        mobile=_single_value(doc.get("phoneNumbers"), "phoneNumbers"),
        external_id=_string(external, "externalId", max_length=128) or None,
        active=True if doc.get("active") is None else _bool(doc.get("active"), "active"),
        roles=roles,
    )


def _validated_person(data: UserData, *, birth_date=None) -> Person:
    if not data.national_id:
        raise bad("nationalId is required")
    try:
        return build_person(PersonInput(
            national_id=data.national_id, given_name=data.given_name, family_name=data.family_name,
            birth_date=birth_date, email=data.email, mobile=data.mobile, sourced_id=data.external_id,
        ))
    except RegisterError as exc:
        raise bad(f"{_REGISTER_FIELDS.get(exc.field, exc.field)}: {exc.message}") from exc


def _resolve_roles(token: ScimToken, roles: list[tuple[str, str]], request) -> list[tuple[str, OrgUnit]]:
    if not roles:
        raise bad("A user needs at least one role in the client's part of the org tree")
    resolved = []
    for role, code in roles:
        if role not in S.PROVISIONED_ROLES:
            raise bad(f"roles.value: {role!r} is not a role SCIM can give ({', '.join(S.PROVISIONED_ROLES)})")
        unit = OrgUnit.objects.filter(code=code, active=True).first()
        if unit is None:
            raise bad(f"roles.org: no org unit has the code {code!r}")
        if unit.kind not in S.ROLE_UNIT_KINDS[role]:
            raise bad(f"roles: a {role} sits at a {' or '.join(S.ROLE_UNIT_KINDS[role])}, not at a {unit.kind}")
        if not selectors.in_scope(token, unit):
            raise _deny(token, request, "org_outside_scope", f"roles.org: {code} is outside this client's scope")
        resolved.append((role, unit))
    return resolved


def _shared(token: ScimToken, account: Account) -> bool:
    """Does the account hold a current role outside the token's unit? Then its register data belongs
    to others as well, and this client may change its roles here only."""
    return RoleAssignment.objects.current().filter(account=account).exclude(org_unit__path__startswith=selectors.scope_path(token)).exists()


_PERSON_FIELDS = ("national_id_scheme", "national_id", "given_name", "family_name", "birth_date", "email", "mobile", "sourced_id")


def _changed_fields(person: Person, built: Person) -> list[str]:
    return [f for f in _PERSON_FIELDS if getattr(person, f) != getattr(built, f)]


def _check_unique(built: Person, exclude_pk=None) -> None:
    others = Person.objects.exclude(pk=exclude_pk) if exclude_pk else Person.objects.all()
    if others.filter(national_id_scheme=built.national_id_scheme, national_id=built.national_id).exists():
        raise conflict("nationalId: a person with this national ID is already in the register")
    if built.sourced_id and others.filter(sourced_id=built.sourced_id).exists():
        raise conflict("externalId: another person already has this externalId")


def _set_roles(token: ScimToken, account: Account, wanted: list[tuple[str, OrgUnit]]) -> bool:
    """Make the account's roles inside the token's unit exactly `wanted`; roles elsewhere stay."""
    current = list(selectors.scoped_assignments(token).filter(account=account))
    wanted_keys = {(role, unit.pk) for role, unit in wanted}
    changed = False
    for assignment in current:
        if (assignment.role, assignment.org_unit_id) not in wanted_keys:
            end_role(assignment)
            changed = True
    have = {(a.role, a.org_unit_id) for a in current}
    for role, unit in wanted:
        if (role, unit.pk) not in have:
            attach_role(account, role, unit, scope_unit=token.org_unit, source=RoleAssignment.Source.REGISTER, requested_by=_actor(token))
            changed = True
    account._role_cache = None
    return changed


def _set_active(account: Account, active: bool) -> bool:
    if active == (account.status != Account.Status.DISABLED):
        return False
    (enable_accounts if active else disable_accounts)([account.pk])
    account.refresh_from_db(fields=["status", "session_epoch"])
    return True


def _copy_person(person: Person, built: Person, fields: list[str]) -> None:
    for field in fields:
        setattr(person, field, getattr(built, field))
    if "email" in fields:
        person.email_verified = False
    if "mobile" in fields:
        person.mobile_verified = False
    person.save()


@dataclass
class PendingUser:
    """A User whose roles wait (the person is someone else's too): answered from what the client sent."""
    account: Account
    roles: list[PendingRole]


def _claimed(built: Person, data: UserData) -> dict:
    return {"given_name": built.given_name, "family_name": built.family_name, "email": built.email, "mobile": built.mobile,
            "external_id": built.sourced_id or "", "national_id": built.national_id, "active": data.active}


def _wait(token: ScimToken, account: Account, wanted: list[tuple[str, OrgUnit]], built: Person, data: UserData, request) -> PendingUser:
    """The roles wait for the old unit or a confirmer; nothing of the person changes (ASVS v5 8.2.2, 8.4.1)."""
    claimed = _claimed(built, data)
    for pending in selectors.pending_roles(token, account):
        if (pending.role, pending.org_unit_id) not in {(r, u.pk) for r, u in wanted}:
            withdraw_pending_role(pending, actor=_actor(token))
    for role, unit in wanted:
        attach_role(account, role, unit, scope_unit=token.org_unit, source=RoleAssignment.Source.REGISTER, requested_by=_actor(token), claimed=claimed)
    record_event("scim.user.pending", "success", actor=_actor(token), target=account, org_unit=token.org_unit, request=request,
                 detail={"roles": [f"{r}@{u.code}" for r, u in wanted]})
    return PendingUser(account, list(selectors.pending_roles(token, account)))


@transaction.atomic
def create_user(token: ScimToken, body: dict, *, request=None) -> Account | PendingUser:
    _refuse_password(body)
    doc = USER_SHAPE.canonical(body)
    data = _user_data(doc)
    wanted = _resolve_roles(token, data.roles, request)
    built = _validated_person(data)
    existing = Person.objects.select_for_update().filter(national_id_scheme=built.national_id_scheme, national_id=built.national_id).first()
    if existing is None:
        _check_unique(built)
        built.save()
        account = create_account(built)
        fields = ["created"]
    else:
        # The person is already in the national register (another school, or a user this client
        # deleted): the same person keeps the same account and user code.
        account = Account.objects.select_for_update().filter(person=existing).first()
        if account is not None and (selectors.visible_users(token).filter(pk=account.pk).exists()
                                    or selectors.pending_roles(token, account).exists()):
            raise conflict("nationalId: this person is already a User of this client")
        if account is None:
            account = create_account(existing)
        if token.org_unit_id and extends_power(account, selectors.scope_path(token)):
            # Someone else's pupil (or parent, or teacher): the answer is the one an unknown ID gets,
            # built from what the client sent, and the roles wait (README, "A person in two units").
            return _wait(token, account, wanted, built, data, request)
        built = _validated_person(data, birth_date=existing.birth_date)
        fields = _changed_fields(existing, built)
        if fields:
            if _shared(token, account):
                raise _deny(token, request, "shared_person",
                            "This person is registered elsewhere too; their register data can change only through a client whose scope covers all of their roles", account)
            _check_unique(built, exclude_pk=existing.pk)
            _copy_person(existing, built, fields)
        fields = ["attached", *fields]
    _set_roles(token, account, wanted)
    _set_active(account, data.active)
    record_event("scim.user.created", "success", actor=_actor(token), target=account, org_unit=token.org_unit, request=request,
                 detail={"fields": fields, "roles": [f"{r}@{u.code}" for r, u in wanted]})
    return account


@transaction.atomic
def replace_pending(token: ScimToken, pending_user: PendingUser, body: dict, *, request=None, canonical: bool = False) -> PendingUser:
    """PUT or PATCH on a waiting User changes what the client asked for, nothing of the person."""
    if not canonical:
        _refuse_password(body)
    data = _user_data(body if canonical else USER_SHAPE.canonical(body))
    wanted = _resolve_roles(token, data.roles, request)
    built = _validated_person(data)
    if built.national_id != pending_user.roles[0].claimed.get("national_id"):
        raise ScimError(400, "nationalId is immutable for this User", "mutability")
    return _wait(token, pending_user.account, wanted, built, data, request)


def patch_pending(token: ScimToken, pending_user: PendingUser, body: dict, *, base_url: str, request=None) -> PendingUser:
    current = USER_SHAPE.canonical(selectors.pending_json(pending_user.roles, base_url))
    doc, _touched = USER_SHAPE.apply_patch(current, body)
    return replace_pending(token, pending_user, doc, request=request, canonical=True)


@transaction.atomic
def delete_pending(token: ScimToken, pending_user: PendingUser, *, request=None) -> None:
    for pending in pending_user.roles:
        withdraw_pending_role(pending, actor=_actor(token))
    record_event("scim.user.deleted", "success", actor=_actor(token), target=pending_user.account, org_unit=token.org_unit, request=request,
                 detail={"ended_roles": [], "withdrawn": len(pending_user.roles)})


@transaction.atomic
def replace_user(token: ScimToken, account: Account, body: dict, *, request=None, canonical: bool = False, action="scim.user.replaced") -> Account:
    """PUT: the body is the whole new resource (readOnly attributes such as userName are ignored,
    RFC 7644 §3.5.1); PATCH ends here too with the patched resource."""
    account = Account.objects.select_for_update(of=("self",)).select_related("person").get(pk=account.pk)
    person = account.person
    if not canonical:
        _refuse_password(body)
    doc = body if canonical else USER_SHAPE.canonical(body)
    data = _user_data(doc)
    wanted = _resolve_roles(token, data.roles, request)
    same_id = _same_national_id(person, data)
    if token.org_unit_id and not same_id:
        # A unit's client cannot re-point a User at another national ID: whether that ID is taken
        # elsewhere would answer differently (ASVS v5 8.4.1). The same 400 for every ID; a wrong ID is
        # corrected by deleting the User and creating it again, or by a country-wide client.
        _validated_person(data)  # a malformed ID still gets its own clear error
        raise ScimError(400, "nationalId is immutable for a client scoped to a unit", "mutability")
    built = _validated_person(data, birth_date=person.birth_date if same_id else None)
    fields = _changed_fields(person, built)
    status_changes = data.active != (account.status != Account.Status.DISABLED)
    if (fields or status_changes) and _shared(token, account):
        raise _deny(token, request, "shared_person",
                    "This person is registered elsewhere too; their register data and status can change only through a client whose scope covers all of their roles", account)
    if fields:
        _check_unique(built, exclude_pk=person.pk)
        _copy_person(person, built, fields)
    roles_changed = _set_roles(token, account, wanted)
    _set_active(account, data.active)
    record_event(action, "success", actor=_actor(token), target=account, org_unit=token.org_unit, request=request,
                 detail={"fields": fields + (["roles"] if roles_changed else []) + (["active"] if status_changes else [])})
    return account


def _same_national_id(person: Person, data: UserData) -> bool:
    """Is the national ID in the body the stored one (in any digits or layout)?"""
    from schoolid.directory.services import normalize_national_id_for_profile

    try:
        return normalize_national_id_for_profile(data.national_id)[1] == person.national_id
    except RegisterError:
        return False


def patch_user(token: ScimToken, account: Account, body: dict, *, base_url: str, request=None) -> Account:
    current = USER_SHAPE.canonical(selectors.users_json(token, [account], base_url)[0])
    doc, _touched = USER_SHAPE.apply_patch(current, body)
    return replace_user(token, account, doc, request=request, canonical=True, action="scim.user.patched")


@transaction.atomic
def delete_user(token: ScimToken, account: Account, *, request=None) -> None:
    """SCIM DELETE deletes nothing (accounts are never deleted, so a user code is never reused): it
    ends the account's roles in the client's part of the tree and disables the account when no
    role is left anywhere. The User then answers 404."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    ended = list(selectors.scoped_assignments(token).filter(account=account))
    for assignment in ended:
        end_role(assignment)
    disabled = False
    if not RoleAssignment.objects.current().filter(account=account).exists():
        disabled = _set_active(account, False)
    record_event("scim.user.deleted", "success", actor=_actor(token), target=account, org_unit=token.org_unit, request=request,
                 detail={"ended_roles": [f"{a.role}@{a.org_unit_id}" for a in ended], "disabled": disabled})


# --- Groups (classes) -----------------------------------------------------------------------------
@dataclass
class GroupData:
    name: str
    external_id: str | None
    school: str
    members: list[str]


def _group_data(doc: dict) -> GroupData:
    ext = doc.get(S.SCHOOL_GROUP) or {}
    members = doc.get("members") or []
    if not isinstance(members, list):
        members = [members]
    values = []
    for item in members:
        if not isinstance(item, dict):
            raise bad("Each member needs a value", "invalidSyntax")
        if str(item.get("type") or "User").lower() != "user":
            raise bad("members: only Users can be members of a class")
        value = _string(item.get("value"), "members.value", max_length=32)
        if value and value not in values:
            values.append(value)
    return GroupData(
        name=_string(doc.get("displayName"), "displayName", max_length=200),
        external_id=_string(doc.get("externalId"), "externalId", max_length=128) or None,
        school=_string(ext.get("school"), "school", max_length=64),
        members=values,
    )


def _member_accounts(token: ScimToken, values: list[str]) -> list[Account]:
    accounts = []
    for value in values:
        code = normalize_user_code(value)
        account = selectors.visible_users(token).filter(user_code=code).first() if code else None
        if account is None and code:
            # A User whose roles wait can be made a member too; that membership waits with them.
            waiting = selectors.pending_roles(token).filter(account__user_code=code).first()
            account = waiting.account if waiting else None
        if account is None:
            raise bad(f"members: no User {value!r} for this client")
        accounts.append(account)
    return accounts


def _member_role(token: ScimToken, account: Account) -> str:
    roles = set(selectors.scoped_assignments(token).filter(account=account).values_list("role", flat=True))
    roles |= set(selectors.pending_roles(token, account).values_list("role", flat=True))
    if roles & {"teacher", "class_teacher"}:
        return "teacher"
    if "student" in roles:
        return "student"
    raise bad(f"members: User {account.user_code} is neither a student nor a teacher")


def _set_members(token: ScimToken, unit: OrgUnit, accounts: list[Account]) -> bool:
    wanted = {a.pk for a in accounts}
    current = RoleAssignment.objects.current().filter(org_unit=unit, role__in=S.MEMBER_ROLES)
    changed = False
    for assignment in current:
        if assignment.account_id not in wanted:
            end_role(assignment)
            changed = True
    for pending in selectors.pending_roles(token).filter(org_unit=unit, role__in=S.MEMBER_ROLES):
        if pending.account_id not in wanted:
            withdraw_pending_role(pending, actor=_actor(token))
            changed = True
    have = set(current.values_list("account_id", flat=True))
    for account in accounts:
        if account.pk not in have:
            attach_role(account, _member_role(token, account), unit, scope_unit=token.org_unit, source=RoleAssignment.Source.REGISTER,
                        requested_by=_actor(token))
            changed = True
    return changed


def _class_code(school: OrgUnit, name: str) -> str:
    base = re.sub(r"[^\w-]+", "-", f"{school.code}-{name}").strip("-")[:52]
    code = base
    while OrgUnit.objects.filter(code=code).exists():
        code = f"{base}-{secrets.token_hex(3)}"
    return code


def _school_for(token: ScimToken, code: str, request) -> OrgUnit:
    if not code:
        if token.org_unit_id and token.org_unit.kind == OrgUnit.Kind.SCHOOL:
            return token.org_unit
        raise bad("school: the school's code is required")
    school = OrgUnit.objects.filter(code=code, kind=OrgUnit.Kind.SCHOOL, active=True).first()
    if school is None:
        raise bad(f"school: no school has the code {code!r}")
    if not selectors.in_scope(token, school):
        raise _deny(token, request, "org_outside_scope", f"school: {code} is outside this client's scope")
    return school


@transaction.atomic
def create_group(token: ScimToken, body: dict, *, request=None) -> OrgUnit:
    data = _group_data(GROUP_SHAPE.canonical(body))
    if not data.name:
        raise bad("displayName is required")
    school = _school_for(token, data.school, request)
    members = _member_accounts(token, data.members)
    revived = None
    if data.external_id:
        same = OrgUnit.objects.select_for_update().filter(sourced_id=data.external_id).first()
        if same is not None:
            if same.active or same.kind != OrgUnit.Kind.CLASS or same.parent_id != school.pk:
                raise conflict("externalId: another org unit already has this externalId")
            revived = same
    if revived is not None:
        OrgUnit.objects.filter(pk=revived.pk).update(active=True, name=data.name)
        unit = OrgUnit.objects.get(pk=revived.pk)
        unit.save()
    else:
        try:
            unit = create_org_unit(kind=OrgUnit.Kind.CLASS, code=_class_code(school, data.name), name=data.name, parent=school,
                                   sourced_id=data.external_id)
        except RegisterError as exc:
            raise bad(f"{exc.field}: {exc.message}") from exc
    _set_members(token, unit, members)
    record_event("scim.group.created", "success", actor=_actor(token), target=f"class:{unit.code}", org_unit=unit, request=request,
                 detail={"revived": revived is not None, "members": len(members)})
    return unit


@transaction.atomic
def replace_group(token: ScimToken, unit: OrgUnit, body: dict, *, request=None, canonical: bool = False, action="scim.group.replaced") -> OrgUnit:
    unit = OrgUnit.objects.select_for_update(of=("self",)).select_related("parent").get(pk=unit.pk)
    data = _group_data(body if canonical else GROUP_SHAPE.canonical(body))
    if not data.name:
        raise bad("displayName is required")
    if data.school and data.school != unit.parent.code:
        raise ScimError(400, "school is immutable: a class cannot move to another school", "mutability")
    members = _member_accounts(token, data.members)
    fields = []
    if data.name != unit.name:
        unit.name, fields = data.name, fields + ["displayName"]
    if data.external_id != unit.sourced_id:
        if data.external_id and OrgUnit.objects.exclude(pk=unit.pk).filter(sourced_id=data.external_id).exists():
            raise conflict("externalId: another org unit already has this externalId")
        unit.sourced_id, fields = data.external_id, fields + ["externalId"]
    if fields:
        unit.save(update_fields=["name", "sourced_id"])
    if _set_members(token, unit, members):
        fields.append("members")
    record_event(action, "success", actor=_actor(token), target=f"class:{unit.code}", org_unit=unit, request=request,
                 detail={"fields": fields})
    return unit


def patch_group(token: ScimToken, unit: OrgUnit, body: dict, *, base_url: str, request=None) -> OrgUnit:
    current = GROUP_SHAPE.canonical(selectors.groups_json([unit], base_url, token)[0])
    doc, _touched = GROUP_SHAPE.apply_patch(current, body)
    return replace_group(token, unit, doc, request=request, canonical=True, action="scim.group.patched")


@transaction.atomic
def delete_group(token: ScimToken, unit: OrgUnit, *, request=None) -> None:
    """The class is closed (inactive), never removed; its members' roles at it end."""
    ended = list(RoleAssignment.objects.current().filter(org_unit=unit))
    for assignment in ended:
        end_role(assignment)
    OrgUnit.objects.filter(pk=unit.pk).update(active=False)
    record_event("scim.group.deleted", "success", actor=_actor(token), target=f"class:{unit.code}", org_unit=unit, request=request,
                 detail={"ended_roles": len(ended)})
