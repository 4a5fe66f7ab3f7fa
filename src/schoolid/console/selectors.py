"""Reads for the staff console: who an actor may see, filtered, searched and paged.

The visible set is derived from the same RULES table as the scope decision, so the list never shows
someone the actor cannot act on; every action still re-checks each target with `decide`.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from schoolid.accounts.models import Account, Role, RoleAssignment
from schoolid.accounts.scope import RULES, Action
from schoolid.core.digits import only_digits
from schoolid.core.profiles import Profile, current_profile
from schoolid.credentials.models import IssuedSecret
from schoolid.directory.models import OrgUnit
from schoolid.directory.text import search_key

USER_TYPES = {
    "students": {Role.STUDENT},
    "teachers": {Role.TEACHER, Role.CLASS_TEACHER},
    "staff": {Role.SECRETARY, Role.PRINCIPAL, Role.CLUSTER_SUPERVISOR, Role.DISTRICT_OFFICER, Role.MINISTRY_ADMIN},
}


@dataclass
class AccountFilter:
    user_type: str = ""  # "", "students", "teachers", "staff"
    class_code: str = ""
    status: str = ""  # "", "not_activated", "active", "locked", "disabled"
    query: str = ""

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in {"type": self.user_type, "class": self.class_code, "status": self.status, "q": self.query}.items() if v}

    @classmethod
    def from_query(cls, data) -> AccountFilter:
        user_type = data.get("type", "")
        status = data.get("status", "")
        return cls(
            user_type=user_type if user_type in USER_TYPES else "",
            class_code=data.get("class", "")[:64],
            status=status if status in Account.Status.values else "",
            query=data.get("q", "")[:100],
        )


def _scope_q(actor: Account, action: Action, profile: Profile) -> Q | None:
    """Assignments (as a Q over RoleAssignment) that the actor's rules cover; None when nothing."""
    condition = None
    for assignment in actor.assignments.current().select_related("org_unit"):
        for rule in RULES:
            if rule.actor_role != assignment.role or action not in rule.actions:
                continue
            if rule.actor_unit_kinds is not None and assignment.org_unit.kind not in rule.actor_unit_kinds:
                continue
            if rule.profile_flag is not None and not getattr(profile, rule.profile_flag):
                continue
            part = Q(role__in=list(rule.target_roles), org_unit__path__startswith=assignment.org_unit.path)
            condition = part if condition is None else condition | part
    return condition


def visible_accounts(actor: Account, action: Action | tuple = Action.ISSUE_CREDENTIALS, flt: AccountFilter | None = None, profile: Profile | None = None) -> QuerySet[Account]:
    """Accounts the actor may act on with `action` (or with any of several actions)."""
    profile = profile or current_profile()
    flt = flt or AccountFilter()
    condition = None
    for one in (action if isinstance(action, tuple) else (action,)):
        part = _scope_q(actor, one, profile)
        if part is not None:
            condition = part if condition is None else condition | part
    if condition is None:
        return Account.objects.none()
    covered = RoleAssignment.objects.current().filter(condition)
    if flt.user_type:
        covered = covered.filter(role__in=list(USER_TYPES[flt.user_type]))
    if flt.class_code:
        covered = covered.filter(org_unit__kind=OrgUnit.Kind.CLASS, org_unit__code=flt.class_code)
    qs = Account.objects.filter(Exists(covered.filter(account=OuterRef("pk")))).exclude(pk=actor.pk).select_related("person")
    if flt.status:
        qs = qs.filter(status=flt.status)
    if flt.query:
        digits = only_digits(flt.query)
        if digits and len(digits) >= 4 and len(digits) >= len(flt.query.replace(" ", "").replace("-", "")) - 1:
            qs = qs.filter(person__national_id__startswith=digits)
        else:
            for word in search_key(flt.query).split():
                qs = qs.filter(person__search_name__contains=word)
    return qs.order_by("person__family_name", "person__given_name", "pk")


def can_issue(actor: Account, profile: Profile | None = None) -> bool:
    return _scope_q(actor, Action.ISSUE_CREDENTIALS, profile or current_profile()) is not None


CONSOLE_ACTIONS = (Action.ISSUE_CREDENTIALS, Action.PROPOSE_GUARDIANSHIP, Action.EDIT_CONTACT)


def classes_in_scope(actor: Account, profile: Profile | None = None) -> QuerySet[OrgUnit]:
    profile = profile or current_profile()
    paths = [a.org_unit.path for a in actor.assignments.current().select_related("org_unit")]
    if not paths:
        return OrgUnit.objects.none()
    condition = Q()
    for path in paths:
        condition |= Q(path__startswith=path)
    return OrgUnit.objects.filter(condition, kind=OrgUnit.Kind.CLASS).select_related("parent").order_by("parent__name", "name")


def not_yet_activated(actor: Account, profile: Profile | None = None) -> QuerySet[Account]:
    """Issued a secret but never signed in."""
    issued = IssuedSecret.objects.filter(account=OuterRef("pk"))
    return visible_accounts(actor, Action.ISSUE_CREDENTIALS, profile=profile).filter(Exists(issued), last_login__isnull=True)


def find_by_national_id(actor: Account, national_id: str, role: str, profile: Profile | None = None) -> Account | None:
    """Hamgam "edit": a person by national ID and role, within what the actor may see."""
    from schoolid.directory.national_ids import SCHEMES, InvalidNationalId

    profile = profile or current_profile()
    try:
        number = SCHEMES[profile.national_id_scheme].normalize(national_id)
    except InvalidNationalId:
        return None
    return (
        Account.objects.select_related("person")
        .filter(person__national_id=number, assignments__role=role)
        .filter(pk__in=visible_accounts(actor, profile=profile).values("pk"))
        .first()
    )


def role_summary(accounts: list[Account]) -> dict[int, list[RoleAssignment]]:
    """Current assignments of the listed accounts, in one query."""
    result: dict[int, list[RoleAssignment]] = {a.pk: [] for a in accounts}
    for assignment in RoleAssignment.objects.current().filter(account_id__in=result).select_related("org_unit__parent"):
        result[assignment.account_id].append(assignment)
    return result


@dataclass(frozen=True)
class EditAccess:
    """What an actor may edit of a target's register record (issue 5, item 6)."""

    mode: str  # "register" (every field), "contact" (e-mail and mobile only) or "" (nothing)
    editable: tuple[str, ...] = ()
    locked: tuple[str, ...] = ()  # identity fields shown read-only
    from_register: bool = False  # the identity fields come from the school register

    def __bool__(self):
        return bool(self.mode)


def register_edit_access(actor: Account, target: Account, profile: Profile | None = None) -> EditAccess:
    """The same scope rule as the services; the services check it again on every write."""
    from schoolid.accounts.scope import decide
    from schoolid.directory.services import CONTACT_FIELDS, IDENTITY_FIELDS, register_owns_identity

    if target.person_id is None:
        return EditAccess("")
    if decide(actor, Action.EDIT_REGISTER, target, profile=profile).allowed:
        mode = "register"
    elif decide(actor, Action.EDIT_CONTACT, target, profile=profile).allowed:
        mode = "contact"
    else:
        return EditAccess("")
    from_register = register_owns_identity(target.person)
    if mode == "register" and not from_register:
        return EditAccess(mode, IDENTITY_FIELDS + CONTACT_FIELDS, (), False)
    return EditAccess(mode, CONTACT_FIELDS, IDENTITY_FIELDS, from_register)


def identity_visible(actor: Account, accounts: list[Account], profile: Profile | None = None) -> set[int]:
    """The listed accounts whose national ID the actor may see in full: those whose register data they
    keep (principal, secretary, ministry). Class teachers and supervisors see it masked
    (docs/privacy.md, least disclosure)."""
    from schoolid.accounts.scope import decide_many

    if not accounts:
        return set()
    return {pk for pk, decision in decide_many(actor, Action.EDIT_REGISTER, accounts, profile=profile).items() if decision.allowed}


def batch_title(batch) -> str:
    """The slips' header in words in the active language ("Class 1B, students"), not the stored
    filter ("type=students; class=R1D1S01-1A") that the audit keeps."""
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    from schoolid.core.numerals import local_digits

    text = batch.description or ""
    if "=" not in text:
        if text.endswith(" selected") and text.split()[0].isdigit():
            n = int(text.split()[0])
            return local_digits(ngettext("%(n)d person selected", "%(n)d people selected", n) % {"n": n})
        return ""
    pairs = dict(part.split("=", 1) for part in text.split("; ") if "=" in part)
    kinds = {"students": _("students"), "teachers": _("teachers"), "staff": _("staff")}
    kind = kinds.get(pairs.get("type", ""))
    unit = OrgUnit.objects.filter(code=pairs["class"]).only("name").first() if pairs.get("class") else None
    if unit is not None and kind:
        title = _("Class %(name)s, %(kind)s") % {"name": unit.name, "kind": kind}
    elif unit is not None:
        title = _("Class %(name)s") % {"name": unit.name}
    elif kind:
        title = {"students": _("Students"), "teachers": _("Teachers"), "staff": _("Staff")}[pairs["type"]]
    else:
        title = _("Everyone I may act on")
    if pairs.get("status") in Account.Status.values:
        title += " · " + str(Account.Status(pairs["status"]).label)
    if pairs.get("q"):
        title += " · " + _("search “%(q)s”") % {"q": pairs["q"]}
    return local_digits(title)
