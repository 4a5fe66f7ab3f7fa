"""What a client receives, by scope (OIDC Core §5.4): nothing beyond the scopes granted."""
from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from schoolid.provider.models import Client
from schoolid.provider.subjects import subject_for

# Scope -> what the person is shown on the consent page.
SCOPES = {
    "openid": _("that you are signed in (an identifier for this application only)"),
    "profile": _("your name and language"),
    "email": _("your verified e-mail address"),
    "phone": _("your verified mobile number"),
    "school": _("your roles, schools and classes"),
    "national_id": _("your national ID number"),
    "offline_access": _("access while you are not signed in (until you withdraw it)"),
}


def allowed_scopes(client: Client) -> set[str]:
    allowed = {"openid", "profile", "email", "phone", "school"}
    if client.trusted:
        allowed.add("national_id")
    if client.offline_access:
        allowed.add("offline_access")
    return allowed


def grantable(client: Client, requested: str) -> list[str]:
    """The requested scopes this client may have, in a stable order; unknown ones are dropped."""
    asked = set(requested.split())
    return [s for s in SCOPES if s in asked and s in allowed_scopes(client)]


def roles_in(account, client: Client):
    """The account's current roles, limited to the client's units when it has any."""
    assignments = list(account.assignments.current().select_related("org_unit"))
    units = list(client.org_units.all())
    if units:
        assignments = [a for a in assignments if any(a.org_unit.path.startswith(u.path) for u in units)]
    return assignments


def claims_for(account, client: Client, scope: str) -> dict:
    scopes = set(scope.split())
    claims: dict = {"sub": subject_for(account, client)}
    person = account.person
    if "profile" in scopes and person is not None:
        claims.update(given_name=person.given_name, family_name=person.family_name,
                      name=f"{person.given_name} {person.family_name}",
                      locale=account.preferred_language or settings.SCHOOLID_PROFILE.default_language)
    if "email" in scopes and person is not None and person.email and person.email_verified:
        claims.update(email=person.email, email_verified=True)
    if "phone" in scopes and person is not None and person.mobile and person.mobile_verified:
        claims.update(phone_number=person.mobile, phone_number_verified=True)
    if "school" in scopes:
        assignments = roles_in(account, client)
        claims["school_roles"] = [{"role": a.role, "org_unit": {"code": a.org_unit.code, "name": a.org_unit.name, "kind": a.org_unit.kind}}
                                  for a in assignments]
        claims["classes"] = sorted({(a.org_unit.code, a.org_unit.name) for a in assignments if a.org_unit.kind == "class"})
        claims["classes"] = [{"code": c, "name": n} for c, n in claims["classes"]]
    if "national_id" in scopes and client.trusted and person is not None:
        claims.update(national_id=person.national_id, national_id_scheme=person.national_id_scheme)
    return claims
