"""Subject access from the web: the person themself, a guardian for a young child, staff in scope.
Every export is audited; the file is never cached."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from schoolid.accounts.models import Account
from schoolid.accounts.scope import Action, decide, is_young
from schoolid.accounts.services import refuse
from schoolid.audit.services import record_event
from schoolid.console.views import staff_view
from schoolid.core.profiles import current_profile
from schoolid.directory.models import Guardianship
from schoolid.flows import limits
from schoolid.privacy import exports, services


def _file(request, person, account: Account | None, *, requester, channel: str, language: str | None = None):
    fmt = "json" if request.GET.get("format") == "json" else "pdf"
    # Each export reads everything and draws a PDF: a few per hour is what a person needs (ASVS v5 2.4.1).
    if limits.count(f"privacy:export:{requester.pk}", 3600) > settings.SCHOOLID_EXPORTS_PER_HOUR:
        record_event("privacy.exported", "denied", actor=requester, target=account or f"person:{person.pk}", request=request,
                     detail={"via": channel, "reason": "rate_limited"})
        response = render(request, "console/denied.html", {"message": _("Too many downloads. Wait an hour, then try again.")}, status=429)
        response["Retry-After"] = "3600"
        return response
    data = services.export_for(requester, person, request=request, channel=channel, fmt=fmt)
    name = f"schoolid-{account.user_code if account else person.pk}-{timezone.localdate():%Y-%m-%d}"
    if fmt == "json":
        response = HttpResponse(exports.as_json(data), content_type="application/json; charset=utf-8")
    else:
        response = HttpResponse(exports.as_pdf(data, language or translation.get_language() or exports.language_for(account)), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _denied(request, message: str):
    return render(request, "console/denied.html", {"message": message}, status=403)


@never_cache
@login_required
@require_GET
def my_export(request):
    """/account/export/: everything held about the signed-in person (PDF; ?format=json for JSON)."""
    if request.user.person_id is None:
        raise Http404
    return _file(request, request.user.person, request.user, requester=request.user, channel="self")


@never_cache
@login_required
@require_GET
def child_export(request, user_code):
    """A guardian's copy of a confirmed child's data, while the child is under the profile's age threshold."""
    child = Account.objects.select_related("person").filter(user_code=user_code).first()
    linked = child is not None and request.user.person_id and Guardianship.objects.filter(
        guardian_id=request.user.person_id, student_id=child.person_id, status=Guardianship.Status.CONFIRMED).exists()
    if not linked or not is_young(child.person, current_profile()):
        record_event("privacy.exported", "denied", actor=request.user, target=child or user_code[:64], request=request,
                     detail={"via": "guardian", "reason": "not_linked" if not linked else "not_young"})
        return _denied(request, _("You can download the data of your own children under %(age)d only.") % {"age": current_profile().age_threshold})
    return _file(request, child.person, child, requester=request.user, channel="guardian")


@staff_view()
@require_GET
def staff_export(request, user_code):
    """Staff who keep a person's register data (principal, secretary, ministry) produce the same export."""
    target = Account.objects.select_related("person").filter(user_code=user_code).first()
    if target is None or target.person_id is None:
        raise Http404
    decision = decide(request.user, Action.EDIT_REGISTER, target)
    if not decision:
        refuse(request.user, "privacy.export", target, decision.reason, request=request)
        return _denied(request, _("This person is not in your scope."))
    # Staff hand the file to the family: in the person's language, not the staff member's.
    return _file(request, target.person, target, requester=request.user, channel="staff", language=exports.language_for(target))
