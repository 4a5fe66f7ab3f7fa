"""The import report: every refused row with file, line, field and reason; written as CSV and JSON."""
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

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "reason": force_str(self.reason),
                "sourced_id": self.sourced_id}


def write_report(path: str | Path, problems: list[Problem], counts: dict, *, source: str, dry_run: bool) -> list[Path]:
    """Write `path` as CSV and JSON (the other file gets the other suffix); return both paths."""
    path = Path(path)
    base = path.with_suffix("") if path.suffix.lower() in (".csv", ".json") else path
    csv_path, json_path = base.with_suffix(".csv"), base.with_suffix(".json")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    rows = [p.as_dict() for p in problems]
    with open(csv_path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=["file", "line", "field", "reason", "sourced_id"])
        writer.writeheader()
        writer.writerows(rows)
    with open(json_path, "w", encoding="utf-8") as out:
        json.dump({"source": source, "dry_run": dry_run, "counts": counts, "problems": rows}, out, ensure_ascii=False, indent=1)
    return [csv_path, json_path]
