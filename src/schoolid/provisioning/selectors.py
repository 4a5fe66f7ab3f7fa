"""Reads for the console's sync page: recent import runs and a run's refused rows."""
from schoolid.provisioning.models import ImportProblem, ImportRun


def recent_runs(limit: int = 20):
    return ImportRun.objects.filter(dry_run=False).order_by("-id")[:limit]


def run_problems(run: ImportRun):
    return ImportProblem.objects.filter(run=run).order_by("file", "line")
