"""Build a fictitious demo country: org tree, people with valid national IDs, accounts and roles.

Everything is made through the same models and checks as real data; bulk inserts keep it to seconds.
"""
from __future__ import annotations

import datetime
import random
import secrets
import unicodedata
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from schoolid.accounts.models import Account, RoleAssignment
from schoolid.accounts.passwords import requires_second_factor
from schoolid.accounts.selectors import login_identifier_for
from schoolid.accounts.services import set_password
from schoolid.accounts.user_codes import generate_user_code
from schoolid.core.profiles import Profile
from schoolid.credentials import totp
from schoolid.credentials.models import TotpDevice
from schoolid.directory.demo_data import load as load_country
from schoolid.directory.models import Guardianship, OrgUnit, Person
from schoolid.directory.national_ids import SCHEMES
from schoolid.directory.phones import generate_mobile
from schoolid.directory.services import create_org_unit

WORDS = (
    "amber anchor apple arrow basil birch bloom brook candle cedar cloud comet coral cotton daisy dawn "
    "ember feather fern fjord forest garnet glacier harbor hazel honey island ivory jasmine juniper kettle "
    "lagoon lantern lemon lilac linen maple meadow mint moss nectar ocean olive orchid pebble pepper pine "
    "plum prairie quartz quill raven reed river saffron sage sparrow spruce summit thistle tulip velvet willow"
).split()


def demo_password(words: int = 4) -> str:
    """A passphrase above every policy minimum (15+ characters), different on every run."""
    return "-".join(secrets.choice(WORDS) for _ in range(words)) + f"-{secrets.randbelow(90) + 10}"


@dataclass
class Identity:
    role: str
    name: str
    identifier_kind: str
    identifier: str
    password: str
    user_code: str
    # Staff sign in with a second factor; the demo enrols an authenticator for them and keeps its key
    # so `schoolid demo --code WHO` can show the current code to someone without an authenticator app.
    totp_seed: str = ""
    # What SMS sign-in and recovery ask for (printed for the parent).
    national_id: str = ""
    mobile: str = ""


@dataclass
class DemoResult:
    country: str
    counts: dict[str, int] = field(default_factory=dict)
    identities: list[Identity] = field(default_factory=list)


def _ascii(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L")
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if ch.isascii() and (ch.isalnum()))


class _Builder:
    def __init__(self, profile: Profile, students: int, seed: int):
        self.profile = profile
        self.rng = random.Random(seed)
        self.data = load_country(profile.country)
        self.scheme = SCHEMES[profile.national_id_scheme]
        self.students_wanted = students
        self.used_ids: set[str] = set(Person.objects.filter(national_id_scheme=self.scheme.code).values_list("national_id", flat=True))
        self.used_codes: set[str] = set(Account.objects.values_list("user_code", flat=True))
        self.people: list[Person] = []
        self.roles: list[tuple[int, str, OrgUnit]] = []  # (person index, role, unit)
        self.links: list[tuple[int, int]] = []  # (guardian index, student index)
        self.emails: set[str] = set()
        self.today = timezone.localdate()

    # --- people ---------------------------------------------------------------------------
    def _national_id(self, birth: datetime.date, female: bool) -> str:
        while True:
            value = self.scheme.generate(self.rng, birth_date=birth, female=female)
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    def _email(self, given: str, family: str) -> str:
        base = f"{_ascii(given).lower()}.{_ascii(family).lower()}" or "user"
        candidate, n = f"{base}@example.org", 1
        while candidate in self.emails:
            n += 1
            candidate = f"{base}{n}@example.org"
        self.emails.add(candidate)
        return candidate

    def person(self, *, age_from: int, age_to: int, adult: bool, female: bool | None = None, family=None) -> int:
        female = self.rng.random() < 0.5 if female is None else female
        given, fam = self.data.person_name(self.rng, female)
        if family is not None:
            fam = family[1] if female else family[0]
        birth = self.today - datetime.timedelta(days=self.rng.randint(age_from * 365 + 30, age_to * 365 + 300))
        p = Person(
            national_id_scheme=self.scheme.code,
            national_id=self._national_id(birth, female),
            given_name=given.native,
            family_name=fam.native,
            given_name_latin=given.latin,
            family_name_latin=fam.latin,
            birth_date=birth,
        )
        if adult:
            p.email, p.email_verified = self._email(given.latin, fam.latin), True
            p.mobile, p.mobile_verified = generate_mobile(self.rng, self.profile.phone_region), True
        p.refresh_search_name()
        self.people.append(p)
        return len(self.people) - 1

    def family_names(self):
        i = self.rng.randrange(len(self.data.surnames))
        return self.data.surnames[i], self.data.surnames_female[i]

    # --- the tree -------------------------------------------------------------------------
    def build(self) -> DemoResult:
        data = self.data
        ministry = create_org_unit(kind="ministry", code="MIN", name=data.ministry.native, name_latin=data.ministry.latin, parent=None)
        self.roles.append((self.person(age_from=35, age_to=55, adult=True), "ministry_admin", ministry))
        clusters = []
        for r, region in enumerate(data.regions, start=1):
            reg = create_org_unit(kind="region", code=f"R{r}", name=region.name.native, name_latin=region.name.latin, parent=ministry)
            for d, district in enumerate(region.districts, start=1):
                dist = create_org_unit(kind="district", code=f"R{r}D{d}", name=district.native, name_latin=district.latin, parent=reg)
                self.roles.append((self.person(age_from=35, age_to=60, adult=True), "district_officer", dist))
                cluster = create_org_unit(kind="cluster", code=f"R{r}D{d}C1", name=f"{district.native} 1", name_latin=f"{district.latin} cluster 1", parent=dist)
                self.roles.append((self.person(age_from=30, age_to=60, adult=True), "cluster_supervisor", cluster))
                clusters.append(cluster)
        schools_count = 10
        grades = data.class_names["grades"]
        sections = data.class_names["sections"]
        per_class = max(1, round(self.students_wanted / (schools_count * len(grades) * min(2, len(sections)))))
        used_names: set[str] = set()
        first_class_teacher = first_student = None
        for s in range(schools_count):
            cluster = clusters[s % len(clusters)]
            name = data.school_name(self.rng, used_names)
            used_names.add(name.native)
            school = create_org_unit(kind="school", code=f"{cluster.code.replace('C1', '')}S{s + 1:02d}", name=name.native, name_latin=name.latin, parent=cluster)
            OrgUnit.objects.filter(pk=school.pk).update(
                contact_phone=generate_mobile(self.rng, self.profile.phone_region), contact_email=f"office.{school.code.lower()}@school.example"
            )
            self.roles.append((self.person(age_from=35, age_to=60, adult=True), "principal", school))
            self.roles.append((self.person(age_from=25, age_to=60, adult=True), "secretary", school))
            for _ in range(4):
                self.roles.append((self.person(age_from=25, age_to=60, adult=True), "teacher", school))
            for g in grades:
                for sec_index in range(min(2, len(sections))):
                    cname = data.class_name(g, sec_index)
                    klass = create_org_unit(kind="class", code=f"{school.code}-{g}{sections[sec_index]['latin']}", name=cname.native, name_latin=cname.latin, parent=school)
                    teacher = self.person(age_from=25, age_to=60, adult=True)
                    self.roles.append((teacher, "class_teacher", klass))
                    self.roles.append((teacher, "teacher", school))
                    first_class_teacher = teacher if first_class_teacher is None else first_class_teacher
                    age = 6 + grades.index(g)
                    for _ in range(per_class):
                        fam = self.family_names()
                        student = self.person(age_from=age, age_to=age, adult=False, family=fam)
                        first_student = student if first_student is None else first_student
                        self.roles.append((student, "student", klass))
                        for g_index in range(1 if self.rng.random() < 0.4 else 2):
                            guardian = self.person(age_from=age + 20, age_to=age + 40, adult=True, female=g_index == 1, family=fam)
                            self.roles.append((guardian, "guardian", school))
                            self.links.append((guardian, student))
        return self._store(first_class_teacher, first_student)

    # --- storing ----------------------------------------------------------------------------
    def _user_code(self) -> str:
        while True:
            code = generate_user_code()
            if code not in self.used_codes:
                self.used_codes.add(code)
                return code

    def _store(self, demo_teacher: int, demo_student: int) -> DemoResult:
        Person.objects.bulk_create(self.people, batch_size=1000)
        # bulk_create sets primary keys on PostgreSQL and SQLite >= 3.35; fall back to a look-up otherwise.
        if self.people and self.people[0].pk is None:
            ids = dict(Person.objects.filter(national_id_scheme=self.scheme.code).values_list("national_id", "pk"))
            for p in self.people:
                p.pk = ids[p.national_id]
        unusable = make_password(None)
        accounts = [Account(user_code=self._user_code(), person=p, password=unusable) for p in self.people]
        Account.objects.bulk_create(accounts, batch_size=1000)
        if accounts and accounts[0].pk is None:
            by_person = dict(Account.objects.filter(person__in=self.people).values_list("person_id", "pk"))
            for a in accounts:
                a.pk = by_person[a.person_id]
        RoleAssignment.objects.bulk_create(
            [RoleAssignment(account=accounts[i], role=role, org_unit=unit, source=RoleAssignment.Source.REGISTER) for i, role, unit in self.roles],
            batch_size=2000,
        )
        Guardianship.objects.bulk_create(
            [Guardianship(guardian=self.people[g], student=self.people[s], status=Guardianship.Status.CONFIRMED, source=Guardianship.Source.REGISTER) for g, s in self.links],
            batch_size=2000,
        )
        result = DemoResult(country=self.profile.country)
        result.counts = {role: sum(1 for _i, r, _u in self.roles if r == role) for role in sorted({r for _i, r, _u in self.roles})}
        result.counts["people"] = len(self.people)
        result.counts["org_units"] = OrgUnit.objects.count()

        def first(role: str) -> int:  # roles are in tree order: these all belong to the first school's branch
            return next(i for i, r, _u in self.roles if r == role)

        guardian = next(g for g, s in self.links if s == demo_student)
        who = [("principal", first("principal")), ("secretary", first("secretary")), ("teacher", demo_teacher),
               ("supervisor", first("cluster_supervisor")), ("officer", first("district_officer")),
               ("parent", guardian), ("student", demo_student), ("operator", first("ministry_admin"))]
        for label, index in who:
            account = accounts[index]
            password = demo_password()
            set_password(account, password)
            kind, identifier = login_identifier_for(account, self.profile)
            seed = ""
            if requires_second_factor({r for i, r, _u in self.roles if i == index}, self.profile):
                device = totp.start_enrolment(account)
                TotpDevice.objects.filter(pk=device.pk).update(confirmed_at=timezone.now())
                seed = totp.seed_of(device)
            person = self.people[index]
            result.identities.append(Identity(label, person.full_name, kind, identifier, password, account.display_code, seed,
                                              national_id=person.national_id, mobile=person.mobile if person.mobile_verified else ""))
        return result


def build_demo_country(profile: Profile, *, students: int = 3000, seed: int | None = None) -> DemoResult:
    with transaction.atomic():
        return _Builder(profile, students, seed if seed is not None else secrets.randbits(32)).build()
