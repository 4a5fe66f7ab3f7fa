"""Handing issued secrets over: slips PDF and CSV, built from an issuance result."""
from __future__ import annotations

import csv
import datetime
import io

from django.utils import translation
from django.utils.translation import gettext as _

from schoolid.core.profiles import Profile
from schoolid.credentials.services import IssuedItem


def identifier_label(kind: str) -> str:
    return {
        "national_id": _("National ID number"),
        "user_code": _("User code"),
        "email": _("E-mail"),
        "mobile": _("Mobile number"),
    }.get(kind, kind)


def slips_pdf(items: list[IssuedItem], profile: Profile, title: str | None = None) -> bytes:
    # Loaded on first use: the PDF renderer and its fonts are needed only when slips are printed.
    from schoolid.credentials.slips import Slip, render_slips

    language = profile.default_language
    with translation.override(language):
        slips = [
            Slip(
                school=item.school,
                class_name=item.class_name,
                full_name=item.name,
                login_label=identifier_label(item.login_kind),
                login_id=item.login_id,
                secret=item.secret,
                valid_until=datetime.date.fromisoformat(item.expires_at),
                qr_url=item.link,
            )
            for item in items
        ]
        return render_slips(slips, language, title=title)


def _cell(value: str) -> str:
    # Spreadsheet formula injection: a cell must not start with = + - @ (OWASP CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def items_csv(items: list[IssuedItem]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "school", "class", "login_kind", "login", "user_code", "one_time_password", "valid_until", "sign_in_link"])
    for item in items:
        writer.writerow([_cell(v) for v in (item.name, item.school, item.class_name, item.login_kind, item.login_id, item.user_code, item.secret, item.expires_at, item.link)])
    # A BOM so spreadsheet programs read the native scripts as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")
