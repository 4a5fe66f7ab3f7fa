"""Issue 11 item 2, PUT and PATCH: a unit-scoped SCIM client that changes the national ID of one of its
own Users must not learn whether another national ID is registered elsewhere in the country (ASVS v5
8.2.2, 8.4.1; security requirements §3 "no enumeration" and §7 "scoped by data and tenant")."""
import pytest

from schoolid.provisioning.scim.services import create_token
from tests import factories as f
from tests.provisioning.test_scim import EXT, Scim, _national_id, _user_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    return f.org_tree()


@pytest.fixture
def scim(tree):
    _token, raw = create_token("school-a-register", tree["school_a"].code)
    return Scim(raw)


@pytest.mark.parametrize("method", ["put", "patch"])
def test_changing_the_national_id_is_no_oracle_of_who_is_registered(scim, tree, method):
    """ASVS v5 8.4.1: school A's token owns one User. It rewrites that User's nationalId to a pupil of
    school B, then to an unknown ID. Both answers must be alike (status and error shape), and the
    register of school B's pupil is untouched. (Old code: 409 "a person with this national ID is
    already in the register" for the known ID, 200 for the unknown one: a country-wide oracle.)"""
    elsewhere = f.account("student", tree["class_b1"], given_name="Nika", family_name="Rahimi")
    own = scim.post("Users", _user_body(tree, _national_id(), externalId="sis-own"))
    assert own.status_code == 201
    uid = own.json_body["id"]

    def change(national_id):
        if method == "put":
            return scim.put(f"Users/{uid}", _user_body(tree, national_id, externalId="sis-own"))
        return scim.patch(f"Users/{uid}", {"op": "replace", "path": f"{EXT}:nationalId", "value": national_id})

    known = change(elsewhere.person.national_id)
    unknown = change(_national_id())
    assert known.status_code == unknown.status_code, (known.status_code, known.json_body, unknown.status_code, unknown.json_body)
    assert (known.json_body or {}).get("scimType") == (unknown.json_body or {}).get("scimType")
    elsewhere.person.refresh_from_db()
    assert (elsewhere.person.given_name, elsewhere.person.family_name) == ("Nika", "Rahimi")
