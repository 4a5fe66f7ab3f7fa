"""Reads for SCIM: what a token may see, filters turned into queries, and the JSON of a resource."""
from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from schoolid.accounts.models import Account, RoleAssignment
from schoolid.accounts.user_codes import normalize_user_code
from schoolid.core.digits import ascii_digits
from schoolid.directory.models import OrgUnit
from schoolid.directory.services import RegisterError, normalize_mobile, normalize_national_id_for_profile
from schoolid.provisioning.models import ScimToken
from schoolid.provisioning.scim import schemas as S
from schoolid.provisioning.scim.filters import (
    And,
    AttrPath,
    Compare,
    Not,
    Or,
    Present,
    ValuePath,
    invalid_filter,
    parse_filter,
)

KNOWN_SCHEMAS = (S.USER, S.GROUP, S.SCHOOL_USER, S.SCHOOL_GROUP)
_NOTHING = Q(pk__in=[])


def scope_path(token: ScimToken) -> str:
    """Every org unit path starts with "/", so a country-wide token's prefix is "/"."""
    return token.org_unit.path if token.org_unit_id else "/"


def in_scope(token: ScimToken, unit: OrgUnit) -> bool:
    return unit.path.startswith(scope_path(token))


def scoped_assignments(token: ScimToken, roles=S.PROVISIONED_ROLES) -> QuerySet[RoleAssignment]:
    return RoleAssignment.objects.current().filter(role__in=roles, org_unit__path__startswith=scope_path(token))


def visible_users(token: ScimToken) -> QuerySet[Account]:
    """Accounts with a current school role inside the token's unit. An account whose roles were all
    ended (a SCIM DELETE) is no longer a SCIM resource: it answers 404 and leaves every list."""
    held = scoped_assignments(token).filter(account=OuterRef("pk"))
    return Account.objects.filter(Exists(held), person__isnull=False).select_related("person").order_by("pk")


def visible_groups(token: ScimToken) -> QuerySet[OrgUnit]:
    return (OrgUnit.objects.filter(kind=OrgUnit.Kind.CLASS, active=True, path__startswith=scope_path(token))
            .select_related("parent").order_by("pk"))


def user_by_id(token: ScimToken, user_id: str) -> Account | None:
    code = normalize_user_code(user_id or "")
    return visible_users(token).filter(user_code=code).first() if code else None


def group_by_id(token: ScimToken, group_id: str) -> OrgUnit | None:
    pk = ascii_digits(group_id or "")
    return visible_groups(token).filter(pk=int(pk)).first() if pk.isdigit() and len(pk) < 19 else None


def roles_of(token: ScimToken, accounts) -> dict[int, list[RoleAssignment]]:
    by_account: dict[int, list[RoleAssignment]] = {a.pk: [] for a in accounts}
    for assignment in scoped_assignments(token).filter(account__in=list(by_account)).select_related("org_unit").order_by("pk"):
        by_account[assignment.account_id].append(assignment)
    return by_account


def members_of(units, token: ScimToken | None = None) -> dict[int, list[Account]]:
    """Current members of each class; for a scoped client also its waiting Users it made members."""
    by_unit: dict[int, list[Account]] = {u.pk: [] for u in units}
    seen = set()
    rows = list(RoleAssignment.objects.current().filter(org_unit__in=list(by_unit), role__in=S.MEMBER_ROLES)
                .select_related("account").order_by("pk"))
    if token is not None:
        rows += list(pending_roles(token).filter(org_unit__in=list(by_unit), role__in=S.MEMBER_ROLES))
    for assignment in rows:
        key = (assignment.org_unit_id, assignment.account_id)
        if key not in seen:
            seen.add(key)
            by_unit[assignment.org_unit_id].append(assignment.account)
    return by_unit


# --- filters ------------------------------------------------------------------------------------
def _string_q(field: str, op: str, value, *, case_exact=False) -> Q:
    if op == "pr":
        return ~Q(**{f"{field}__isnull": True}) & ~Q(**{field: ""})
    if value is None:
        if op == "eq":
            return Q(**{f"{field}__isnull": True}) | Q(**{field: ""})
        if op == "ne":
            return ~Q(**{f"{field}__isnull": True}) & ~Q(**{field: ""})
        raise invalid_filter("null can only be compared with eq or ne")
    if not isinstance(value, str):
        value = str(value).lower() if isinstance(value, bool) else str(value)
    prefix = "" if case_exact else "i"
    lookup = {"eq": f"{prefix}exact", "ne": f"{prefix}exact", "co": f"{prefix}contains", "sw": f"{prefix}startswith",
              "ew": f"{prefix}endswith", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}[op]
    q = Q(**{f"{field}__{lookup}": value})
    return ~q if op == "ne" else q


def _exact_or_nothing(field: str, op: str, value, normalizer) -> Q:
    """eq/ne on a value that must be normalised first (a national ID, a phone, a user code)."""
    if op in ("eq", "ne") and isinstance(value, str):
        try:
            normal = normalizer(value)
        except (RegisterError, ValueError):
            normal = None
        q = Q(**{field: normal}) if normal else _NOTHING
        return ~q if op == "ne" else q
    if isinstance(value, str):
        value = ascii_digits(value)
    return _string_q(field, op, value)


def _date_q(field: str, op: str, value) -> Q:
    if op == "pr":
        return Q(**{f"{field}__isnull": False})
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None or op not in ("eq", "ne", "gt", "ge", "lt", "le"):
        raise invalid_filter("Dates are compared with eq, ne, gt, ge, lt or le and an RFC 3339 date-time")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, datetime.UTC)
    lookup = {"eq": "exact", "ne": "exact", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}[op]
    q = Q(**{f"{field}__{lookup}": moment})
    return ~q if op == "ne" else q


def _bool_q(op: str, value, true_q: Q) -> Q:
    if op == "pr":
        return Q()
    if op not in ("eq", "ne") or not isinstance(value, bool):
        raise invalid_filter("A boolean is compared with eq or ne and true or false")
    q = true_q if value else ~true_q
    return ~q if op == "ne" else q


def _user_code(value: str) -> str:
    code = normalize_user_code(value)
    if not code:
        raise ValueError(value)
    return code


def _national_id(value: str) -> str:
    return normalize_national_id_for_profile(value)[1]


def _user_leaf(token: ScimToken, path: AttrPath, op: str, value) -> Q:
    schema, name, sub = path.schema, path.attr, path.sub
    ext = S.SCHOOL_USER.lower()
    if schema in ("", S.USER.lower()):
        if name in ("id", "username") and not sub:
            return _exact_or_nothing("user_code", op, value, _user_code)
        if name == "externalid" and not sub:
            return _string_q("person__sourced_id", op, value, case_exact=True)
        if name == "name" and sub in ("givenname", "familyname"):
            return _string_q("person__given_name" if sub == "givenname" else "person__family_name", op, value)
        if name == "name" and not sub and op == "pr":
            return Q()
        if name == "emails" and sub in ("", "value"):
            return _string_q("person__email", op, value.lower() if isinstance(value, str) else value)
        if name == "phonenumbers" and sub in ("", "value"):
            return _exact_or_nothing("person__mobile", op, value, normalize_mobile)
        if name == "active" and not sub:
            return _bool_q(op, value, ~Q(status=Account.Status.DISABLED))
        if name == "meta" and sub == "created":
            return _date_q("created_at", op, value)
        if name == "meta" and sub == "lastmodified":
            return _date_q("person__updated_at", op, value)
    if schema in ("", ext):
        if name == "nationalid" and not sub:
            return _exact_or_nothing("person__national_id", op, value, _national_id)
        if name == "roles" and sub in ("", "value", "org"):
            field = "org_unit__code" if sub == "org" else "role"
            held = scoped_assignments(token).filter(_string_q(field, op, value, case_exact=sub != "org"), account=OuterRef("pk"))
            return Q(Exists(held))
    raise invalid_filter(f"Filtering on {path} is not supported")


def _group_leaf(token: ScimToken, path: AttrPath, op: str, value) -> Q:
    schema, name, sub = path.schema, path.attr, path.sub
    if schema in ("", S.GROUP.lower()):
        if name == "id" and not sub:
            return _exact_or_nothing("pk", op, value, lambda v: int(ascii_digits(v)) if ascii_digits(v).isdigit() else None)
        if name == "displayname" and not sub:
            return _string_q("name", op, value)
        if name == "externalid" and not sub:
            return _string_q("sourced_id", op, value, case_exact=True)
        if name == "members" and sub in ("", "value"):
            if op == "pr":
                held = RoleAssignment.objects.current().filter(role__in=S.MEMBER_ROLES, org_unit=OuterRef("pk"))
                return Q(Exists(held))
            code = normalize_user_code(value) if isinstance(value, str) else None
            held = RoleAssignment.objects.current().filter(role__in=S.MEMBER_ROLES, org_unit=OuterRef("pk"), account__user_code=code or "-")
            if op == "eq":
                return Q(Exists(held))
            if op == "ne":
                return ~Q(Exists(held))
    if schema in ("", S.SCHOOL_GROUP.lower()) and name == "school" and not sub:
        return _string_q("parent__code", op, value)
    raise invalid_filter(f"Filtering on {path} is not supported")


def _to_q(node, leaf) -> Q:
    if isinstance(node, And):
        return _to_q(node.left, leaf) & _to_q(node.right, leaf)
    if isinstance(node, Or):
        return _to_q(node.left, leaf) | _to_q(node.right, leaf)
    if isinstance(node, Not):
        return ~_to_q(node.inner, leaf)
    if isinstance(node, Present):
        return leaf(node.path, "pr", None)
    if isinstance(node, Compare):
        return leaf(node.path, node.op, node.value)
    if isinstance(node, ValuePath):
        # emails[value eq "x"]: the inner attribute names are sub-attributes of the outer one.
        def inner_leaf(path, op, value):
            return leaf(AttrPath(node.path.schema, node.path.attr, path.sub or path.attr), op, value)
        return _to_q(node.filter, inner_leaf)
    raise invalid_filter("Unsupported filter")


def filter_users(token: ScimToken, text: str | None) -> QuerySet[Account]:
    qs = visible_users(token)
    if text:
        qs = qs.filter(_to_q(parse_filter(text, KNOWN_SCHEMAS), lambda p, o, v: _user_leaf(token, p, o, v)))
    return qs


def filter_groups(token: ScimToken, text: str | None) -> QuerySet[OrgUnit]:
    qs = visible_groups(token)
    if text:
        qs = qs.filter(_to_q(parse_filter(text, KNOWN_SCHEMAS), lambda p, o, v: _group_leaf(token, p, o, v)))
    return qs


# --- representations ----------------------------------------------------------------------------
def _iso(moment) -> str:
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def user_json(account: Account, roles: list[RoleAssignment], base_url: str) -> dict:
    person = account.person
    data = {
        "schemas": [S.USER, S.SCHOOL_USER],
        "id": account.user_code,
        "userName": account.user_code,
        "name": {"givenName": person.given_name, "familyName": person.family_name},
        "displayName": person.full_name,
        "active": account.status != Account.Status.DISABLED,
    }
    if person.sourced_id:
        data["externalId"] = person.sourced_id
    if person.email:
        data["emails"] = [{"value": person.email, "type": S.KEPT_EMAIL_TYPE, "primary": True}]
    if person.mobile:
        data["phoneNumbers"] = [{"value": person.mobile, "type": S.KEPT_PHONE_TYPE, "primary": True}]
    data[S.SCHOOL_USER] = {
        "nationalId": person.national_id,
        "roles": [{"value": a.role, "org": a.org_unit.code} for a in roles],
    }
    data["meta"] = {
        "resourceType": "User",
        "created": _iso(account.created_at),
        "lastModified": _iso(max(person.updated_at, account.created_at)),
        "location": f"{base_url}/Users/{account.user_code}",
    }
    return data


def group_json(unit: OrgUnit, members: list[Account], base_url: str) -> dict:
    data = {
        "schemas": [S.GROUP, S.SCHOOL_GROUP],
        "id": str(unit.pk),
        "displayName": unit.name,
    }
    if unit.sourced_id:
        data["externalId"] = unit.sourced_id
    if members:
        data["members"] = [{"value": a.user_code, "$ref": f"{base_url}/Users/{a.user_code}", "type": "User"} for a in members]
    data[S.SCHOOL_GROUP] = {"school": unit.parent.code if unit.parent_id else ""}
    data["meta"] = {"resourceType": "Group", "location": f"{base_url}/Groups/{unit.pk}"}
    return data


def with_version(doc: dict) -> dict:
    """meta.version (RFC 7644 §3.14): a weak ETag of everything the resource says, so any change of
    a name, contact, role or member changes it."""
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps({k: v for k, v in doc.items() if k != "meta"}, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    doc["meta"]["version"] = f'W/"{digest[:32]}"'
    return doc


def users_json(token: ScimToken, accounts: list[Account], base_url: str) -> list[dict]:
    roles = roles_of(token, accounts)
    return [with_version(user_json(a, roles[a.pk], base_url)) for a in accounts]


def groups_json(units: list[OrgUnit], base_url: str, token: ScimToken | None = None) -> list[dict]:
    members = members_of(units, token)
    return [with_version(group_json(u, members[u.pk], base_url)) for u in units]


# --- Users waiting for a role (issue 11, item 2) ----------------------------------------------------
def pending_roles(token: ScimToken, account: Account | None = None) -> QuerySet:
    """Roles this scoped client asked for a person known elsewhere; they grant nothing yet. The client
    reads them back as its User (from what it sent, never from the register), so its answers are the
    same whether or not the national ID was known outside its unit."""
    from schoolid.accounts.models import PendingRole

    if not token.org_unit_id:
        return PendingRole.objects.none()
    qs = PendingRole.objects.filter(scope_unit_id=token.org_unit_id, status=PendingRole.Status.PENDING)
    if account is not None:
        qs = qs.filter(account=account)
    return qs.select_related("account", "org_unit").order_by("pk")


def pending_by_id(token: ScimToken, user_id: str) -> list:
    code = normalize_user_code(user_id or "")
    return list(pending_roles(token).filter(account__user_code=code)) if code else []


def pending_json(pendings: list, base_url: str) -> dict:
    """The User as the client sent it: the same shape as user_json."""
    first = pendings[0]
    account, sent = first.account, next((p.claimed for p in pendings if p.claimed), {})
    data = {
        "schemas": [S.USER, S.SCHOOL_USER],
        "id": account.user_code,
        "userName": account.user_code,
        "name": {"givenName": sent.get("given_name", ""), "familyName": sent.get("family_name", "")},
        "displayName": f"{sent.get('given_name', '')} {sent.get('family_name', '')}".strip(),
        "active": bool(sent.get("active", True)),
    }
    if sent.get("external_id"):
        data["externalId"] = sent["external_id"]
    if sent.get("email"):
        data["emails"] = [{"value": sent["email"], "type": S.KEPT_EMAIL_TYPE, "primary": True}]
    if sent.get("mobile"):
        data["phoneNumbers"] = [{"value": sent["mobile"], "type": S.KEPT_PHONE_TYPE, "primary": True}]
    data[S.SCHOOL_USER] = {"nationalId": sent.get("national_id", ""),
                           "roles": [{"value": p.role, "org": p.org_unit.code} for p in pendings]}
    data["meta"] = {"resourceType": "User", "created": _iso(first.created_at), "lastModified": _iso(first.created_at),
                    "location": f"{base_url}/Users/{account.user_code}"}
    return with_version(data)


def _doc_values(doc: dict, path: AttrPath) -> list:
    """Every value at an attribute path of a resource document (multi-valued attributes flattened;
    a complex value without a sub-attribute stands for its "value")."""
    from schoolid.provisioning.scim.filters import _get_ci

    container = _get_ci(doc, S.SCHOOL_USER.lower()) if path.schema == S.SCHOOL_USER.lower() else doc
    found = _get_ci(container or {}, path.attr)
    items = found if isinstance(found, list) else [found]
    values = []
    for item in items:
        if isinstance(item, dict):
            values.append(_get_ci(item, path.sub or "value"))
        elif not path.sub:
            values.append(item)
    return values


def doc_matches(node, doc: dict) -> bool:
    """A filter evaluated on a resource's JSON (for Users answered from what the client sent)."""
    from schoolid.provisioning.scim.filters import _compare, _get_ci, matches

    if isinstance(node, And):
        return doc_matches(node.left, doc) and doc_matches(node.right, doc)
    if isinstance(node, Or):
        return doc_matches(node.left, doc) or doc_matches(node.right, doc)
    if isinstance(node, Not):
        return not doc_matches(node.inner, doc)
    if isinstance(node, ValuePath):
        container = _get_ci(doc, S.SCHOOL_USER.lower()) if node.path.schema == S.SCHOOL_USER.lower() else doc
        items = _get_ci(container or {}, node.path.attr) or []
        return any(matches(node.filter, item) for item in (items if isinstance(items, list) else [items]))
    if isinstance(node, Present):
        return any(_compare(v, "pr", None) for v in _doc_values(doc, node.path))
    if isinstance(node, Compare):
        values = _doc_values(doc, node.path) or [None]
        return any(_compare(v, node.op, node.value) for v in values)
    raise invalid_filter("Unsupported filter")


def pending_docs(token: ScimToken, text: str | None, base_url: str) -> list[dict]:
    """The client's waiting Users that match a list filter, after its other Users (issue 11, item 2):
    a list or filter answers for them as it would for a User it had created."""
    by_account: dict[int, list] = {}
    for pending in pending_roles(token):
        by_account.setdefault(pending.account_id, []).append(pending)
    if not by_account:
        return []
    visible = set(visible_users(token).filter(pk__in=list(by_account)).values_list("pk", flat=True))
    node = parse_filter(text, KNOWN_SCHEMAS) if text else None
    docs = [pending_json(items, base_url) for account_id, items in by_account.items() if account_id not in visible]
    return [d for d in docs if node is None or doc_matches(node, d)]


# sortBy (RFC 7644 §3.4.2.3): the attributes a list can be sorted by, per resource type.
USER_SORT = {"id": "user_code", "username": "user_code", "externalid": "person__sourced_id", "name.givenname": "person__given_name",
             "name.familyname": "person__family_name", "displayname": "person__family_name", "meta.created": "created_at",
             "meta.lastmodified": "person__updated_at"}
GROUP_SORT = {"id": "pk", "displayname": "name", "externalid": "sourced_id"}


def sorted_by(qs: QuerySet, kind: str, sort_by: str | None, sort_order: str | None) -> QuerySet:
    """The list in the order asked for; an attribute that cannot be sorted by keeps the default order."""
    if not sort_by:
        return qs
    key = str(sort_by).strip().lower()
    for urn in (S.USER, S.GROUP):
        if key.startswith(urn.lower() + ":"):
            key = key[len(urn) + 1 :]
    field = (USER_SORT if kind == "User" else GROUP_SORT).get(key)
    if field is None:
        return qs
    descending = str(sort_order or "ascending").strip().lower() == "descending"
    return qs.order_by(f"-{field}" if descending else field, "-pk" if descending else "pk")
