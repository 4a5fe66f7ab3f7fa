from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from schoolid.accounts.models import Account
from schoolid.accounts.user_codes import normalize_user_code
from schoolid.privacy.models import ErasureRecord
from schoolid.privacy.services import ErasureRefused, erase


class EraseForm(forms.Form):
    user_code = forms.CharField(label=gettext_lazy("User code"), max_length=32)
    confirm = forms.BooleanField(label=gettext_lazy("I understand that the person's data is replaced and cannot be brought back."))

    def clean_user_code(self):
        code = normalize_user_code(self.cleaned_data["user_code"])
        account = Account.objects.select_related("person").filter(user_code=code).first() if code else None
        if account is None or account.person is None:
            raise forms.ValidationError(_("No person has this user code."))
        return account


@admin.register(ErasureRecord)
class ErasureRecordAdmin(admin.ModelAdmin):
    """Erasures are made by the erase view (the same service as `schoolid privacy erase`), never edited."""

    list_display = ("pseudonym", "user_code", "reason", "erased_by", "erased_at", "returned_at")
    list_filter = ("reason",)
    search_fields = ("user_code", "pseudonym")
    readonly_fields = [f.name for f in ErasureRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [path("erase/", self.admin_site.admin_view(self.erase_view), name="privacy_erase")] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "erase_url": reverse("admin:privacy_erase")})

    def erase_view(self, request):
        form = EraseForm(request.POST or None)
        status = 200
        if request.method == "POST" and form.is_valid():
            account = form.cleaned_data["user_code"]
            try:
                record = erase(account.person, actor=request.user, request=request)
            except ErasureRefused as exc:
                form.add_error("user_code", exc.reason)
                status = 409
            else:
                messages.success(request, _("Erased. The audit log now names the person %(pseudonym)s.") % {"pseudonym": record.pseudonym})
                return redirect("admin:privacy_erasurerecord_changelist")
        context = {**self.admin_site.each_context(request), "form": form, "title": _("Erase a person who left the register"),
                   "opts": self.model._meta}
        return render(request, "admin/privacy/erase.html", context, status=status)
