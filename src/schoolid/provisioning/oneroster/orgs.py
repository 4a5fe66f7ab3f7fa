"""Org units from orgs.csv and classes.csv: a few thousand rows, merged with the ORM level by level."""
from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext_lazy as _

from schoolid.core.digits import clean_text
from schoolid.directory.models import OrgUnit
from schoolid.directory.text import search_key
from schoolid.provisioning.oneroster.staging import Stage
from schoolid.provisioning.report import Problem

# OneRoster org types -> SchoolID kinds. "department" has no place in a school tree.
ORG_KIND = {"national": "ministry", "state": "region", "district": "district", "local": "cluster", "school": "school"}


def _segment(pk: int) -> str:
    return f"{pk:x}/"


class OrgMerge:
    def __init__(self, dataset, problems: list[Problem], counts: dict, now):
        self.dataset, self.problems, self.counts, self.now = dataset, problems, counts, now
        self.by_sid: dict[str, OrgUnit] = {o.sourced_id: o for o in OrgUnit.objects.filter(sourced_id__isnull=False)}
        self.codes: dict[str, str | None] = dict(OrgUnit.objects.values_list("code", "sourced_id"))
        self.seen: set[str] = set()

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
                self.problems.append(Problem("orgs.csv", line, "type", _("The org type “%(type)s” is not used by SchoolID.") % {"type": org_type}, sid))
                continue
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
            deleted = clean_text(row.get("status", "")).lower() == "tobedeleted"
            name = clean_text(row.get("name", ""))[:200]
            if not name and not deleted:
                self.problems.append(Problem(file, line, "name" if kind != "class" else "title", _("The name is empty."), sid))
                continue
            pending.append((line, file, sid, kind, name, parent_sid, code, deleted))
        # Parents before children: repeat until no row can be placed any more.
        while pending:
            left = []
            self._new: list[OrgUnit] = []
            for item in pending:
                line, file, sid, kind, name, parent_sid, code, deleted = item
                parent = self.by_sid.get(parent_sid) if parent_sid else None
                if parent_sid and parent is None:
                    left.append(item)
                    continue
                self._apply(line, file, sid, kind, name, parent, code, deleted)
            self._create_new()
            if len(left) == len(pending):
                for line, file, sid, kind, *_rest in left:
                    field = "schoolSourcedId" if file == "classes.csv" else "parentSourcedId"
                    self.problems.append(Problem(file, line, field, _("Unknown org: the parent is neither in the file nor in the register."), sid))
                break
            pending = left
        self._deactivate_missing()

    def _apply(self, line, file, sid, kind, name, parent, code, deleted) -> None:
        if isinstance(code, tuple):
            code = f"{parent.code}-{code[1]}" if parent and code[1] else sid
        code = code[:64]
        allowed = OrgUnit.ALLOWED_PARENTS[OrgUnit.Kind(kind)]
        if (parent.kind if parent else None) not in allowed:
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

