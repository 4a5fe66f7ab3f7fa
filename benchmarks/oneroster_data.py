"""A synthetic OneRoster 1.2 CSV data set of a Polish-style country: schools, classes, students with
their guardians, teachers, valid PESEL numbers and mobile numbers. Used by benchmarks/import.py.

    python benchmarks/oneroster_data.py OUT_DIR [--people N] [--schools N]
"""
from __future__ import annotations

import argparse
import csv
import datetime
import os
import random
import shutil
from pathlib import Path

GIVEN_F = "Anna Maria Zofia Aleksandra Małgorzata Katarzyna Julia Zuzanna Maja Ewa Agnieszka Łucja Hanna Oliwia".split()
GIVEN_M = "Jan Piotr Jakub Kacper Tomasz Paweł Michał Krzysztof Łukasz Antoni Szymon Filip Wojciech Marek".split()
FAMILY = ("Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak Dąbrowski "
          "Kozłowski Jankowski Mazur Kwiatkowski Krawczyk Piotrowski Grabowski Nowakowski Pawłowski Michalski").split()
MOBILE_PREFIXES = ("50", "51", "53", "57", "60", "66", "69", "72", "73", "78", "79", "88")
_OFFSET = {1900: 0, 2000: 20}
_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)

MANIFEST = {"manifest.version": "1.0", "oneroster.version": "1.2", "file.academicSessions": "bulk", "file.classes": "bulk",
            "file.demographics": "bulk", "file.enrollments": "bulk", "file.orgs": "bulk", "file.roles": "bulk", "file.users": "bulk",
            "source.systemName": "benchmark"}
USER_HEADER = ["sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName", "familyName",
               "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password", "userMasterIdentifier"]


def pesel(rng: random.Random, born: datetime.date, used: set) -> str:
    while True:
        month = born.month + _OFFSET[born.year // 100 * 100]
        body = f"{born.year % 100:02d}{month:02d}{born.day:02d}{rng.randrange(10000):04d}"
        if body in used:
            continue
        used.add(body)
        check = (10 - sum(w * int(d) for w, d in zip(_WEIGHTS, body)) % 10) % 10
        return body + str(check)


def _born(rng: random.Random, start_year: int, end_year: int) -> datetime.date:
    start = datetime.date(start_year, 1, 1)
    return start + datetime.timedelta(days=rng.randrange((datetime.date(end_year, 12, 28) - start).days))


def _name(rng, female):
    return rng.choice(GIVEN_F if female else GIVEN_M), rng.choice(FAMILY)


def generate(out: Path, *, people: int = 1_000_000, schools: int = 3000, seed: int = 2026) -> dict:
    """Write the data set into `out`; returns counts by role."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["propertyName", "value"])
        w.writerows(MANIFEST.items())
    per_school = people / schools
    students_per_school = round(per_school * 0.6)
    teachers_per_school = max(9, int(per_school * 0.05))
    classes_per_school = 8
    used: set = set()
    counts = {"student": 0, "guardian": 0, "teacher": 0}
    files = {name: open(out / name, "w", newline="", encoding="utf-8") for name in
             ("orgs.csv", "classes.csv", "users.csv", "roles.csv", "enrollments.csv", "demographics.csv", "academicSessions.csv")}
    try:
        w = {name: csv.writer(f) for name, f in files.items()}
        w["orgs.csv"].writerow(["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"])
        w["classes.csv"].writerow(["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode",
                                   "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"])
        w["users.csv"].writerow(USER_HEADER)
        w["roles.csv"].writerow(["sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate",
                                 "endDate", "orgSourcedId", "userProfileSourcedId"])
        w["enrollments.csv"].writerow(["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
                                       "userSourcedId", "role", "primary", "beginDate", "endDate"])
        w["demographics.csv"].writerow(["sourcedId", "status", "dateLastModified", "birthDate", "sex"])
        w["academicSessions.csv"].writerow(["sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
                                            "parentSourcedId", "schoolYear"])
        w["academicSessions.csv"].writerow(["y2026", "", "", "2026/2027", "schoolYear", "2026-09-01", "2027-06-25", "", "2027"])
        w["orgs.csv"].writerow(["men", "", "", "Ministerstwo Edukacji Narodowej", "national", "MEN", ""])
        for region in range(16):
            w["orgs.csv"].writerow([f"r{region}", "", "", f"Województwo {region + 1}", "state", f"PL-{region:02d}", "men"])
        districts = max(1, schools // 8)
        for district in range(districts):
            w["orgs.csv"].writerow([f"d{district}", "", "", f"Powiat {district + 1}", "district", f"D{district:04d}", f"r{district % 16}"])
        n = 0

        def user(sid, given, family, nid, email="", sms="", agents="", born=None, female=False):
            w["users.csv"].writerow([sid, "", "", "true", sid, f"{{PESEL:{nid}}}", given, family, "", "", email, sms, "",
                                     agents, "", "", nid])
            w["demographics.csv"].writerow([sid, "", "", born.isoformat(), "female" if female else "male"])

        def role(sid, r, org):
            w["roles.csv"].writerow([f"ro-{sid}-{org}", "", "", sid, "primary", r, "", "", org, ""])

        for school in range(schools):
            org = f"s{school}"
            w["orgs.csv"].writerow([org, "", "", f"Szkoła Podstawowa nr {school + 1}", "school", f"SP{school:05d}", f"d{school % districts}"])
            for c in range(classes_per_school):
                w["classes.csv"].writerow([f"{org}c{c}", "", "", f"Klasa {c + 1}a", f"{c + 1:02d}", "", f"{c + 1}a", "homeroom", "",
                                           org, "y2026", "", "", ""])
            for t in range(teachers_per_school):
                sid = f"t{school}_{t}"
                female = rng.random() < 0.7
                given, family = _name(rng, female)
                born = _born(rng, 1960, 1998)
                user(sid, given, family, pesel(rng, born, used), email=f"{sid}@sp{school}.edu.pl",
                     sms=f"+48{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}", born=born, female=female)
                role(sid, "teacher", org)
                if t < classes_per_school:
                    w["enrollments.csv"].writerow([f"en-{sid}", "", "", f"{org}c{t}", org, sid, "teacher", "true", "", ""])
                counts["teacher"] += 1
            students = 0
            family_no = 0
            while students < students_per_school:
                family_no += 1
                family = rng.choice(FAMILY)
                kids = [f"p{school}_{students + k}" for k in range(min(rng.choice((1, 2, 2, 3)), students_per_school - students))]
                parents = [f"g{school}_{family_no}_{k}" for k in range(rng.choice((1, 1, 1, 1, 2)))]
                for k, sid in enumerate(kids):
                    female = rng.random() < 0.5
                    born = _born(rng, 2011, 2019)
                    user(sid, _name(rng, female)[0], family, pesel(rng, born, used),
                         email=f"{sid}@uczen.edu.pl" if rng.random() < 0.5 else "", agents=",".join(parents), born=born, female=female)
                    role(sid, "student", org)
                    w["enrollments.csv"].writerow([f"en-{sid}", "", "", f"{org}c{(students + k) % classes_per_school}", org, sid,
                                                   "student", "false", "", ""])
                    counts["student"] += 1
                for sid in parents:
                    female = rng.random() < 0.6
                    born = _born(rng, 1970, 1995)
                    user(sid, _name(rng, female)[0], family, pesel(rng, born, used), email=f"{sid}@poczta.pl",
                         sms=f"+48{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}", agents=",".join(kids), born=born, female=female)
                    role(sid, "guardian", org)
                    counts["guardian"] += 1
                students += len(kids)
                n += len(kids) + len(parents)
    finally:
        for f in files.values():
            f.close()
    return counts


def change_one_percent(source: Path, out: Path, *, seed: int = 7) -> int:
    """A copy of `source` in which 1 % of users.csv rows changed (names and e-mails); the rest is linked."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    for name in os.listdir(source):
        if name != "users.csv":
            target = out / name
            if target.exists():
                target.unlink()
            try:
                os.link(source / name, target)
            except OSError:
                shutil.copy(source / name, target)
    changed = 0
    with open(source / "users.csv", newline="", encoding="utf-8") as src, open(out / "users.csv", "w", newline="", encoding="utf-8") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        header = next(reader)
        writer.writerow(header)
        family, email = header.index("familyName"), header.index("email")
        for row in reader:
            if rng.random() < 0.01:
                row[family] = rng.choice(FAMILY) + "-" + rng.choice(FAMILY)
                if row[email]:
                    row[email] = "new." + row[email]
                changed += 1
            writer.writerow(row)
    return changed


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--schools", type=int, default=3000)
    args = parser.parse_args()
    print(generate(args.out, people=args.people, schools=args.schools))
