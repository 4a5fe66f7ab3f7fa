"""OneRoster import and sync (issue 5, items 1-5), on the real database.

Fixtures under data/ are written by hand in the public OneRoster 1.2 and 1.1 CSV formats. Requirement
IDs: ASVS v5 2.2.1/2.2.2 (input validated, clear errors), 16.2.1 (security events logged), 16.3.1.
"""
import csv
import datetime
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from schoolid.accounts.models import Account, RoleAssignment
from schoolid.audit.models import AuditEvent
from schoolid.core.profiles import load_profile
from schoolid.directory.models import Guardianship, OrgUnit, Person
from schoolid.directory.services import link_guardian
from schoolid.provisioning.models import ImportProblem, ImportRun, RegisterRecord
from schoolid.provisioning.oneroster.dataset import DatasetError
from schoolid.provisioning.services import import_oneroster
from tests import factories as f

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def poland(settings, tmp_path):
    settings.SCHOOLID_PROFILE = load_profile("pl")
    settings.SCHOOLID_REPORT_DIR = tmp_path / "reports"
    with translation.override("en"):
        yield


@pytest.fixture
def or12(tmp_path):
    target = tmp_path / "or12"
    shutil.copytree(DATA / "or12", target)
    return target


def rewrite(path: Path, name: str, change):
    """Apply `change(rows)` to a CSV file of the set (rows as dicts, header kept)."""
    with open(path / name, newline="", encoding="utf-8") as src:
        reader = csv.DictReader(src)
        header, rows = reader.fieldnames, list(reader)
    rows = change(rows)
    with open(path / name, "w", newline="", encoding="utf-8") as dst:
        writer = csv.DictWriter(dst, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def set_mode(path: Path, **modes):
    rewrite(path, "manifest.csv", lambda rows: [
        {**r, "value": modes.get(r["propertyName"].removeprefix("file."), r["value"])} for r in rows])


def account_of(sid):
    return Account.objects.select_related("person").get(person__sourced_id=sid)


def current_roles(sid):
    return sorted((r.role, r.org_unit.sourced_id) for r in RoleAssignment.objects.current().filter(account__person__sourced_id=sid).select_related("org_unit"))


def test_bulk_import_builds_the_register(or12):
    result = import_oneroster(or12)
    assert result.counts["people_created"] == 7  # u-bad-phone too: a bad phone is left out, with a warning
    assert result.counts["accounts_created"] == 7
    # The tree from parentSourcedId, with materialised paths.
    school = OrgUnit.objects.get(sourced_id="org-sp12")
    assert school.kind == "school" and school.code == "SP12"
    assert school.parent.sourced_id == "org-war" and school.parent.parent.kind == "region"
    klass = OrgUnit.objects.get(sourced_id="cls-6a")
    assert klass.kind == "class" and klass.code == "SP12-6a" and klass.path.startswith(school.path)
    # People keyed by national ID, with accounts not activated and no usable password.
    ola = account_of("u-ola")
    assert ola.person.national_id == "14230260121" and ola.person.birth_date == datetime.date(2014, 3, 2)
    assert ola.status == Account.Status.NOT_ACTIVATED and not ola.has_usable_password()
    assert ola.person.email == "ola.nowak@sp12.edu.pl" and not ola.person.email_verified
    assert account_of("u-anna").person.mobile == "+48516613186"
    assert account_of("u-piotr").person.mobile == "+48509960308"  # from "phone" when "sms" is empty
    # Roles from roles.csv and enrollments.csv; the primary teacher of a class is its class teacher.
    assert current_roles("u-ola") == [("student", "cls-6a"), ("student", "org-sp12")]
    assert current_roles("u-ewa") == [("class_teacher", "cls-6a"), ("teacher", "org-sp12")]
    assert current_roles("u-anna") == [("guardian", "org-sp12")]
    # Guardians from agentSourcedIds arrive confirmed.
    links = {(g.guardian.sourced_id, g.student.sourced_id, g.status, g.source) for g in Guardianship.objects.select_related("guardian", "student")}
    assert links == {("u-anna", "u-ola", "confirmed", "register"), ("u-anna", "u-zosia", "confirmed", "register"),
                     ("u-piotr", "u-kuba", "confirmed", "register")}
    run = ImportRun.objects.get()
    assert run.status == "succeeded" and run.problem_count == len(result.refused) == 8 and len(result.warnings) == 1
    event = AuditEvent.objects.get(action="provisioning.import")
    assert event.result == "success" and event.detail["people_created"] == 7 and event.detail["refused_rows"] == 8


def test_every_bad_row_is_reported_with_file_line_field_and_reason(or12, tmp_path):
    result = import_oneroster(or12, report=tmp_path / "report")
    found = {(p.file, p.line, p.field): str(p.reason) for p in result.problems}
    assert "check digit" in found[("users.csv", 8, "userMasterIdentifier")].lower()
    assert "short" in found[("users.csv", 9, "sms")] and "left out" in found[("users.csv", 9, "sms")]
    assert "Duplicate national ID" in found[("users.csv", 10, "userMasterIdentifier")]
    assert "Unknown user" in found[("roles.csv", 8, "userSourcedId")]
    assert found[("roles.csv", 9, "orgSourcedId")] == "Unknown org."
    assert "wizard" in found[("roles.csv", 10, "role")]
    assert found[("enrollments.csv", 6, "classSourcedId")] == "Unknown org."
    assert "does not match" in found[("demographics.csv", 3, "birthDate")]
    assert "not a date" in found[("demographics.csv", 4, "birthDate")]
    # Refused rows changed nothing: no person for them, the first holder of a duplicate ID kept.
    assert not Person.objects.filter(sourced_id__in=["u-bad-pesel", "u-dup"]).exists()
    assert Person.objects.get(sourced_id="u-bad-phone").mobile == ""  # applied without the bad number
    assert Person.objects.get(national_id="14230260121").sourced_id == "u-ola"
    assert account_of("u-kuba").person.birth_date == datetime.date(2014, 7, 19)  # the PESEL decides
    # The report, as CSV and JSON, and stored for the console.
    with open(tmp_path / "report.csv", encoding="utf-8") as src:
        rows = list(csv.DictReader(src))
    assert len(rows) == 9 and {"file", "line", "field", "reason", "sourced_id"} <= set(rows[0])
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["counts"]["people_created"] == 7 and len(report["problems"]) == 9
    assert report["files"]["users.csv"] == {"read": 9, "applied": 6, "unchanged": 0, "ended": 0, "warned": 1, "refused": 2}
    assert ImportProblem.objects.filter(file="users.csv").count() == 3


def test_reimport_of_the_same_set_changes_nothing(or12):
    import_oneroster(or12)
    before = {p.pk: p.updated_at for p in Person.objects.all()}
    assignments, links = RoleAssignment.objects.count(), Guardianship.objects.count()
    result = import_oneroster(or12)
    changed = {k: v for k, v in result.counts.items() if v and k != "people_unchanged"}
    assert changed == {}
    assert result.counts["people_unchanged"] == 7
    assert {p.pk: p.updated_at for p in Person.objects.all()} == before
    assert RoleAssignment.objects.count() == assignments and Guardianship.objects.count() == links


def test_dry_run_prints_the_diff_and_writes_nothing(or12):
    result = import_oneroster(or12, dry_run=True)
    assert result.counts["people_created"] == 7 and result.dry_run and result.run is None
    assert not Person.objects.exists() and not OrgUnit.objects.exists() and not Account.objects.exists()
    assert not ImportRun.objects.exists() and not AuditEvent.objects.filter(action="provisioning.import").exists()


def test_cli_import_with_dry_run_and_report(or12, tmp_path, capsys):
    call_command("import", "oneroster", str(or12), "--dry-run", "--report", str(tmp_path / "dry"))
    out = capsys.readouterr().out
    assert "dry run: nothing was written" in out and "people created" in out and "users.csv:8" in out
    assert (tmp_path / "dry.csv").exists() and (tmp_path / "dry.json").exists()
    assert not Person.objects.exists()


def test_a_zip_file_is_read_like_a_folder(or12, tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in or12.iterdir():
            zf.write(path, f"export/{path.name}")
    assert import_oneroster(archive).counts["people_created"] == 7


def test_a_set_without_manifest_is_refused_and_audited(tmp_path):
    (tmp_path / "users.csv").write_text("sourcedId\n")
    with pytest.raises(DatasetError):
        import_oneroster(tmp_path)
    assert AuditEvent.objects.get(action="provisioning.import").result == "failure"


def test_a_malformed_row_is_reported_and_the_rest_applied(or12):
    with open(or12 / "users.csv", "a", encoding="utf-8") as out:
        out.write('u-broken,,,true,only,a,few,fields\n"u-quote,,,true\n')
    result = import_oneroster(or12)
    lines = {p.line: str(p.reason) for p in result.problems if p.file == "users.csv"}
    assert "fields" in lines[11]
    assert result.counts["people_created"] == 7


def test_oneroster_11_roles_and_orgs_in_users_csv(tmp_path):
    shutil.copytree(DATA / "or11", tmp_path / "or11")
    result = import_oneroster(tmp_path / "or11")
    assert result.counts["people_created"] == 3
    assert current_roles("u-ewa") == [("class_teacher", "cls-6a"), ("teacher", "org-sp12"), ("teacher", "org-sp7")]
    assert current_roles("u-anna") == [("guardian", "org-sp12")]
    assert Guardianship.objects.get().student.sourced_id == "u-ola"
    assert [(p.line, p.field) for p in result.problems] == [(5, "userIds")]  # no PESEL among the userIds


def test_an_existing_person_is_adopted_not_duplicated(or12):
    t = f.org_tree()
    existing = f.account("guardian", t["school_a"], national_id="85041218159", given_name="Anna", family_name="Nowak",
                         birth_date=datetime.date(1985, 4, 12))
    result = import_oneroster(or12)
    assert result.counts["people_adopted"] == 1
    existing.person.refresh_from_db()
    assert existing.person.sourced_id == "u-anna"
    assert Person.objects.filter(national_id="85041218159").count() == 1
    assert account_of("u-anna").pk == existing.pk


def test_delta_updates_names_and_marks_deleted_people(or12):
    import_oneroster(or12)
    set_mode(or12, users="delta", roles="delta", enrollments="delta", orgs="delta", classes="delta", demographics="delta",
             academicSessions="delta")
    rewrite(or12, "users.csv", lambda rows: [
        {**r, "familyName": "Nowak-Zielińska", "dateLastModified": "2026-11-30T08:00:00Z"} if r["sourcedId"] == "u-ola" else
        {**r, "status": "tobedeleted", "dateLastModified": "2026-11-30T08:00:00Z"} for r in rows if r["sourcedId"] in ("u-ola", "u-kuba")])
    rewrite(or12, "enrollments.csv", lambda rows: [{**r, "status": "tobedeleted"} for r in rows if r["sourcedId"] == "e4"])
    for name in ("roles.csv", "orgs.csv", "classes.csv", "demographics.csv", "academicSessions.csv"):
        rewrite(or12, name, lambda rows: [])
    result = import_oneroster(or12)
    assert result.counts["people_updated"] == 1
    assert account_of("u-ola").person.family_name == "Nowak-Zielińska"
    assert RegisterRecord.objects.get(person__sourced_id="u-kuba").missing_since is not None
    assert current_roles("u-ewa") == [("teacher", "org-sp12")]  # the class teacher enrolment ended
    # A delta says nothing about who is absent.
    assert RegisterRecord.objects.filter(missing_since__isnull=False).count() == 1
    assert Person.objects.filter(sourced_id="u-zosia").exists()


def test_missing_people_keep_roles_for_the_grace_period_then_lose_them_then_are_disabled(or12, settings):
    settings.SCHOOLID_SYNC_GRACE_DAYS = 14
    settings.SCHOOLID_SYNC_DISABLE_DAYS = 90
    import_oneroster(or12)
    kuba = account_of("u-kuba")
    Account.objects.filter(pk=kuba.pk).update(status=Account.Status.ACTIVE)
    rewrite(or12, "users.csv", lambda rows: [r for r in rows if r["sourcedId"] != "u-kuba"])
    result = import_oneroster(or12)
    assert result.counts["people_missing"] == 1
    record = RegisterRecord.objects.get(person=kuba.person)
    assert record.missing_since is not None and current_roles("u-kuba")  # still inside the grace period
    RegisterRecord.objects.filter(pk=record.pk).update(missing_since=timezone.now() - datetime.timedelta(days=15))
    result = import_oneroster(or12)
    assert result.counts["people_deactivated"] == 1 and current_roles("u-kuba") == []
    assert Account.objects.get(pk=kuba.pk).status == Account.Status.ACTIVE
    RegisterRecord.objects.filter(pk=record.pk).update(missing_since=timezone.now() - datetime.timedelta(days=91))
    result = import_oneroster(or12)
    assert result.counts["accounts_disabled"] == 1
    assert Account.objects.get(pk=kuba.pk).status == Account.Status.DISABLED
    assert AuditEvent.objects.filter(action="provisioning.person_deactivated", target_id=kuba.pk).exists()
    assert AuditEvent.objects.get(action="provisioning.account_disabled", target_id=kuba.pk).detail["reason"] == "missing_from_register"
    # Nothing was deleted: the person, the account and the ended assignments are all still there.
    assert RoleAssignment.objects.filter(account=kuba, valid_until__isnull=False).count() == 2
    # Back in the register: the grace period ends and the account comes back.
    shutil.copy(DATA / "or12" / "users.csv", or12 / "users.csv")
    result = import_oneroster(or12)
    assert result.counts["people_returned"] == 1 and result.counts["accounts_enabled"] == 1
    assert Account.objects.get(pk=kuba.pk).status == Account.Status.NOT_ACTIVATED
    assert current_roles("u-kuba") == [("student", "cls-6a"), ("student", "org-sp12")]


def test_enabled_user_false_disables_the_account(or12):
    import_oneroster(or12)
    rewrite(or12, "users.csv", lambda rows: [{**r, "enabledUser": "false"} if r["sourcedId"] == "u-ewa" else r for r in rows])
    result = import_oneroster(or12)
    assert result.counts["accounts_disabled"] == 1
    assert account_of("u-ewa").status == Account.Status.DISABLED


def test_register_wins_for_identity_and_a_newer_local_contact_wins(or12):
    import_oneroster(or12)
    anna = account_of("u-anna").person
    # A local edit of the e-mail (by the parent or the class teacher), after the register's value.
    Person.objects.filter(pk=anna.pk).update(email="anna.private@example.pl", email_verified=True, email_edited_at=timezone.now())
    rewrite(or12, "users.csv", lambda rows: [{**r, "givenName": "Anna Maria"} if r["sourcedId"] == "u-anna" else r for r in rows])
    import_oneroster(or12)
    anna.refresh_from_db()
    assert anna.given_name == "Anna Maria"  # identity: the register wins
    assert anna.email == "anna.private@example.pl" and anna.email_verified  # contact: the newer local edit stays
    # The register changes the e-mail, but its change is older than the local edit: still local.
    rewrite(or12, "users.csv", lambda rows: [{**r, "email": "anna.old@example.pl", "dateLastModified": "2020-01-01T00:00:00Z"}
                                             if r["sourcedId"] == "u-anna" else r for r in rows])
    import_oneroster(or12)
    anna.refresh_from_db()
    assert anna.email == "anna.private@example.pl"
    # A register change newer than the local edit wins, and is unconfirmed until used.
    later = (timezone.now() + datetime.timedelta(minutes=5)).isoformat()
    rewrite(or12, "users.csv", lambda rows: [{**r, "email": "anna.new@example.pl", "dateLastModified": later}
                                             if r["sourcedId"] == "u-anna" else r for r in rows])
    import_oneroster(or12)
    anna.refresh_from_db()
    assert anna.email == "anna.new@example.pl" and not anna.email_verified


def test_removed_roles_and_links_end_but_stay_in_history(or12):
    import_oneroster(or12)
    rewrite(or12, "roles.csv", lambda rows: [r for r in rows if r["sourcedId"] != "r6"])
    rewrite(or12, "users.csv", lambda rows: [{**r, "agentSourcedIds": "u-ola"} if r["sourcedId"] == "u-anna" else
                                             {**r, "agentSourcedIds": ""} if r["sourcedId"] == "u-zosia" else r for r in rows])
    result = import_oneroster(or12)
    assert result.counts["roles_ended"] == 1 and current_roles("u-ewa") == [("class_teacher", "cls-6a")]
    assert result.counts["links_ended"] == 1
    assert Guardianship.objects.get(student__sourced_id="u-zosia").status == "ended"


def test_a_staff_proposed_link_the_register_states_is_confirmed(or12):
    t = f.org_tree()
    anna = f.account("guardian", t["school_a"], national_id="85041218159", given_name="Anna", family_name="Nowak",
                         birth_date=datetime.date(1985, 4, 12))
    ola = f.account("student", t["class_a1"], national_id="14230260121", given_name="Aleksandra", family_name="Nowak",
                    birth_date=datetime.date(2014, 3, 2))
    link_guardian(guardian=anna.person, student=ola.person, source="staff")
    link = Guardianship.objects.get(guardian=anna.person)
    assert link.status == "proposed"
    import_oneroster(or12)
    link.refresh_from_db()
    assert link.status == "confirmed"


def test_batch_user_codes_are_valid_and_distinct():
    from collections import Counter

    from schoolid.accounts.user_codes import LETTERS, generate_user_codes, normalize_user_code

    codes = generate_user_codes(20000)
    assert len(codes) == len(set(codes)) == 20000
    assert all(normalize_user_code(code) == code for code in codes)
    firsts = Counter(code[0] for code in codes)
    assert set(firsts) == set(LETTERS) and max(firsts.values()) < 2 * min(firsts.values())


def test_an_unchanged_roles_file_still_gives_roles_to_people_new_in_this_run(or12):
    """roles.csv is byte-identical to the last run (and could be skipped), but u-ghost, unknown then,
    is in users.csv now: its role row must apply."""
    first = import_oneroster(or12)
    assert any(p.sourced_id == "r7" and "Unknown user" in str(p.reason) for p in first.problems)  # the row's own id
    with open(or12 / "users.csv", "a", encoding="utf-8") as out:
        out.write("u-ghost,,,true,ghost,,Kacper,Duch,,,,,,,06,,90060611478,,,,,org-sp12,\n")
    result = import_oneroster(or12)
    assert result.counts["people_created"] == 1
    assert current_roles("u-ghost") == [("student", "org-sp12")]
    assert not any(p.sourced_id == "u-ghost" for p in result.problems)



def test_a_bulk_file_ends_only_roles_of_people_it_manages(or12):
    """Register roles of people this register never sent (no sourcedId: made by staff, a demo, another
    tool) are not its to end."""
    t = f.org_tree()
    other = f.account("teacher", t["school_a"])
    RoleAssignment.objects.filter(account=other).update(source="register")
    import_oneroster(or12)
    rewrite(or12, "roles.csv", lambda rows: [r for r in rows if r["sourcedId"] != "r6"])
    result = import_oneroster(or12)
    assert result.counts["roles_ended"] == 1
    assert RoleAssignment.objects.current().filter(account=other).count() == 1
