"""Who may act on whom: the one rule, for the web console, the API and the CLI alike.

An action is allowed when the actor holds a current role assignment whose rule covers the action
and the target's role, and the target sits inside the org unit of that assignment
(shared/docs/design.md, "Who may act on whom").

Because a credential or contact change affects the whole account, a target's *privileged*
assignments (every role but student and guardian) must all be covered: a principal cannot reset a
teacher who is also a district officer elsewhere. Student and guardian assignments need only one
covered assignment, so a parent with children in two schools can be served by either school.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum

from django.utils import timezone

from schoolid.accounts.models import Account, Role, RoleAssignment
from schoolid.core.profiles import Profile, current_profile
from schoolid.directory.models import Guardianship, OrgUnit


class Action(StrEnum):
    ISSUE_CREDENTIALS = "credentials.issue"  # issue or reset passwords and one-time secrets
    EDIT_REGISTER = "register.edit"  # any register field
    EDIT_CONTACT = "register.edit_contact"  # e-mail and mobile only
    PROPOSE_GUARDIANSHIP = "guardianship.propose"
    # A parent's own right over a young child (issue 6), not a staff rule: see _judge_parent.
    PARENT_RESET = "credentials.parent_reset"


R = Role
ALL_ROLES = frozenset(Role.values)
SCHOOL_ROLES = frozenset({R.STUDENT, R.GUARDIAN, R.TEACHER, R.CLASS_TEACHER, R.SECRETARY, R.PRINCIPAL})
NON_PRIVILEGED = frozenset({R.STUDENT, R.GUARDIAN})


@dataclass(frozen=True)
class Rule:
    actor_role: str
    actions: frozenset
    target_roles: frozenset
    # The rule applies only when the actor's assignment sits at one of these kinds (None: any).
    actor_unit_kinds: frozenset | None = None
    # Name of a boolean country-profile setting that must be on.
    profile_flag: str | None = None


A = Action
RULES: tuple[Rule, ...] = (
    Rule(R.PRINCIPAL, frozenset({A.ISSUE_CREDENTIALS}), frozenset({R.STUDENT, R.TEACHER, R.CLASS_TEACHER, R.SECRETARY})),
    Rule(R.PRINCIPAL, frozenset({A.EDIT_REGISTER, A.EDIT_CONTACT}), SCHOOL_ROLES),
    Rule(R.PRINCIPAL, frozenset({A.PROPOSE_GUARDIANSHIP}), NON_PRIVILEGED),
    Rule(R.SECRETARY, frozenset({A.EDIT_REGISTER, A.EDIT_CONTACT, A.PROPOSE_GUARDIANSHIP}), NON_PRIVILEGED),
    Rule(R.CLASS_TEACHER, frozenset({A.ISSUE_CREDENTIALS}), frozenset({R.STUDENT}), frozenset({OrgUnit.Kind.CLASS}), "class_teacher_may_reset"),
    Rule(R.TEACHER, frozenset({A.ISSUE_CREDENTIALS}), frozenset({R.STUDENT}), frozenset({OrgUnit.Kind.CLASS}), "class_teacher_may_reset"),
    Rule(R.CLASS_TEACHER, frozenset({A.EDIT_CONTACT, A.PROPOSE_GUARDIANSHIP}), NON_PRIVILEGED, frozenset({OrgUnit.Kind.CLASS})),
    Rule(R.CLUSTER_SUPERVISOR, frozenset({A.ISSUE_CREDENTIALS}), frozenset({R.TEACHER, R.CLASS_TEACHER})),
    Rule(R.DISTRICT_OFFICER, frozenset({A.ISSUE_CREDENTIALS}), frozenset({R.PRINCIPAL, R.CLUSTER_SUPERVISOR, R.TEACHER, R.CLASS_TEACHER})),
    Rule(R.MINISTRY_ADMIN, frozenset(Action) - {A.PARENT_RESET}, ALL_ROLES),
)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # "allowed", "self", "actor_inactive", "no_rule", "outside_scope", "privileged_target"
    via: RoleAssignment | None = None

    def __bool__(self):
        return self.allowed


def _rules_for(assignment: RoleAssignment, action: Action, profile: Profile) -> list[Rule]:
    return [
        rule
        for rule in RULES
        if rule.actor_role == assignment.role
        and action in rule.actions
        and (rule.actor_unit_kinds is None or assignment.org_unit.kind in rule.actor_unit_kinds)
        and (rule.profile_flag is None or getattr(profile, rule.profile_flag))
    ]


def _ward_paths(person_ids: list[int]) -> dict[int, list[str]]:
    """Org unit paths where each guardian's confirmed wards are students, for guardian targets."""
    result: dict[int, list[str]] = {pid: [] for pid in person_ids}
    if not person_ids:
        return result
    rows = (
        RoleAssignment.objects.current()
        .filter(
            role=R.STUDENT,
            account__person__guardians__guardian_id__in=person_ids,
            account__person__guardians__status=Guardianship.Status.CONFIRMED,
        )
        .values_list("account__person__guardians__guardian_id", "org_unit__path")
    )
    for guardian_id, path in rows:
        result[guardian_id].append(path)
    return result


def _usable(actor: Account, action: Action, profile: Profile) -> list[tuple[RoleAssignment, list[Rule]]]:
    usable = [(a, _rules_for(a, action, profile)) for a in actor.assignments.current().select_related("org_unit")]
    return [(a, rules) for a, rules in usable if rules]


def _judge(actor: Account, usable, target: Account, target_assignments: list[RoleAssignment], ward_paths) -> Decision:
    """The rule itself, on data already loaded."""
    if actor.pk == target.pk:
        return Decision(False, "self")
    if not usable:
        return Decision(False, "no_rule")
    if not target_assignments:
        # Nobody but the ministry (the root) is responsible for an account with no role...
        for assignment, _rules in usable:
            if assignment.role == R.MINISTRY_ADMIN and assignment.org_unit.parent_id is None:
                return Decision(True, "allowed", assignment)
        # ...except a guardian known only by a confirmed link (the register brings links, not always
        # a guardian role): judged as a guardian, through the places of the wards.
        paths = ward_paths(target)
        for assignment, rules in usable:
            if any(R.GUARDIAN in rule.target_roles for rule in rules) and any(p.startswith(assignment.org_unit.path) for p in paths):
                return Decision(True, "allowed", assignment)
        return Decision(False, "outside_scope")

    def covering(ta: RoleAssignment) -> RoleAssignment | None:
        for assignment, rules in usable:
            if not any(ta.role in rule.target_roles for rule in rules):
                continue
            root = assignment.org_unit.path
            if ta.org_unit.path.startswith(root):
                return assignment
            if ta.role == R.GUARDIAN and any(p.startswith(root) for p in ward_paths(target)):
                return assignment
        return None

    via = None
    for ta in target_assignments:
        cover = covering(ta)
        if cover is None and ta.role not in NON_PRIVILEGED:
            return Decision(False, "privileged_target")
        via = via or cover
    if via is None:
        return Decision(False, "outside_scope")
    return Decision(True, "allowed", via)


def age_on(birth: datetime.date, today: datetime.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def is_young(person, profile: Profile | None = None) -> bool:
    """Under the profile's age threshold, by the register's birth date (unknown: not young)."""
    if person is None or person.birth_date is None:
        return False
    profile = profile or current_profile()
    return age_on(person.birth_date, timezone.localdate()) < profile.age_threshold


def _judge_parent(guardian: Account, child: Account, profile: Profile) -> Decision:
    """A parent may reset their own child's password: where the profile allows it, through a confirmed
    link, while the child is under the age threshold (NIST SP 800-63B §4.2.1.3 recovery contacts)."""
    if not profile.parent_may_reset_young_child:
        return Decision(False, "profile")
    if guardian.person_id is None or child.person_id is None or not Guardianship.objects.filter(
        guardian_id=guardian.person_id, student_id=child.person_id, status=Guardianship.Status.CONFIRMED
    ).exists():
        return Decision(False, "not_your_child")
    if not is_young(child.person, profile):
        return Decision(False, "not_young")
    return Decision(True, "allowed")


def decide(actor: Account, action: Action | str, target: Account, *, profile: Profile | None = None) -> Decision:
    """Whether `actor` may do `action` to `target`. Pure decision: no audit, no side effects."""
    return decide_many(actor, action, [target], profile=profile)[target.pk]


def decide_many(actor: Account, action: Action | str, targets: list[Account], *, profile: Profile | None = None) -> dict[int, Decision]:
    """The same rule for many targets, with the data loaded in a few queries (a whole school at once).

    Also leaves each target's current assignments on `target.current_assignments`."""
    action = Action(action)
    profile = profile or current_profile()
    if action == Action.PARENT_RESET:
        return {t.pk: _judge_parent(actor, t, profile) for t in targets}
    if not actor.is_active:
        return {t.pk: Decision(False, "actor_inactive") for t in targets}
    usable = _usable(actor, action, profile)
    by_account: dict[int, list[RoleAssignment]] = {t.pk: [] for t in targets}
    for assignment in RoleAssignment.objects.current().filter(account_id__in=list(by_account)).select_related("org_unit__parent"):
        by_account[assignment.account_id].append(assignment)
    guardian_people = [t.person_id for t in targets if t.person_id and (not by_account[t.pk] or any(a.role == R.GUARDIAN for a in by_account[t.pk]))]
    wards: dict[int, list[str]] | None = None

    def ward_paths(target: Account) -> list[str]:
        nonlocal wards
        if wards is None:
            wards = _ward_paths(guardian_people)
        return wards.get(target.person_id, [])

    decisions = {}
    for target in targets:
        target.current_assignments = by_account[target.pk]
        decisions[target.pk] = _judge(actor, usable, target, by_account[target.pk], ward_paths)
    return decisions


# --- a person in two units (issue 11, item 2) -------------------------------------------------------
def places_of(account: Account) -> list[tuple[str, str]]:
    """(role, unit path) of the account's current roles, a guardian known only by confirmed links
    counting as a guardian where the wards are (their schools have power over them)."""
    held = list(RoleAssignment.objects.current().filter(account=account).values_list("role", "org_unit__path"))
    if account.person_id and not any(role == R.GUARDIAN for role, _p in held):
        held += [(R.GUARDIAN, path) for path in _ward_paths([account.person_id])[account.person_id]]
    return held


def places_outside(account: Account, scope_path: str) -> list[tuple[str, str]]:
    return [(role, path) for role, path in places_of(account) if not path.startswith(scope_path)]


def extends_power(account: Account, scope_path: str) -> bool:
    """Would a new role inside `scope_path` give that unit's staff (or its scoped client) power they do
    not have today over a person who is also someone else's (ASVS v5 8.2.2, 8.4.1)?

    No for a person with no role outside. No either for a person who already has a role inside and
    holds a staff role outside: the scope rule keeps the unit's staff off them whatever is added (every
    privileged role must be covered). Yes otherwise: a pupil of school B would fall under school A."""
    outside = places_outside(account, scope_path)
    if not outside:
        return False
    inside = RoleAssignment.objects.current().filter(account=account, org_unit__path__startswith=scope_path).exists()
    return not (inside and any(role not in NON_PRIVILEGED for role, _p in outside))


def may_confirm_role(actor: Account, account: Account, role: str, unit: OrgUnit, *, profile: Profile | None = None) -> bool:
    """An actor confirms a waiting role when one of their assignments may edit the register of the
    role's holders and covers both the new unit and every place the person holds a role today."""
    if not actor.is_active or actor.pk == account.pk:
        return False
    paths = [unit.path] + [path for _role, path in places_outside(account, unit.path)]
    roles = {role} | {r for r, _p in places_outside(account, unit.path)}
    for assignment, rules in _usable(actor, Action.EDIT_REGISTER, profile or current_profile()):
        if all(p.startswith(assignment.org_unit.path) for p in paths) and any(roles <= rule.target_roles for rule in rules):
            return True
    return False
