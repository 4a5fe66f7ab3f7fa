"""`schoolid demo` builds a usable country: every printed identity can sign in."""
import json
from pathlib import Path

import pyotp
import pytest
from django.conf import settings
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
    assert {i["role"] for i in state["identities"]} == {"principal", "teacher", "parent", "student", "operator"}
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
    assert Account.objects.filter(status="active").count() == 5


def test_demo_refuses_to_mix_countries(settings):
    settings.SCHOOLID_PROFILE = load_profile("ir")
    call_command("demo", "--no-serve", "--students", "60", "--seed", "1")
    settings.SCHOOLID_PROFILE = load_profile("pl")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--reset"):
        call_command("demo", "--no-serve", "--students", "60")
