"""Reads for the console's sync page: recent import runs and a run's refused rows."""
from schoolid.provisioning.models import ImportProblem, ImportRun


def recent_runs(limit: int = 20):
    return ImportRun.objects.filter(dry_run=False).order_by("-id")[:limit]


def run_problems(run: ImportRun):
    return ImportProblem.objects.filter(run=run).order_by("file", "line")


def run_counts() -> dict[str, int]:
    """Import and sync runs by status (metrics)."""
    from django.db.models import Count

    return {row["status"]: row["n"] for row in ImportRun.objects.values("status").annotate(n=Count("pk")).order_by()}
