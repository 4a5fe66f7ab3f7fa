"""Reads about accounts."""
from __future__ import annotations

import weakref

from django.db import connection, connections
from django.utils import timezone

from schoolid.accounts.models import Account, RoleAssignment
from schoolid.accounts.user_codes import normalize_user_code
from schoolid.core.digits import clean_text
from schoolid.core.profiles import Profile, current_profile
from schoolid.directory.models import OrgUnit
from schoolid.directory.national_ids import SCHEMES, InvalidNationalId
from schoolid.directory.phones import InvalidPhone, normalize_phone


def identifier_key(raw: str) -> str:
    """A stable, bounded form of what was typed, for throttling identifiers that match no account."""
    import hashlib

    key = clean_text(raw).casefold().replace(" ", "").replace("-", "")
    return key if len(key) <= 64 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _account_sql(join_person: bool, where: str, profile: Profile) -> tuple[str, list]:
    """One plain SQL query for the sign-in look-up: the account, and whether it needs a second factor.

    Sign-in is measured against the bare Argon2 rate; building this through the ORM cost more than
    the query itself, so the text is assembled here from the model's own column names."""
    columns = ", ".join(f'a."{f.column}"' for f in Account._meta.concrete_fields)
    roles = list(profile.mfa_required_roles) or [""]
    marks = ", ".join(["%s"] * len(roles))
    sql = (
        f"SELECT {columns}, EXISTS (SELECT 1 FROM accounts_roleassignment r WHERE r.account_id = a.id "
        f"AND r.role IN ({marks}) AND r.valid_from <= %s AND (r.valid_until IS NULL OR r.valid_until > %s)) AS needs_second_factor "
        f"FROM accounts_account a {'JOIN directory_person p ON p.id = a.person_id ' if join_person else ''}WHERE {where} ORDER BY a.id LIMIT 1"
    )
    now = timezone.now()
    return sql, [*roles, now, now]


# Per database connection: the conversions Django applies to each column of the account (none on
# PostgreSQL; SQLite returns dates as text, for instance).
_converters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _account_converters(db) -> list:
    found = _converters.get(db)
    if found is None:
        table = Account._meta.db_table
        found = []
        for i, field in enumerate(Account._meta.concrete_fields):
            col = field.get_col(table)
            for convert in db.ops.get_db_converters(col) + col.get_db_converters(db):
                found.append((i, convert, col))
        _converters[db] = found
    return found


def _first(join_person: bool, where: str, params: list, profile: Profile) -> Account | None:
    # A plain cursor and Account.from_db, as a QuerySet would load the row: Account.objects.raw()
    # cost as much Python again as the query (column look-ups, init order, per-row annotations).
    sql, head = _account_sql(join_person, where, profile)
    with connection.cursor() as cursor:
        cursor.execute(sql, head + params)
        row = cursor.fetchone()
    if row is None:
        return None
    fields = Account._meta.concrete_fields
    values = list(row[: len(fields)])
    db = connections[connection.alias]
    for i, convert, col in _account_converters(db):
        values[i] = convert(values[i], col, db)
    account = Account.from_db(connection.alias, [f.attname for f in fields], values)
    account.needs_second_factor = bool(row[len(fields)])
    return account


def find_account_by_identifier(raw: str, profile: Profile | None = None) -> Account | None:
    """The account a login identifier names, trying only the kinds the country profile allows.

    E-mail and mobile count only once verified (design.md, "Account"). The account comes with
    `needs_second_factor` set."""
    profile = profile or current_profile()
    value = clean_text(raw)
    if not value:
        return None
    for kind in profile.login_identifiers:
        if kind == "user_code":
            code = normalize_user_code(value)
            if code:
                return _first(False, "a.user_code = %s", [code], profile)
        elif kind == "national_id":
            scheme = SCHEMES[profile.national_id_scheme]
            try:
                number = scheme.normalize(value)
            except InvalidNationalId:
                continue
            found = _first(True, "p.national_id_scheme = %s AND p.national_id = %s", [scheme.code, number], profile)
            if found:
                return found
        elif kind == "email" and "@" in value:
            found = _first(True, "p.email = %s AND p.email_verified", [value.lower()], profile)
            if found:
                return found
        elif kind == "mobile" and "@" not in value:
            try:
                e164 = normalize_phone(value, profile.phone_region)
            except InvalidPhone:
                continue
            found = _first(True, "p.mobile = %s AND p.mobile_verified", [e164], profile)
            if found:
                return found
    return None


def current_assignments(account: Account):
    return RoleAssignment.objects.current().filter(account=account).select_related("org_unit").order_by("role", "org_unit__path")


def login_identifier_for(account: Account, profile: Profile | None = None) -> tuple[str, str]:
    """(kind, value) of the identifier this account should type, in profile order."""
    profile = profile or current_profile()
    person = account.person
    for kind in profile.login_identifiers:
        if kind == "user_code":
            return kind, account.display_code
        if person is None:
            continue
        if kind == "national_id":
            return kind, person.national_id
        if kind == "email" and person.email and person.email_verified:
            return kind, person.email
        if kind == "mobile" and person.mobile and person.mobile_verified:
            return kind, person.mobile
    return "user_code", account.display_code


def school_helpers(school: OrgUnit):
    """The principal(s) and secretary(ies) of a school: names and roles only, never personal contacts."""
    return (
        RoleAssignment.objects.current()
        .filter(org_unit=school, role__in=["principal", "secretary"])
        .select_related("account__person")
        .order_by("role", "account__person__family_name")
    )


def pending_links(account: Account) -> int:
    """Children proposed to this parent and waiting for the answer (the banner after sign-in, seed 004)."""
    from schoolid.directory.models import Guardianship

    return Guardianship.objects.filter(guardian_id=account.person_id, status=Guardianship.Status.PROPOSED).count()


def pending_roles_for(actor):
    """Waiting roles (issue 11, item 2) this actor may confirm: they cover the new unit and every place
    the person holds a role today. Few rows ever wait, so each is judged with the rule itself."""
    from schoolid.accounts.models import PendingRole
    from schoolid.accounts.scope import may_confirm_role

    waiting = PendingRole.objects.filter(status=PendingRole.Status.PENDING).select_related("account__person", "org_unit").order_by("created_at")[:500]
    return [p for p in waiting if may_confirm_role(actor, p.account, p.role, p.org_unit)]
