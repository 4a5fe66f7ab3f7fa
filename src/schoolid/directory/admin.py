from django.contrib import admin

from schoolid.directory.models import Guardianship, OrgUnit, Person


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "code", "path", "active")
    list_filter = ("kind", "active")
    search_fields = ("name", "name_latin", "code")
    readonly_fields = ("path", "depth")
    raw_id_fields = ("parent",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("family_name", "given_name", "national_id", "birth_date", "email", "email_verified", "mobile", "mobile_verified")
    search_fields = ("national_id", "search_name", "email", "mobile")
    readonly_fields = ("search_name", "created_at", "updated_at")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Guardianship)
class GuardianshipAdmin(admin.ModelAdmin):
    list_display = ("guardian", "student", "status", "source", "created_at")
    list_filter = ("status", "source")
    raw_id_fields = ("guardian", "student", "proposed_by")

    def has_delete_permission(self, request, obj=None):
        return False
