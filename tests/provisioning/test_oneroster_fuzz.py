"""hypothesis fuzzes the OneRoster CSV parser: whatever the files hold, the import answers with a
report and never a traceback (issue 5; ASVS v5 1.2.x input handling, 16.5.1 safe failure)."""
import csv
import io
import shutil
import tempfile
from pathlib import Path

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schoolid.core.profiles import load_profile
from schoolid.directory.models import Person
from schoolid.provisioning.services import import_oneroster

DATA = Path(__file__).parent / "data" / "or12"
pytestmark = pytest.mark.django_db
USER_COLUMNS = ["sourcedId", "status", "dateLastModified", "enabledUser", "userIds", "givenName", "familyName", "email", "sms",
                "phone", "agentSourcedIds", "userMasterIdentifier"]
FILES = ["users.csv", "roles.csv", "enrollments.csv", "demographics.csv", "orgs.csv", "classes.csv"]

cell = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "tobedeleted", "active", "true", "false", "14230260121", "+48516613186", "org-sp12", "cls-6a",
                     "u-ola", "{PESEL:85041218159}", "2014-03-02", "2099-01-01", "x@y.pl", "۱۴۲۳۰۲۶۰۱۲۱", "teacher", "student"]),
)


def _csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


structured = st.lists(st.lists(cell, min_size=0, max_size=len(USER_COLUMNS) + 2), max_size=8).map(lambda rows: _csv([USER_COLUMNS, *rows]))
raw = st.binary(max_size=300)


@pytest.fixture(autouse=True)
def poland(settings):
    settings.SCHOOLID_PROFILE = load_profile("pl")
    with translation.override("en"):
        yield


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(FILES), content=st.one_of(structured, raw))
def test_any_file_content_gives_a_report_not_a_traceback(target, content):
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(DATA, folder, dirs_exist_ok=True)
        (Path(folder) / target).write_bytes(content)
        result = import_oneroster(folder, dry_run=True)
    assert isinstance(result.counts, dict)
    for problem in result.problems:
        assert problem.file in FILES and problem.line >= 1 and str(problem.reason)
    assert not Person.objects.exists()  # dry run


def test_nul_bytes_and_broken_encoding_are_reported(tmp_path):
    shutil.copytree(DATA, tmp_path / "set")
    users = (tmp_path / "set" / "users.csv").read_bytes()
    (tmp_path / "set" / "users.csv").write_bytes(users + b"u-\x00nul,,,true\n" + b"\xff\xfe broken\n")
    result = import_oneroster(tmp_path / "set")
    reasons = [str(p.reason) for p in result.problems if p.file == "users.csv"]
    assert any("fields" in r for r in reasons) and any("UTF-8" in r for r in reasons)
    assert result.counts["people_created"] == 7
