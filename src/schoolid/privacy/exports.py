"""The subject access export as files: machine-readable JSON and a PDF readable in the person's
language (the slips' bundled fonts, shaped by HarfBuzz, right to left for fa and he)."""
from __future__ import annotations

import json
import logging
import re

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from schoolid.accounts.models import Account, Role
from schoolid.directory.models import Guardianship

# fontTools reports every subsetting step at INFO; those lines say nothing to an operator.
logging.getLogger("fontTools").setLevel(logging.WARNING)
_SCRIPTS = {
    "latin": re.compile("[A-Za-z\u00c0-\u024f\u0400-\u04ff]"),
    "persian": re.compile("[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]"),
    "hebrew": re.compile("[\u0590-\u05ff\ufb1d-\ufb4f]"),
    "bengali": re.compile("[\u0980-\u09ff]"),
}


def as_json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def language_for(account: Account | None) -> str:
    languages = {code for code, _name in settings.LANGUAGES}
    if account is not None and account.preferred_language in languages:
        return account.preferred_language
    return settings.SCHOOLID_PROFILE.default_language


SECTION_TITLES = {
    "person": gettext_lazy("Register data"),
    "contacts": gettext_lazy("Contacts"),
    "account": gettext_lazy("Account"),
    "roles": gettext_lazy("Roles"),
    "guardian_links": gettext_lazy("Parents, guardians and children"),
    "school_register": gettext_lazy("What the school register sent"),
    "sessions": gettext_lazy("Sessions and journeys"),
    "messages": gettext_lazy("Messages sent to you"),
    "access_requests": gettext_lazy("Requests for access"),
    "consents": gettext_lazy("Consents"),
    "linked_providers": gettext_lazy("Linked sign-in providers"),
    "audit_events": gettext_lazy("Events about you in the audit log"),
}

FIELD_LABELS = {
    "national_id_scheme": gettext_lazy("National ID scheme"),
    "national_id": gettext_lazy("National ID"),
    "given_name": gettext_lazy("Given name"),
    "family_name": gettext_lazy("Family name"),
    "given_name_latin": gettext_lazy("Given name (Latin)"),
    "family_name_latin": gettext_lazy("Family name (Latin)"),
    "birth_date": gettext_lazy("Birth date"),
    "from_school_register": gettext_lazy("From the school register"),
    "created_at": gettext_lazy("Created"),
    "updated_at": gettext_lazy("Last changed"),
    "user_code": gettext_lazy("User code"),
    "status": gettext_lazy("Status"),
    "activated_at": gettext_lazy("Activated"),
    "last_sign_in": gettext_lazy("Last sign-in"),
    "password_changed_at": gettext_lazy("Password changed"),
    "second_factor": gettext_lazy("Authenticator app"),
    "preferred_language": gettext_lazy("Language"),
}


def _yes_no(value) -> str:
    if isinstance(value, str) and len(value) > 16 and value[4:5] == "-" and value[10:11] == "T":
        return value[:16].replace("T", " ")  # an ISO time, to the minute
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    return "—" if value in (None, "") else str(value)


def _choice(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or "—"


def _lines(data: dict) -> list[tuple[str, str]]:
    """(kind, text) lines: "title", "heading", "text"; in the reader's language."""
    person, account = data["person"], data["account"]
    out = [("title", _("What SchoolID holds about you")),
           ("text", _("Made on %(date)s by %(controller)s. The JSON file has the same data for computers.") % {
               "date": data["generated_at"][:16].replace("T", " "), "controller": data["controller"]})]

    def section(key):
        out.append(("heading", str(SECTION_TITLES[key])))

    def facts(values: dict, keys):
        for key in keys:
            value = values.get(key)
            if key == "status" and account is not None:
                value = _choice(Account.Status, value)
            out.append(("text", f"{FIELD_LABELS.get(key, key)}: {_yes_no(value)}"))

    section("person")
    facts(person, ["national_id", "given_name", "family_name", "given_name_latin", "family_name_latin", "birth_date", "from_school_register", "created_at", "updated_at"])
    section("contacts")
    for c in data["contacts"] or [None]:
        out.append(("text", "—" if c is None else f"{_('E-mail') if c['kind'] == 'email' else _('Mobile number')}: {c['value']} ({_('confirmed') if c['verified'] else _('not confirmed yet')})"))
    section("account")
    if account is None:
        out.append(("text", "—"))
    else:
        facts(account, ["user_code", "status", "created_at", "activated_at", "last_sign_in", "password_changed_at", "second_factor", "preferred_language"])
        out.append(("text", _("One-time passwords issued: %(n)d") % {"n": len(account["one_time_passwords_issued"])}))
    section("roles")
    for r in data["roles"] or [None]:
        out.append(("text", "—" if r is None else f"{_choice(Role, r['role'])} — {r['org_unit']} ({(r['valid_from'] or r.get('asked_at') or '')[:10]} – {(r['valid_until'] or '')[:10]})"))
    section("guardian_links")
    links = data["guardian_links"]
    for label, rows in ((_("Parent or guardian"), links["guardians"]), (_("Child"), links["children"])):
        for link in rows:
            out.append(("text", f"{label}: {link['name']} — {_choice(Guardianship.Status, link['status'])}"))
    if not links["guardians"] and not links["children"]:
        out.append(("text", "—"))
    section("school_register")
    register = data["school_register"]
    out.append(("text", "—" if register is None else _("Last changed by the register: %(date)s") % {"date": (register["last_changed_at"] or "")[:10]}))
    section("sessions")
    sessions = data["sessions"]
    for signed in sessions["signed_in"]:
        out.append(("text", f"{signed['signed_in_at'][:16].replace('T', ' ')} {signed['device'] or '—'} {signed['ip'] or ''}"
                            f" → {(signed['ended_at'] or signed['last_seen_at'] or '')[:16].replace('T', ' ')}"))
    for flow in sessions["journeys"]:
        out.append(("text", f"{flow['started_at'][:16].replace('T', ' ')} {flow['kind']} ({flow['state']})"))
    section("messages")
    for m in data["messages"] or [None]:
        out.append(("text", "—" if m is None else f"{m['created_at'][:16].replace('T', ' ')} {m['channel']} → {m['to']}: {m['subject'] or m['purpose']} ({m['status']})"))
    section("access_requests")
    for r in data["access_requests"] or [None]:
        out.append(("text", "—" if r is None else f"{r['created_at'][:10]} {r['school']}: {r['status']}"))
    for key in ("consents", "linked_providers"):
        section(key)
        for item in data.get(key) or [None]:
            out.append(("text", "—" if item is None else json.dumps(item, ensure_ascii=False)))
    section("audit_events")
    by = {"self": _("you"), "staff": _("school staff"), "system": _("the system")}
    for e in data["audit_events"] or [None]:
        out.append(("text", "—" if e is None else f"{e['at'][:16].replace('T', ' ')} {e['action']} — {e['result']} ({by.get(e['by'], e['by'])})"))
    return out


def as_pdf(data: dict, language: str) -> bytes:
    """A readable A4 PDF of the export, in `language`."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    from schoolid.credentials.slips import _FACES, _LANGUAGE_FACE, _RTL_LANGUAGES, FONT_DIR

    rtl = language in _RTL_LANGUAGES
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    with translation.override(language):
        lines = _lines(data)
    # Only the faces the text needs: each embedded font is subset when the PDF is written, and that is
    # most of the time a PDF takes.
    primary = _LANGUAGE_FACE.get(language, "latin")
    text = "".join(line for _kind, line in lines)
    faces = [primary] + [face for face in ("latin", "persian", "hebrew", "bengali")
                         if face != primary and _SCRIPTS[face].search(text)]
    for face in faces:
        regular, bold = _FACES[face]
        pdf.add_font(face, "", str(FONT_DIR / regular))
        if face == primary:
            pdf.add_font(face, "B", str(FONT_DIR / bold))
    pdf.set_fallback_fonts(faces[1:], exact_match=False)
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl" if rtl else "ltr")
    pdf.add_page()
    align = "R" if rtl else "L"
    for kind, text in lines:
        if kind == "title":
            pdf.set_font(primary, "B", 16)
            pdf.multi_cell(0, 9, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif kind == "heading":
            pdf.ln(3)
            pdf.set_font(primary, "B", 12)
            pdf.multi_cell(0, 7, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        else:
            pdf.set_font(primary, "", 10)
            pdf.multi_cell(0, 5.5, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
