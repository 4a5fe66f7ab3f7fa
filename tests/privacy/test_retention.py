"""Retention (issue 15): the job removes exactly what the profile's settings say, in batches, idempotently,
and its dry run prints exactly what the real run then does. Requirement IDs: ASVS v5 14.2.7 (data kept no
longer than needed), 16.2.1 (the run is audited)."""
import dataclasses
import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from schoolid.accounts.models import RoleAssignment
from schoolid.accounts.services import disable_accounts
from schoolid.audit.models import AuditEvent
from schoolid.audit.services import record_event
from schoolid.directory.models import Person
from schoolid.flows.models import Flow, OneTimeCode
from schoolid.notify.models import OutboxMessage
from schoolid.notify.services import enqueue
from schoolid.privacy.models import ErasureRecord
from schoolid.provisioning.models import ImportProblem, ImportRun
from tests import factories as f

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def left(account, days_ago):
    RoleAssignment.objects.filter(account=account).update(valid_from=timezone.now() - (days_ago + 300) * DAY, valid_until=timezone.now() - days_ago * DAY)
    disable_accounts([account.pk])


def message(key, days_ago, status=OutboxMessage.Status.SENT):
    m = enqueue(channel="sms", to="+989121234567", subject="", body=f"code {key}", purpose="test", dedupe_key=key, language="en")
    OutboxMessage.objects.filter(pk=m.pk).update(status=status, created_at=timezone.now() - days_ago * DAY)
    return m.pk


@pytest.fixture
def world(settings, tmp_path):
    settings.SCHOOLID_REPORT_DIR = tmp_path
    t = f.org_tree()
    gone_long = f.account("student", t["class_a1"], email="gone@example.org")
    gone_recent = f.account("student", t["class_a1"])
    staying = f.account("student", t["class_a1"])
    left(gone_long, 400)
    left(gone_recent, 30)
    # Audit events 800 and 100 days old (the default keeps 730 days).
    ids = {}
    for days in (800, 100):
        event = record_event("old.event", "success", detail={"age": days})
        ids[days] = event.pk
    with connection.cursor() as cursor:
        # An insert with an earlier time is what an old event is; the table refuses updates, so the
        # test writes the rows as the past wrote them.
        for days, pk in ids.items():
            cursor.execute("INSERT INTO audit_auditevent (at, action, result, actor_id, actor, target_id, target, org_unit_path, ip, request_id, parent_id, detail) "
                           "SELECT %s, action, result, actor_id, actor, target_id, target, org_unit_path, ip, request_id, parent_id, detail FROM audit_auditevent WHERE id = %s",
                           [timezone.now() - days * DAY, pk])
    messages = {"fresh": message("m-fresh", 0), "two_days": message("m-2d", 2), "old": message("m-old", 100),
                "queued_old": message("m-q", 100, OutboxMessage.Status.QUEUED)}
    runs = {}
    for days in (200, 10, 300):
        run = ImportRun.objects.create(source="x", status=ImportRun.Status.SUCCEEDED)
        ImportProblem.objects.create(run=run, file="users.csv", line=2, reason="check digit")
        ImportRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - days * DAY)
        (tmp_path / f"import-{run.pk}.csv").write_text("x")
        runs[days] = run.pk
    flows = {}
    for days in (40, 5):
        flow = Flow.objects.create(kind=Flow.Kind.RECOVERY, state=Flow.State.DONE, identifier_key="k", expires_at=timezone.now() - days * DAY)
        OneTimeCode.objects.create(flow=flow, purpose="p", code_mac="m", expires_at=flow.expires_at)
        flows[days] = flow.pk
    from schoolid.accounts import sessions
    from schoolid.accounts.models import SignedInSession

    old_row, new_row = sessions.index(staying, "o" * 32), sessions.index(staying, "n" * 32)
    SignedInSession.objects.filter(pk=old_row.pk).update(ended_at=timezone.now() - 40 * DAY)
    SignedInSession.objects.filter(pk=new_row.pk).update(ended_at=timezone.now() - 2 * DAY)
    return {"session_rows": (old_row.pk, new_row.pk), "gone_long": gone_long, "gone_recent": gone_recent, "staying": staying, "messages": messages, "runs": runs, "flows": flows}


def run_cli(*args) -> list[str]:
    out = io.StringIO()
    call_command("privacy", "retain", *args, stdout=out)
    return out.getvalue().splitlines()


def old_events():
    return AuditEvent.objects.filter(action="old.event", at__lt=timezone.now() - 700 * DAY).count()


def test_dry_run_prints_what_the_real_run_does_and_changes_nothing(world):
    counts = (Person.objects.exclude(national_id__startswith="#").count(), AuditEvent.objects.filter(action="old.event").count(),
              OutboxMessage.objects.exclude(body="").count(), ImportRun.objects.count(), Flow.objects.count())
    dry = run_cli("--dry-run")
    assert dry[0].startswith("Dry run")
    assert (Person.objects.exclude(national_id__startswith="#").count(), AuditEvent.objects.filter(action="old.event").count(),
            OutboxMessage.objects.exclude(body="").count(), ImportRun.objects.count(), Flow.objects.count()) == counts
    # The same moment for both runs, so that the cutoffs printed are the same minute too.
    from schoolid.privacy.services import retain

    now = timezone.now()
    dry_plan = retain(dry_run=True, now=now)
    assert dry_plan.lines()[0].split(" before ")[0] == dry[1].split(" before ")[0]
    real_plan = retain(now=now)
    assert real_plan.lines() == dry_plan.lines()
    assert [s.done for s in real_plan.steps] == [len(s.ids) for s in dry_plan.steps]  # did what it said
    real = retain(now=now).lines()  # and again: nothing left
    assert any(line.startswith("erase people who left the register: 1 ") for line in dry)
    assert any(line.startswith("delete audit events: 1 ") for line in dry)
    assert all(": 0 " in line for line in real)


def test_the_run_removes_exactly_what_the_settings_say(world):
    retain_lines = run_cli()
    # People: left 400 days ago (> 365) erased; left 30 days ago and present people kept.
    erased = {r.person_id for r in ErasureRecord.objects.all()}
    assert erased == {world["gone_long"].person_id}
    assert ErasureRecord.objects.get().reason == "retention"
    # Audit: the 800-day-old event is gone, the 100-day-old one stays.
    assert old_events() == 0
    assert AuditEvent.objects.filter(action="old.event", at__lt=timezone.now() - 99 * DAY).count() == 1
    # Outbox: texts older than 24 hours emptied, messages older than 90 days deleted, queued never.
    m = world["messages"]
    assert OutboxMessage.objects.get(pk=m["fresh"]).body == "code m-fresh"
    assert OutboxMessage.objects.get(pk=m["two_days"]).body == ""
    assert not OutboxMessage.objects.filter(pk=m["old"]).exists()
    assert OutboxMessage.objects.get(pk=m["queued_old"]).body == "code m-q"
    # Import reports older than 180 days go with their refused rows and files; the newest finished run stays.
    runs = world["runs"]
    assert not ImportRun.objects.filter(pk=runs[200]).exists() and not ImportProblem.objects.filter(run_id=runs[200]).exists()
    assert ImportRun.objects.filter(pk=runs[10]).exists()
    assert ImportRun.objects.filter(pk=runs[300]).exists()  # the newest finished run (highest id) is kept for the sync
    # Journeys expired more than 30 days ago go with their codes.
    assert not Flow.objects.filter(pk=world["flows"][40]).exists() and Flow.objects.filter(pk=world["flows"][5]).exists()
    assert OneTimeCode.objects.filter(flow_id=world["flows"][5]).count() == 1
    from schoolid.accounts.models import SignedInSession

    old_row, new_row = world["session_rows"]
    assert not SignedInSession.objects.filter(pk=old_row).exists() and SignedInSession.objects.filter(pk=new_row).exists()
    assert AuditEvent.objects.filter(action="privacy.retention").exists()
    # Idempotent: a second run finds nothing.
    assert all(" 0 " in line or line.endswith(" 0") or ": 0" in line for line in run_cli()[1:])
    assert retain_lines


def test_profile_settings_decide(world, settings):
    profile = settings.SCHOOLID_PROFILE
    settings.SCHOOLID_PROFILE = dataclasses.replace(profile, retention=dataclasses.replace(profile.retention, left_people_days=20, audit_event_days=50))
    run_cli()
    assert {r.person_id for r in ErasureRecord.objects.all()} == {world["gone_long"].person_id, world["gone_recent"].person_id}
    assert AuditEvent.objects.filter(action="old.event", at__lt=timezone.now() - 49 * DAY).count() == 0


def test_batches_take_everything(world, settings):
    settings.SCHOOLID_PRIVACY_BATCH_SIZE = 1
    for days in range(3):
        message(f"extra-{days}", 100 + days)
    run_cli()
    assert not OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT, created_at__lt=timezone.now() - 90 * DAY).exists()


def test_the_beat_schedule_and_the_embedded_scheduler_run_the_job(settings):
    assert settings.CELERY_BEAT_SCHEDULE["privacy-retention"]["task"] == "schoolid.privacy.retain"
    assert "privacy-retention" in settings.SCHOOLID_EMBEDDED_JOBS
    from schoolid.privacy.tasks import retain

    counts = retain.apply().get()
    assert "delete audit events" in counts


def test_a_parent_known_only_by_links_is_erased_once_every_link_ended_long_ago():
    t = f.org_tree()
    child = f.account("student", t["class_a1"])
    parent = f.guardian_of(child)  # no role of their own: known through the link only
    from schoolid.directory.models import Guardianship

    assert "erase people who left the register: 0 " in " ".join(run_cli("--dry-run"))
    Guardianship.objects.filter(guardian=parent.person).update(status=Guardianship.Status.ENDED, decided_at=timezone.now() - 400 * DAY)
    run_cli()
    assert ErasureRecord.objects.get().person_id == parent.person_id
    assert Person.objects.get(pk=parent.person_id).national_id.startswith("#")
    assert not Person.objects.get(pk=child.person_id).national_id.startswith("#")  # the child is still at school


@pytest.mark.django_db(transaction=True)
def test_the_embedded_scheduler_runs_the_job_in_process(world):
    """`schoolid serve`'s job thread (embedded default) runs the retention task with its own connection."""
    import threading

    from schoolid.core import embedded_jobs

    thread = threading.Thread(target=embedded_jobs._run, args=("schoolid.privacy.retain",))
    thread.start()
    thread.join(120)
    assert ErasureRecord.objects.filter(person_id=world["gone_long"].person_id).exists()
    assert AuditEvent.objects.filter(action="privacy.retention").exists()


def test_a_profile_sets_its_own_periods_and_nonsense_is_refused():
    from schoolid.core.profiles import Retention, load_profile, parse_profile

    base = {k: getattr(load_profile("pl"), k) for k in ("code", "country", "name", "default_language", "time_zone",
                                                       "national_id_scheme", "phone_region", "age_threshold")}
    assert parse_profile({**base, "retention": {"audit_event_days": 1095}}).retention == Retention(audit_event_days=1095)
    assert load_profile("ir").retention == Retention()  # the documented defaults
    with pytest.raises(ValueError, match="unknown retention"):
        parse_profile({**base, "retention": {"audit_days": 5}})
    with pytest.raises(ValueError, match="negative"):
        parse_profile({**base, "retention": {"outbox_body_hours": -1}})


def test_outside_the_demo_a_sent_messages_text_is_not_kept(settings):
    """Codes and links are not kept in clear once delivered (production: no /dev/outbox)."""
    from schoolid.notify.services import deliver

    settings.SCHOOLID_DEV_OUTBOX = False
    m = enqueue(channel="sms", to="+989121234567", subject="", body="Your code is 804417", purpose="test", dedupe_key="prod-1", language="en")
    assert deliver(m.pk) == OutboxMessage.Status.SENT
    assert OutboxMessage.objects.get(pk=m.pk).body == ""
    settings.SCHOOLID_DEV_OUTBOX = True
    m = enqueue(channel="sms", to="+989121234567", subject="", body="Your code is 804418", purpose="test", dedupe_key="demo-1", language="en")
    deliver(m.pk)
    assert OutboxMessage.objects.get(pk=m.pk).body == "Your code is 804418"  # the demo shows it; retention empties it
