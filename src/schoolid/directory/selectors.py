"""Reads from the register."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from schoolid.directory.models import Guardianship, OrgUnit, Person


def org_units(kind: str | None = None) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.all().order_by("path")
    return qs.filter(kind=kind) if kind else qs


def units_inside(unit: OrgUnit, kind: str | None = None) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.filter(path__startswith=unit.path)
    return qs.filter(kind=kind) if kind else qs


def ancestors(unit: OrgUnit) -> list[OrgUnit]:
    """From the root down to `unit` itself, in one query."""
    prefixes = []
    parts = [p for p in unit.path.split("/") if p]
    for i in range(1, len(parts) + 1):
        prefixes.append("/" + "/".join(parts[:i]) + "/")
    by_path = {u.path: u for u in OrgUnit.objects.filter(path__in=prefixes)}
    return [by_path[p] for p in prefixes if p in by_path]


def person_by_national_id(scheme: str, national_id: str) -> Person | None:
    return Person.objects.filter(national_id_scheme=scheme, national_id=national_id).first()


def confirmed_wards(guardian: Person) -> QuerySet[Person]:
    return Person.objects.filter(guardians__guardian=guardian, guardians__status=Guardianship.Status.CONFIRMED)


def search_schools(query: str, limit: int = 20) -> QuerySet[OrgUnit]:
    """Schools whose name (native script or Latin) contains every word typed, any case or letter form."""
    from schoolid.directory.text import search_key

    qs = OrgUnit.objects.filter(kind=OrgUnit.Kind.SCHOOL, active=True)
    words = search_key(query).split()
    if not words:
        return qs.none()
    for word in words:
        qs = qs.filter(search_name__contains=word)
    return qs.select_related("parent").order_by("name")[:limit]


def access_request_choices(region_code: str = "", district_code: str = "") -> dict:
    """The steps of an access request (seed 004: region → district → school): the regions, then the
    chosen region's districts, then the chosen district's schools (directly or in its clusters)."""
    units = OrgUnit.objects.filter(active=True)
    region = units.filter(kind=OrgUnit.Kind.REGION, code=region_code).first() if region_code else None
    district = units.filter(kind=OrgUnit.Kind.DISTRICT, code=district_code, parent=region).first() if region and district_code else None
    return {
        "regions": list(units.filter(kind=OrgUnit.Kind.REGION).order_by("name")),
        "region": region,
        "districts": list(units.filter(kind=OrgUnit.Kind.DISTRICT, parent=region).order_by("name")) if region else [],
        "district": district,
        "district_schools": list(units.filter(Q(parent=district) | Q(parent__parent=district), kind=OrgUnit.Kind.SCHOOL).order_by("name")) if district else [],
    }
