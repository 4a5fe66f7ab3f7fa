"""A small school register for the Polish demo (seed 002), so "Sync now" works out of the box.

`schoolid demo` writes it as a OneRoster 1.2 CSV set under var/demo-register/ and points
SCHOOLID_SYNC_SOURCE at it. Each demo start writes the next state of the register: one more pupil
has arrived and one pupil's e-mail changed, so a sync after a restart has something to show; one row
carries a wrong PESEL check digit on purpose, to show how refused rows are reported.
"""
from __future__ import annotations

import csv
import datetime
import json
import random
from pathlib import Path

from schoolid.directory.models import OrgUnit
from schoolid.directory.national_ids import SCHEMES

FOLDER = "demo-register"
# The demo's own branch down to the first cluster: the register names it with the same codes, so the
# register's school joins the demo's tree instead of starting another.
KINDS = {"ministry": "national", "region": "state", "district": "district", "cluster": "local"}
GIVEN = [("Zofia", "Kowalska"), ("Jan", "Nowak"), ("Maja", "Wiśniewska"), ("Antoni", "Wójcik"), ("Lena", "Kamińska"),
         ("Franciszek", "Lewandowski"), ("Hanna", "Zielińska"), ("Szymon", "Szymański"), ("Alicja", "Woźniak"),
         ("Filip", "Dąbrowski"), ("Oliwia", "Kozłowska"), ("Leon", "Jankowski"), ("Pola", "Mazur"), ("Igor", "Krawczyk")]
SCHOOL = ("demo-sp90", "R1D1S90", "Szkoła Podstawowa nr 90 (rejestr UONET+)")


def _branch() -> list[OrgUnit]:
    cluster = OrgUnit.objects.filter(kind="cluster").order_by("code").first()
    if cluster is None:
        return []
    branch, unit = [], cluster
    while unit is not None:
        branch.append(unit)
        unit = unit.parent
    return list(reversed(branch))


def write_demo_register(var_dir: Path, seed: int = 90) -> Path:
    """Write the next state of the demo register and return its folder."""
    folder = Path(var_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    state_file = folder / "state.json"
    run = json.loads(state_file.read_text()).get("run", 0) + 1 if state_file.exists() else 1
    branch = _branch()
    for unit in branch:  # the register knows these units by its own ids from now on
        if not unit.sourced_id:
            OrgUnit.objects.filter(pk=unit.pk).update(sourced_id=f"demo-{unit.code}")
            unit.sourced_id = f"demo-{unit.code}"
    rng = random.Random(seed)
    pesel = SCHEMES["pl_pesel"]
    today = datetime.date.today()
    year = today.year if today.month >= 9 else today.year - 1
    pupils = []
    for i in range(12 + run):  # one more pupil arrives with every run
        given, family = GIVEN[i % len(GIVEN)]
        birth = datetime.date(year - 10 - i % 2, 1 + i % 12, 1 + (7 * i) % 28)
        number = pesel.generate(rng, birth_date=birth, female=given.endswith("a"))
        email = f"{given.lower()}.{i}@sp90.edu.pl".replace("ł", "l").replace("ó", "o")
        if i == run % 12:  # this pupil changed their address in the register
            email = f"{given.lower()}.{i}.nowy{run}@sp90.edu.pl"
        pupils.append((f"u-{i}", given, family, number, email, "cls-4a" if i % 2 == 0 else "cls-4b"))
    teacher = ("u-t1", "Ewa", "Nauczycielska", pesel.generate(rng, birth_date=datetime.date(1980, 5, 17), female=True), "ewa.n@sp90.edu.pl")
    bad = ("u-bad", "Adam", "Błędny", pupils[0][3][:-1] + str((int(pupils[0][3][-1]) + 1) % 10), "", "cls-4a")

    def write(name, header, rows):
        with open(folder / name, "w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(header)
            out.writerows(rows)

    files = ["academicSessions", "classes", "enrollments", "orgs", "roles", "users"]
    write("manifest.csv", ["propertyName", "value"],
          [["manifest.version", "1.0"], ["oneroster.version", "1.2"], *[[f"file.{f}", "bulk"] for f in files],
           ["file.demographics", "absent"], ["source.systemName", "UONET+ (demo)"]])
    orgs = []
    parent = ""
    for unit in branch:
        orgs.append([unit.sourced_id, "", "", unit.name, KINDS[unit.kind], unit.code, parent])
        parent = unit.sourced_id
    orgs.append([SCHOOL[0], "", "", SCHOOL[2], "school", SCHOOL[1], parent])
    write("orgs.csv", ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"], orgs)
    write("academicSessions.csv", ["sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"],
          [["term-demo", "", "", f"Rok szkolny {year}/{year + 1}", "schoolYear", f"{year}-09-01", f"{year + 1}-06-25", "", str(year + 1)]])
    write("classes.csv", ["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType", "location",
                          "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"],
          [[c, "", "", f"Klasa {code}", "04", "course-4", code, "homeroom", "", SCHOOL[0], "term-demo", "", "", ""] for c, code in (("cls-4a", "4a"), ("cls-4b", "4b"))])
    users = [[sid, "", "", "true", "", f"{{PESEL:{number}}}", given, family, "", "", email, "", "", "", "04", "", number, "", "", "", "", SCHOOL[0], ""]
             for sid, given, family, number, email, _cls in [*pupils, bad]]
    users.append([teacher[0], "", "", "true", "", f"{{PESEL:{teacher[3]}}}", teacher[1], teacher[2], "", "", teacher[4], "", "", "", "", "", teacher[3], "", "", "", "", SCHOOL[0], ""])
    write("users.csv", ["sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName", "familyName", "middleName",
                        "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password", "userMasterIdentifier", "resourceSourcedIds",
                        "preferredGivenName", "preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId", "pronouns"], users)
    roles = [[f"r-{sid}", "", "", sid, "primary", "student", f"{year}-09-01", "", SCHOOL[0], ""] for sid, *_rest in pupils]
    roles.append([f"r-{teacher[0]}", "", "", teacher[0], "primary", "teacher", f"{year}-09-01", "", SCHOOL[0], ""])
    write("roles.csv", ["sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId"], roles)
    enrollments = [[f"e-{sid}", "", "", cls, SCHOOL[0], sid, "student", "false", f"{year}-09-01", ""] for sid, _g, _f, _n, _e, cls in pupils]
    enrollments.append(["e-t1", "", "", "cls-4a", SCHOOL[0], teacher[0], "teacher", "true", f"{year}-09-01", ""])
    write("enrollments.csv", ["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate", "endDate"], enrollments)
    state_file.write_text(json.dumps({"run": run}))
    return folder
