"""Provisioning from the school register: import runs, what the register last said, SCIM clients."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportRun(models.Model):
    """One OneRoster import or sync: what it read, what it changed, and the rows it refused."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("finished")
        FAILED = "failed", _("failed")

    source = models.CharField(_("source"), max_length=500)
    format = models.CharField(_("format"), max_length=32, blank=True)
    mode = models.CharField(_("mode"), max_length=16, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    problem_count = models.PositiveIntegerField(_("refused rows"), default=0)
    # Fingerprint of each file read: a file identical to the last applied one need not be read again.
    file_hashes = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        ordering = ["-id"]


class ImportProblem(models.Model):
    """A row that was refused, with where and why."""

    run = models.ForeignKey(ImportRun, on_delete=models.PROTECT, related_name="problems")
    file = models.CharField(_("file"), max_length=64)
    line = models.PositiveIntegerField(_("line"))
    field = models.CharField(_("field"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    sourced_id = models.CharField(_("source id"), max_length=128, blank=True)
    # "refused" (the row changed nothing) or "warning" (applied without the field named).
    severity = models.CharField(_("severity"), max_length=16, default="refused")

    class Meta:
        verbose_name = _("refused row")
        verbose_name_plural = _("refused rows")
        ordering = ["id"]


class RegisterRecord(models.Model):
    """What the register last said about a person, so a sync writes only what changed."""

    person = models.OneToOneField("directory.Person", primary_key=True, on_delete=models.PROTECT, related_name="register_record")
    row_hash = models.CharField(max_length=32)
    # A 64-bit key of Person.sourced_id (signed), so a sync can name the absent without staging everyone.
    sid_key = models.BigIntegerField(null=True, db_index=True)
    # agentSourcedIds as the register sent them: a link stays while either side still states it.
    register_agents = models.TextField(blank=True)
    register_email = models.CharField(max_length=254, blank=True)
    register_mobile = models.CharField(max_length=20, blank=True)
    # When the register last sent a changed row for this person (unchanged rows are not rewritten).
    last_changed_at = models.DateTimeField()
    missing_since = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("register record")
        verbose_name_plural = _("register records")
        # Only the few missing people are looked up by this; the million present cost the index nothing.
        indexes = [models.Index(fields=["missing_since"], condition=models.Q(missing_since__isnull=False), name="record_missing")]


class ScimToken(models.Model):
    """A bearer token for a SCIM client, made with `schoolid scim-token create NAME`. Only a hash is kept."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("prefix"), max_length=12)
    # The client may act only inside this unit (None: the whole country).
    org_unit = models.ForeignKey("directory.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("SCIM token")
        verbose_name_plural = _("SCIM tokens")
