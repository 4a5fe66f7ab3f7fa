"""The console's "Sync now" and report (issue 5, item 5), and `schoolid sync`.

ASVS v5 8.2.1 (function-level access), 16.2.1 (security events logged)."""
import re
import shutil
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import translation

from schoolid.audit.models import AuditEvent
from schoolid.core.profiles import load_profile
from schoolid.directory.models import Person
from schoolid.provisioning.models import ImportRun
from schoolid.provisioning.services import SYNC_LOCK
from tests import factories as f

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def source(settings, tmp_path):
    settings.SCHOOLID_PROFILE = load_profile("pl")
    settings.SCHOOLID_REPORT_DIR = tmp_path / "reports"
    shutil.copytree(DATA / "or12", tmp_path / "register")
    settings.SCHOOLID_SYNC_SOURCE = str(tmp_path / "register")
    with translation.override("en"):
        yield


def test_a_ministry_admin_syncs_now_and_reads_the_report():
    t = f.org_tree()
    principal = f.account("ministry_admin", t["ministry"], password="principal pass 1234")
    console = f.staff_client(principal)
    page = console.post("/console/sync/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    run = ImportRun.objects.get()
    assert run.status == "succeeded" and run.actor == principal and run.problem_count == 8
    assert Person.objects.filter(sourced_id="u-ola").exists()
    assert f'href="/console/sync/{run.pk}/"' in page.content.decode()
    report = console.get(f"/console/sync/{run.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "people added" in report and "users.csv" in report and "u-bad-pesel" in report
    assert re.search(r"8 refused rows", report) and "applied with a warning" in report
    assert AuditEvent.objects.filter(action="provisioning.sync_requested", result="success", actor_id=principal.pk).exists()


def test_a_teacher_may_not_sync_and_the_refusal_is_audited():
    t = f.org_tree()
    teacher = f.account("teacher", t["school_a"], password="teacher pass 12345")
    console = f.staff_client(teacher)
    assert console.post("/console/sync/").status_code == 403
    assert console.get("/console/sync/").status_code == 403
    assert not ImportRun.objects.exists()
    assert AuditEvent.objects.filter(action="provisioning.sync_page", result="denied", actor_id=teacher.pk).count() == 2


@pytest.mark.parametrize("role", ["principal", "secretary", "district_officer"])
def test_school_staff_neither_sync_the_country_nor_read_its_reports(role):
    """Issue 11 item 4 (ASVS v5 8.2.1, 8.2.2): the register source covers the whole country, so a school's
    principal or secretary (or a district officer) may not start it or read any run's refused rows."""
    t = f.org_tree()
    staff = f.account(role, t["district"] if role == "district_officer" else t["school_a"], password="staff pass 1234567")
    f.activate(staff)
    admin = f.staff_client(f.account("ministry_admin", t["ministry"], password="ministry pass 1234"))
    admin.post("/console/sync/")
    run = ImportRun.objects.get()
    console = f.staff_client(staff)
    assert console.post("/console/sync/").status_code == 403
    assert console.get("/console/sync/").status_code == 403
    assert console.get(f"/console/sync/{run.pk}/").status_code == 403
    assert ImportRun.objects.count() == 1
    assert AuditEvent.objects.filter(action="provisioning.sync_page", result="denied", actor_id=staff.pk).count() == 3


def test_a_second_sync_while_one_runs_is_refused():
    t = f.org_tree()
    console = f.staff_client(f.account("ministry_admin", t["ministry"], password="ministry pass 1234"))
    cache.add(SYNC_LOCK, "1", 60)
    try:
        page = console.post("/console/sync/", follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    finally:
        cache.delete(SYNC_LOCK)
    assert "already running" in page
    assert not ImportRun.objects.exists()


def test_cli_sync_runs_the_configured_source(capsys, settings):
    call_command("sync")
    assert "people created" in capsys.readouterr().out
    assert ImportRun.objects.get().status == "succeeded"
    settings.SCHOOLID_SYNC_SOURCE = ""
    with pytest.raises(CommandError):
        call_command("sync")
