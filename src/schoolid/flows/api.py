"""Self-service flows as a JSON API for the mobile apps (issue 4 item 8), as Kratos splits browser
flows from API flows: the flow id stands in for the browser session. Same rules and answers as the
pages: unknown identifiers get the same answer, sending is limited, codes are throttled, and
nothing here signs anyone in."""
from __future__ import annotations

import uuid

from django.conf import settings
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from schoolid.accounts.passwords import check_password_policy, context_words_for
from schoolid.core.problems import Problem
from schoolid.flows import activation, contact_change, kernel, recovery, tokens
from schoolid.flows import sms_signin as sms_flow
from schoolid.flows.models import Flow

router = Router(tags=["self-service flows"])


class ActivationIn(Schema):
    identifier: str


class RecoveryIn(Schema):
    need: str = "password"
    identifier: str


class Accepted(Schema):
    detail: str


class FlowOut(Schema):
    flow: str
    state: str
    detail: str


class CodeIn(Schema):
    code: str


class PasswordIn(Schema):
    new_password: str = ""
    # The secret handed to whoever proved the contact (the code or link answer); nobody else finishes.
    binding: str = ""


class LinkIn(Schema):
    token: str


class ProvenOut(Schema):
    flow: str
    state: str
    detail: str
    binding: str


class RecoveryDone(Schema):
    login: str
    password_changed: bool


SENT = "If an account matches, a message is on its way."


@router.post("/activation", response={202: Accepted, 404: Problem, 429: Problem}, summary="Start activation from the register (seed 002)")
def start_activation(request, body: ActivationIn):
    if not ("self_activation" in settings.SCHOOLID_PROFILE.credential_issuers or "national_id_email" in settings.SCHOOLID_PROFILE.recovery_methods):
        return Status(404, Problem(detail="not offered in this country"))
    if not activation.start(request, body.identifier[:254]):
        return Status(429, Problem(detail="too many requests; try again in an hour"))
    return Status(202, Accepted(detail=SENT))


def _recovery_flow(flow_id: str) -> Flow:
    try:
        key = uuid.UUID(flow_id)
    except ValueError as exc:
        raise HttpError(404, "no such flow") from exc
    flow = kernel.find(Flow.Kind.RECOVERY, key)
    if flow is None:
        raise HttpError(404, "no such flow, or it has expired")
    return flow


@router.post("/recovery", response={202: FlowOut, 400: Problem, 404: Problem, 429: Problem}, summary="Start recovery (seeds 003, 004)")
def start_recovery(request, body: RecoveryIn):
    if not recovery.enabled():
        return Status(404, Problem(detail="not offered in this country"))
    if body.need not in recovery.NEEDS:
        return Status(400, Problem(detail="need must be login, password or both"))
    if not recovery.start(request, body.need, body.identifier[:254]):
        return Status(429, Problem(detail="too many requests; try again in an hour"))
    flow_id = request.session.pop(recovery.FLOW_SESSION_KEY)
    # The same state whether or not an account matched (the page answers alike, too).
    return Status(202, FlowOut(flow=flow_id, state="sent", detail=SENT))


def _proven_out(request, flow: Flow) -> ProvenOut:
    # The binding goes to this client only; it is not kept in any cookie session.
    request.session.pop(recovery.FLOW_SESSION_KEY, None)
    binding = request.session.pop(recovery.BINDING_SESSION_KEY)
    return ProvenOut(flow=str(flow.pk), state=flow.state, detail="proven", binding=binding)


NOT_PROVEN = "prove the recovery first (code, link or security question)"


def _proven_recovery_flow(flow_id: str, binding: str) -> Flow:
    """The flow, if `binding` is what its prover was given; otherwise the same 409 as an unproven one."""
    flow = _recovery_flow(flow_id)
    if flow.state not in (Flow.State.PROVEN, Flow.State.NEEDS_ANSWER) or not recovery.holds_proof(flow, binding[:100]):
        raise HttpError(409, NOT_PROVEN)
    return flow


@router.post("/recovery/{flow_id}/code", response={200: ProvenOut, 400: Problem, 403: Problem, 404: Problem, 429: Problem}, summary="Prove recovery with the SMS code")
def recovery_code(request, flow_id: str, body: CodeIn):
    flow = _recovery_flow(flow_id)
    result, retry_after = recovery.prove_by_code(request, flow, body.code[:16])
    if result == "ok":
        return Status(200, _proven_out(request, flow))
    if result == "invalid":
        return Status(400, Problem(detail="the code is not correct or has expired"))
    return Status(429 if result == "throttled" else 403, Problem(detail=result))


@router.post("/recovery/link", response={200: ProvenOut, 410: Problem}, summary="Prove recovery with the e-mailed link's token (opened in the app)")
def recovery_link(request, body: LinkIn):
    flow = recovery.prove_by_link(request, body.token[:100])
    if flow is None:
        return Status(410, Problem(detail="the link is not valid any more"))
    return Status(200, _proven_out(request, flow))


@router.post("/recovery/{flow_id}/password", response={200: RecoveryDone, 400: Problem, 404: Problem, 409: Problem},
             summary="Finish recovery with a new password (the binding from the proof is needed)")
def recovery_password(request, flow_id: str, body: PasswordIn):
    flow = _proven_recovery_flow(flow_id, body.binding)
    if flow.state != Flow.State.PROVEN:
        return Status(409, Problem(detail=NOT_PROVEN))
    kind, login = recovery.login_of(flow)
    if flow.need == "login":
        if not recovery.complete(request, flow, None):
            return Status(409, Problem(detail=NOT_PROVEN))
        return Status(200, RecoveryDone(login=login, password_changed=False))
    problems = check_password_policy(body.new_password, roles=flow.account._active_roles(), context_words=context_words_for(flow.account))
    if problems:
        return Status(400, Problem(detail="the password does not follow the policy", problems=[p.message for p in problems]))
    if not recovery.complete(request, flow, body.new_password):
        return Status(409, Problem(detail=NOT_PROVEN))
    return Status(200, RecoveryDone(login=login, password_changed=True))


# --- sign-in by SMS code, and what a signed-in app can do -------------------------------------------
class SmsStartIn(Schema):
    national_id: str


class TokenOut(Schema):
    token: str
    expires_in: int


class MeOut(Schema):
    user_code: str
    name: str
    roles: list[str]


class ChangePasswordIn(Schema):
    current_password: str
    new_password: str
    end_other_sessions: bool = True


class EmailChangeIn(Schema):
    new_email: str
    password: str
    second_factor: str = Field("", description="required when the account has a second factor: a TOTP or a recovery code")


class PhoneChangeIn(Schema):
    new_mobile: str
    password: str
    second_factor: str = Field("", description="required when the account has a second factor: a TOTP or a recovery code")


def _flow(flow_id: str, kind: str, **filters) -> Flow:
    try:
        key = uuid.UUID(flow_id)
    except ValueError as exc:
        raise HttpError(404, "no such flow") from exc
    flow = kernel.find(kind, key, **filters)
    if flow is None:
        raise HttpError(404, "no such flow, or it has expired")
    return flow


def _refusal(outcome_kind: str, retry_after: int = 0):
    if outcome_kind == "invalid":
        return Status(400, Problem(detail="not correct"))
    return Status(429 if outcome_kind == "throttled" else 403, Problem(detail=outcome_kind))


@router.post("/sms-signin", response={202: FlowOut, 404: Problem, 429: Problem}, summary="Start sign-in by SMS code (seed 001)")
def start_sms_signin(request, body: SmsStartIn):
    if not settings.SCHOOLID_PROFILE.sms_sign_in_roles:
        return Status(404, Problem(detail="not offered in this country"))
    if not sms_flow.start(request, body.national_id[:40]):
        return Status(429, Problem(detail="too many requests; try again in an hour"))
    flow_id = request.session.pop(sms_flow.FLOW_SESSION_KEY)
    return Status(202, FlowOut(flow=flow_id, state="sent", detail=SENT))


@router.post("/sms-signin/{flow_id}/code", response={200: TokenOut, 400: Problem, 403: Problem, 404: Problem, 429: Problem}, summary="Finish sign-in by SMS code: a session token")
def sms_signin_code(request, flow_id: str, body: CodeIn):
    flow = _flow(flow_id, Flow.Kind.SMS_SIGNIN)
    outcome = sms_flow.verify(request, flow, body.code[:16], complete=tokens.issue_token)
    if outcome.kind != "ok":
        return _refusal(outcome.kind)
    return Status(200, TokenOut(token=outcome.token, expires_in=settings.SESSION_ABSOLUTE_SECONDS))


@router.get("/session", auth=tokens.SessionToken(), response=MeOut, summary="Who the token belongs to")
def whoami(request):
    account = request.user
    return MeOut(user_code=account.user_code, name=account.person.full_name if account.person else "", roles=sorted(account._active_roles()))


@router.delete("/session", auth=tokens.SessionToken(), response={204: None}, summary="Sign out: the token stops working")
def sign_out(request):
    tokens.end_token(request)
    return Status(204, None)


@router.post("/settings/password", auth=tokens.SessionToken(), response={200: Accepted, 400: Problem, 403: Problem, 429: Problem}, summary="Change password (current password needed)")
def change_password(request, body: ChangePasswordIn):
    from schoolid.accounts.services import change_password as change

    account = request.user
    problems = check_password_policy(body.new_password, roles=account._active_roles(), context_words=context_words_for(account))
    if problems:
        return Status(400, Problem(detail="the password does not follow the policy", problems=[p.message for p in problems]))
    outcome = change(request, account, body.current_password, body.new_password, end_other_sessions=body.end_other_sessions)
    if outcome == "ok":
        return Status(200, Accepted(detail="changed"))
    return _refusal("invalid" if outcome == "wrong_current" else outcome)


@router.post("/settings/email", auth=tokens.SessionToken(), response={202: Accepted, 400: Problem, 403: Problem, 429: Problem}, summary="Change e-mail: a link goes to the new address")
def change_email(request, body: EmailChangeIn):
    from schoolid.directory.services import RegisterError, normalize_email

    try:
        email = normalize_email(body.new_email)
    except RegisterError as exc:
        return Status(400, Problem(detail=str(exc.message)))
    outcome = contact_change.reauthenticate_for_contact(request, request.user, body.password, body.second_factor)
    if outcome == "wrong_code":
        return Status(400, Problem(detail="second factor required: a current TOTP or a recovery code"))
    if outcome != "ok":
        return _refusal("invalid" if outcome == "wrong" else outcome)
    if not contact_change.send_email_confirmation(request, request.user, email):
        return Status(429, Problem(detail="too many requests; try again in an hour"))
    return Status(202, Accepted(detail="open the link sent to the new address"))


@router.post("/settings/phone", auth=tokens.SessionToken(), response={202: FlowOut, 400: Problem, 403: Problem, 429: Problem}, summary="Change mobile: a code goes to the new number")
def change_phone(request, body: PhoneChangeIn):
    from schoolid.directory.services import RegisterError, normalize_mobile

    try:
        mobile = normalize_mobile(body.new_mobile)
    except RegisterError as exc:
        return Status(400, Problem(detail=str(exc.message)))
    outcome = contact_change.reauthenticate_for_contact(request, request.user, body.password, body.second_factor)
    if outcome == "wrong_code":
        return Status(400, Problem(detail="second factor required: a current TOTP or a recovery code"))
    if outcome != "ok":
        return _refusal("invalid" if outcome == "wrong" else outcome)
    if not mobile or not contact_change.start_phone_change(request, request.user, mobile):
        return Status(429, Problem(detail="too many requests; try again in an hour"))
    flow_id = request.session.pop(contact_change.PHONE_FLOW_KEY)
    return Status(202, FlowOut(flow=flow_id, state="sent", detail="a code was sent to the new number"))


@router.post("/settings/phone/{flow_id}/code", auth=tokens.SessionToken(), response={200: Accepted, 400: Problem, 403: Problem, 404: Problem, 429: Problem}, summary="Confirm the new mobile with its code")
def change_phone_code(request, flow_id: str, body: CodeIn):
    flow = _flow(flow_id, Flow.Kind.PHONE_CHANGE, account=request.user)
    outcome = contact_change.confirm_phone(request, request.user, flow, body.code[:16])
    if outcome != "ok":
        return _refusal(outcome)
    return Status(200, Accepted(detail="changed"))


# --- who can help, and the legacy security question ------------------------------------------------
class HelperOut(Schema):
    name: str
    role: str


class SchoolHelpOut(Schema):
    code: str
    name: str
    phone: str
    email: str
    address: str
    people: list[HelperOut]


class SchoolFound(Schema):
    code: str
    name: str
    area: str


class SessionOut(Schema):
    id: int
    device: str
    user_agent: str
    address: str
    last_used: str
    current: bool


@router.get("/settings/sessions", auth=tokens.SessionToken(), response=list[SessionOut], summary="My signed-in sessions (ASVS v5 7.5.2)")
def list_sessions(request):
    from schoolid.accounts import sessions

    here = sessions.current_digest(request)
    return [SessionOut(id=row.pk, device=sessions.device_label(row.user_agent), user_agent=row.user_agent, address=row.ip or "",
                       last_used=row.last_seen_at.isoformat(), current=row.key_digest == here)
            for row in sessions.open_sessions(request.user)[:50]]


@router.delete("/settings/sessions/{int:session_id}", auth=tokens.SessionToken(), response={204: None, 404: Problem}, summary="Sign one of my sessions out")
def end_session(request, session_id: int):
    from schoolid.accounts import sessions

    if not sessions.end_one(request, session_id):
        return Status(404, Problem(detail="no such session"))
    return Status(204, None)


@router.post("/settings/sessions/end-others", auth=tokens.SessionToken(), response={200: Accepted}, summary="Sign out everywhere but here")
def end_other_sessions(request):
    from schoolid.accounts import sessions

    ended = sessions.end_all_others(request)
    return Status(200, Accepted(detail=f"{ended} sessions ended"))


@router.get("/help", response=list[SchoolFound], summary="Who can help me: find a school by name")
def help_search(request, q: str = ""):
    from schoolid.directory.selectors import search_schools

    return [SchoolFound(code=s.code, name=s.name, area=s.parent.name if s.parent else "") for s in search_schools(q[:100])]


@router.get("/help/{code}", response={200: SchoolHelpOut, 404: Problem}, summary="Who can help me: a school's principal, secretary and office contact")
def help_school(request, code: str):
    from schoolid.accounts.selectors import school_helpers
    from schoolid.directory.models import OrgUnit

    school = OrgUnit.objects.filter(kind=OrgUnit.Kind.SCHOOL, code=code[:64], active=True).first()
    if school is None:
        return Status(404, Problem(detail="no such school"))
    people = [HelperOut(name=a.account.person.full_name if a.account.person else "", role=a.role) for a in school_helpers(school)]
    return Status(200, SchoolHelpOut(code=school.code, name=school.name, phone=school.contact_phone, email=school.contact_email, address=school.address, people=people))


class QuestionIn(Schema):
    question: str
    answer: str
    password: str


class AnswerIn(Schema):
    answer: str
    binding: str = ""


class QuestionOut(Schema):
    question: str


# The legacy question exists in the schema only where the country profile turns it on (§1: no KBA fields
# by default).
LEGACY_KBA = settings.SCHOOLID_PROFILE.legacy_security_questions


@router.post("/settings/security-question", auth=tokens.SessionToken(), include_in_schema=LEGACY_KBA, response={200: Accepted, 400: Problem, 403: Problem, 404: Problem, 429: Problem},
             summary="Legacy option only: set the security question (password needed)")
def set_security_question(request, body: QuestionIn):
    from schoolid.accounts import security_questions

    if not security_questions.enabled():
        return Status(404, Problem(detail="not offered"))
    if body.question not in security_questions.QUESTIONS or len(security_questions.normalize_answer(body.answer)) < 2:
        return Status(400, Problem(detail="choose a question and give an answer"))
    outcome = contact_change.reauthenticate(request, request.user, body.password)
    if outcome != "ok":
        return _refusal("invalid" if outcome == "wrong" else outcome)
    record = security_questions.SecurityAnswer.objects.filter(account=request.user).first() or security_questions.SecurityAnswer(account=request.user)
    record.question = body.question
    record.set_answer(body.answer)
    record.save()
    from schoolid.audit.services import record_event

    record_event("security_question.set", "success", actor=request.user, target=request.user, request=request, detail={"client": "api"})
    return Status(200, Accepted(detail="saved"))


@router.get("/recovery/{flow_id}/question", include_in_schema=LEGACY_KBA, response={200: QuestionOut, 404: Problem, 409: Problem},
            summary="Legacy option only: the question after the code (the proof's binding in X-Recovery-Binding)")
def recovery_question(request, flow_id: str):
    from schoolid.accounts import security_questions

    if not security_questions.enabled():
        return Status(404, Problem(detail="not offered"))
    # The binding travels in a header, never in the URL (FP-CS "URL Tokens").
    flow = _proven_recovery_flow(flow_id, request.headers.get("X-Recovery-Binding", ""))
    if flow.state != Flow.State.NEEDS_ANSWER:
        return Status(409, Problem(detail="no question is pending"))
    answer = security_questions.SecurityAnswer.objects.filter(account=flow.account).first()
    return Status(200, QuestionOut(question=str(security_questions.QUESTIONS[answer.question])))


@router.post("/recovery/{flow_id}/question", include_in_schema=LEGACY_KBA, response={200: ProvenOut, 400: Problem, 403: Problem, 404: Problem, 409: Problem, 429: Problem},
             summary="Legacy option only: answer the question")
def recovery_answer(request, flow_id: str, body: AnswerIn):
    from schoolid.accounts import security_questions

    if not security_questions.enabled():
        return Status(404, Problem(detail="not offered"))
    flow = _proven_recovery_flow(flow_id, body.binding)
    if flow.state != Flow.State.NEEDS_ANSWER:
        return Status(409, Problem(detail="no question is pending"))
    result, _retry = recovery.answer_question(request, flow, body.answer[:200])
    if result != "ok":
        return _refusal(result)
    return Status(200, ProvenOut(flow=str(flow.pk), state=flow.state, detail="proven", binding=body.binding))
