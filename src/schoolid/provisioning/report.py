"""The import report: every refused row, and every row applied with a warning, with file, line, field
and reason; written as CSV and JSON with the per-file counts of rows."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from django.utils.encoding import force_str


@dataclass
class Problem:
    file: str
    line: int
    field: str
    reason: object  # a translatable string; rendered in the reader's language when written
    sourced_id: str = ""
    # "refused": the row changed nothing. "warning": the row was applied, without the field named.
    severity: str = "refused"

    @property
    def refused(self) -> bool:
        return self.severity == "refused"

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "reason": force_str(self.reason),
                "sourced_id": self.sourced_id, "severity": self.severity}


def warning(file: str, line: int, field: str, reason, sourced_id: str = "") -> Problem:
    return Problem(file, line, field, reason, sourced_id, "warning")


# Every row read ends in exactly one of these, per file (README, "Counts that add up").
BUCKETS = ("applied", "unchanged", "ended", "warned", "refused")


def file_buckets(read: dict[str, int], problems: list[Problem], unchanged: dict[str, int], ended: dict[str, int]) -> dict[str, dict[str, int]]:
    """Per file: rows read split into applied, unchanged, ended, warned and refused. A row with any
    refusal is refused; a row with only warnings is warned; the header (line 1) is not a row."""
    refused: dict[str, set] = {}
    warned: dict[str, set] = {}
    for p in problems:
        if p.line <= 1:
            continue
        (refused if p.refused else warned).setdefault(p.file, set()).add(p.line)
    out = {}
    for file, total in read.items():
        bad = refused.get(file, set())
        soft = warned.get(file, set()) - bad
        row = {"refused": len(bad), "warned": len(soft), "unchanged": unchanged.get(file, 0), "ended": ended.get(file, 0)}
        row["applied"] = max(0, total - sum(row.values()))
        out[file] = {"read": total, **{k: row[k] for k in BUCKETS}}
    return out


def write_report(path: str | Path, problems: list[Problem], counts: dict, *, source: str, dry_run: bool, files: dict | None = None) -> list[Path]:
    """Write `path` as CSV and JSON (the other file gets the other suffix); return both paths."""
    path = Path(path)
    base = path.with_suffix("") if path.suffix.lower() in (".csv", ".json") else path
    csv_path, json_path = base.with_suffix(".csv"), base.with_suffix(".json")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    rows = [p.as_dict() for p in problems]
    with open(csv_path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=["file", "line", "field", "reason", "sourced_id", "severity"])
        writer.writeheader()
        writer.writerows(rows)
    with open(json_path, "w", encoding="utf-8") as out:
        json.dump({"source": source, "dry_run": dry_run, "counts": counts, "files": files or {}, "problems": rows}, out, ensure_ascii=False, indent=1)
    return [csv_path, json_path]
