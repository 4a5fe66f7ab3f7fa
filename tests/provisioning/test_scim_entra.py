"""SCIM as Entra ID and Okta speak it (issue 13): typed e-mails and phones through value-filter paths,
ETags (meta.version, If-Match, 412) and sortBy/sortOrder, all announced in ServiceProviderConfig.
ASVS v5 2.2.1 (input validated), 8.2.2 (the token acts only in its unit, unchanged here)."""
import pytest

from schoolid.directory.models import Person
from schoolid.directory.phones import generate_mobile
from schoolid.provisioning.scim import schemas as S
from tests.provisioning.test_scim import EXT, _national_id, _user_body, scim, tree  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _mobile(seed=1):
    import random

    from django.conf import settings

    return generate_mobile(random.Random(seed), settings.SCHOOLID_PROFILE.phone_region)


def _entra_user(scim, tree, **over):
    """Entra ID's default mapping sends the mail as emails[type eq "work"] (and no phone here)."""
    body = _user_body(tree, _national_id(), externalId=over.pop("externalId", "entra-1"), **over)
    body.pop("emails")
    response = scim.post("Users", body)
    assert response.status_code == 201, response.json_body
    return response.json_body["id"]


def test_entra_typed_email_and_phone_patch_add_replace_remove(scim, tree):
    uid = _entra_user(scim, tree)
    mobile, other_mobile = _mobile(1), _mobile(2)
    # add on a user without them: the value filter names the value to make
    response = scim.patch(f"Users/{uid}",
                          {"op": "Add", "path": 'emails[type eq "work"].value', "value": "Sara@Example.org"},
                          {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": mobile})
    assert response.status_code == 200, response.json_body
    assert response.json_body["emails"] == [{"value": "sara@example.org", "type": "work", "primary": True}]
    assert response.json_body["phoneNumbers"][0]["type"] == "mobile" and response.json_body["phoneNumbers"][0]["primary"] is True
    person = Person.objects.get(sourced_id="entra-1")
    assert person.email == "sara@example.org" and person.mobile
    # replace through the same paths
    response = scim.patch(f"Users/{uid}",
                          {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "s.ahmadi@example.org"},
                          {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": other_mobile})
    assert response.status_code == 200, response.json_body
    person.refresh_from_db()
    assert person.email == "s.ahmadi@example.org" and person.mobile.endswith(other_mobile[-6:])
    # a work telephone (Entra's telephoneNumber mapping) is accepted and not stored: the mobile stays
    response = scim.patch(f"Users/{uid}", {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 425 555 0100"})
    assert response.status_code == 200, response.json_body
    person.refresh_from_db()
    assert person.mobile.endswith(other_mobile[-6:]) and [p["type"] for p in response.json_body["phoneNumbers"]] == ["mobile"]
    # remove
    response = scim.patch(f"Users/{uid}",
                          {"op": "Remove", "path": 'emails[type eq "work"].value'},
                          {"op": "Remove", "path": 'phoneNumbers[type eq "mobile"].value'})
    assert response.status_code == 200, response.json_body
    person.refresh_from_db()
    assert person.email == "" and person.mobile == ""
    assert "emails" not in response.json_body and "phoneNumbers" not in response.json_body


def test_typed_values_are_checked_like_any_other(scim, tree):
    uid = _entra_user(scim, tree)
    response = scim.patch(f"Users/{uid}", {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "12345"})
    assert response.status_code == 400 and "phoneNumbers" in response.json_body["detail"]
    assert Person.objects.get(sourced_id="entra-1").mobile == ""


def test_etags_if_match_and_412(scim, tree):
    uid = _entra_user(scim, tree)
    first = scim.get(f"Users/{uid}")
    version = first.json_body["meta"]["version"]
    assert first["ETag"] == version and version.startswith('W/"')
    assert scim._send("get", f"Users/{uid}", HTTP_IF_NONE_MATCH=version).status_code == 304
    changed = scim._send("patch", f"Users/{uid}", {"schemas": [S.PATCH_OP], "Operations": [
        {"op": "replace", "path": "name.givenName", "value": "Sahar"}]}, HTTP_IF_MATCH=version)
    assert changed.status_code == 200 and changed.json_body["meta"]["version"] != version
    # The old version is stale now: nothing is written.
    stale = scim._send("patch", f"Users/{uid}", {"schemas": [S.PATCH_OP], "Operations": [
        {"op": "replace", "path": "name.givenName", "value": "Old"}]}, HTTP_IF_MATCH=version)
    assert stale.status_code == 412 and stale.json_body["schemas"] == [S.ERROR]
    assert Person.objects.get(sourced_id="entra-1").given_name == "Sahar"
    assert scim._send("delete", f"Users/{uid}", HTTP_IF_MATCH=version).status_code == 412
    assert scim._send("delete", f"Users/{uid}", HTTP_IF_MATCH=changed.json_body["meta"]["version"]).status_code == 204


def test_sort_by_and_sort_order(scim, tree):
    for n, given in enumerate(["Bahar", "Arash", "Cyrus"]):
        body = _user_body(tree, _national_id(), externalId=f"sort-{n}")
        body["name"] = {"givenName": given, "familyName": "Sorted"}
        assert scim.post("Users", body).status_code == 201
    names = lambda r: [u["name"]["givenName"] for u in r.json_body["Resources"]]  # noqa: E731
    assert names(scim.get("Users", sortBy="name.givenName")) == ["Arash", "Bahar", "Cyrus"]
    assert names(scim.get("Users", sortBy="name.givenName", sortOrder="descending")) == ["Cyrus", "Bahar", "Arash"]
    assert scim.get("Users", sortBy="name.givenName", sortOrder="sideways").status_code == 400


def test_service_provider_config_announces_etag_and_sort_not_bulk(scim):
    config = scim.get("ServiceProviderConfig").json_body
    assert config["etag"] == {"supported": True} and config["sort"] == {"supported": True}
    assert config["bulk"]["supported"] is False
    emails = next(a for a in S.USER_ATTRIBUTES if a["name"] == "emails")
    assert {s["name"] for s in emails["subAttributes"]} == {"value", "type", "primary"}
