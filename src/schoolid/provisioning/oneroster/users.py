"""Reading people, roles, enrolments, guardians and birth dates into staging tables.

users.csv is the big file. A row whose raw content hashes to what the register sent last time is
not validated again: only its sourcedId is staged (so it counts as present) along with its roles
and guardians, which are cheap. Every other row is checked in full; a bad row becomes a Problem
and stages nothing, so it can never half-apply.
"""
from __future__ import annotations

import datetime
import hashlib
import re
import threading
from collections import Counter

from django.conf import settings
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from schoolid.core.digits import clean_text
from schoolid.core.profiles import current_profile
from schoolid.directory.national_ids import SCHEMES, InvalidNationalId
from schoolid.directory.phones import InvalidPhone, normalize_phone
from schoolid.directory.services import RegisterError, normalize_email
from schoolid.directory.text import person_search_name
from schoolid.provisioning.report import Problem, warning

# OneRoster roles -> SchoolID roles. Roles SchoolID has no use for are counted and skipped.
ROLE_MAP = {
    "student": "student", "guardian": "guardian", "parent": "guardian", "relative": "guardian",
    "teacher": "teacher", "principal": "principal", "administrator": "principal",
    "siteAdministrator": "secretary", "districtAdministrator": "district_officer",
}
SKIPPED_ROLES = {"aide", "counselor", "proctor", "systemAdministrator"}

_USER_IDS = re.compile(r"\{\s*([^:{}]+?)\s*:\s*([^{}]*?)\s*\}")
_TRUE = {"true", "1", "yes", ""}
_FALSE = {"false", "0", "no"}
_BOOLS = _TRUE | _FALSE


# The scheme of people keyed by the register's sourcedId (profile national_id_required = false).
SOURCE_SCHEME = "source"


def source_key(sourced_id: str) -> str:
    """The sourcedId itself where it fits the national ID column, else a 128-bit digest of it."""
    if len(sourced_id) <= 32:
        return sourced_id
    return "h:" + hashlib.blake2b(sourced_id.encode(), digest_size=15).hexdigest()


def sid_key(sourced_id: str) -> int:
    """A 64-bit key for a sourcedId: the in-memory sets of a million ids stay small."""
    return int.from_bytes(hashlib.blake2b(sourced_id.encode(), digest_size=8).digest(), "big")


def _signed(key: int) -> int:
    """The 64-bit key as a signed value, which a bigint column holds."""
    return key - (1 << 64) if key >= 1 << 63 else key


def unsigned(key: int) -> int:
    return key + (1 << 64) if key < 0 else key


def row_hash(values) -> str:
    return hashlib.blake2b("\x1f".join(values).encode(), digest_size=16).hexdigest()


def _date(value: str) -> datetime.date | None:
    value = clean_text(value)
    if not value:
        return None
    return datetime.date.fromisoformat(value[:10])


def _timestamp(value: str):
    value = clean_text(value)
    if not value:
        return None
    moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


class UserStaging:
    PERSON_COLUMNS = ("line", "sid", "scheme", "nid", "given", "family", "given_l", "family_l", "birth", "email",
                      "mobile", "enabled", "deleted", "search", "hash", "modified", "skey", "agents")

    def __init__(self, dataset, stage, problems: list[Problem], counts: dict, *, buckets=None):
        self.dataset, self.stage, self.problems, self.counts = dataset, stage, problems, counts
        # Rows per file that end as "unchanged" or "ended" (the other buckets come from the problems).
        self.unchanged: Counter = Counter()
        self.ended: Counter = Counter()
        self._warnings: list[Problem] = []
        profile = current_profile()
        self.scheme = SCHEMES[profile.national_id_scheme]
        self.id_types = {t.lower() for t in settings.SCHOOLID_ONEROSTER_ID_TYPES}
        self.phone_region = profile.phone_region
        self.national_id_required = profile.national_id_required
        self.agents_in_python = connection.vendor != "postgresql"
        self.adapt_ts = connection.ops.adapt_datetimefield_value

    def create_tables(self) -> None:
        date, ts, flag = "date", ("timestamp with time zone" if connection.vendor == "postgresql" else "datetime"), "boolean"
        self.stage.create("stage_person", f"line integer, sid text, scheme text, nid text, given text, family text, given_l text, "
                                          f"family_l text, birth {date}, email text, mobile text, enabled {flag}, deleted {flag}, "
                                          f"search text, hash text, modified {ts}, skey bigint, agents text")
        self.stage.create("stage_missing", "skey bigint")
        # rid: the row's own sourcedId, which the report names (sid is the user's).
        self.stage.create("stage_role", f"line integer, file text, sid text, role text, org_sid text, deleted {flag}, rid text")
        self.stage.create("stage_enr", f"line integer, sid text, class_sid text, role text, deleted {flag}, rid text")
        self.stage.create("stage_agent", "line integer, sid text, agent_sid text")
        self.stage.create("stage_demo", f"line integer, sid text, birth {date}")

    # -- users.csv ---------------------------------------------------------------------------
    def stage_users(self, stored_hashes: dict[int, str]) -> None:
        """Stage the rows that changed since the register last sent them; count the rest as present."""
        self.new_people = 0
        if not self.dataset.present("users.csv"):
            return
        seen: set[int] = set()
        # National IDs of the rows checked in this run; an unchanged row's number is in the register
        # already, so a clash with it is found in SQL (Merge.check_people).
        numbers: set[int] = set()
        # The direct COPY is entered last so that it closes first, before the spooled ones load.
        with self.stage.writer("stage_role", _Background.ROLE_COLUMNS, spool=True) as role_out, \
                self.stage.writer("stage_agent", ("line", "sid", "agent_sid"), spool=True) as agent_out, \
                self.stage.writer("stage_person", self.PERSON_COLUMNS) as person_out:

            for line, row in self.dataset.rows("users.csv"):
                sid = clean_text(row.get("sourcedId", ""))
                if not sid:
                    self.problems.append(Problem("users.csv", line, "sourcedId", _("The sourcedId is empty.")))
                    continue
                key = sid_key(sid)
                if key in seen:
                    self.problems.append(Problem("users.csv", line, "sourcedId", _("This sourcedId appears twice."), sid))
                    continue
                seen.add(key)
                status = clean_text(row.get("status", "")).lower()
                if status not in ("", "active", "tobedeleted"):
                    self.problems.append(Problem("users.csv", line, "status", _("The status must be active or tobedeleted."), sid))
                    continue
                deleted = status == "tobedeleted"
                digest = row_hash(row.values())
                if stored_hashes.get(key) == digest and not deleted:
                    # Unchanged: its person, roles and guardians are as the register said last time.
                    self.counts["people_unchanged"] += 1
                    self.unchanged["users.csv"] += 1
                    continue
                agents = [a for a in (clean_text(a) for a in row.get("agentSourcedIds", "").split(",")) if a]
                item = (line, sid, row, deleted, digest, key, agents)
                staged = self._person(line, sid, row, deleted, digest, key, ",".join(agents))
                self._apply_checked(item, staged, person_out, agent_out, role_out, numbers, stored_hashes)
        if not self.agents_in_python:
            # PostgreSQL splits the agents column itself, faster than writing a row per agent here.
            with connection.cursor() as cursor:
                cursor.execute("""INSERT INTO stage_agent (line, sid, agent_sid)
                                  SELECT line, sid, unnest(string_to_array(agents, ',')) FROM stage_person WHERE agents <> ''""")
        if self.dataset.mode("users.csv") == "bulk":
            # Absent from a bulk file: named by key, so the million present need not be staged.
            self.stage.load("stage_missing", ("skey",), ((_signed(k),) for k in stored_hashes.keys() - seen))

    def _apply_checked(self, item, staged, person_out, agent_out, role_out, numbers, stored_hashes):
        line, sid, row, deleted, _digest, key, agents = item
        warnings, self._warnings = self._warnings, []
        if isinstance(staged, Problem):
            self.problems.append(staged)
            return
        number = staged[3]
        if number:
            number_key = sid_key(f"{staged[2]}:{number}")  # a sourcedId that looks like a number is not that number
            if number_key in numbers:
                self.problems.append(Problem("users.csv", line, "userMasterIdentifier",
                                             _("Duplicate national ID: an earlier row has it."), sid))
                return
            numbers.add(number_key)
        person_out(staged)
        self.problems.extend(warnings)
        if deleted:
            self.ended["users.csv"] += 1
        if key not in stored_hashes:
            self.new_people += 1
        if self.agents_in_python:
            for agent in agents:
                agent_out((line, sid, agent))
        if self.dataset.version == "1.1":
            role = self._role(line, "users.csv", sid, row.get("role", ""))
            if role:
                for org in filter(None, (clean_text(o) for o in row.get("orgSourcedIds", "").split(","))):
                    role_out((line, "users.csv", sid, role, org, deleted, sid))

    def _national_id(self, row) -> tuple[str, str]:
        """(field, cleaned value) of the national ID: userMasterIdentifier, else a userIds entry."""
        raw = clean_text(row.get("userMasterIdentifier", ""))
        if raw:
            return "userMasterIdentifier", raw
        raw = next((value for kind, value in _USER_IDS.findall(row.get("userIds", "")) if kind.lower() in self.id_types), "")
        return "userIds", clean_text(raw)

    def _person(self, line, sid, row, deleted, digest, key, agents):
        def refuse(field, reason):
            return Problem("users.csv", line, field, reason, sid)

        field, raw_id = self._national_id(row)
        scheme = self.scheme.code
        if not raw_id:
            if deleted:
                return (line, sid, self.scheme.code, "", "", "", "", "", None, "", "", True, True, "", digest, None, _signed(key), agents)
            if self.national_id_required:
                return refuse(field, _("The national ID is missing."))
            # Keyed by the source's own id, under a scheme of its own: never the same person as
            # anyone with a national ID, whatever the digits.
            scheme, nid = SOURCE_SCHEME, source_key(sid)
        else:
            try:
                nid = self.scheme.normalize(raw_id)
            except InvalidNationalId as exc:
                return refuse(field, exc.message)
        given, family = clean_text(row.get("givenName", "")), clean_text(row.get("familyName", ""))
        if not given:
            return refuse("givenName", _("The name is empty."))
        if not family:
            return refuse("familyName", _("The name is empty."))
        if len(given) > 100 or len(family) > 100:
            return refuse("givenName" if len(given) > 100 else "familyName", _("The name is longer than 100 characters."))
        given_l = clean_text(row.get("metadata.givenNameLatin", ""))[:100]
        family_l = clean_text(row.get("metadata.familyNameLatin", ""))[:100]
        # Optional fields: a bad value is left out and warned about; the person is still applied.
        def dropped(field, reason):
            self._warnings.append(warning("users.csv", line, field, _("%(reason)s The field is left out; the person is applied.") % {
                "reason": reason}, sid))

        try:
            email = normalize_email(row.get("email", ""))
        except RegisterError as exc:
            email = ""
            dropped("email", exc.message)
        phone_field, raw_phone = "sms", clean_text(row.get("sms", ""))
        if not raw_phone:
            phone_field, raw_phone = "phone", clean_text(row.get("phone", ""))
        try:
            # What normalize_mobile() does, minus its second look at the profile for every row.
            mobile = normalize_phone(raw_phone, self.phone_region) if raw_phone else ""
        except InvalidPhone as exc:
            mobile = ""
            dropped(phone_field, exc.message)
        enabled_raw = clean_text(row.get("enabledUser", "")).lower()
        if enabled_raw not in _BOOLS:
            return refuse("enabledUser", _("enabledUser must be true or false."))
        try:
            modified = _timestamp(row.get("dateLastModified", ""))
        except ValueError:
            modified = None
            dropped("dateLastModified", _("This is not a date and time (ISO 8601)."))
        birth = self.scheme.birth_date(nid) if scheme == self.scheme.code else None
        search = person_search_name(given, family, given_l, family_l)
        return (line, sid, scheme, nid, given, family, given_l, family_l, birth, email, mobile,
                enabled_raw not in _FALSE, deleted, search, digest, self.adapt_ts(modified) if modified else None, _signed(key), agents)

    def _role(self, line, file, sid, raw_role) -> str | None:
        role = clean_text(raw_role)
        if role in ROLE_MAP:
            return ROLE_MAP[role]
        if role in SKIPPED_ROLES:
            self.counts["roles_skipped"] += 1
            return None
        self.problems.append(Problem(file, line, "role", _("Unknown role “%(role)s”.") % {"role": role}, sid))
        return None

    # -- roles.csv, enrollments.csv, demographics.csv ------------------------------------------
    def stage_in_background(self, roles: bool, enrollments: bool) -> _Background:
        """Read roles.csv and enrollments.csv in a thread while the database merges people (PostgreSQL:
        the connection waits on the server then, and releases the interpreter); `join()` loads them."""
        background = _Background(self, roles, enrollments)
        background.start()
        return background

    def stage_roles(self, writer=None) -> None:
        with (writer or self.stage.writer("stage_role", _Background.ROLE_COLUMNS)) as out:
            for line, row in self.dataset.rows("roles.csv"):
                sid = clean_text(row.get("userSourcedId", ""))
                rid = clean_text(row.get("sourcedId", "")) or sid
                deleted = clean_text(row.get("status", "")).lower() == "tobedeleted" or self._ended(row)
                role = self._role(line, "roles.csv", rid, row.get("role", ""))
                if role:
                    if deleted:
                        self.ended["roles.csv"] += 1
                    out((line, "roles.csv", sid, role, clean_text(row.get("orgSourcedId", "")), deleted, rid))

    def stage_enrollments(self, writer=None) -> None:
        with (writer or self.stage.writer("stage_enr", _Background.ENR_COLUMNS)) as out:
            for line, row in self.dataset.rows("enrollments.csv"):
                sid = clean_text(row.get("userSourcedId", ""))
                rid = clean_text(row.get("sourcedId", "")) or sid
                raw = clean_text(row.get("role", ""))
                if raw == "teacher":
                    role = "class_teacher" if clean_text(row.get("primary", "")).lower() == "true" else "teacher"
                elif raw == "student":
                    role = "student"
                elif raw in SKIPPED_ROLES or raw in ("administrator", "proctor"):
                    self.counts["roles_skipped"] += 1
                    continue
                else:
                    self.problems.append(Problem("enrollments.csv", line, "role", _("Unknown role “%(role)s”.") % {"role": raw}, rid))
                    continue
                deleted = clean_text(row.get("status", "")).lower() == "tobedeleted" or self._ended(row)
                if deleted:
                    self.ended["enrollments.csv"] += 1
                out((line, sid, clean_text(row.get("classSourcedId", "")), role, deleted, rid))

    def _ended(self, row) -> bool:
        try:
            end = _date(row.get("endDate", ""))
        except ValueError:
            return False
        return end is not None and end < datetime.date.today()

    def stage_demographics(self) -> None:
        with self.stage.writer("stage_demo", ("line", "sid", "birth")) as out:
            for line, row in self.dataset.rows("demographics.csv"):
                sid = clean_text(row.get("sourcedId", ""))
                try:
                    birth = _date(row.get("birthDate", ""))
                except ValueError:
                    self.problems.append(Problem("demographics.csv", line, "birthDate", _("This is not a date (YYYY-MM-DD)."), sid))
                    continue
                if birth is not None and birth > datetime.date.today():
                    self.problems.append(Problem("demographics.csv", line, "birthDate", _("The birth date is in the future."), sid))
                    continue
                if birth is not None:
                    out((line, sid, birth))


class _Background:
    ROLE_COLUMNS = ("line", "file", "sid", "role", "org_sid", "deleted", "rid")
    ENR_COLUMNS = ("line", "sid", "class_sid", "role", "deleted", "rid")

    def __init__(self, staging: UserStaging, roles: bool, enrollments: bool):
        self.staging, self.roles, self.enrollments = staging, roles, enrollments
        self.threaded = connection.vendor == "postgresql"
        self.writers = []
        self.error: BaseException | None = None
        self.thread = None

    def _work(self, language) -> None:
        try:
            with translation.override(language):
                if self.roles:
                    writer = self.staging.stage.deferred_writer("stage_role", self.ROLE_COLUMNS)
                    self.writers.append(writer)
                    self.staging.stage_roles(writer)
                if self.enrollments:
                    writer = self.staging.stage.deferred_writer("stage_enr", self.ENR_COLUMNS)
                    self.writers.append(writer)
                    self.staging.stage_enrollments(writer)
        except BaseException as exc:  # re-raised in the caller's thread by join()
            self.error = exc

    def start(self) -> None:
        if not self.threaded:
            return  # SQLite: read them in join(), on this thread
        self.thread = threading.Thread(target=self._work, args=(translation.get_language(),), name="oneroster-roles")
        self.thread.start()

    def abandon(self) -> None:
        """The import failed meanwhile: wait for the thread and drop what it read."""
        if self.thread is not None:
            self.thread.join()
        for writer in self.writers:
            writer._file.close()

    def join(self) -> None:
        if not self.threaded:
            if self.roles:
                self.staging.stage_roles()
            if self.enrollments:
                self.staging.stage_enrollments()
            return
        self.thread.join()
        if self.error is not None:
            for writer in self.writers:
                writer._file.close()
            raise self.error
        for writer in self.writers:
            writer.load()
