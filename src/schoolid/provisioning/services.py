"""Writes from the school register: OneRoster imports and the configured sync.

One import is one transaction: valid rows are applied together, refused rows are reported with file,
line, field and reason, and a crash leaves nothing half-written. A dry run does all the work and rolls
it back, so the diff it prints is exactly what a real run would do.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolid.audit.services import record_event
from schoolid.provisioning.models import ImportProblem, ImportRun
from schoolid.provisioning.oneroster.dataset import DatasetError, open_dataset
from schoolid.provisioning.oneroster.merge import RECORD, Merge
from schoolid.provisioning.oneroster.orgs import OrgMerge
from schoolid.provisioning.oneroster.staging import Stage
from schoolid.provisioning.oneroster.users import UserStaging
from schoolid.provisioning.report import Problem, file_buckets, write_report

logger = logging.getLogger("schoolid.provisioning")

# The order the summary table shows.
COUNT_KEYS = (
    "orgs_created", "orgs_updated", "orgs_deactivated",
    "people_created", "people_updated", "people_adopted", "people_unchanged", "email_updated", "mobile_updated",
    "birth_dates_updated", "accounts_created", "roles_added", "roles_ended", "roles_skipped",
    "links_added", "links_confirmed", "links_ended",
    "people_missing", "people_returned", "people_deactivated", "accounts_disabled", "accounts_enabled",
)


class SyncNotConfigured(RuntimeError):
    pass


class NotMigrated(DatasetError):
    """The database has no tables (or old ones): nothing can be imported before `schoolid migrate`."""


def _check_migrated() -> None:
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        pending = True
    if pending:
        raise NotMigrated(_("The database is not set up for this version: run `schoolid migrate` first."))


@dataclass
class ImportResult:
    run: ImportRun | None
    counts: dict
    problems: list[Problem] = field(default_factory=list)
    dry_run: bool = False
    report_paths: list[Path] = field(default_factory=list)
    # Per file: rows read, and how many were applied, unchanged, ended, warned and refused.
    files: dict = field(default_factory=dict)

    @property
    def refused(self) -> list[Problem]:
        return [p for p in self.problems if p.refused]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.refused]


def _stored_hashes() -> dict[int, str]:
    """sourcedId key -> the hash of the users.csv row the register sent last; read in one pass."""
    from schoolid.provisioning.oneroster.users import unsigned

    hashes: dict[int, str] = {}
    with connection.cursor() as cursor:
        # People missing from the register are left out: their row, when it comes back, is checked anew.
        cursor.execute(f"SELECT r.sid_key, r.row_hash FROM {RECORD} r WHERE r.missing_since IS NULL AND r.sid_key IS NOT NULL")
        while batch := cursor.fetchmany(50000):
            for key, digest in batch:
                hashes[unsigned(key)] = digest
    return hashes


def _bulk_load_mode() -> None:
    """No row triggers for this transaction, where the PostgreSQL role may set that (a superuser, or
    `GRANT SET ON PARAMETER session_replication_role TO <role>`; see the README).

    Every row the merge writes points at rows it has just joined to, so the per-row foreign-key checks
    PostgreSQL would run at commit (seven million of them for a million people, half a minute) prove
    nothing. `SET LOCAL` ends with the transaction; without the privilege the import runs the checks."""
    if connection.vendor != "postgresql" or not settings.SCHOOLID_IMPORT_SKIP_ROW_TRIGGERS:
        return
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        logger.info("import runs with row triggers: the database role may not set session_replication_role")


def import_oneroster(path, *, dry_run: bool = False, actor=None, request=None, report: str | Path | None = None,
                     progress=None) -> ImportResult:
    """Import a OneRoster 1.2 (or 1.1) CSV data set from a folder or zip file.

    `progress(step)` is called as each phase starts (the CLI shows it). Raises DatasetError when the
    set as a whole cannot be read; that is audited too.
    """
    clock = {"name": "open", "at": time.perf_counter()}

    def step(name: str) -> None:
        now_ = time.perf_counter()
        logger.info("import phase %s took %.2f s", clock["name"], now_ - clock["at"])
        clock.update(name=name, at=now_)
        if progress:
            progress(name)

    now = timezone.now()
    counts: Counter = Counter({key: 0 for key in COUNT_KEYS})
    _check_migrated()
    try:
        dataset = open_dataset(path)
    except DatasetError as exc:
        if not dry_run:
            record_event("provisioning.import", "failure", actor=actor, request=request, detail={"source": str(path), "error": str(exc)})
        raise
    problems = dataset.problems
    run = None
    stage = Stage()
    try:
        with transaction.atomic():
            run = ImportRun.objects.create(source=str(path)[:500], format=f"oneroster-{dataset.version}",
                                           mode=dataset.mode("users.csv"), dry_run=dry_run, actor=actor)
            _bulk_load_mode()
            # A file identical to the one the last successful import applied holds nothing new.
            last = ImportRun.objects.filter(status=ImportRun.Status.SUCCEEDED, dry_run=False).exclude(pk=run.pk).order_by("-id").first()
            unchanged = {name for name, fingerprint in dataset.fingerprints.items()
                         if last and last.file_hashes.get(name) == fingerprint}
            tree_files = {name for name in ("orgs.csv", "classes.csv") if dataset.present(name)}
            step("orgs")
            tree_changed = bool(tree_files - unchanged)
            orgs = OrgMerge(dataset, problems, counts, now)
            if tree_changed:
                orgs.merge()
            else:
                orgs.read_aliases()
            users = UserStaging(dataset, stage, problems, counts)
            users.create_tables()
            step("users")
            users.stage_users({} if dataset.mode("users.csv") == "absent" else _stored_hashes())
            step("demographics")
            # People new to the register (or back, or fixed since a refused row) need every file's rows.
            skipped = set() if users.new_people or tree_changed else \
                unchanged & {"roles.csv", "enrollments.csv", "demographics.csv"}
            if "demographics.csv" not in skipped:
                users.stage_demographics()
            background = users.stage_in_background("roles.csv" not in skipped, "enrollments.csv" not in skipped)
            try:
                merge = Merge(dataset, stage, problems, counts, now, actor=actor, request=request, skipped=skipped, orgs=orgs)
                step("people")
                merge.check_people()
                merge.merge_people()
                merge.create_accounts()
                merge.apply_enabled()
            except BaseException:
                background.abandon()
                raise
            step("roles")
            background.join()
            merge.merge_roles()
            merge.merge_guardians()
            step("presence")
            merge.apply_presence()
            merge.apply_grace()
            # Roles the register ended may let waiting roles of moving pupils take effect (issue 11, item 2).
            from schoolid.accounts.services import settle_pending_roles

            settle_pending_roles()
            step("finish")
            stage.drop_all()
            # Files not read again (identical to the last applied ones) keep their rows' outcome:
            # the rows still not applied are reported again, not forgotten.
            not_read = {name for name in (skipped | (set() if tree_changed else tree_files)) if dataset.present(name)}
            files = _carry_forward(last, not_read, problems)
            files.update(file_buckets(dataset.read, [p for p in problems if p.file not in not_read],
                                      users.unchanged + orgs.unchanged, users.ended + orgs.ended))
            problems.sort(key=lambda p: (p.file, p.line))
            refused = sum(1 for p in problems if p.refused)
            run.counts = {**counts, "files": files}
            run.file_hashes = dataset.fingerprints
            run.problem_count = refused
            run.status = ImportRun.Status.SUCCEEDED
            run.finished_at = timezone.now()
            run.save()
            ImportProblem.objects.bulk_create(
                [ImportProblem(run=run, file=p.file, line=p.line, field=p.field[:64], reason=str(p.reason)[:300], sourced_id=p.sourced_id[:128],
                               severity=p.severity)
                 for p in problems[: settings.SCHOOLID_IMPORT_MAX_STORED_PROBLEMS]], batch_size=2000)
            record_event("provisioning.import", "success", actor=actor or "register", request=request,
                         detail={"run": run.pk, "source": str(path), "dry_run": dry_run, "refused_rows": refused,
                                 "warned_rows": sum(f["warned"] for f in files.values()),
                                 **{k: v for k, v in counts.items() if v}})
            if dry_run:
                transaction.set_rollback(True)
    except Exception as exc:
        logger.exception("import failed")
        if not dry_run:
            record_event("provisioning.import", "failure", actor=actor or "register", request=request,
                         detail={"source": str(path), "error": f"{type(exc).__name__}: {exc}"[:500]})
            ImportRun.objects.create(source=str(path)[:500], format=f"oneroster-{dataset.version}", mode=dataset.mode("users.csv"),
                                     actor=actor, status=ImportRun.Status.FAILED, finished_at=timezone.now(),
                                     error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    result = ImportResult(run=None if dry_run else run, counts=dict(counts), problems=problems, dry_run=dry_run, files=files)
    if report:
        result.report_paths = write_report(report, problems, result.counts, source=str(path), dry_run=dry_run, files=files)
    elif not dry_run and run is not None:
        result.report_paths = write_report(Path(settings.SCHOOLID_REPORT_DIR) / f"import-{run.pk}", problems, result.counts,
                                           source=str(path), dry_run=False, files=files)
    return result


def _carry_forward(last: ImportRun | None, names: set[str], problems: list[Problem]) -> dict:
    """The last applied run's outcome for files not read this time: their problems and counts."""
    if not last or not names:
        return {}
    for p in ImportProblem.objects.filter(run=last, file__in=names).order_by("id"):
        problems.append(Problem(p.file, p.line, p.field, p.reason, p.sourced_id, p.severity))
    before = last.counts.get("files", {}) if isinstance(last.counts, dict) else {}
    return {name: dict(before[name]) for name in names if name in before}


class SyncAlreadyRunning(RuntimeError):
    pass


SYNC_LOCK = "provisioning:sync-lock"


def run_sync(*, actor=None, request=None, dry_run: bool = False, progress=None) -> ImportResult:
    """Import the configured register source (SCHOOLID_SYNC_SOURCE); one sync at a time."""
    from django.core.cache import cache

    source = settings.SCHOOLID_SYNC_SOURCE
    if not source:
        raise SyncNotConfigured(_("No register source is configured (SCHOOLID_SYNC_SOURCE)."))
    if not cache.add(SYNC_LOCK, "1", timeout=settings.SCHOOLID_SYNC_LOCK_SECONDS):
        raise SyncAlreadyRunning(_("A sync is already running; its report appears here when it ends."))
    try:
        return import_oneroster(source, dry_run=dry_run, actor=actor, request=request, progress=progress)
    finally:
        cache.delete(SYNC_LOCK)


def may_sync(account) -> bool:
    """A sync and its report are for actors who cover the whole source (issue 11, item 4). The
    configured source is the country's register, so that is a ministry admin at the root of the org
    tree; a school's staff start nothing and read no report (the rows name other schools' people)."""
    return bool(account.is_authenticated and account.is_active and account.assignments.current().filter(
        role="ministry_admin", org_unit__parent__isnull=True).exists())


def request_sync(actor, *, request=None) -> None:
    """Start a sync for `actor` (audited); Celery runs it (in-process in the embedded default)."""
    from schoolid.provisioning.tasks import sync_register

    if not may_sync(actor):
        record_event("provisioning.sync_requested", "denied", actor=actor, request=request)
        raise PermissionError("not allowed to start a sync")
    if not settings.SCHOOLID_SYNC_SOURCE:
        raise SyncNotConfigured(_("No register source is configured (SCHOOLID_SYNC_SOURCE)."))
    from django.core.cache import cache

    if cache.get(SYNC_LOCK):
        raise SyncAlreadyRunning(_("A sync is already running; its report appears here when it ends."))
    record_event("provisioning.sync_requested", "success", actor=actor, request=request)
    sync_register.delay(actor_id=actor.pk)


# --- Retention and erasure (the privacy app decides when). ---

def runs_before(cutoff, limit: int | None = None) -> list[int]:
    """Import runs (with their refused rows and report files) older than `cutoff`. The newest finished
    run always stays: the next sync compares its files with it."""
    from schoolid.provisioning.models import ImportRun

    newest = ImportRun.objects.filter(status=ImportRun.Status.SUCCEEDED, dry_run=False).order_by("-id").values_list("pk", flat=True).first()
    return list(ImportRun.objects.filter(started_at__lt=cutoff).exclude(status=ImportRun.Status.RUNNING).exclude(pk=newest)
                .order_by("id").values_list("pk", flat=True)[:limit])


@transaction.atomic
def purge_runs(ids) -> int:
    """Delete import runs, their refused rows and their report files (retention)."""
    from schoolid.provisioning.models import ImportProblem, ImportRun

    ids = list(ids)
    ImportProblem.objects.filter(run_id__in=ids).delete()
    deleted = ImportRun.objects.filter(pk__in=ids).exclude(status=ImportRun.Status.RUNNING).delete()[0]
    for pk in ids:
        for suffix in (".csv", ".json"):
            Path(settings.SCHOOLID_REPORT_DIR, f"import-{pk}{suffix}").unlink(missing_ok=True)
    return deleted


def forget_person(person) -> None:
    """An erased person: what the register last sent about them (contacts, agents) is dropped."""
    from schoolid.provisioning.models import RegisterRecord

    RegisterRecord.objects.filter(person=person).delete()
