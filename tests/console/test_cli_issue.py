"""`schoolid issue`: the same service and scope rule as the console, from the command line."""
import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from schoolid.audit.models import AuditEvent
from schoolid.credentials.models import IssuedSecret
from tests import factories as f
from tests import pdf_tools

pytestmark = pytest.mark.django_db


@pytest.fixture
def school():
    t = f.org_tree()
    principal = f.account("principal", t["school_a"])
    other_principal = f.account("principal", t["school_b"])
    f.activate(principal, other_principal)
    students = [f.account("student", t["class_a1"], given_name=n, family_name="Karimi") for n in ("Ali", "Reza")]
    f.account("student", t["class_a2"], given_name="Sara", family_name="Ahmadi")
    return t, principal, other_principal, students


def test_issue_a_class_to_pdf_and_csv(school, tmp_path):
    t, principal, _other, students = school
    pdf, csv_path = tmp_path / "slips.pdf", tmp_path / "list.csv"
    call_command("issue", "--school", t["school_a"].code, "--class", t["class_a1"].name, "--role", "student",
                 "--pdf", str(pdf), "--csv", str(csv_path), "--actor", principal.display_code)
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    assert sorted(r["name"] for r in rows) == ["Ali Karimi", "Reza Karimi"]
    assert {r["login"] for r in rows} == {s.person.national_id for s in students}
    links = {link for _page, link, _x, _y in pdf_tools.qr_codes(pdf.read_bytes())}
    assert links == {r["sign_in_link"] for r in rows}
    assert IssuedSecret.objects.count() == 2
    assert AuditEvent.objects.filter(action="credentials.issue", actor=principal.user_code).count() == 2
    assert (csv_path.stat().st_mode & 0o777) == 0o600


def test_issue_outside_scope_is_refused_and_audited(school, tmp_path):
    t, _principal, other, _students = school
    with pytest.raises(SystemExit) as exc:
        call_command("issue", "--school", t["school_a"].code, "--role", "student", "--csv", str(tmp_path / "x.csv"), "--actor", other.display_code)
    assert exc.value.code == 1
    assert IssuedSecret.objects.count() == 0 and not (tmp_path / "x.csv").exists()
    assert AuditEvent.objects.filter(action="scope.denied", actor=other.user_code).count() == 3


def test_issue_needs_an_actor_and_an_output(school, tmp_path):
    t, principal, _other, _students = school
    with pytest.raises(CommandError, match="--actor"):
        call_command("issue", "--school", t["school_a"].code, "--role", "student", "--csv", str(tmp_path / "x.csv"), "--actor", "")
    with pytest.raises(CommandError, match="--pdf"):
        call_command("issue", "--school", t["school_a"].code, "--role", "student", "--actor", principal.display_code)
