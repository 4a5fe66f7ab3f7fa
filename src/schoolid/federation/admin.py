from django import forms
from django.contrib import admin

from schoolid.federation import secrets
from schoolid.federation.models import FederatedLink, IdentityProvider


class ProviderForm(forms.ModelForm):
    client_secret = forms.CharField(required=False, widget=forms.PasswordInput, help_text="Stored encrypted; leave empty to keep.")

    class Meta:
        model = IdentityProvider
        fields = "__all__"

    def save(self, commit=True):
        if self.cleaned_data.get("client_secret"):
            self.instance.encrypted_client_secret = secrets.seal(self.cleaned_data["client_secret"])
        return super().save(commit)


@admin.register(IdentityProvider)
class IdentityProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ("name", "kind", "label", "issuer", "enabled", "country")
    list_filter = ("kind", "enabled")


@admin.register(FederatedLink)
class FederatedLinkAdmin(admin.ModelAdmin):
    list_display = ("provider", "account", "created_at", "last_used_at")
    list_filter = ("provider",)
    readonly_fields = ("provider", "subject", "account", "created_at", "last_used_at")
