"""SCIM 2.0 at /scim/v2/ (issue 5, item 7): each operation, the token's scope, bad input, the token command."""
import io
import json
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from schoolid.accounts.models import Account, RoleAssignment
from schoolid.audit.models import AuditEvent
from schoolid.core.digits import native_digits
from schoolid.directory.models import OrgUnit, Person
from schoolid.provisioning.models import ScimToken
from schoolid.provisioning.scim import schemas as S
from schoolid.provisioning.scim.services import create_token, hash_token, revoke_token
from tests import factories as f
from tests.factories import _free_national_id

pytestmark = pytest.mark.django_db
EXT = S.SCHOOL_USER


def _national_id():
    import datetime

    from django.conf import settings

    from schoolid.directory.national_ids import SCHEMES

    return _free_national_id(SCHEMES[settings.SCHOOLID_PROFILE.national_id_scheme], datetime.date(2012, 3, 4))


class Scim:
    def __init__(self, raw):
        self.client = Client(enforce_csrf_checks=True)  # SCIM is CSRF-exempt: bearer tokens, no cookies
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def _send(self, method, path, body=None, **extra):
        kwargs = {**self.auth, **extra}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/scim+json")
        response = getattr(self.client, method)(f"/scim/v2/{path}", **kwargs)
        response.json_body = json.loads(response.content) if response.content else None
        return response

    def get(self, path, **params):
        return self._send("get", path, None, QUERY_STRING=urlencode(params))

    def post(self, path, body):
        return self._send("post", path, body)

    def put(self, path, body):
        return self._send("put", path, body)

    def patch(self, path, *operations):
        return self._send("patch", path, {"schemas": [S.PATCH_OP], "Operations": list(operations)})

    def delete(self, path):
        return self._send("delete", path)


@pytest.fixture
def tree():
    return f.org_tree()


@pytest.fixture
def scim(tree):
    _token, raw = create_token("school-a-register", tree["school_a"].code)
    return Scim(raw)


@pytest.fixture
def country_scim():
    _token, raw = create_token("country-register")
    return Scim(raw)


def _user_body(tree, national_id, **over):
    body = {
        "schemas": [S.USER, EXT],
        "externalId": over.pop("externalId", "sis-1001"),
        "name": {"givenName": "Sara", "familyName": "Ahmadi"},
        "emails": [{"value": "Sara.Ahmadi@Example.org", "type": "work", "primary": True}],
        EXT: {"nationalId": national_id, "roles": [{"value": "student", "org": tree["class_a1"].code}]},
    }
    body.update(over)
    return body


def _assert_scim_error(response, status, scim_type=None):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/scim+json")
    assert response.json_body["schemas"] == [S.ERROR]
    assert response.json_body["status"] == str(status)
    if scim_type:
        assert response.json_body["scimType"] == scim_type


# --- authentication ---------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer scim_not-a-real-token"])
def test_requests_without_a_valid_bearer_token_are_refused_and_audited(tree, header):
    """ASVS v5 16.3.2 (failed authorisation is logged), 6.3.1: no SCIM data without a valid token."""
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client().get("/scim/v2/Users", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(response.content)["schemas"] == [S.ERROR]
    event = AuditEvent.objects.get(action="scim.auth")
    assert event.result == "denied" and event.detail["reason"] in ("missing", "malformed", "unknown")
    assert "scim_not-a-real-token" not in json.dumps(event.detail)


def test_a_revoked_token_is_refused_at_once(tree):
    """ASVS v5 16.3.2: revocation takes effect on the next request, and the refusal names the token."""
    _token, raw = create_token("old-sis")
    assert Scim(raw).get("Users").status_code == 200
    revoke_token("old-sis")
    _assert_scim_error(Scim(raw).get("Users"), 401)
    assert AuditEvent.objects.filter(action="scim.auth", result="denied", actor="scim:old-sis", detail__reason="revoked").exists()


def test_only_the_token_hash_is_stored_and_last_use_is_recorded(tree):
    """ASVS v5 11.4.1-like: a bearer secret is kept only as its SHA-256, never in clear."""
    token, raw = create_token("hash-check")
    assert raw.startswith("scim_") and len(raw) > 40
    assert token.token_hash == hash_token(raw) and raw not in (token.prefix, token.token_hash)
    assert token.last_used_at is None
    Scim(raw).get("ServiceProviderConfig")
    token.refresh_from_db()
    assert token.last_used_at is not None


# --- discovery -------------------------------------------------------------------------------------
def test_discovery_endpoints(scim):
    config = scim.get("ServiceProviderConfig")
    assert config.status_code == 200 and config["Content-Type"] == "application/scim+json"
    assert config.json_body["patch"]["supported"] is True and config.json_body["bulk"]["supported"] is False
    assert config.json_body["changePassword"]["supported"] is False
    types = scim.get("ResourceTypes").json_body
    assert {t["name"] for t in types["Resources"]} == {"User", "Group"}
    user_type = scim.get("ResourceTypes/User").json_body
    assert user_type["schemaExtensions"] == [{"schema": EXT, "required": True}]
    ext = scim.get(f"Schemas/{EXT}").json_body
    assert {a["name"] for a in ext["attributes"]} == {"nationalId", "roles"}
    user_schema = scim.get(f"Schemas/{S.USER}").json_body
    assert next(a for a in user_schema["attributes"] if a["name"] == "userName")["mutability"] == "readOnly"
    _assert_scim_error(scim.get("Schemas/urn:nothing"), 404)
    _assert_scim_error(scim.post("Schemas", {}), 405)
    _assert_scim_error(scim.get("NoSuchThing"), 404)


# --- Users: create, read, filter, page -------------------------------------------------------------
def test_create_user_generates_the_user_code_and_normalises_input(scim, tree):
    """The user code is generated and permanent: a client's userName is ignored (RFC 7644 §3.3,
    readOnly). National IDs and phones in Persian digits are accepted and normalised."""
    national_id = _national_id()
    body = _user_body(tree, native_digits(national_id, "fa"), userName="chosen-by-client",
                      phoneNumbers=[{"value": native_digits("09121234567", "fa")}])
    response = scim.post("Users", body)
    assert response.status_code == 201, response.json_body
    data = response.json_body
    account = Account.objects.get(user_code=data["id"])
    assert data["userName"] == account.user_code != "chosen-by-client"
    assert response["Location"] == data["meta"]["location"] and data["meta"]["location"].endswith(f"/scim/v2/Users/{account.user_code}")
    assert data[EXT] == {"nationalId": national_id, "roles": [{"value": "student", "org": tree["class_a1"].code}]}
    assert data["emails"] == [{"value": "sara.ahmadi@example.org", "type": "work", "primary": True}]
    assert data["phoneNumbers"] == [{"value": "+989121234567", "type": "mobile", "primary": True}]
    assert data["active"] is True and account.status == Account.Status.NOT_ACTIVATED
    assert account.person.sourced_id == "sis-1001" and not account.has_usable_password()
    assert RoleAssignment.objects.current().get(account=account).source == "register"
    event = AuditEvent.objects.get(action="scim.user.created")
    assert event.actor == "scim:school-a-register" and event.target == account.user_code


@pytest.mark.parametrize("field,value,reason", [
    ("nationalId", "1234567890", "nationalId"),
    ("phoneNumbers", [{"value": "12345"}], "phoneNumbers"),
    ("emails", [{"value": "not-an-address"}], "emails"),
])
def test_bad_register_data_is_a_400_with_the_reason_and_writes_nothing(scim, tree, field, value, reason):
    """The register's own checks apply (national ID check digit, phone, e-mail); the request is one
    transaction, so no person, account or role is half-written."""
    body = _user_body(tree, _national_id())
    if field == "nationalId":
        body[EXT]["nationalId"] = value
    else:
        body[field] = value
    before = (Person.objects.count(), Account.objects.count(), RoleAssignment.objects.count())
    response = scim.post("Users", body)
    _assert_scim_error(response, 400, "invalidValue")
    assert response.json_body["detail"].startswith(reason)
    assert (Person.objects.count(), Account.objects.count(), RoleAssignment.objects.count()) == before


def test_a_failure_after_the_person_is_saved_rolls_everything_back(scim, tree):
    """A duplicate externalId is found only after validation: still nothing is written (409)."""
    f.person(sourced_id="taken")
    before = (Person.objects.count(), Account.objects.count())
    _assert_scim_error(scim.post("Users", _user_body(tree, _national_id(), externalId="taken")), 409, "uniqueness")
    assert (Person.objects.count(), Account.objects.count()) == before


@pytest.mark.parametrize("roles,status", [
    ([], 400),
    ([{"value": "ministry_admin", "org": "M1"}], 400),
    ([{"value": "principal", "org": "CLASS"}], 400),
    ([{"value": "student", "org": "no-such-unit"}], 400),
])
def test_roles_are_checked(scim, tree, roles, status):
    """ASVS v5 8.2.2: a register client gives school roles only, at units of the right kind."""
    roles = [{**r, "org": tree["class_a1"].code if r["org"] == "CLASS" else r["org"]} for r in roles]
    body = _user_body(tree, _national_id())
    body[EXT]["roles"] = roles
    _assert_scim_error(scim.post("Users", body), status)


def test_passwords_cannot_be_set_over_scim(scim, tree):
    """ASVS v5 6.4.6: an administrator (or its provisioning client) cannot choose a user's password."""
    response = scim.post("Users", _user_body(tree, _national_id(), password="Chosen-by-admin-1"))
    _assert_scim_error(response, 400)
    assert "Password" in response.json_body["detail"]


def test_filters_and_pages(scim, tree):
    ids = []
    for n in range(3):
        national_id = _national_id()
        ids.append(national_id)
        body = _user_body(tree, national_id, externalId=f"sis-{n}")
        assert scim.post("Users", body).status_code == 201
    first = Account.objects.get(person__national_id=ids[0])

    def found(flt):
        response = scim.get("Users", filter=flt)
        assert response.status_code == 200, response.json_body
        return [r["id"] for r in response.json_body["Resources"]]

    assert found(f'userName eq "{first.display_code.lower()}"') == [first.user_code]
    assert found('externalId eq "sis-1"') == [Account.objects.get(person__national_id=ids[1]).user_code]
    assert found(f'{EXT}:nationalId eq "{native_digits(ids[2], "fa")}"') == [Account.objects.get(person__national_id=ids[2]).user_code]
    assert found('nationalId eq "0000000000"') == []
    assert len(found('name.familyName eq "ahmadi" and active eq true')) == 3
    assert len(found(f'{EXT}:roles[org eq "{tree["class_a1"].code}"]')) == 3
    assert found('externalId sw "sis-" and not (externalId eq "sis-0")') == [
        Account.objects.get(person__national_id=i).user_code for i in ids[1:]]
    page = scim.get("Users", startIndex=2, count=1).json_body
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (3, 2, 1)
    assert page["Resources"][0]["id"] == Account.objects.get(person__national_id=ids[1]).user_code
    _assert_scim_error(scim.get("Users", filter='userName zz "x"'), 400, "invalidFilter")
    _assert_scim_error(scim.get("Users", filter='title eq "x"'), 400, "invalidFilter")
    only = scim.get(f"Users/{first.user_code}", attributes="externalId").json_body
    assert set(only) == {"schemas", "id", "userName", "externalId"}
    assert "emails" not in scim.get(f"Users/{first.user_code}", excludedAttributes="emails").json_body
    searched = scim.post("Users/.search", {"schemas": [S.SEARCH_REQUEST], "filter": 'externalId eq "sis-2"'}).json_body
    assert searched["totalResults"] == 1


# --- Users: PUT, PATCH, DELETE -------------------------------------------------------------------------
@pytest.fixture
def created(scim, tree):
    response = scim.post("Users", _user_body(tree, _national_id()))
    assert response.status_code == 201
    return response.json_body


def test_put_replaces_and_cannot_change_the_user_code(scim, tree, created):
    body = {**created, "userName": "NEWCODE", "name": {"givenName": "Sarah", "familyName": "Ahmadi"}}
    body.pop("emails")
    body[EXT] = {**created[EXT], "roles": [{"value": "student", "org": tree["class_a2"].code}]}
    response = scim.put(f"Users/{created['id']}", body)
    assert response.status_code == 200, response.json_body
    assert response.json_body["userName"] == created["id"]
    assert response.json_body["name"]["givenName"] == "Sarah" and "emails" not in response.json_body
    roles = RoleAssignment.objects.filter(account__user_code=created["id"])
    assert {(a.role, a.org_unit.code, a.valid_until is None) for a in roles} == {
        ("student", tree["class_a1"].code, False), ("student", tree["class_a2"].code, True)}


def test_patch_operations(scim, tree, created):
    uid = created["id"]
    response = scim.patch(f"Users/{uid}", {"op": "Replace", "path": "name.givenName", "value": "Zahra"},
                          {"op": "add", "path": "phoneNumbers", "value": [{"value": "09121234567"}]},
                          {"op": "replace", "value": {"active": "False"}})
    assert response.status_code == 200, response.json_body
    data = response.json_body
    assert data["name"]["givenName"] == "Zahra" and data["active"] is False
    assert data["phoneNumbers"] == [{"value": "+989121234567", "type": "mobile", "primary": True}]
    assert Account.objects.get(user_code=uid).status == Account.Status.DISABLED
    data = scim.patch(f"Users/{uid}", {"op": "remove", "path": 'emails[value eq "sara.ahmadi@example.org"]'}).json_body
    assert "emails" not in data
    _assert_scim_error(scim.patch(f"Users/{uid}", {"op": "replace", "path": "userName", "value": "X"}), 400, "mutability")
    _assert_scim_error(scim.patch(f"Users/{uid}", {"op": "replace", "path": f"{EXT}:nationalId", "value": "123"}), 400)
    _assert_scim_error(scim.patch(f"Users/{uid}", {"op": "remove", "path": 'emails[value eq "x@y.z"]'}), 400, "noTarget")
    _assert_scim_error(scim.patch(f"Users/{uid}", {"op": "jump", "path": "active"}), 400, "invalidSyntax")
    assert AuditEvent.objects.filter(action="scim.user.patched", target=uid).count() == 2


def test_delete_disables_and_ends_roles_but_deletes_nothing(scim, tree, created):
    """Accounts are never deleted, so a user code is never reused (design.md; OIDC `sub` never
    reassigned, ASVS v5 10.3.3). DELETE disables the account and ends its roles; the resource then
    answers 404 and leaves every list (RFC 7644 §3.6)."""
    uid = created["id"]
    assert scim.delete(f"Users/{uid}").status_code == 204
    account = Account.objects.get(user_code=uid)
    assert account.status == Account.Status.DISABLED and account.person is not None
    assert not RoleAssignment.objects.current().filter(account=account).exists()
    assert RoleAssignment.objects.filter(account=account).exists()
    _assert_scim_error(scim.get(f"Users/{uid}"), 404)
    _assert_scim_error(scim.delete(f"Users/{uid}"), 404)
    assert scim.get("Users").json_body["totalResults"] == 0
    assert AuditEvent.objects.filter(action="scim.user.deleted", target=uid).count() == 1
    # The same person registered again gets the same account and user code back, not a 409.
    again = scim.post("Users", _user_body(tree, created[EXT]["nationalId"]))
    assert again.status_code == 201 and again.json_body["id"] == uid and again.json_body["active"] is True


# --- scope ---------------------------------------------------------------------------------------------
def test_a_scoped_token_sees_and_writes_only_inside_its_unit(scim, country_scim, tree):
    """ASVS v5 8.2.2, 8.4.1: data and tenant scope; every refusal is audited (16.3.2)."""
    outsider = f.account("student", tree["class_b1"])
    insider = f.account("student", tree["class_a1"])
    assert [r["id"] for r in scim.get("Users").json_body["Resources"]] == [insider.user_code]
    _assert_scim_error(scim.get(f"Users/{outsider.user_code}"), 404)
    _assert_scim_error(scim.delete(f"Users/{outsider.user_code}"), 404)
    assert scim.get("Users", filter=f'userName eq "{outsider.user_code}"').json_body["totalResults"] == 0
    body = _user_body(tree, _national_id())
    body[EXT]["roles"] = [{"value": "student", "org": tree["class_b1"].code}]
    _assert_scim_error(scim.post("Users", body), 403)
    assert AuditEvent.objects.filter(action="scim.scope.denied", result="denied", actor="scim:school-a-register").exists()
    assert {r["id"] for r in country_scim.get("Users").json_body["Resources"]} == {insider.user_code, outsider.user_code}
    assert {g["id"] for g in scim.get("Groups").json_body["Resources"]} == {str(tree["class_a1"].pk), str(tree["class_a2"].pk)}
    _assert_scim_error(scim.get(f"Groups/{tree['class_b1'].pk}"), 404)


def test_a_person_with_roles_elsewhere_keeps_register_data_out_of_a_schools_reach(scim, tree):
    """A teacher of schools A and B: school A's client manages the roles at A, but cannot change the
    name, contacts or status that school B relies on (ASVS v5 8.2.2)."""
    teacher = f.account("teacher", tree["school_a"])
    from schoolid.accounts.services import assign_role

    assign_role(teacher, "teacher", tree["school_b"])
    uid = teacher.user_code
    _assert_scim_error(scim.patch(f"Users/{uid}", {"op": "replace", "path": "emails", "value": [{"value": "evil@example.org"}]}), 403)
    _assert_scim_error(scim.patch(f"Users/{uid}", {"op": "replace", "path": "active", "value": False}), 403)
    assert Person.objects.get(pk=teacher.person_id).email == ""
    ok = scim.patch(f"Users/{uid}", {"op": "add", "path": f"{EXT}:roles", "value": [{"value": "class_teacher", "org": tree["class_a1"].code}]})
    assert ok.status_code == 200
    assert scim.delete(f"Users/{uid}").status_code == 204
    teacher.refresh_from_db()
    assert teacher.status != Account.Status.DISABLED  # still teaching at school B
    assert list(RoleAssignment.objects.current().filter(account=teacher).values_list("org_unit", flat=True)) == [tree["school_b"].pk]


# --- Groups ----------------------------------------------------------------------------------------------
def test_groups_are_classes_with_their_members(scim, tree):
    student = f.account("student", tree["class_a1"])
    teacher = f.account("teacher", tree["school_a"])
    f.account("guardian", tree["school_a"])
    group = scim.get(f"Groups/{tree['class_a1'].pk}").json_body
    assert group["displayName"] == "1A" and group[S.SCHOOL_GROUP] == {"school": tree["school_a"].code}
    assert [m["value"] for m in group["members"]] == [student.user_code]
    created = scim.post("Groups", {"schemas": [S.GROUP, S.SCHOOL_GROUP], "displayName": "3A", "externalId": "cls-3a",
                                   "members": [{"value": student.user_code}, {"value": teacher.user_code}]})
    assert created.status_code == 201, created.json_body
    unit = OrgUnit.objects.get(pk=created.json_body["id"])
    assert unit.kind == "class" and unit.parent_id == tree["school_a"].pk and unit.sourced_id == "cls-3a"
    assert {(a.account_id, a.role) for a in RoleAssignment.objects.current().filter(org_unit=unit)} == {
        (student.pk, "student"), (teacher.pk, "teacher")}
    gid = created.json_body["id"]
    removed = scim.patch(f"Groups/{gid}", {"op": "remove", "path": f'members[value eq "{student.user_code}"]'})
    assert [m["value"] for m in removed.json_body["members"]] == [teacher.user_code]
    azure_style = scim.patch(f"Groups/{gid}", {"op": "Remove", "path": "members", "value": [{"value": teacher.user_code}]})
    assert "members" not in azure_style.json_body
    _assert_scim_error(scim.patch(f"Groups/{gid}", {"op": "replace", "path": f"{S.SCHOOL_GROUP}:school", "value": tree["school_b"].code}), 400, "mutability")
    assert scim.get("Groups", filter='displayName eq "3a"').json_body["totalResults"] == 1
    assert scim.delete(f"Groups/{gid}").status_code == 204
    unit.refresh_from_db()
    assert unit.active is False and OrgUnit.objects.filter(pk=unit.pk).exists()
    _assert_scim_error(scim.get(f"Groups/{gid}"), 404)
    bad_member = scim.post("Groups", {"displayName": "4A", "members": [{"value": "NOT-A-USER"}]})
    _assert_scim_error(bad_member, 400)


# --- the command -----------------------------------------------------------------------------------------
def test_scim_token_command(tree):
    out = io.StringIO()
    call_command("scim-token", "create", "moe-sis", "--org", tree["district"].code, stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    token = ScimToken.objects.get(name="moe-sis")
    assert token.token_hash == hash_token(raw) and token.org_unit == tree["district"]
    assert Scim(raw).get("Users").status_code == 200
    listing = io.StringIO()
    call_command("scim-token", "list", stdout=listing)
    assert "moe-sis" in listing.getvalue() and raw not in listing.getvalue() and tree["district"].code in listing.getvalue()
    with pytest.raises(CommandError):
        call_command("scim-token", "create", "moe-sis", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("scim-token", "create", "other", "--org", "no-such-code", stdout=io.StringIO())
    call_command("scim-token", "revoke", "moe-sis", stdout=io.StringIO())
    assert Scim(raw).get("Users").status_code == 401
    assert AuditEvent.objects.filter(action__in=["scim.token.created", "scim.token.revoked"]).count() == 2
