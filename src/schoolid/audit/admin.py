from django.contrib import admin

from schoolid.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "action", "result", "actor", "target", "org_unit_path", "ip", "request_id")
    list_filter = ("result", "action")
    search_fields = ("actor", "target", "request_id", "action")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
