"""`schoolid demo` builds a usable country: every printed identity can sign in."""
import json
from pathlib import Path

import pyotp
import pytest
from django.core.management import call_command
from django.test import Client

from schoolid.accounts.models import Account, RoleAssignment
from schoolid.core.profiles import load_profile
from schoolid.directory.models import Guardianship, OrgUnit, Person
from schoolid.directory.national_ids import SCHEMES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("country", ["ir", "il", "pl", "bd", "ru"])
def test_demo_country_and_its_identities_sign_in(country, settings, capsys):
    settings.SCHOOLID_PROFILE = load_profile(country)
    call_command("demo", "--no-serve", "--students", "240", "--seed", "5")
    out = capsys.readouterr().out
    state = json.loads((Path(settings.VAR_DIR) / "demo.json").read_text())
    assert state["country"] == country.upper()
    kinds = dict(OrgUnit.objects.values_list("kind").annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("id")))
    assert kinds["region"] >= 2 and kinds["school"] == 10 and kinds["class"] >= 10 and kinds["cluster"] >= 2
    roles = set(RoleAssignment.objects.values_list("role", flat=True))
    assert {"student", "guardian", "teacher", "class_teacher", "secretary", "principal", "cluster_supervisor", "district_officer", "ministry_admin"} <= roles
    assert RoleAssignment.objects.filter(role="student").count() >= 200
    assert Guardianship.objects.filter(status="confirmed").count() >= 200
    scheme = SCHEMES[settings.SCHOOLID_PROFILE.national_id_scheme]
    for national_id in Person.objects.values_list("national_id", flat=True)[:500]:
        assert scheme.normalize(national_id) == national_id
    # A login for every role (issue 14), and for the parent what SMS sign-in and recovery ask for.
    assert {i["role"] for i in state["identities"]} == {"principal", "secretary", "teacher", "supervisor", "officer", "parent", "student", "operator"}
    parent = next(i for i in state["identities"] if i["role"] == "parent")
    assert parent["national_id"] in out and parent["mobile"] and parent["mobile"] in out
    for identity in state["identities"]:
        assert identity["password"] in out and identity["identifier"] in out
        client = Client()
        response = client.post("/signin/", {"identifier": identity["identifier"], "password": identity["password"]})
        assert response.status_code == 302, identity
        if identity["totp_seed"]:
            assert response["Location"] == "/signin/second-factor/"
            response = client.post("/signin/second-factor/", {"code": pyotp.TOTP(identity["totp_seed"]).now()})
        assert response["Location"] == "/account/", identity
        assert client.get("/account/").status_code == 200
    assert Account.objects.filter(status="active").count() == 8
    # `demo --code ROLE` for every staff role, by its label or its role name.
    for who in ("principal", "secretary", "teacher", "supervisor", "cluster_supervisor", "officer", "district_officer", "operator"):
        call_command("demo", "--code", who)
        assert capsys.readouterr().out.strip().isdigit(), who


def test_demo_refuses_to_mix_countries(settings):
    settings.SCHOOLID_PROFILE = load_profile("ir")
    call_command("demo", "--no-serve", "--students", "60", "--seed", "1")
    settings.SCHOOLID_PROFILE = load_profile("pl")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--reset"):
        call_command("demo", "--no-serve", "--students", "60")


def test_commands_use_the_demo_country_and_links_follow_the_served_address(settings, monkeypatch, tmp_path):
    """`schoolid serve` after `demo --country il` serves Israel's rules; links point where it serves."""
    from schoolid import cli
    from schoolid.core.management.commands.serve import use_served_address

    monkeypatch.setenv("SCHOOLID_VAR_DIR", str(tmp_path))
    (tmp_path / "demo.json").write_text(json.dumps({"country": "IL", "identities": []}))
    assert cli._demo_country() == "il"
    (tmp_path / "demo.json").write_text("not json")
    assert cli._demo_country() is None
    monkeypatch.delenv("SCHOOLID_BASE_URL", raising=False)
    monkeypatch.delenv("SCHOOLID_ALLOWED_HOSTS", raising=False)
    settings.PRODUCTION = False
    use_served_address("0.0.0.0", 8080)
    assert settings.BASE_URL == "http://127.0.0.1:8080"
    monkeypatch.setenv("SCHOOLID_BASE_URL", "https://school.example")
    settings.BASE_URL = "https://school.example"
    use_served_address("127.0.0.1", 9000)
    assert settings.BASE_URL == "https://school.example"  # an explicit base URL wins


@pytest.mark.django_db(transaction=True)
def test_polish_demo_has_a_register_source_that_changes_between_runs(settings, capsys, monkeypatch):
    """`make demo COUNTRY=pl`: Sync now works out of the box, shows new and changed pupils, and the
    one refused row (a wrong PESEL check digit)."""
    import shutil

    from schoolid.provisioning.services import run_sync

    monkeypatch.delenv("SCHOOLID_SYNC_SOURCE", raising=False)
    shutil.rmtree(Path(settings.VAR_DIR) / "demo-register", ignore_errors=True)  # left by an earlier demo test
    settings.SCHOOLID_PROFILE = load_profile("pl")
    settings.SCHOOLID_SYNC_SOURCE = ""
    call_command("demo", "--no-serve", "--students", "60", "--seed", "3")
    assert "Sync now" in capsys.readouterr().out
    assert Path(settings.SCHOOLID_SYNC_SOURCE) == Path(settings.VAR_DIR) / "demo-register"
    first = run_sync()
    assert [(p.file, p.field, p.sourced_id) for p in first.problems] == [("users.csv", "userMasterIdentifier", "u-bad")]
    school = OrgUnit.objects.get(code="R1D1S90")
    assert school.parent.code == "R1D1C1" and school.parent.active  # joins the demo's own tree
    pupils = RoleAssignment.objects.filter(org_unit=school, role="student").count()
    assert pupils == 13 and OrgUnit.objects.filter(code="MIN", active=True).exists()
    assert first.counts["people_created"] == 14 and first.counts["orgs_created"] == 3  # school, 2 classes
    again = run_sync().counts  # the same register again: nothing to do
    assert again["people_unchanged"] == 14 and again["people_created"] == again["email_updated"] == 0
    call_command("demo", "--no-serve")  # the next start writes the register's next state
    run_sync()
    assert RoleAssignment.objects.filter(org_unit=school, role="student").count() == 14
    assert Person.objects.filter(email__contains=".nowy2@").count() == 1
