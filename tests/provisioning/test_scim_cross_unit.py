"""Issue 11, item 2: a unit-scoped SCIM client cannot extend its staff's power over people of other
units, and its answers do not tell whether a national ID is known outside its unit (ASVS v5 8.2.2,
8.4.1; security requirements §7 "scoped by data and tenant")."""
import pytest

from schoolid.accounts.models import PendingRole, RoleAssignment
from schoolid.accounts.scope import Action, decide
from schoolid.accounts.services import assign_role, decide_pending_role, end_role
from schoolid.directory.models import Person
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


def _shape(value):
    """The keys of a JSON document, recursively: what a client can compare besides the values."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value[:1]]
    return type(value).__name__


def _victim(tree):
    pupil = f.account("student", tree["class_b1"], given_name="Nika", family_name="Rahimi", email="nika@example.org")
    f.activate(pupil)
    return pupil


def test_a_scoped_client_cannot_pull_another_schools_pupil_under_its_principal(scim, tree):
    """The attack of issue 11 item 2 (ASVS v5 8.2.2, 8.4.1): school A's token POSTs the national ID and
    exact names of a pupil of school B with a student role at A. A's principal must gain nothing: no
    register data, no password reset, no contact edit."""
    victim = f.account("student", tree["class_b1"], given_name="Nika", family_name="Rahimi", mobile="09121234567")
    f.activate(victim)
    principal = f.account("principal", tree["school_a"])
    f.activate(principal)
    body = _user_body(tree, victim.person.national_id, name={"givenName": "Nika", "familyName": "Rahimi"})
    del body["emails"], body["externalId"]
    body["phoneNumbers"] = [{"value": "+989121234567"}]  # exactly what the register holds: the old code attached at once
    response = scim.post("Users", body)
    assert response.status_code == 201
    for action in (Action.ISSUE_CREDENTIALS, Action.EDIT_REGISTER, Action.EDIT_CONTACT):
        assert not decide(principal, action, victim), action
    assert not RoleAssignment.objects.current().filter(account=victim, org_unit__path__startswith=tree["school_a"].path).exists()
    assert PendingRole.objects.get(account=victim).status == "pending"
    # Listed to the client like any User it created, from what it sent; A's staff still see nothing.
    assert victim.user_code in [u["id"] for u in scim.get("Users").json_body["Resources"]]


def test_the_client_reads_back_what_it_sent_never_the_register(scim, tree):
    """ASVS v5 8.2.2: the pending User shows the client's own data, not school B's register data."""
    victim = _victim(tree)
    response = scim.post("Users", _user_body(tree, victim.person.national_id))
    assert response.status_code == 201 and "nika@example.org" not in response.content.decode()
    assert "nika@example.org" not in scim.get(f"Users/{response.json_body['id']}").content.decode()
    victim.person.refresh_from_db()
    assert (victim.person.email, victim.person.given_name) == ("nika@example.org", "Nika")


def test_unknown_and_known_elsewhere_get_the_same_answer(scim, tree):
    """No country-wide oracle (ASVS v5 8.4.1): an unknown ID and a pupil of school B with wrong names get
    the same status and the same body shape, on POST and on reading the User back."""
    victim = _victim(tree)
    known = scim.post("Users", _user_body(tree, victim.person.national_id, externalId="sis-1"))
    unknown = scim.post("Users", _user_body(tree, _national_id(), externalId="sis-2"))
    assert known.status_code == unknown.status_code == 201
    assert _shape(known.json_body) == _shape(unknown.json_body)
    assert known.json_body["name"] == unknown.json_body["name"] == {"givenName": "Sara", "familyName": "Ahmadi"}
    assert known["Location"].endswith(f"/Users/{known.json_body['id']}")
    read_known, read_unknown = scim.get(f"Users/{known.json_body['id']}"), scim.get(f"Users/{unknown.json_body['id']}")
    assert read_known.status_code == read_unknown.status_code == 200
    assert _shape(read_known.json_body) == _shape(read_unknown.json_body)
    for probe in (f'userName eq "{known.json_body["id"]}"', 'externalId eq "sis-1"', 'name.givenName eq "Sara"',
                  f'{EXT}:roles[org eq "{tree["class_a1"].code}"]', 'emails[value co "ahmadi"]'):
        listed = {u["id"] for u in scim.get("Users", filter=probe).json_body["Resources"]}
        assert known.json_body["id"] in listed, probe
    both = {u["id"] for u in scim.get("Users").json_body["Resources"]}
    assert {known.json_body["id"], unknown.json_body["id"]} <= both
    pages = [scim.get("Users", startIndex=i, count=1).json_body for i in (1, 2, 3)]
    assert [p["totalResults"] for p in pages] == [2, 2, 2]
    assert [[u["id"] for u in p["Resources"]] for p in pages] == [[unknown.json_body["id"]], [known.json_body["id"]], []]
    assert scim.get("Users", filter='externalId eq "sis-1"').json_body["totalResults"] == 1
    assert scim.get("Users", filter='name.givenName eq "Nika"').json_body["totalResults"] == 0  # the register's name is not searchable
    again = scim.post("Users", _user_body(tree, victim.person.national_id, externalId="sis-1"))
    again_unknown = scim.post("Users", _user_body(tree, unknown.json_body[EXT]["nationalId"], externalId="sis-2"))
    assert again.status_code == again_unknown.status_code == 409
    assert scim.delete(f"Users/{known.json_body['id']}").status_code == 204
    assert scim.get(f"Users/{known.json_body['id']}").status_code == 404
    assert PendingRole.objects.get(account=victim).status == "withdrawn"


def test_a_moving_pupil_joins_the_new_school_when_the_old_one_ends_the_role(scim, tree):
    """The pupil moving schools: the role at A waits and takes effect when school B ends its role."""
    victim = _victim(tree)
    principal = f.account("principal", tree["school_a"])
    f.activate(principal)
    assert scim.post("Users", _user_body(tree, victim.person.national_id)).status_code == 201
    end_role(RoleAssignment.objects.current().get(account=victim))
    assert PendingRole.objects.get(account=victim).status == "confirmed"
    assert decide(principal, Action.ISSUE_CREDENTIALS, victim)
    assert victim.user_code in [u["id"] for u in scim.get("Users").json_body["Resources"]]
    # The register data stayed the register's: the client's names were never copied.
    assert Person.objects.get(pk=victim.person_id).given_name == "Nika"


def test_only_an_actor_covering_both_schools_confirms(scim, tree):
    victim = _victim(tree)
    assert scim.post("Users", _user_body(tree, victim.person.national_id)).status_code == 201
    pending = PendingRole.objects.get(account=victim)
    for unit in (tree["school_a"], tree["school_b"]):
        principal = f.account("principal", unit)
        f.activate(principal)
        with pytest.raises(PermissionError):
            decide_pending_role(principal, pending, confirm=True)
    ministry = f.account("ministry_admin", tree["ministry"])
    f.activate(ministry)
    decide_pending_role(ministry, pending, confirm=True)
    assert RoleAssignment.objects.current().filter(account=victim, org_unit=tree["class_a1"], role="student").exists()


def test_adding_a_role_to_a_shared_person_waits_too(scim, tree):
    """A guardian at school A who is a pupil at school B: A's client cannot make them A's pupil (which
    would let A's principal reset their password) by PATCH or by Group membership."""
    person = f.account("student", tree["class_b1"])
    assign_role(person, "guardian", tree["school_a"])
    principal = f.account("principal", tree["school_a"])
    f.activate(person, principal)
    uid = person.user_code
    patched = scim.patch(f"Users/{uid}", {"op": "add", "path": f"{EXT}:roles", "value": [{"value": "student", "org": tree["class_a1"].code}]})
    assert patched.status_code == 200
    assert not decide(principal, Action.ISSUE_CREDENTIALS, person)
    assert PendingRole.objects.filter(account=person, role="student", status="pending").exists()


def test_the_console_lists_a_waiting_role_to_the_ministry_only(scim, tree):
    """The confirmer's page (ASVS v5 8.2.2): a principal of either school sees nothing and cannot confirm."""
    victim = _victim(tree)
    assert scim.post("Users", _user_body(tree, victim.person.national_id)).status_code == 201
    pending = PendingRole.objects.get(account=victim)
    principal = f.account("principal", tree["school_a"])
    ministry = f.account("ministry_admin", tree["ministry"])
    f.activate(principal, ministry)
    school_console = f.staff_client(principal)
    assert f'id="confirm-{pending.pk}"' not in school_console.get("/console/pending-roles/").content.decode()
    assert school_console.post("/console/pending-roles/", {"pending": pending.pk, "decision": "confirm"}).status_code == 403
    ministry_console = f.staff_client(ministry)
    assert f'id="confirm-{pending.pk}"' in ministry_console.get("/console/pending-roles/").content.decode()
    assert ministry_console.post("/console/pending-roles/", {"pending": pending.pk, "decision": "confirm"}).status_code == 302
    assert decide(principal, Action.ISSUE_CREDENTIALS, victim)


def test_a_waiting_user_joins_a_class_like_any_user(scim, tree):
    """No oracle through Groups either: a waiting User can be made a member and is shown as one, while the
    class's staff gain nothing over them (ASVS v5 8.2.2, 8.4.1)."""
    victim = _victim(tree)
    known = scim.post("Users", _user_body(tree, victim.person.national_id, externalId="sis-1")).json_body
    unknown = scim.post("Users", _user_body(tree, _national_id(), externalId="sis-2")).json_body
    teacher = f.account("class_teacher", tree["class_a2"])
    f.activate(teacher)
    group = scim.post("Groups", {"displayName": "5A", "members": [{"value": known["id"]}, {"value": unknown["id"]}]})
    assert group.status_code == 201
    assert {m["value"] for m in group.json_body["members"]} == {known["id"], unknown["id"]}
    gid = group.json_body["id"]
    assert {m["value"] for m in scim.get(f"Groups/{gid}").json_body["members"]} == {known["id"], unknown["id"]}
    assert not RoleAssignment.objects.current().filter(account=victim, org_unit_id=gid).exists()
    removed = scim.patch(f"Groups/{gid}", {"op": "remove", "path": f'members[value eq "{known["id"]}"]'})
    assert [m["value"] for m in removed.json_body["members"]] == [unknown["id"]]
    assert not PendingRole.objects.filter(account=victim, org_unit_id=gid, status="pending").exists()
