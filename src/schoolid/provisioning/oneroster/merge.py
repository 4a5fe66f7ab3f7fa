"""Set-based merge of the staged rows into the register, for PostgreSQL and SQLite alike.

Conflict rules (README, "Sync from the register"): the register wins for identity fields (national
ID, names, birth date, enrolment). A contact field (e-mail, mobile) takes the register's value only
when the register changed it since the last import and that change is newer than the local edit.
"""
from __future__ import annotations

import datetime
import logging
import secrets
import time

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _

from schoolid.accounts.models import Account, RoleAssignment
from schoolid.accounts.services import disable_accounts, enable_accounts
from schoolid.accounts.user_codes import generate_user_codes
from schoolid.audit.services import record_event
from schoolid.directory.models import Guardianship, OrgUnit, Person
from schoolid.provisioning.models import RegisterRecord
from schoolid.provisioning.oneroster.orgs import parent_deleted, parent_refused
from schoolid.provisioning.report import Problem, warning

# Table names from the owners' models, never typed: a renamed table cannot be missed here.
PERSON = Person._meta.db_table
ACCOUNT = Account._meta.db_table
ASSIGN = RoleAssignment._meta.db_table
LINK = Guardianship._meta.db_table
ORG = OrgUnit._meta.db_table
RECORD = RegisterRecord._meta.db_table

logger = logging.getLogger("schoolid.provisioning")

# Schemes whose number encodes the whole birth date: there the number decides, and a different date
# in demographics.csv is a refused row.
DATED_SCHEMES = ("pl_pesel",)


class Merge:
    def __init__(self, dataset, stage, problems: list[Problem], counts: dict, now, *, actor=None, request=None, skipped=(), orgs=None):
        self.dataset, self.stage, self.problems, self.counts, self.now = dataset, stage, problems, counts, now
        self.orgs = orgs  # the OrgMerge of this run: departments, and which org rows were refused or deleted
        self.skipped = set(skipped)  # files identical to the last applied ones, not read this time
        self.actor, self.request = actor, request
        self.pg = connection.vendor == "postgresql"
        self.cursor = connection.cursor()
        # What the register had put in before this run (a first import has nothing to end).
        self.had_register_roles = bool(self.rows(f"SELECT 1 FROM {ASSIGN} WHERE source = 'register' AND valid_until IS NULL LIMIT 1"))
        self.had_register_links = bool(self.rows(f"SELECT 1 FROM {LINK} WHERE source = 'register' AND status = 'confirmed' LIMIT 1"))

    def _execute(self, statement: str, params) -> None:
        started = time.perf_counter()
        self.cursor.execute(statement, params)
        elapsed = time.perf_counter() - started
        if elapsed > 0.5:
            logger.info("slow merge statement %.1f s: %s", elapsed, " ".join(statement.split())[:160])

    def sql(self, statement: str, params=()) -> int:
        self._execute(statement, params)
        return self.cursor.rowcount

    def analyze(self, *tables: str) -> None:
        """Fresh planner statistics after a bulk write: without them PostgreSQL plans the next
        statements for the tables as they were (often empty) and picks nested loops."""
        if self.pg:
            for table in tables:
                self.sql(f"ANALYZE {table}")

    def rows(self, statement: str, params=()):
        self._execute(statement, params)
        return self.cursor.fetchall()

    def _report(self, file, field, reason, statement, params=()):
        for line, sid in self.rows(statement, params):
            self.problems.append(Problem(file, line, field, reason, sid or ""))

    # -- people ---------------------------------------------------------------------------------
    def check_people(self) -> None:
        """Refuse duplicate national IDs (in the file, or held by another register record)."""
        self.stage.index("stage_person", "sid")
        self.stage.index("stage_person", "nid")
        self._report("users.csv", "userMasterIdentifier", _("Duplicate national ID: another person in the register has it."), f"""
            SELECT s.line, s.sid FROM stage_person s JOIN {PERSON} p ON p.national_id_scheme = s.scheme AND p.national_id = s.nid
            WHERE p.sourced_id IS NOT NULL AND p.sourced_id <> s.sid""")
        self.sql(f"""DELETE FROM stage_person WHERE nid <> '' AND
            EXISTS (SELECT 1 FROM {PERSON} p WHERE p.national_id_scheme = stage_person.scheme AND p.national_id = stage_person.nid
                    AND p.sourced_id IS NOT NULL AND p.sourced_id <> stage_person.sid)""")
        # The refused rows are not present either: keep them out of the "seen" set so they are not
        # mistaken for a change of sourcedId, but do not start their grace period on a typo.
        if self.pg:
            self.sql("ANALYZE stage_person")

    def merge_people(self) -> None:
        now = self.now
        # A person already known by national ID but not from the register (self-registered, made by
        # staff) is adopted: the register record takes over, the account and its history stay.
        self.counts["people_adopted"] = self.sql(f"""
            UPDATE {PERSON} SET sourced_id = (SELECT s.sid FROM stage_person s WHERE s.scheme = {PERSON}.national_id_scheme
                                              AND s.nid = {PERSON}.national_id AND NOT s.deleted)
            WHERE sourced_id IS NULL AND EXISTS (SELECT 1 FROM stage_person s WHERE s.scheme = {PERSON}.national_id_scheme
                                                 AND s.nid = {PERSON}.national_id AND NOT s.deleted)""")
        self.counts["people_created"] = self.sql(f"""
            INSERT INTO {PERSON} (national_id_scheme, national_id, given_name, family_name, given_name_latin, family_name_latin,
                                  birth_date, email, email_verified, mobile, mobile_verified, search_name, sourced_id, created_at, updated_at)
            SELECT s.scheme, s.nid, s.given, s.family, s.given_l, s.family_l, COALESCE(s.birth, d.birth), s.email, %s, s.mobile, %s,
                   s.search, s.sid, %s, %s
            FROM stage_person s LEFT JOIN stage_demo d ON d.sid = s.sid
            WHERE NOT s.deleted AND NOT EXISTS (SELECT 1 FROM {PERSON} p WHERE p.sourced_id = s.sid)
            ORDER BY s.nid""",
            [False, False, now, now])
        self.analyze(PERSON)
        # A first import has nobody to update, and the updates below would scan it all for nothing.
        fresh = not self.rows(f"SELECT 1 FROM {RECORD} LIMIT 1") and not self.counts["people_adopted"]
        if not fresh:
            self._update_people()
        # Birth dates from demographics.csv for numbers that do not encode one.
        self._report("demographics.csv", "birthDate", _("The birth date does not match the national ID."), f"""
            SELECT d.line, d.sid FROM stage_demo d JOIN {PERSON} p ON p.sourced_id = d.sid
            WHERE p.national_id_scheme IN ({", ".join(["%s"] * len(DATED_SCHEMES))}) AND p.birth_date IS NOT NULL AND p.birth_date <> d.birth""",
            DATED_SCHEMES)
        if not fresh:
            self.counts["birth_dates_updated"] = self.sql(f"""
                UPDATE {PERSON} SET birth_date = d.birth, updated_at = %s FROM stage_demo d
                WHERE {PERSON}.sourced_id = d.sid AND {PERSON}.national_id_scheme NOT IN ({", ".join(["%s"] * len(DATED_SCHEMES))})
                  AND {PERSON}.birth_date IS DISTINCT FROM d.birth""", [now, *DATED_SCHEMES])
            # What the register said, for the next diff.
            self._update_records()
        self._insert_records()
        self.analyze(RECORD)

    def _update_people(self) -> None:
        now = self.now
        # Identity fields: the register wins.
        self.counts["people_updated"] = self.sql(f"""
            UPDATE {PERSON} SET national_id = s.nid, given_name = s.given, family_name = s.family, given_name_latin = s.given_l,
                   family_name_latin = s.family_l, search_name = s.search, birth_date = COALESCE(s.birth, {PERSON}.birth_date), updated_at = %s
            FROM stage_person s
            WHERE {PERSON}.sourced_id = s.sid AND NOT s.deleted AND {PERSON}.created_at < %s AND (
                  {PERSON}.national_id <> s.nid OR {PERSON}.given_name <> s.given OR {PERSON}.family_name <> s.family
                  OR {PERSON}.given_name_latin <> s.given_l OR {PERSON}.family_name_latin <> s.family_l
                  OR (s.birth IS NOT NULL AND {PERSON}.birth_date IS DISTINCT FROM s.birth))""", [now, now])
        # Contact fields: only a change the register made, and only when newer than a local edit.
        for column, edited, verified, register_column in (("email", "email_edited_at", "email_verified", "register_email"),
                                                          ("mobile", "mobile_edited_at", "mobile_verified", "register_mobile")):
            self.counts[f"{column}_updated"] = self.sql(f"""
                UPDATE {PERSON} SET {column} = s.{column}, {verified} = %s, updated_at = %s
                FROM stage_person s
                WHERE {PERSON}.sourced_id = s.sid AND NOT s.deleted AND {PERSON}.created_at < %s
                  AND {PERSON}.{column} <> s.{column}
                  AND NOT EXISTS (SELECT 1 FROM {RECORD} r WHERE r.person_id = {PERSON}.id AND r.{register_column} = s.{column})
                  AND ({PERSON}.{edited} IS NULL OR {PERSON}.{edited} < COALESCE(s.modified, %s))""",
                [False, now, now, now])

    def _update_records(self) -> None:
        now = self.now
        self.sql(f"""
            UPDATE {RECORD} SET row_hash = s.hash, register_email = s.email, register_mobile = s.mobile, last_changed_at = %s,
                   sid_key = s.skey, register_agents = s.agents
            FROM stage_person s JOIN {PERSON} p ON p.sourced_id = s.sid
            WHERE {RECORD}.person_id = p.id AND NOT s.deleted""", [now])

    def _insert_records(self) -> None:
        now = self.now
        self.sql(f"""
            INSERT INTO {RECORD} (person_id, row_hash, register_email, register_mobile, last_changed_at, sid_key, register_agents)
            SELECT p.id, s.hash, s.email, s.mobile, %s, s.skey, s.agents FROM stage_person s JOIN {PERSON} p ON p.sourced_id = s.sid
            WHERE NOT s.deleted AND NOT EXISTS (SELECT 1 FROM {RECORD} r WHERE r.person_id = p.id)
            ORDER BY p.id""", [now])

    def create_accounts(self) -> None:
        """Every register person gets an account: not activated, no usable password."""
        missing = self.rows(f"""SELECT count(*) FROM {PERSON} p JOIN stage_person s ON s.sid = p.sourced_id
                               WHERE NOT EXISTS (SELECT 1 FROM {ACCOUNT} a WHERE a.person_id = p.id)""")[0][0]
        created = 0
        while missing:
            self.stage.create("stage_code", "seq integer, code text, password text, epoch text")
            codes = set(generate_user_codes(missing + 16))
            # An unusable password ("!" + random) and a fresh session epoch, as create_account() makes.
            noise = secrets.token_bytes(36 * len(codes)).hex()
            self.stage.load("stage_code", ("seq", "code", "password", "epoch"),
                            ((i, code, "!" + noise[72 * i:72 * i + 40], noise[72 * i + 40:72 * i + 72]) for i, code in enumerate(codes)))
            self.sql(f"DELETE FROM stage_code WHERE code IN (SELECT user_code FROM {ACCOUNT})")
            count = self.sql(f"""
                INSERT INTO {ACCOUNT} (user_code, person_id, status, created_at, must_change_password, failed_logins,
                                       preferred_language, session_epoch, password)
                SELECT c.code, n.id, 'not_activated', %s, %s, 0, '', c.epoch, c.password
                FROM (SELECT p.id, row_number() OVER (ORDER BY p.id) AS rn FROM {PERSON} p JOIN stage_person s ON s.sid = p.sourced_id
                      WHERE NOT EXISTS (SELECT 1 FROM {ACCOUNT} a WHERE a.person_id = p.id)) n
                JOIN (SELECT code, epoch, password, row_number() OVER (ORDER BY seq) AS rn FROM stage_code) c ON c.rn = n.rn
                ORDER BY n.id""",
                [self.now, False])
            created += count
            missing -= count
            if count == 0:
                raise RuntimeError("could not allocate user codes")
        self.counts["accounts_created"] = created
        self.analyze(ACCOUNT)

    # -- accounts switched off and on by the register ---------------------------------------
    def apply_enabled(self) -> None:
        self._disable([row[0] for row in self.rows(f"""
            SELECT a.id FROM {ACCOUNT} a JOIN {PERSON} p ON p.id = a.person_id JOIN stage_person s ON s.sid = p.sourced_id
            WHERE NOT s.enabled AND NOT s.deleted AND a.status <> 'disabled'""")], "enabled_user_false")
        self._reenable(f"""SELECT a.id FROM {ACCOUNT} a JOIN {PERSON} p ON p.id = a.person_id JOIN stage_person s ON s.sid = p.sourced_id
                           JOIN {RECORD} r ON r.person_id = p.id
                           WHERE s.enabled AND NOT s.deleted AND a.status = 'disabled' AND r.disabled_at IS NOT NULL""")

    def _audit_each(self, account_ids: list[int], action: str, **detail) -> None:
        """One audit event per account, as for any change to an account; `detail` values may be a
        dict by account id."""
        from schoolid.accounts.models import Account

        for account in Account.objects.filter(pk__in=account_ids):
            record_event(action, "success", actor=self.actor or "register", target=account, request=self.request,
                         detail={k: (v.get(account.pk) if isinstance(v, dict) else v) for k, v in detail.items()})

    def _mark_records(self, column: str, value, account_ids: list[int]) -> None:
        self.stage.create("stage_ids", "id bigint")
        self.stage.load("stage_ids", ("id",), ((pk,) for pk in account_ids))
        self.sql(f"UPDATE {RECORD} SET {column} = %s WHERE person_id IN (SELECT a.person_id FROM {ACCOUNT} a JOIN stage_ids i ON i.id = a.id)",
                 [value])

    def _disable(self, account_ids: list[int], reason: str) -> None:
        if not account_ids:
            return
        disable_accounts(account_ids)
        self._mark_records("disabled_at", self.now, account_ids)
        self._audit_each(account_ids, "provisioning.account_disabled", reason=reason)
        self.counts["accounts_disabled"] += len(account_ids)

    def _reenable(self, select_ids: str) -> None:
        ids = [row[0] for row in self.rows(select_ids)]
        if not ids:
            return
        enable_accounts(ids)
        self._mark_records("disabled_at", None, ids)
        self._audit_each(ids, "provisioning.account_enabled")
        self.counts["accounts_enabled"] += len(ids)

    # -- presence, grace period, deactivation ----------------------------------------------
    def apply_presence(self) -> None:
        now = self.now
        present = f"""SELECT 1 FROM {PERSON} p JOIN stage_person s ON s.sid = p.sourced_id
                       WHERE p.id = {RECORD}.person_id AND NOT s.deleted"""
        # Back in the file (a row that was absent is always staged): the grace period stops and what
        # the sync switched off comes back.
        returning = [row[0] for row in self.rows(f"SELECT person_id FROM {RECORD} WHERE missing_since IS NOT NULL AND EXISTS ({present})")]
        if returning:
            self._reenable(f"""SELECT a.id FROM {ACCOUNT} a JOIN {RECORD} r ON r.person_id = a.person_id
                               JOIN {PERSON} p ON p.id = a.person_id JOIN stage_person sp ON sp.sid = p.sourced_id
                               WHERE r.missing_since IS NOT NULL AND a.status = 'disabled' AND r.disabled_at IS NOT NULL
                                 AND sp.enabled AND NOT sp.deleted""")
        self.counts["people_returned"] = self.sql(f"""
            UPDATE {RECORD} SET missing_since = NULL, deactivated_at = NULL WHERE missing_since IS NOT NULL AND EXISTS ({present})""")
        # Marked to be deleted in a delta file, or absent from a bulk users.csv: the grace period starts.
        self.counts["people_missing"] = self.sql(f"""
            UPDATE {RECORD} SET missing_since = %s
            WHERE missing_since IS NULL AND EXISTS (SELECT 1 FROM {PERSON} p JOIN stage_person s ON s.sid = p.sourced_id
                                                  WHERE p.id = {RECORD}.person_id AND s.deleted)""", [now])
        if self.dataset.mode("users.csv") == "bulk":
            self.counts["people_missing"] += self.sql(f"""
                UPDATE {RECORD} SET missing_since = %s
                WHERE missing_since IS NULL AND sid_key IN (SELECT skey FROM stage_missing)""", [now])

    def apply_grace(self) -> None:
        """After the grace period a missing person's register roles end; later the account is disabled."""
        now = self.now
        grace = now - datetime.timedelta(days=settings.SCHOOLID_SYNC_GRACE_DAYS)
        disable = now - datetime.timedelta(days=settings.SCHOOLID_SYNC_DISABLE_DAYS)
        due = [row[0] for row in self.rows(f"""SELECT a.id FROM {RECORD} r JOIN {ACCOUNT} a ON a.person_id = r.person_id
                                               WHERE r.missing_since IS NOT NULL AND r.missing_since <= %s AND r.deactivated_at IS NULL""",
                                           [grace])]
        if due:
            self.stage.create("stage_due", "id bigint")
            self.stage.load("stage_due", ("id",), ((pk,) for pk in due))
            open_roles = "source = 'register' AND valid_until IS NULL AND account_id IN (SELECT id FROM stage_due)"
            ended = dict(self.rows(f"SELECT account_id, count(*) FROM {ASSIGN} WHERE {open_roles} GROUP BY account_id"))
            self.sql(f"UPDATE {ASSIGN} SET valid_until = %s WHERE {open_roles}", [now])
            self._mark_records("deactivated_at", now, due)
            self._audit_each(due, "provisioning.person_deactivated", roles_ended={pk: ended.get(pk, 0) for pk in due})
            self.counts["people_deactivated"] = len(due)
        self._disable([row[0] for row in self.rows(f"""
            SELECT a.id FROM {RECORD} r JOIN {ACCOUNT} a ON a.person_id = r.person_id
            WHERE r.missing_since IS NOT NULL AND r.missing_since <= %s AND r.disabled_at IS NULL AND a.status <> 'disabled'""", [disable])],
            "missing_from_register")

    # -- roles and enrolments -----------------------------------------------------------------
    def merge_roles(self) -> None:
        now = self.now
        self.stage.index("stage_role", "sid")
        self.stage.index("stage_enr", "sid")
        # A department stands for its parent unit (orgs.OrgMerge._alias).
        for alias, parent in (self.orgs.aliases.items() if self.orgs else ()):
            self.sql("UPDATE stage_role SET org_sid = %s WHERE org_sid = %s", [parent, alias])
        known_person = f"(SELECT 1 FROM {PERSON} p WHERE p.sourced_id = x.sid)"
        for file, table, org_col, field in (("roles.csv", "stage_role", "org_sid", "orgSourcedId"),
                                            ("enrollments.csv", "stage_enr", "class_sid", "classSourcedId")):
            where_file = "AND x.file = %s" if table == "stage_role" else ""
            for this_file in ([file, "users.csv"] if table == "stage_role" else [file]):
                params = [this_file] if table == "stage_role" else []
                user_field = "userSourcedId" if this_file != "users.csv" else "sourcedId"
                for line, rid, sid in self.rows(f"SELECT x.line, x.rid, x.sid FROM {table} x WHERE NOT x.deleted {where_file} AND NOT EXISTS {known_person}", params):
                    self.problems.append(Problem(this_file, line, user_field, self._why_no_user(sid), rid or sid or ""))
                org_field = field if this_file != "users.csv" else "orgSourcedIds"
                for line, rid, org_sid in self.rows(f"""SELECT x.line, x.rid, x.{org_col} FROM {table} x WHERE NOT x.deleted {where_file} AND EXISTS {known_person}
                                                       AND NOT EXISTS (SELECT 1 FROM {ORG} o WHERE o.sourced_id = x.{org_col})""", params):
                    self.problems.append(Problem(this_file, line, org_field, self._why_no_org(org_sid, table), rid or ""))
        wanted = f"""
            SELECT a.id AS account_id, x.role AS role, o.id AS org_id FROM stage_role x JOIN {PERSON} p ON p.sourced_id = x.sid
              JOIN {ACCOUNT} a ON a.person_id = p.id JOIN {ORG} o ON o.sourced_id = x.org_sid WHERE NOT x.deleted
            UNION ALL
            SELECT a.id, x.role, o.id FROM stage_enr x JOIN {PERSON} p ON p.sourced_id = x.sid
              JOIN {ACCOUNT} a ON a.person_id = p.id JOIN {ORG} o ON o.sourced_id = x.class_sid WHERE NOT x.deleted"""
        if self.had_register_roles:
            # Kept as a table: the statements that end what the register no longer states read it too.
            self.stage.create("stage_want", "account_id integer, role text, org_id integer")
            self.sql(f"INSERT INTO stage_want (account_id, role, org_id) SELECT DISTINCT * FROM ({wanted}) w")
            self.stage.index("stage_want", "account_id")
            source = "stage_want"
        else:
            source = f"({wanted})"
        self.counts["roles_added"] = self.sql(f"""
            INSERT INTO {ASSIGN} (account_id, role, org_unit_id, source, valid_from)
            SELECT DISTINCT w.account_id, w.role, w.org_id, 'register', %s FROM {source} w
            WHERE NOT EXISTS (SELECT 1 FROM {ASSIGN} r WHERE r.account_id = w.account_id AND r.role = w.role
                              AND r.org_unit_id = w.org_id AND r.valid_until IS NULL)
            ORDER BY w.account_id, w.role, w.org_id""", [now])
        self.analyze(ASSIGN)
        ended = 0
        if not self.had_register_roles:
            self.counts["roles_ended"] = 0
            return  # a first import has no earlier register role to end
        # A bulk file is the whole truth for its kind of assignment; a delta file ends only what it names.
        legacy_bulk = self.dataset.version == "1.1" and self.dataset.mode("users.csv") == "bulk"
        role_files_bulk = (self.dataset.mode("roles.csv") == "bulk" and "roles.csv" not in self.skipped) or legacy_bulk
        enrolments_bulk = self.dataset.mode("enrollments.csv") == "bulk" and "enrollments.csv" not in self.skipped
        for kind, bulk, table, org_col in (("org", role_files_bulk, "stage_role", "org_sid"),
                                           ("class", enrolments_bulk, "stage_enr", "class_sid")):
            kind_test = "o.kind = 'class'" if kind == "class" else "o.kind <> 'class'"
            # OneRoster 1.1 keeps roles in users.csv, of which only the changed rows were staged.
            only_staged = (f"""AND EXISTS (SELECT 1 FROM stage_person s JOIN {PERSON} p ON p.sourced_id = s.sid
                               JOIN {ACCOUNT} a ON a.person_id = p.id WHERE a.id = {ASSIGN}.account_id)"""
                           if kind == "org" and legacy_bulk else "")
            if bulk:
                ended += self.sql(f"""
                    UPDATE {ASSIGN} SET valid_until = %s
                    WHERE source = 'register' AND valid_until IS NULL {only_staged}
                      AND EXISTS (SELECT 1 FROM {ORG} o WHERE o.id = {ASSIGN}.org_unit_id AND {kind_test})
                      AND EXISTS (SELECT 1 FROM {ACCOUNT} a JOIN {PERSON} p ON p.id = a.person_id
                                  WHERE a.id = {ASSIGN}.account_id AND p.sourced_id IS NOT NULL)
                      AND NOT EXISTS (SELECT 1 FROM stage_want w WHERE w.account_id = {ASSIGN}.account_id AND w.role = {ASSIGN}.role
                                      AND w.org_id = {ASSIGN}.org_unit_id)""", [now])
            else:
                ended += self.sql(f"""
                    UPDATE {ASSIGN} SET valid_until = %s
                    WHERE source = 'register' AND valid_until IS NULL AND EXISTS (
                        SELECT 1 FROM {table} x JOIN {PERSON} p ON p.sourced_id = x.sid JOIN {ACCOUNT} a ON a.person_id = p.id
                        JOIN {ORG} o ON o.sourced_id = x.{org_col}
                        WHERE x.deleted AND a.id = {ASSIGN}.account_id AND o.id = {ASSIGN}.org_unit_id AND x.role = {ASSIGN}.role)""", [now])
        self.counts["roles_ended"] = ended

    def _refusal_of(self, files, sid):
        if not hasattr(self, "_refusals"):
            self._refusals = {}
            for p in self.problems:
                if p.refused and p.sourced_id:
                    self._refusals.setdefault((p.file, p.sourced_id), p)
        return next((self._refusals[(f, sid)] for f in files if (f, sid) in self._refusals), None)

    def _why_no_user(self, sid):
        """Say what became of a user the file does have: refused, or marked tobedeleted."""
        refused = self._refusal_of(("users.csv",), sid)
        if refused is not None:
            return parent_refused("users.csv", refused.line, refused.reason)
        deleted = self.rows("SELECT line FROM stage_person WHERE sid = %s AND deleted", [sid])
        if deleted:
            return parent_deleted("users.csv", deleted[0][0])
        return _("Unknown user: not in users.csv and not in the register.")

    def _why_no_org(self, sid, table):
        refused = self._refusal_of(("orgs.csv", "classes.csv"), sid)
        if refused is not None:
            return parent_refused(refused.file, refused.line, refused.reason)
        if self.orgs is not None and sid in self.orgs.deleted:
            return parent_deleted(*self.orgs.rows_of[sid])
        return _("Unknown org.")

    # -- guardians ------------------------------------------------------------------------------
    def merge_guardians(self) -> None:
        now = self.now
        self.stage.index("stage_agent", "sid")
        self.stage.create("stage_link", "line integer, agent_sid text, guardian_id integer, student_id integer")
        # Who is a guardian and who a student, from the current assignments (this import's included).
        self.stage.create("stage_pr", "person_id integer, g integer, s integer")
        self.sql(f"""
            INSERT INTO stage_pr (person_id, g, s)
            SELECT a.person_id, MAX(CASE WHEN r.role = 'guardian' THEN 1 ELSE 0 END), MAX(CASE WHEN r.role = 'student' THEN 1 ELSE 0 END)
            FROM {ASSIGN} r JOIN {ACCOUNT} a ON a.id = r.account_id
            WHERE r.valid_until IS NULL AND r.role IN ('guardian', 'student') AND a.person_id IN (
                SELECT p.id FROM stage_agent x JOIN {PERSON} p ON p.sourced_id = x.sid
                UNION SELECT p.id FROM stage_agent x JOIN {PERSON} p ON p.sourced_id = x.agent_sid)
            GROUP BY a.person_id""")
        self.stage.index("stage_pr", "person_id")
        self.sql(f"""
            INSERT INTO stage_link (line, agent_sid, guardian_id, student_id)
            SELECT x.line, x.agent_sid, CASE WHEN ru.g = 1 AND rg.s = 1 THEN u.id ELSE g.id END,
                                        CASE WHEN ru.g = 1 AND rg.s = 1 THEN g.id ELSE u.id END
            FROM stage_agent x JOIN {PERSON} u ON u.sourced_id = x.sid JOIN {PERSON} g ON g.sourced_id = x.agent_sid
              JOIN stage_pr ru ON ru.person_id = u.id JOIN stage_pr rg ON rg.person_id = g.id
            WHERE (ru.g = 1 AND rg.s = 1) OR (ru.s = 1 AND rg.g = 1)""")
        self.stage.index("stage_link", "line, agent_sid")
        # The person is applied all the same: a refused link is a warning on their row.
        for line, sid in self.rows("""
            SELECT x.line, x.sid FROM stage_agent x WHERE NOT EXISTS (
                SELECT 1 FROM stage_link l WHERE l.line = x.line AND l.agent_sid = x.agent_sid)"""):
            self.problems.append(warning("users.csv", line, "agentSourcedIds", _("Unknown agent, or not a guardian and student pair; the link is left out."), sid))
        self.stage.index("stage_link", "guardian_id, student_id")
        # A link a teacher proposed and the register now states is confirmed.
        self.counts["links_confirmed"] = self.sql(f"""
            UPDATE {LINK} SET status = 'confirmed', decided_at = %s
            WHERE status = 'proposed' AND EXISTS (SELECT 1 FROM stage_link l WHERE l.guardian_id = {LINK}.guardian_id
                                                  AND l.student_id = {LINK}.student_id)""", [now])
        self.counts["links_added"] = self.sql(f"""
            INSERT INTO {LINK} (guardian_id, student_id, status, source, created_at, decided_at)
            SELECT DISTINCT l.guardian_id, l.student_id, 'confirmed', 'register', %s, %s FROM stage_link l
            WHERE NOT EXISTS (SELECT 1 FROM {LINK} k WHERE k.guardian_id = l.guardian_id AND k.student_id = l.student_id
                              AND k.status IN ('proposed', 'confirmed'))
            ORDER BY l.guardian_id, l.student_id""", [now, now])
        self.analyze(LINK)
        if not self.had_register_links:
            return  # a first import has no earlier register link to end
        # A register link ends when neither side's row states it any more. Only links of people whose
        # row changed can have lost their statement; the others' rows are as stored.
        changed = f"SELECT p.id FROM stage_person s JOIN {PERSON} p ON p.sourced_id = s.sid"
        states = f"""SELECT 1 FROM {RECORD} r JOIN {PERSON} other ON other.id = {LINK}.%s
                     WHERE r.person_id = {LINK}.%s AND (',' || r.register_agents || ',') LIKE ('%%%%,' || other.sourced_id || ',%%%%')"""
        self.counts["links_ended"] = self.sql(f"""
            UPDATE {LINK} SET status = 'ended', decided_at = %s
            WHERE source = 'register' AND status = 'confirmed'
              AND (guardian_id IN ({changed}) OR student_id IN ({changed}))
              AND NOT EXISTS ({states % ("student_id", "guardian_id")})
              AND NOT EXISTS ({states % ("guardian_id", "student_id")})""", [now])
