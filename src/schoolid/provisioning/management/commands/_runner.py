"""Shared by `schoolid import oneroster` and `schoolid sync`: progress, summary table, exit status."""
from __future__ import annotations

from django.core.management.base import CommandError
from rich.console import Console
from rich.table import Table

from schoolid.provisioning.oneroster.dataset import DatasetError
from schoolid.provisioning.report import BUCKETS
from schoolid.provisioning.services import COUNT_KEYS

STEPS = {"orgs": "org units", "users": "users.csv", "demographics": "demographics.csv", "roles": "roles and enrolments", "people": "people and accounts",
         "presence": "missing people and grace periods"}


def run_with_progress(call, *, dry_run: bool):
    console = Console(stderr=True)
    with console.status("reading the data set") as status:
        try:
            result = call(progress=lambda step: status.update(f"{STEPS.get(step, step)}"))
        except DatasetError as exc:
            raise CommandError(str(exc)) from exc
    table = Table(title="dry run: nothing was written" if dry_run else "import applied")
    table.add_column("change")
    table.add_column("count", justify="right")
    for key in COUNT_KEYS:
        if result.counts.get(key):
            table.add_row(key.replace("_", " "), str(result.counts[key]))
    table.add_row("refused rows", str(len(result.refused)))
    table.add_row("rows applied with a warning", str(sum(f["warned"] for f in result.files.values())))
    out = Console()
    out.print(table)
    # Every row read ends in one bucket: the columns add up to the rows read, file by file.
    rows = Table(title="rows per file")
    for column in ("file", "read", *BUCKETS):
        rows.add_column(column, justify="left" if column == "file" else "right")
    for name, buckets in sorted(result.files.items()):
        rows.add_row(name, *(str(buckets.get(column, 0)) for column in ("read", *BUCKETS)))
    out.print(rows)
    for label, problems in (("refused", result.refused), ("warning", result.warnings)):
        for problem in problems[:20]:
            out.print(f"{label} {problem.file}:{problem.line} {problem.field or '-'}: {problem.reason}" + (f" ({problem.sourced_id})" if problem.sourced_id else ""),
                      markup=False, highlight=False)
        if len(problems) > 20:
            out.print(f"... and {len(problems) - 20} more ({label})", markup=False)
    for path in result.report_paths:
        out.print(f"report: {path}", markup=False, highlight=False)
    return result
