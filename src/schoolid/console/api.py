"""Console actions over REST: /api/v1/console/... (session authentication with CSRF, for now)."""
from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import django_auth

from schoolid.accounts.models import Account
from schoolid.console.selectors import AccountFilter, identity_visible, role_summary, visible_accounts
from schoolid.core.problems import Problem
from schoolid.credentials.models import IssuanceBatch
from schoolid.credentials.services import IssuanceRefused, issue_secrets
from schoolid.flows.login import is_staff_session

router = Router(tags=["console"], auth=django_auth)
MAX_PAGE = 200
# Pages beyond this hold nothing in any country (200 × 10⁶ accounts); bigger numbers overflow the
# database's offset, so they are a 400, as is any page number below 1.
MAX_PAGE_NUMBER = 1_000_000
MAX_TARGETS = 5000


def _staff(request: HttpRequest) -> Account:
    if not is_staff_session(request):
        raise HttpError(403, "staff with a second factor only")
    return request.user


class RoleOut(Schema):
    role: str
    org_unit: str
    org_unit_code: str


class AccountOut(Schema):
    user_code: str
    name: str
    national_id: str
    status: str
    roles: list[RoleOut]


class AccountPage(Schema):
    total: int
    page: int
    items: list[AccountOut]


class FilterIn(Schema):
    type: str = ""
    class_code: str = ""
    status: str = ""
    q: str = ""


class ListIn(FilterIn):
    # Checked in the view (a 400, as for every out-of-range paging value); documented here.
    page: int = Field(1, json_schema_extra={"minimum": 1, "maximum": MAX_PAGE_NUMBER})
    page_size: int = Field(50, json_schema_extra={"minimum": 1, "maximum": MAX_PAGE})


def _account_out(account: Account, roles, full_id: bool = False) -> AccountOut:
    from schoolid.directory.services import mask_national_id

    person = account.person
    return AccountOut(
        user_code=account.user_code,
        name=person.full_name if person else "",
        # Masked unless the actor keeps this person's register data (least disclosure, docs/privacy.md).
        national_id=(person.national_id if full_id else mask_national_id(person.national_id)) if person else "",
        status=account.status,
        roles=[RoleOut(role=a.role, org_unit=a.org_unit.name, org_unit_code=a.org_unit.code) for a in roles],
    )


@router.get("/accounts", response=AccountPage, summary="Accounts the signed-in staff member may issue passwords for")
def list_accounts(request, filters: Query[ListIn]):
    actor = _staff(request)
    if not 1 <= filters.page <= MAX_PAGE_NUMBER:
        raise HttpError(400, f"page must be between 1 and {MAX_PAGE_NUMBER}")
    if not 1 <= filters.page_size <= MAX_PAGE:
        raise HttpError(400, f"page_size must be between 1 and {MAX_PAGE}")
    flt = AccountFilter.from_query({"type": filters.type, "class": filters.class_code, "status": filters.status, "q": filters.q})
    qs = visible_accounts(actor, flt=flt)
    size, page = filters.page_size, filters.page
    rows = list(qs[(page - 1) * size : page * size])
    roles = role_summary(rows)
    full = identity_visible(actor, rows)
    return AccountPage(total=qs.count(), page=page, items=[_account_out(a, roles[a.pk], a.pk in full) for a in rows])


class IssueIn(Schema):
    idempotency_key: str = Field(min_length=1, max_length=64)
    user_codes: list[str] = Field([], max_length=MAX_TARGETS)
    filter: FilterIn | None = None


class IssuedOut(Schema):
    user_code: str
    name: str
    school: str
    class_name: str
    login_kind: str
    login_id: str
    one_time_password: str
    sign_in_link: str
    valid_until: str


class IssueOut(Schema):
    batch: str
    count: int
    replayed: bool
    items: list[IssuedOut] | None


ErrorOut = Problem  # 403: `refused` lists the user codes outside the caller's scope
FieldErrorsOut = Problem  # 400: `errors` gives a reason per field


def _issue(request, actor: Account, targets: list[Account], key: str, kind: str, description: str):
    if not key or len(key) > 64:
        raise HttpError(400, "idempotency_key is required (at most 64 characters)")
    try:
        result = issue_secrets(actor, targets, idempotency_key=key, kind=kind, description=description, request=request)
    except IssuanceRefused as refused:
        return Status(403, ErrorOut(detail="outside your scope; nothing was issued", refused=[a.user_code for a in refused.refused]))
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
    items = None
    if result.items is not None:
        items = [
            IssuedOut(user_code=i.user_code, name=i.name, school=i.school, class_name=i.class_name, login_kind=i.login_kind, login_id=i.login_id,
                      one_time_password=i.secret, sign_in_link=i.link, valid_until=i.expires_at)
            for i in result.items
        ]
    return Status(200, IssueOut(batch=str(result.batch.pk), count=result.batch.count, replayed=result.replayed, items=items))


@router.post("/issue", response={200: IssueOut, 403: ErrorOut}, summary="Issue one-time passwords for a group (all or nothing, idempotent)")
def issue(request, body: IssueIn):
    actor = _staff(request)
    if body.filter is not None:
        f = body.filter
        flt = AccountFilter.from_query({"type": f.type, "class": f.class_code, "status": f.status, "q": f.q})
        targets = list(visible_accounts(actor, flt=flt)[: MAX_TARGETS + 1])
        description = "; ".join(f"{k}={v}" for k, v in flt.as_query().items())
    else:
        targets = list(Account.objects.select_related("person").filter(user_code__in=body.user_codes[: MAX_TARGETS + 1]))
        missing = set(body.user_codes) - {t.user_code for t in targets}
        if missing:
            raise HttpError(404, f"unknown user codes: {', '.join(sorted(missing)[:10])}")
        description = f"{len(targets)} selected"
    if len(targets) > MAX_TARGETS:
        raise HttpError(400, f"at most {MAX_TARGETS} accounts at once")
    return _issue(request, actor, targets, body.idempotency_key, IssuanceBatch.Kind.GROUP, description)


class ResetIn(Schema):
    idempotency_key: str = Field(min_length=1, max_length=64)


@router.post("/accounts/{user_code}/reset", response={200: IssueOut, 403: ErrorOut}, summary="Reset one person's password to a new one-time password")
def reset(request, user_code: str, body: ResetIn):
    actor = _staff(request)
    target = Account.objects.select_related("person").filter(user_code=user_code).first()
    if target is None:
        raise HttpError(404, "unknown user code")
    return _issue(request, actor, [target], body.idempotency_key, IssuanceBatch.Kind.INDIVIDUAL, user_code)


# --- register editing (issue 5, item 6) ---------------------------------------------------------
class RegisterRecordOut(Schema):
    """national_id and birth_date are null for a contact-only editor (a class teacher): least disclosure."""

    user_code: str
    national_id: str | None
    given_name: str
    family_name: str
    given_name_latin: str
    family_name_latin: str
    birth_date: str | None
    email: str
    email_verified: bool
    mobile: str
    mobile_verified: bool
    from_register: bool
    editable: list[str]
    version: str


class RegisterEditIn(Schema):
    """Only the fields sent are changed; null or "" clears an optional field. Digits in any script."""

    national_id: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    given_name_latin: str | None = None
    family_name_latin: str | None = None
    birth_date: str | None = None
    email: str | None = None
    mobile: str | None = None
    version: str | None = None


class RegisterEditOut(Schema):
    changed: list[str]
    record: RegisterRecordOut


def _edit_target(request, actor: Account, user_code: str):
    from schoolid.accounts.services import refuse
    from schoolid.console.selectors import register_edit_access

    target = Account.objects.select_related("person").filter(user_code=user_code).first()
    if target is None:
        raise HttpError(404, "unknown user code")
    access = register_edit_access(actor, target)
    if not access:
        from schoolid.accounts.scope import Action, decide

        reason = decide(actor, Action.EDIT_CONTACT, target).reason
        refuse(actor, "api.register", target, reason, request=request)
    return target, access


def _record_out(target: Account, access) -> RegisterRecordOut:
    from schoolid.directory.services import record_version

    p = target.person
    full = access.mode == "register"
    return RegisterRecordOut(
        user_code=target.user_code, national_id=p.national_id if full else None, given_name=p.given_name, family_name=p.family_name,
        given_name_latin=p.given_name_latin, family_name_latin=p.family_name_latin,
        birth_date=p.birth_date.isoformat() if p.birth_date and full else None, email=p.email, email_verified=p.email_verified,
        mobile=p.mobile, mobile_verified=p.mobile_verified, from_register=access.from_register, editable=list(access.editable),
        version=record_version(p),
    )


@router.get("/accounts/{user_code}/register", response={200: RegisterRecordOut, 403: ErrorOut},
            summary="A person's register data and which fields the signed-in staff member may edit")
def register_record(request, user_code: str):
    actor = _staff(request)
    target, access = _edit_target(request, actor, user_code)
    if not access:
        return Status(403, ErrorOut(detail="outside your scope", refused=[user_code]))
    return Status(200, _record_out(target, access))


@router.patch("/accounts/{user_code}/register", response={200: RegisterEditOut, 400: FieldErrorsOut, 403: ErrorOut},
              summary="Edit a person's register data (class teachers: e-mail and mobile only); all fields or none")
def register_edit(request, user_code: str, body: RegisterEditIn):
    from schoolid.accounts.services import ScopeDenied
    from schoolid.console.selectors import register_edit_access
    from schoolid.console.services import edit_person
    from schoolid.directory.services import RegisterEditError

    actor = _staff(request)
    target = Account.objects.select_related("person").filter(user_code=user_code).first()
    if target is None:
        raise HttpError(404, "unknown user code")
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version", None)
    try:
        result = edit_person(actor, target, changes, request=request, version=version)
    except ScopeDenied:
        return Status(403, ErrorOut(detail="outside your scope; nothing was changed", refused=[user_code]))
    except RegisterEditError as exc:
        return Status(400, FieldErrorsOut(detail="nothing was changed", errors={k: str(v) for k, v in exc.errors.items()}))
    return Status(200, RegisterEditOut(changed=result.changed, record=_record_out(target, register_edit_access(actor, target))))
