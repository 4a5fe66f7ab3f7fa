"""The family page (seed 004, issue 6): a parent answers proposed links, sees the children across
schools and, where the profile allows it, gives a young child a new one-time password."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from schoolid.accounts.models import Account
from schoolid.credentials import exports
from schoolid.credentials.models import IssuanceBatch
from schoolid.credentials.services import (
    ParentResetRefused,
    new_idempotency_key,
    parent_reset,
    stash_result,
    stashed_result,
)
from schoolid.directory.services import RegisterError
from schoolid.families import guardianships


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def family(request):
    """Settings → Security → Family: confirm or reject each proposed child; the children's accounts."""
    account = request.user
    if request.method == "POST":
        try:
            guardianships.answer(account, int(request.POST.get("link", "0")), accept=request.POST.get("answer") == "confirm", request=request)
        except (PermissionError, ValueError):
            return render(request, "console/denied.html", {"message": _("This request is not yours to answer.")}, status=403)
        except RegisterError as exc:
            messages.error(request, exc.message)
        return redirect("family")
    context = {"pending": guardianships.pending_for(account), "children": guardianships.children_of(account)}
    return render(request, "accounts/family.html", context)


@never_cache
@login_required
@require_POST
def family_reset(request, user_code: str):
    """Issue 6: a parent gives a young child a new one-time password (where the profile allows it)."""
    child = Account.objects.select_related("person").filter(user_code=user_code).first()
    if child is None:
        raise Http404
    try:
        result = parent_reset(request.user, child, idempotency_key=request.POST.get("idempotency_key", "")[:64] or new_idempotency_key(), request=request)
    except ParentResetRefused:
        return render(request, "console/denied.html", {"message": _("You may not reset this child's password.")}, status=403)
    if result.items is not None:
        stash_result(request.session, result)
    return redirect("family-issued", batch_id=result.batch.pk)


@never_cache
@login_required
def family_issued(request, batch_id):
    batch = IssuanceBatch.objects.filter(pk=batch_id, actor=request.user).first()
    if batch is None:
        raise Http404
    items = stashed_result(request.session, batch_id)
    if request.GET.get("format") == "pdf":
        if items is None:
            raise Http404
        response = HttpResponse(exports.slips_pdf(items, settings.SCHOOLID_PROFILE), content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="schoolid-slip.pdf"'
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "accounts/family_issued.html", {"batch": batch, "items": items})
