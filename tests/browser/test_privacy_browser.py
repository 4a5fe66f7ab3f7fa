"""Subject access in chromium (issue 15): a parent downloads their own data and a young child's from the
account and family pages; the files are the real PDF and JSON."""
import datetime
import json

import pytest

from tests import factories as f
from tests.browser.pages import sign_in
from tests.pdf_tools import full_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]
PASSWORD = "willow harbour sings at dawn"


def test_a_parent_downloads_own_and_young_childs_data(page, live_server):
    t = f.org_tree()
    child = f.account("student", t["class_a1"], given_name="Dana", birth_date=datetime.date.today() - datetime.timedelta(days=365 * 8))
    parent = f.guardian_of(child, unit=t["school_a"])
    from schoolid.accounts.services import set_password

    set_password(parent, PASSWORD)
    sign_in(page, live_server.url, parent.person.national_id, PASSWORD)
    with page.expect_download() as download:
        page.click("#export-link")
    assert full_text(open(download.value.path(), "rb").read()).count(parent.person.national_id) == 1
    with page.expect_download() as download:
        page.click("#export-json-link")
    mine = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert mine["account"]["user_code"] == parent.user_code
    assert [c["name"] for c in mine["guardian_links"]["children"]] == [child.person.full_name]
    page.click("#family-link")
    with page.expect_download() as download:
        page.click(f"#export-{child.user_code}")
    assert "Dana" in full_text(open(download.value.path(), "rb").read())
