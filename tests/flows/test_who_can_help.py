"""Issue 4 item 7: when self-service cannot work, the school's principal and secretary and the school's
own contact, never a personal phone number."""
import pytest
from django.test import Client

from schoolid.directory.models import OrgUnit
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_school_search_in_native_script_and_helpers_without_personal_contacts():
    t = f.org_tree()
    OrgUnit.objects.filter(pk=t["school_a"].pk).update(name="دبستان فردوسی", contact_phone="+982188776655", contact_email="office@school.example")
    OrgUnit.objects.get(pk=t["school_a"].pk).save()  # refresh the search key
    principal = f.account("principal", t["school_a"], given_name="پروین", family_name="کریمی", mobile="09121234567", mobile_verified=True)
    f.account("secretary", t["school_a"], given_name="مینا", family_name="رضایی")
    client = Client()
    found = client.get("/help/", {"q": "فردوسي"}).content.decode()  # Arabic yeh typed
    assert "دبستان فردوسی" in found
    page = client.get("/help/", {"school": t["school_a"].code}).content.decode()
    assert "پروین کریمی" in page and "مینا رضایی" in page
    assert "+۹۸۲۱۸۸۷۷۶۶۵۵" in page and "office@school.example" in page  # numbers in Persian digits
    assert principal.person.mobile not in page and "09121234567" not in page
