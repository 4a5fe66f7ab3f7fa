"""Reading a OneRoster CSV data set (1.2, and 1.1 exports) from a zip file or a folder.

Rows come out as (line, dict) with the line where the record starts, so every refused row can be
named by file and line. A row that cannot be read at all (wrong number of fields, a broken quote)
becomes a Problem and the next row is read; nothing here raises on bad content.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from schoolid.core.digits import clean_text
from schoolid.provisioning.report import Problem, warning

FILES = ("manifest.csv", "orgs.csv", "academicSessions.csv", "classes.csv", "users.csv", "roles.csv",
         "enrollments.csv", "demographics.csv")

# Columns without which a file cannot be used (OneRoster 1.2 CSV binding; 1.1 where it differs).
REQUIRED = {
    "orgs.csv": ("sourcedId", "name", "type"),
    "academicSessions.csv": ("sourcedId", "title", "type", "startDate", "endDate"),
    "classes.csv": ("sourcedId", "title", "schoolSourcedId"),
    "users.csv": ("sourcedId", "givenName", "familyName"),
    "roles.csv": ("userSourcedId", "role", "orgSourcedId"),
    "enrollments.csv": ("classSourcedId", "userSourcedId", "role"),
    "demographics.csv": ("sourcedId", "birthDate"),
}

# Columns of the OneRoster 1.2 and 1.1 CSV bindings that SchoolID reads or knows. A header that
# matches one of them but for case ("birthdate") is read as that column, with a warning.
KNOWN = {
    "orgs.csv": ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"),
    "academicSessions.csv": ("sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
                             "parentSourcedId", "schoolYear"),
    "classes.csv": ("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType",
                    "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"),
    "users.csv": ("sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName", "familyName",
                  "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password",
                  "userMasterIdentifier", "preferredGivenName", "preferredFamilyName", "primaryOrgSourcedId", "role",
                  "orgSourcedIds", "metadata.givenNameLatin", "metadata.familyNameLatin"),
    "roles.csv": ("sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate", "endDate",
                  "orgSourcedId", "userProfileSourcedId"),
    "enrollments.csv": ("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId",
                        "role", "primary", "beginDate", "endDate"),
    "demographics.csv": ("sourcedId", "status", "dateLastModified", "birthDate", "sex"),
}
# Other names exports use for a column (demographics keyed by the user's id, as some SIS write it).
ALIASES = {"demographics.csv": {"userSourcedId": "sourcedId"}}

csv.field_size_limit(1 << 20)


class DatasetError(ValueError):
    """The data set as a whole cannot be read (no manifest, not a zip, unknown version)."""


@dataclass
class Dataset:
    source: str
    version: str  # "1.2" or "1.1"
    modes: dict[str, str]  # file name -> "bulk" | "delta" | "absent"
    _open: dict[str, object] = field(repr=False, default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)
    # Records read per file (a row refused as unreadable counts too), for the per-file counts.
    read: dict[str, int] = field(default_factory=dict)

    def present(self, name: str) -> bool:
        return self.modes.get(name, "absent") != "absent" and name in self._open

    def mode(self, name: str) -> str:
        return self.modes.get(name, "absent")

    def rows(self, name: str) -> Iterator[tuple[int, dict[str, str]]]:
        """(line, row) for each record of `name`; bad records are added to `problems` and skipped.
        Lines are physical lines: a quoted field across lines moves the next record's line on."""
        if not self.present(name):
            return
        self.read.setdefault(name, 0)
        with self._open[name]() as raw:
            bom = []
            reader = csv.reader(_decoded_lines(raw, bom))
            line = 1
            try:
                header = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self.problems.append(Problem(name, 1, "", _("The header cannot be read: %(error)s") % {"error": exc}))
                return
            if any(_UNDECODABLE.search(h) for h in header):
                self.problems.append(Problem(name, 1, "", _("The header is not valid UTF-8.")))
                return
            if bom:
                self.problems.append(warning(name, 1, "", _("The file starts with a byte order mark; it is ignored.")))
            header = self._header(name, [h.strip() for h in header])
            missing = [c for c in REQUIRED.get(name, ()) if c not in header]
            if missing:
                self.problems.append(Problem(name, 1, ",".join(missing), _("Required columns are missing.")))
                return
            width = len(header)
            while True:
                line = reader.line_num + 1
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    self.read[name] += 1
                    self.problems.append(Problem(name, line, "", _("The row cannot be read: %(error)s") % {"error": exc}))
                    continue
                if not values or values == [""]:
                    continue
                self.read[name] += 1
                if _UNDECODABLE.search("".join(values)):
                    self.problems.append(Problem(name, line, "", _("The row is not valid UTF-8.")))
                    continue
                if len(values) > width and not any(v.strip() for v in values[width:]):
                    values = values[:width]  # empty trailing fields (under empty trailing header columns)
                if len(values) != width:
                    self.problems.append(Problem(
                        name, line, "",
                        _("The row has %(found)d fields; the header has %(expected)d.") % {"found": len(values), "expected": width},
                        clean_text(values[0])[:128] if values else "",
                    ))
                    continue
                yield line, dict(zip(header, values))

    def _header(self, name: str, header: list[str]) -> list[str]:
        """Drop empty trailing columns and read known columns under their standard names, with a
        warning for each change (exports from spreadsheets and some SIS do both)."""
        trailing = 0
        while header and not header[-1]:
            header.pop()
            trailing += 1
        if trailing:
            self.problems.append(warning(name, 1, "", _("The header ends with %(count)d empty columns; they are ignored.") % {"count": trailing}))
        known = {c.lower(): c for c in KNOWN.get(name, ())}
        aliases = ALIASES.get(name, {})
        out = []
        for column in header:
            standard = column if column in known.values() else aliases.get(column) or known.get(column.lower())
            if standard and standard != column and standard not in header:
                self.problems.append(warning(name, 1, column, _("The column “%(found)s” is read as “%(standard)s”.") % {
                    "found": column, "standard": standard}))
                column = standard
            out.append(column)
        return out


# Bytes that are not UTF-8 come through as lone surrogates, so one bad row is refused, not the file.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def _decoded_lines(raw, bom: list):
    first = True
    for line in raw:
        if first and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8):]
            bom.append(True)
        first = False
        yield line.decode("utf-8", "surrogateescape")


def _read_manifest(opener) -> dict[str, str]:
    with opener() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        header = next(reader, None)
        if not header or [h.strip() for h in header[:2]] != ["propertyName", "value"]:
            raise DatasetError(_("manifest.csv must have the columns propertyName,value."))
        return {row[0].strip(): row[1].strip() for row in reader if len(row) >= 2}


def open_dataset(path: str | os.PathLike) -> Dataset:
    """A Dataset for a folder or a zip file; DatasetError if it is not a OneRoster CSV set."""
    path = Path(path)
    openers: dict[str, object] = {}
    by_zip_info: dict[str, zipfile.ZipInfo] = {}
    if path.is_dir():
        for name in FILES:
            candidate = path / name
            if candidate.is_file():
                openers[name] = (lambda p=candidate: open(p, "rb"))
    elif path.is_file() and zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        limit = settings.SCHOOLID_IMPORT_MAX_BYTES
        total = sum(info.file_size for info in archive.infolist())
        if total > limit:
            raise DatasetError(_("The zip file unpacks to %(size)d bytes, more than the limit of %(limit)d.") % {"size": total, "limit": limit})
        by_base = {Path(info.filename).name: info for info in archive.infolist() if not info.is_dir()}
        for name in FILES:
            if name in by_base:
                openers[name] = (lambda info=by_base[name]: archive.open(info))
                by_zip_info[name] = by_base[name]
    else:
        raise DatasetError(_("%(path)s is neither a folder nor a zip file.") % {"path": path})
    if "manifest.csv" not in openers:
        raise DatasetError(_("The data set has no manifest.csv."))
    manifest = _read_manifest(openers["manifest.csv"])
    version = manifest.get("oneroster.version", "")
    if version not in ("1.1", "1.2"):
        raise DatasetError(_("OneRoster version %(version)s is not supported (1.1 and 1.2 are).") % {"version": version or "?"})
    modes = {}
    for name in FILES[1:]:
        mode = manifest.get(f"file.{name[:-4]}", "absent").strip().lower()
        modes[name] = mode if mode in ("bulk", "delta") else "absent"
        if modes[name] != "absent" and name not in openers:
            raise DatasetError(_("The manifest lists %(file)s but the data set does not contain it.") % {"file": name})
    fingerprints = {}
    for name, opener in openers.items():
        if name in by_zip_info:
            info = by_zip_info[name]
            fingerprints[name] = f"zip:{info.CRC:08x}:{info.file_size}"
        else:
            digest = hashlib.sha256()
            with opener() as raw:
                while chunk := raw.read(1 << 20):
                    digest.update(chunk)
            fingerprints[name] = digest.hexdigest()
    return Dataset(source=str(path), version=version, modes=modes, _open=openers, fingerprints=fingerprints)
