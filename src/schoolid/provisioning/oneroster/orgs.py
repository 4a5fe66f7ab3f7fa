"""Org units from orgs.csv and classes.csv: a few thousand rows, merged with the ORM level by level."""
from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _

from schoolid.core.digits import clean_text
from schoolid.directory.models import OrgUnit
from schoolid.directory.text import search_key
from schoolid.provisioning.oneroster.staging import Stage
from schoolid.provisioning.report import Problem, warning

# OneRoster org types -> SchoolID kinds. A "department" (and any other type, e.g. "ext:…") is no unit
# of its own: it stands for its parent, so its classes and roles go to its school (README).
ORG_KIND = {"national": "ministry", "state": "region", "district": "district", "local": "cluster", "school": "school"}
ALIAS = "alias"
RANK = {"ministry": 0, "region": 1, "district": 2, "cluster": 3, "school": 4, "class": 5}
ROOT = object()  # the parent of an org whose row names none


# A row whose parent (school, class, user) is in the data set says what became of that row.
def parent_refused(file, line, reason):
    return _("Line %(line)d of %(file)s, which this row refers to, was refused: %(reason)s") % {"line": line, "file": file, "reason": reason}


def parent_deleted(file, line):
    return _("Line %(line)d of %(file)s, which this row refers to, is marked tobedeleted.") % {"line": line, "file": file}


def _segment(pk: int) -> str:
    return f"{pk:x}/"


class OrgMerge:
    def __init__(self, dataset, problems: list[Problem], counts: dict, now):
        self.dataset, self.problems, self.counts, self.now = dataset, problems, counts, now
        self.by_sid: dict[str, OrgUnit] = {o.sourced_id: o for o in OrgUnit.objects.filter(sourced_id__isnull=False)}
        self.codes: dict[str, str | None] = dict(OrgUnit.objects.values_list("code", "sourced_id"))
        self.seen: set[str] = set()
        self.unchanged: Counter = Counter()
        self.ended: Counter = Counter()
        self.rows_of: dict[str, tuple[str, int]] = {}  # sourcedId -> (file, line)
        self.deleted: set[str] = set()  # tobedeleted rows, for the messages of rows that need them
        self.aliases: dict[str, str] = {}  # a department's sourcedId -> its parent's
        self._root = None

    # -- reading ------------------------------------------------------------------------------
    def _org_rows(self):
        for line, row in self.dataset.rows("orgs.csv"):
            sid = clean_text(row.get("sourcedId", ""))
            org_type = clean_text(row.get("type", ""))
            kind = ORG_KIND.get(org_type)
            if not sid:
                self.problems.append(Problem("orgs.csv", line, "sourcedId", _("The sourcedId is empty.")))
                continue
            if kind is None:
                kind = ALIAS
            yield line, sid, kind, row, clean_text(row.get("parentSourcedId", "")), clean_text(row.get("identifier", "")) or sid
        for line, row in self.dataset.rows("classes.csv"):
            sid = clean_text(row.get("sourcedId", ""))
            if not sid:
                self.problems.append(Problem("classes.csv", line, "sourcedId", _("The sourcedId is empty.")))
                continue
            school = clean_text(row.get("schoolSourcedId", ""))
            class_code = clean_text(row.get("classCode", ""))
            # A class code ("6a") is unique only within its school: the school's code goes in front,
            # once the school is known (see _apply).
            yield line, sid, "class", {**row, "name": row.get("title", "")}, school, ("class", class_code)

    def merge(self) -> None:
        pending = []
        for line, sid, kind, row, parent_sid, code in self._org_rows():
            file = "classes.csv" if kind == "class" else "orgs.csv"
            if sid in self.seen:
                self.problems.append(Problem(file, line, "sourcedId", _("This sourcedId appears twice."), sid))
                continue
            self.seen.add(sid)
            self.rows_of[sid] = (file, line)
            deleted = clean_text(row.get("status", "")).lower() == "tobedeleted"
            if deleted:
                self.deleted.add(sid)
                self.ended[file] += 1
            name = clean_text(row.get("name", ""))[:200]
            if not name and not deleted:
                self.problems.append(Problem(file, line, "name" if kind != "class" else "title", _("The name is empty."), sid))
                continue
            if not parent_sid and kind not in ("ministry", "class", ALIAS):
                parent_sid = ROOT
            pending.append((line, file, sid, kind, name, parent_sid, code, deleted, row))
        # Parents before children: repeat until no row can be placed any more. Rows without a parent
        # wait one pass, so that a national org of the same file is there to be their root.
        first = True
        while pending:
            left = []
            self._new: list[OrgUnit] = []
            for item in pending:
                line, file, sid, kind, name, parent_sid, code, deleted, row = item
                if parent_sid is ROOT:
                    if first:
                        left.append(item)
                        continue
                    parent = self.root(line, file, sid)
                    if parent is None:
                        continue
                else:
                    parent = self.by_sid.get(parent_sid) if parent_sid else None
                if parent_sid and parent is None:
                    left.append(item)
                    continue
                if kind == ALIAS:
                    self._alias(line, sid, row, parent, deleted)
                    continue
                if parent_sid is ROOT and not deleted:
                    self.problems.append(warning(file, line, "parentSourcedId", _("No parent: attached under %(name)s (%(code)s).") % {
                        "name": parent.name, "code": parent.code}, sid))
                self._apply(line, file, sid, kind, name, parent, code, deleted)
            self._create_new()
            if len(left) == len(pending) and not first:
                for line, file, sid, _kind, _name, parent_sid, *_rest in left:
                    self._unplaced(line, file, sid, parent_sid)
                break
            first = False
            pending = left
        self._deactivate_missing()

    def read_aliases(self) -> None:
        """The departments of an orgs.csv that is not merged again (unchanged): roles still need
        them mapped to their parents. Reading problems were reported by the run that applied it."""
        saved, read = self.dataset.problems, dict(self.dataset.read)
        self.dataset.problems = []
        try:
            parents = {}
            for _line, sid, kind, _row, parent_sid, _code in self._org_rows():
                if kind == ALIAS and parent_sid:
                    parents[sid] = parent_sid
            for sid, parent in parents.items():
                for _ in range(10):  # a department inside a department
                    if parent not in parents:
                        break
                    parent = parents[parent]
                self.aliases[sid] = parent
        finally:
            self.dataset.problems, self.dataset.read = saved, read

    def _unplaced(self, line, file, sid, parent_sid) -> None:
        field = "schoolSourcedId" if file == "classes.csv" else "parentSourcedId"
        refused = next((p for p in self.problems if p.refused and p.sourced_id == parent_sid and p.file in ("orgs.csv", "classes.csv")), None)
        if refused is not None:
            reason = parent_refused(refused.file, refused.line, refused.reason)
        elif parent_sid in self.deleted:
            reason = parent_deleted(*self.rows_of[parent_sid])
        else:
            reason = _("Unknown org: the parent is neither in the file nor in the register.")
        self.problems.append(Problem(file, line, field, reason, sid))

    def root(self, line, file, sid) -> OrgUnit | None:
        """Where an org without a parent goes: SCHOOLID_ONEROSTER_ROOT, else the one top-level unit
        (made when the register has none). None, with the row refused, when that is not clear."""
        if self._root is None:
            code = settings.SCHOOLID_ONEROSTER_ROOT
            if code:
                self._root = OrgUnit.objects.filter(code=code).first() or False
            else:
                tops = list(OrgUnit.objects.filter(parent__isnull=True, active=True).order_by("id")[:2])
                if not tops:
                    top = OrgUnit(kind="ministry", code="ROOT", name=str(settings.SCHOOLID_PROFILE.name), parent=None, path="tmp:ROOT",
                                  search_name=search_key(str(settings.SCHOOLID_PROFILE.name))[:420])
                    pending, self._new = self._new, [top]
                    self._create_new()
                    self._new = pending
                    self.by_sid.pop(None, None)
                    tops = [top]
                self._root = tops[0] if len(tops) == 1 else False
        if self._root is False:
            reason = (_("SCHOOLID_ONEROSTER_ROOT names no org unit.") if settings.SCHOOLID_ONEROSTER_ROOT
                      else _("No parent, and the register has several top-level units: set SCHOOLID_ONEROSTER_ROOT."))
            self.problems.append(Problem(file, line, "parentSourcedId", reason, sid))
            return None
        return self._root

    def _alias(self, line, sid, row, parent, deleted) -> None:
        """A department (or another type SchoolID has no kind for) stands for its parent unit."""
        org_type = clean_text(row.get("type", ""))
        if parent is None:
            self.problems.append(Problem("orgs.csv", line, "type", _("The org type “%(type)s” is not used by SchoolID, and the row names no parent to use instead.") % {
                "type": org_type}, sid))
            return
        self.by_sid[sid] = parent
        self.aliases[sid] = parent.sourced_id or ""
        if not deleted:
            self.problems.append(warning("orgs.csv", line, "type", _("A “%(type)s” is not a unit in SchoolID: its classes and roles go to %(name)s (%(code)s).") % {
                "type": org_type, "name": parent.name, "code": parent.code}, sid))

    def _apply(self, line, file, sid, kind, name, parent, code, deleted) -> None:
        if isinstance(code, tuple):
            code = f"{parent.code}-{code[1]}" if parent and code[1] else sid
        code = code[:64]
        allowed = OrgUnit.ALLOWED_PARENTS[OrgUnit.Kind(kind)]
        # Under the root, any kind below the root's own fits (a district under the country's ministry).
        under_root = parent is not None and parent is self._root and RANK[parent.kind] < RANK[kind]
        if (parent.kind if parent else None) not in allowed and not under_root:
            self.problems.append(Problem(file, line, "parentSourcedId", _("A %(kind)s cannot be placed under a %(parent)s.") % {
                "kind": kind, "parent": parent.kind if parent else "-"}, sid))
            return
        owner = self.codes.get(code, sid)
        if owner != sid:
            self.problems.append(Problem(file, line, "identifier", _("Another org unit already has the code %(code)s.") % {"code": code}, sid))
            return
        unit = self.by_sid.get(sid)
        if unit is None:
            if deleted:
                return
            unit = OrgUnit(kind=kind, code=code, name=name, parent=parent, sourced_id=sid, path=f"tmp:{sid}"[:255],
                           search_name=search_key(name)[:420])
            self._new.append(unit)
            self.codes[code] = sid
            return
        changed = []
        if deleted:
            if unit.active:
                unit.active = False
                changed.append("active")
        else:
            for attr, value in (("name", name), ("kind", kind), ("code", code), ("active", True)):
                if getattr(unit, attr) != value:
                    setattr(unit, attr, value)
                    changed.append(attr)
            if unit.parent_id != (parent.pk if parent else None):
                self._move(unit, parent)
                changed.append("parent")
        if changed:
            unit.save(update_fields=[f for f in changed if f != "parent"] or ["name"])
            self.counts["orgs_updated"] += 1
        elif not deleted:
            self.unchanged[file] += 1

    def _create_new(self) -> None:
        """One level of new units: inserted together, then given their paths (which need their ids)."""
        if not self._new:
            return
        created = OrgUnit.objects.bulk_create(self._new, batch_size=2000)
        for unit in created:
            unit.path = (unit.parent.path if unit.parent else "/") + _segment(unit.pk)
            unit.depth = unit.parent.depth + 1 if unit.parent else 0
            self.by_sid[unit.sourced_id] = unit
        # bulk_update writes CASE expressions that grow with the batch; one join is linear.
        stage = Stage()
        stage.create("stage_org_path", "id bigint, path text, depth integer")
        stage.load("stage_org_path", ("id", "path", "depth"), ((u.pk, u.path, u.depth) for u in created))
        table = OrgUnit._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET path = s.path, depth = s.depth FROM stage_org_path s WHERE {table}.id = s.id")
        stage.drop_all()
        self.counts["orgs_created"] += len(created)

    def _move(self, unit: OrgUnit, parent: OrgUnit | None) -> None:
        old_path, old_depth = unit.path, unit.depth
        new_path = (parent.path if parent else "/") + _segment(unit.pk)
        delta = (parent.depth + 1 if parent else 0) - old_depth
        table = OrgUnit._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET path = %s || substr(path, %s), depth = depth + %s WHERE path LIKE %s",
                [new_path, len(old_path) + 1, delta, old_path + "%"],
            )
        OrgUnit.objects.filter(pk=unit.pk).update(parent=parent)
        unit.parent, unit.path, unit.depth = parent, new_path, unit.depth + delta
        for other in self.by_sid.values():
            if other.path.startswith(old_path) and other.pk != unit.pk:
                other.path = new_path + other.path[len(old_path):]
                other.depth += delta

    def _deactivate_missing(self) -> None:
        for file, kinds in (("orgs.csv", [k for k in ORG_KIND.values()]), ("classes.csv", ["class"])):
            if self.dataset.mode(file) != "bulk":
                continue
            gone = [u.pk for sid, u in self.by_sid.items() if sid not in self.seen and u.kind in kinds and u.active]
            if gone:
                OrgUnit.objects.filter(pk__in=gone).update(active=False)
                self.counts["orgs_deactivated"] += len(gone)

