import secrets

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from schoolid.accounts.user_codes import display_user_code


class PermanentFieldError(RuntimeError):
    """Raised on an attempt to change a user code or delete an account."""


class Role(models.TextChoices):
    STUDENT = "student", _("student")
    GUARDIAN = "guardian", _("parent or guardian")
    TEACHER = "teacher", _("teacher")
    CLASS_TEACHER = "class_teacher", _("class teacher")
    SECRETARY = "secretary", _("school secretary")
    PRINCIPAL = "principal", _("principal")
    CLUSTER_SUPERVISOR = "cluster_supervisor", _("cluster supervisor")
    DISTRICT_OFFICER = "district_officer", _("district officer")
    MINISTRY_ADMIN = "ministry_admin", _("ministry administrator")


# Everyone but pupils and parents works for a school or above, and signs in with a second factor.
STAFF_ROLES = frozenset(r for r in Role.values if r not in (Role.STUDENT, Role.GUARDIAN))


class AccountManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, user_code):
        return self.get(user_code=user_code)


def new_session_epoch() -> str:
    return secrets.token_hex(16)


class Account(AbstractBaseUser):
    """The login identity of a person. Accounts are never deleted, so a user code is never reused."""

    class Status(models.TextChoices):
        NOT_ACTIVATED = "not_activated", _("not activated")
        ACTIVE = "active", _("active")
        LOCKED = "locked", _("locked")
        DISABLED = "disabled", _("disabled")

    user_code = models.CharField(_("user code"), max_length=16, unique=True, editable=False)
    person = models.OneToOneField("directory.Person", verbose_name=_("person"), null=True, blank=True, on_delete=models.PROTECT, related_name="account")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NOT_ACTIVATED, db_index=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    password_changed_at = models.DateTimeField(_("password changed"), null=True, blank=True)
    must_change_password = models.BooleanField(_("must change password"), default=False)
    failed_logins = models.PositiveIntegerField(_("consecutive failed sign-ins"), default=0)
    throttled_until = models.DateTimeField(_("throttled until"), null=True, blank=True)
    preferred_language = models.CharField(_("language"), max_length=8, blank=True)
    # Sessions are bound to this value, not to the password hash: changing it signs out every
    # session, and a password change may keep the others when the user chooses so.
    session_epoch = models.CharField(max_length=32, default=new_session_epoch, editable=False)

    USERNAME_FIELD = "user_code"
    REQUIRED_FIELDS: list[str] = []
    objects = AccountManager()

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self):
        return self.display_code

    @property
    def display_code(self) -> str:
        return display_user_code(self.user_code) if self.user_code else ""

    @property
    def audit_label(self) -> str:
        return self.user_code

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_user_code = getattr(instance, "user_code", None)
        return instance

    def save(self, *args, **kwargs):
        loaded = getattr(self, "_loaded_user_code", None)
        if loaded is not None and loaded != self.user_code:
            raise PermanentFieldError("the user code is permanent")
        super().save(*args, **kwargs)
        self._loaded_user_code = self.user_code

    def delete(self, *args, **kwargs):
        raise PermanentFieldError("accounts are never deleted; disable them instead")

    # Django auth integration --------------------------------------------------------------
    def get_session_auth_hash(self):
        return salted_hmac("schoolid.accounts.Account.session", f"{self.pk}:{self.session_epoch}", algorithm="sha256").hexdigest()

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.ACTIVE, self.Status.LOCKED)

    def _active_roles(self) -> set[str]:
        cached = getattr(self, "_role_cache", None)
        if cached is None:
            cached = set(self.assignments.current().values_list("role", flat=True))
            self._role_cache = cached
        return cached

    def has_role(self, role: str) -> bool:
        return role in self._active_roles()

    @property
    def is_school_staff(self) -> bool:
        """Holds a staff role (the console is for them, after a second factor)."""
        return bool(self._active_roles() & STAFF_ROLES)

    @property
    def is_staff(self) -> bool:
        # Django's /admin/ is for ministry operators only.
        return self.is_active and self.has_role(Role.MINISTRY_ADMIN)

    @property
    def is_superuser(self) -> bool:
        return self.is_staff

    def has_perm(self, perm, obj=None) -> bool:
        return self.is_staff

    def has_perms(self, perm_list, obj=None) -> bool:
        return self.is_staff

    def has_module_perms(self, app_label) -> bool:
        return self.is_staff


class RoleAssignmentQuerySet(models.QuerySet):
    def current(self, at=None):
        at = at or timezone.now()
        return self.filter(Q(valid_from__lte=at), Q(valid_until__isnull=True) | Q(valid_until__gt=at))


class RoleAssignment(models.Model):
    class Source(models.TextChoices):
        REGISTER = "register", _("school register")
        STAFF = "staff", _("staff")
        FEDERATION = "federation", _("federation")

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="assignments")
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    # No index of its own: assignment_unit_role (org_unit, role) serves look-ups by unit.
    org_unit = models.ForeignKey("directory.OrgUnit", verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="assignments",
                                 db_index=False)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.STAFF)
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        indexes = [models.Index(fields=["org_unit", "role"], name="assignment_unit_role")]
        constraints = [
            models.UniqueConstraint(fields=["account", "role", "org_unit"], condition=Q(valid_until__isnull=True), name="assignment_one_open"),
        ]

    def __str__(self):
        return f"{self.get_role_display()} @ {self.org_unit}"


class PendingRole(models.Model):
    """A role a unit-scoped client (SCIM) asked for a person who already holds a role outside that
    unit (a pupil moving schools). It grants nothing until the old unit ends its roles or an actor who
    covers both confirms it (README, "A person in two units"); until then the unit's staff have no
    power over the person, and the client is not told that the person was already known."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("pending role", "waiting for confirmation")
        CONFIRMED = "confirmed", _("confirmed")
        REFUSED = "refused", pgettext_lazy("pending role", "refused")
        WITHDRAWN = "withdrawn", pgettext_lazy("pending role", "withdrawn")

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="pending_roles")
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    org_unit = models.ForeignKey("directory.OrgUnit", verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="+")
    # The unit the asking client is limited to: the role waits while the person holds a role outside it.
    scope_unit = models.ForeignKey("directory.OrgUnit", on_delete=models.PROTECT, related_name="+")
    requested_by = models.CharField(pgettext_lazy("pending role", "requested by"), max_length=120)
    # What the client sent (normalised), shown to the confirmer and answered back to the client.
    claimed = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    decided_at = models.DateTimeField(pgettext_lazy("pending role", "decided"), null=True, blank=True)
    decided_by = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("pending role")
        verbose_name_plural = _("pending roles")


class SignedInSession(models.Model):
    """An index of a person's signed-in sessions, wherever the sessions live (cache or database), so
    they can be listed and ended (ASVS v5 7.5.2). Written on the first request after sign-in, touched
    at most once a minute, ended on sign-out. The session key is kept sealed (Fernet), never in clear."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="signed_in_sessions")
    key_digest = models.CharField(max_length=64, unique=True)
    key_sealed = models.TextField()
    epoch = models.CharField(max_length=32)
    user_agent = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account"], condition=Q(ended_at__isnull=True), name="session_open_by_account")]


from schoolid.accounts.security_questions import SecurityAnswer  # noqa: E402,F401 - a model of this app
