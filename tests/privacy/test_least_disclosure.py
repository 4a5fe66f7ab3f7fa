"""Least disclosure (issue 15): class teachers and supervisors see no national ID in full in console lists,
person pages or the API; those who keep the register do. The records report counts what is held.
Requirement IDs: ASVS v5 14.2.6 (only the data a task needs), 8.2.x (access by role)."""
import io

import pytest
from django.core.management import call_command

from schoolid.directory.services import mask_national_id
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.SCHOOLID_PROFILE = __import__("dataclasses").replace(settings.SCHOOLID_PROFILE, class_teacher_may_reset=True)
    t = f.org_tree()
    pupil = f.account("student", t["class_a1"])
    teacher = f.account("class_teacher", t["class_a1"])
    principal = f.account("principal", t["school_a"])
    f.activate(pupil, teacher, principal)
    return {"pupil": pupil, "teacher": teacher, "principal": principal}


def test_a_class_teacher_sees_national_ids_masked_a_principal_in_full(world):
    number = world["pupil"].person.national_id
    teacher, principal = f.staff_client(world["teacher"]), f.staff_client(world["principal"])
    for path in ("/console/", f"/console/people/{world['pupil'].user_code}/"):
        teacher_page = teacher.get(path).content.decode()
        assert number not in teacher_page and mask_national_id(number) in teacher_page, path
        assert number in principal.get(path).content.decode(), path
    api = teacher.get("/api/v1/console/accounts").json()["items"]
    assert [item["national_id"] for item in api] == [mask_national_id(number)]
    assert number in [item["national_id"] for item in principal.get("/api/v1/console/accounts").json()["items"]]
    # Searching by the number still finds the pupil for the teacher; it just is not shown back.
    assert world["pupil"].user_code in teacher.get("/console/", {"q": number}).content.decode()


def test_report_counts_by_category_and_age(world):
    out = io.StringIO()
    call_command("privacy", "report", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:2] == ["category", "total"]
    row = next(line for line in lines if line.startswith("people in the register"))
    assert row.split()[4] == "3"  # total: the pupil, the teacher and the principal
    out = io.StringIO()
    call_command("privacy", "report", "--json", stdout=out)
    import json

    report = json.loads(out.getvalue())
    assert report["accounts"]["< 30 d"] == 3 and report["people erased (keyed hash only)"]["> 2 y"] == 0
