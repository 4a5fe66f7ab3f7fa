from django.contrib import admin

from schoolid.provider.models import Client


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    # Secrets are made and rotated by `schoolid oidc-client`, which shows them once; only hashes are kept.
    list_display = ("name", "client_id", "first_party", "subject_type", "sector", "public", "disabled_at")
    readonly_fields = ("client_id", "created_at")
    exclude = ("secret_hash",)
    filter_horizontal = ("org_units",)
    search_fields = ("name", "client_id")

    def save_model(self, request, obj, form, change):
        from schoolid.audit.services import record_event

        super().save_model(request, obj, form, change)
        record_event("oidc.client.changed" if change else "oidc.client.created", "success", actor=request.user, request=request,
                     detail={"client": obj.client_id, "fields": list(form.changed_data)})
