from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from schoolid.directory.text import person_search_name, search_key


class OrgUnit(models.Model):
    """A node of the tree ministry → region → district → cluster → school → class.

    `path` is the materialised path ("/1/7/42/"), so "X is inside Y" is `X.path.startswith(Y.path)`,
    an indexed prefix test on any database.
    """

    class Kind(models.TextChoices):
        MINISTRY = "ministry", _("ministry")
        REGION = "region", _("region")
        DISTRICT = "district", _("district")
        CLUSTER = "cluster", _("cluster")
        SCHOOL = "school", _("school")
        CLASS = "class", _("class")

    # Which kinds may sit directly below which; clusters are optional.
    ALLOWED_PARENTS = {
        Kind.MINISTRY: (None,),
        Kind.REGION: (Kind.MINISTRY,),
        Kind.DISTRICT: (Kind.REGION,),
        Kind.CLUSTER: (Kind.DISTRICT,),
        Kind.SCHOOL: (Kind.DISTRICT, Kind.CLUSTER),
        Kind.CLASS: (Kind.SCHOOL,),
    }

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_latin = models.CharField(_("name (Latin)"), max_length=200, blank=True)
    parent = models.ForeignKey("self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(_("path"), max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    sourced_id = models.CharField(_("source id"), max_length=128, null=True, blank=True, unique=True)
    active = models.BooleanField(_("active"), default=True)
    # The unit's own contact (an office, not a person): shown when self-service cannot help.
    contact_phone = models.CharField(_("office phone"), max_length=40, blank=True)
    contact_email = models.EmailField(_("office e-mail"), blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    search_name = models.CharField(max_length=420, blank=True, editable=False, db_index=True)

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        indexes = [
            models.Index(fields=["path"], name="orgunit_path_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["kind", "path"], name="orgunit_kind_path"),
        ]

    def __str__(self):
        return self.name

    def is_inside(self, other: "OrgUnit") -> bool:
        return self.path.startswith(other.path)

    def save(self, *args, **kwargs):
        self.search_name = search_key(f"{self.name} {self.name_latin}")[:420]
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = set(kwargs["update_fields"]) | {"search_name"}
        super().save(*args, **kwargs)


class Person(models.Model):
    """A human in the register."""

    national_id_scheme = models.CharField(_("national ID scheme"), max_length=32)
    national_id = models.CharField(_("national ID"), max_length=32)
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    given_name_latin = models.CharField(_("given name (Latin)"), max_length=100, blank=True)
    family_name_latin = models.CharField(_("family name (Latin)"), max_length=100, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    email_verified = models.BooleanField(_("e-mail verified"), default=False)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True, help_text=_("E.164, e.g. +989121234567"))
    mobile_verified = models.BooleanField(_("mobile verified"), default=False)
    # When a contact point was last set here (by its owner or by staff) rather than by the register:
    # a local edit wins over the register while it is the newer value (README, "Sync conflicts").
    email_edited_at = models.DateTimeField(_("e-mail edited locally"), null=True, blank=True)
    mobile_edited_at = models.DateTimeField(_("mobile edited locally"), null=True, blank=True)
    # Searched with "contains", which no B-tree index serves; an index would only slow down imports.
    search_name = models.CharField(max_length=420, blank=True, editable=False)
    sourced_id = models.CharField(_("source id"), max_length=128, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            models.UniqueConstraint(fields=["national_id_scheme", "national_id"], name="person_national_id_unique"),
        ]
        indexes = [models.Index(fields=["email"], name="person_email"), models.Index(fields=["mobile"], name="person_mobile")]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def full_name_latin(self) -> str:
        return f"{self.given_name_latin} {self.family_name_latin}".strip()

    def refresh_search_name(self) -> None:
        self.search_name = person_search_name(self.given_name, self.family_name, self.given_name_latin, self.family_name_latin)

    def save(self, *args, **kwargs):
        self.refresh_search_name()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = set(kwargs["update_fields"]) | {"search_name"}
        super().save(*args, **kwargs)


class Guardianship(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("proposed")
        CONFIRMED = "confirmed", _("confirmed")
        REJECTED = "rejected", _("rejected")
        ENDED = "ended", _("ended")

    class Source(models.TextChoices):
        REGISTER = "register", _("school register")
        STAFF = "staff", _("school staff")
        SELF = "self", _("self-registration")

    guardian = models.ForeignKey(Person, verbose_name=_("guardian"), on_delete=models.PROTECT, related_name="wards")
    student = models.ForeignKey(Person, verbose_name=_("student"), on_delete=models.PROTECT, related_name="guardians")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PROPOSED)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("guardianship")
        verbose_name_plural = _("guardianships")
        constraints = [
            models.UniqueConstraint(
                fields=["guardian", "student"],
                condition=Q(status__in=["proposed", "confirmed"]),
                name="guardianship_one_open_link",
            ),
        ]

    def __str__(self):
        return f"{self.guardian} → {self.student} ({self.status})"


class AccessRequest(models.Model):
    """Someone without an account asks a school for access (seed 004: Dnevnik.ru registration)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for the school")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    ROLES = [("student", _("student")), ("guardian", _("parent or guardian")), ("teacher", _("teacher"))]

    role = models.CharField(_("role"), max_length=16, choices=ROLES)
    school = models.ForeignKey(OrgUnit, verbose_name=_("school"), on_delete=models.PROTECT, related_name="access_requests")
    national_id_scheme = models.CharField(max_length=32)
    national_id = models.CharField(_("national ID"), max_length=32)
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    matched_person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")
