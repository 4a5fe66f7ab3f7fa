from django.contrib import admin

from schoolid.accounts.models import Account, RoleAssignment


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    raw_id_fields = ("org_unit",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("user_code", "person", "status", "last_login", "failed_logins")
    list_filter = ("status",)
    search_fields = ("user_code", "person__national_id", "person__search_name")
    # No password field and no "set password" action: admins never choose or see a password (ASVS 6.4.6).
    fields = ("user_code", "person", "status", "must_change_password", "preferred_language", "created_at", "activated_at", "last_login", "password_changed_at", "failed_logins", "throttled_until")
    readonly_fields = ("user_code", "created_at", "activated_at", "last_login", "password_changed_at", "failed_logins", "throttled_until")
    raw_id_fields = ("person",)
    inlines = [RoleAssignmentInline]

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
