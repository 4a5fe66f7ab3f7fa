"""Issue 11 item 3: a known and an unknown identifier get the same status, body, cookies, timing and
throttling on sign-in, SMS sign-in, recovery, activation and registration (security requirements §3:
FP-CS; Auth-CS "Authentication Responses"; ASVS v5 6.3.8; §2: NIST §3.2.2, ASVS v5 6.1.1, 2.4.1).

The served part runs `schoolid serve` with one and with two workers, on the embedded default (SQLite,
no Redis) and on PostgreSQL with Redis: every counter must be shared by the workers, or the unknown
identifier is throttled later than the known one and more SMS reach a number than the limit allows."""
import datetime
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.parse

import pytest
from django.test import Client

from schoolid.core.profiles import load_profile
from schoolid.directory.national_ids import SCHEMES
from tests import factories as f
from tests.servers import migrate, serving

PASSWORD = "olive tree behind the station"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_rng = random.Random(110003)

SEED = """
import datetime, json
import django
django.setup()
from tests import factories as f
t = f.org_tree()
parent = f.account("guardian", t["school_a"], password=%(password)r, email="known@example.org", email_verified=True,
                   mobile="050-234-5678", mobile_verified=True, birth_date=datetime.date(1985, 4, 23))
f.activate(parent)
print(json.dumps({"national_id": parent.person.national_id}))
"""


OUTBOX = """
import json
import django
django.setup()
from schoolid.notify.models import OutboxMessage
print(json.dumps([[m.channel, m.to, m.subject, m.body] for m in OutboxMessage.objects.order_by("created_at")]))
"""


def _outbox(env: dict) -> list[list[str]]:
    """Every message the served deployment stored (read through its own settings)."""
    out = subprocess.run([sys.executable, "-c", OUTBOX], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _csrf_normalised(body: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value="T"', body)


def _cookie_names(headers) -> list[str]:
    return sorted(c.split("=", 1)[0].strip() for c in headers.get_all("Set-Cookie") or [])


class Browser:
    """One fresh client against a served port: its own cookies, a new connection per request (so the
    requests spread over the server's workers)."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, data: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Accept-Language": "en", "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        content = answer.read().decode()
        elapsed = time.perf_counter() - started
        conn.close()
        for raw in answer.headers.get_all("Set-Cookie") or []:
            name, value = raw.split(";", 1)[0].split("=", 1)
            self.cookies[name.strip()] = value
        return answer.status, _csrf_normalised(content), _cookie_names(answer.headers), answer.headers.get("Location", ""), elapsed

    def post_form(self, path: str, data: dict):
        _status, page, *_ = self.request("GET", path)
        token = self.cookies.get("csrf", "")
        return self.request("POST", path, {**data, "csrfmiddlewaretoken": token})


def _unknown_id(scheme_code: str) -> str:
    return SCHEMES[scheme_code].generate(_rng, birth_date=datetime.date(1984, 2, 2))


def _same(a, b, what, typed=()):
    """Status, body (CSRF token and the echoed identifier aside), cookie names and Location alike."""
    def norm(answer):
        body = answer[1]
        for value in typed:
            body = body.replace(value, "TYPED")
        # The wait counts down from each identifier's own last attempt: a second apart is not a tell.
        body = re.sub(r"Wait \d+ seconds", "Wait N seconds", body)
        return answer[0], body, answer[2], answer[3]

    x, y = norm(a), norm(b)
    if x != y:
        import difflib

        diff = "\n".join(difflib.unified_diff(x[1].splitlines(), y[1].splitlines(), lineterm="", n=1))
        raise AssertionError(f"{what}: {x[0]} {x[2]} {x[3]} vs {y[0]} {y[2]} {y[3]}\n{diff}")


def _timing_alike(known: list[float], unknown: list[float], what: str) -> None:
    # Medians within a generous factor: the password hash (or the dummy one) dominates both.
    k, u = statistics.median(known), statistics.median(unknown)
    assert max(k, u) <= 1.6 * min(k, u) + 0.015, (what, round(k * 1000, 1), round(u * 1000, 1))


def _server_env(tmp_path, backend: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(SCHOOLID_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="schoolid.settings", SCHOOLID_PROFILE="il",
               PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "src"), ROOT]))
    if backend == "postgres+redis":
        database = f"schoolid_enum_{os.getpid()}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", "-qc", f"CREATE DATABASE {database}"],
                       check=True, capture_output=True)
        env.update(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}", REDIS_URL="redis://127.0.0.1:6379/3")
    return env


def _drop(env: dict) -> None:
    if "DATABASE_URL" in env:
        database = env["DATABASE_URL"].rsplit("/", 1)[1]
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], capture_output=True)


@pytest.mark.parametrize("backend,workers", [("embedded", "1"), ("embedded", "2"), ("postgres+redis", "2")])
def test_served_answers_and_limits_do_not_tell_known_from_unknown(tmp_path, backend, workers):
    """ASVS v5 6.3.8; FP-CS; NIST §3.2.2; ASVS v5 2.4.1: under `schoolid serve --workers N`, with and
    without Redis: sign-in, SMS sign-in, recovery and registration answer a known and an unknown
    national ID alike (status, body, cookie names, median time; the registrant's mailbox and phone),
    the unknown one is throttled at the same attempt, and no more SMS codes reach the number than the
    limit. (Old code, two workers without Redis: counters
    per process, so the unknown ID was throttled later and the send limit split.)"""
    if backend == "postgres+redis" and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("PostgreSQL not in use")
    env = _server_env(tmp_path, backend)
    try:
        migrate(env)
        seeded = subprocess.run([sys.executable, "-c", SEED % {"password": PASSWORD}], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        known = json.loads(seeded.stdout.strip().splitlines()[-1])["national_id"]
        unknown = _unknown_id("il_teudat_zehut")
        with serving(env, "--workers", workers) as (_server, port, body):
            for _ in range(120):  # a loaded machine may take longer than serving() waits
                if body is not None:
                    break
                try:
                    body = Browser(port).request("GET", "/api/v1/health")
                except OSError:
                    time.sleep(0.5)
            assert body is not None
            # Sign-in: same answers, same time (the real hash and the dummy one), same throttling.
            times = {known: [], unknown: []}
            sequences = {known: [], unknown: []}
            for attempt in range(7):
                answers = {}
                for who in (known, unknown):
                    answers[who] = Browser(port).post_form("/signin/", {"identifier": who, "password": "not the password at all"})
                    sequences[who].append(answers[who][0])
                    times[who].append(answers[who][4])
                _same(answers[known], answers[unknown], f"sign-in attempt {attempt + 1}", (known, unknown))
            assert sequences[known] == [200] * 5 + [429] * 2, sequences
            _timing_alike(times[known][:5], times[unknown][:5], "sign-in")

            # SMS sign-in: same answers and the send limit holds across workers.
            sms = {known: [], unknown: []}
            for attempt in range(7):
                answers = {who: Browser(port).post_form("/signin/sms/", {"national_id": who}) for who in (known, unknown)}
                _same(answers[known], answers[unknown], f"sms start {attempt + 1}", (known, unknown))
                for who in (known, unknown):
                    sms[who].append(answers[who][0])
            assert sms[known] == [302] * 5 + [429] * 2, sms

            # Recovery: same answers, the same next page, similar time.
            times = {known: [], unknown: []}
            for attempt in range(4):
                answers = {}
                for who in (known, unknown):
                    browser = Browser(port)
                    answers[who] = browser.post_form("/recover/", {"need": "password", "identifier": who})
                    times[who].append(answers[who][4])
                    answers[who] = answers[who][:4] + browser.request("GET", answers[who][3])[:3]
                assert answers[known] == answers[unknown], f"recovery {attempt + 1}"
            _timing_alike(times[known], times[unknown], "recovery")

            # Registration: the step that makes the account (new ID) or tells the owner (known ID)
            # answers alike, and the typed contacts get the same messages (codes and links aside).
            steps, contacts = {}, {known: ("k@example.org", "054-765-4311", "+972547654311"), unknown: ("u@example.org", "054-765-4355", "+972547654355")}
            for who in (known, unknown):
                browser = Browser(port)
                email, mobile, e164 = contacts[who]
                browser.post_form("/register/", {"national_id": who, "given_name": "Miriam", "family_name": "Cohen", "birth_date": "1985-04-23"})
                assert browser.post_form("/register/contact/", {"email": email, "mobile": mobile})[3] == "/register/codes/"
                sent = _outbox(env)
                code = lambda to: re.search(r"\b\d{6}\b", [m for m in sent if m[1] == to][-1][3]).group(0)  # noqa: E731
                steps[who] = browser.post_form("/register/codes/", {"email_code": code(email), "mobile_code": code(e164)})
                steps[who] = steps[who][:4] + browser.request("GET", steps[who][3])[:3]
            assert steps[known] == steps[unknown] and steps[known][3] == "/register/created/"
            sent = _outbox(env)
            mask = lambda text: re.sub(r"/register/password/[A-Za-z0-9_-]+/", "/T/", re.sub(r"\b\d{6}\b", "N", text))  # noqa: E731
            box = {who: sorted((m[0], m[2], mask(m[3])) for m in sent if m[1] in contacts[who][::2]) for who in (known, unknown)}
            assert len(box[known]) == 4 and box[known] == box[unknown], box
    finally:
        _drop(env)


# --- in-process: activation, registration and the API, on the test database and Redis ----------------
def _page(answer):
    return answer.status_code, _csrf_normalised(answer.content.decode()), sorted(answer.cookies.keys()), answer.get("Location", "")


def _timed(call):
    started = time.perf_counter()
    answer = call()
    return answer, time.perf_counter() - started


@pytest.mark.django_db(transaction=True)
def test_activation_answers_known_and_unknown_alike(settings, smtp):
    """ASVS v5 6.3.8; FP-CS: activation from the register (seed 002) answers a national ID with an
    account, and one without, with the same status, page, cookies and (padded) time; over the API too."""
    settings.SCHOOLID_PROFILE = load_profile("pl")
    settings.FLOW_ANSWER_SECONDS, settings.DELIVER_AFTER_RESPONSE = 0.25, True
    pupil = f.account("student", f.org_tree()["class_a1"], email="jan@example.org", birth_date=datetime.date(2008, 5, 5))
    known, unknown = pupil.person.national_id, _unknown_id("pl_pesel")
    times = {known: [], unknown: []}
    for _ in range(4):
        answers = {}
        for who in (known, unknown):
            client = Client()
            answer, took = _timed(lambda: client.post("/activate/", {"identifier": who}, HTTP_ACCEPT_LANGUAGE="en"))
            times[who].append(took)
            answers[who] = _page(answer) + _page(client.get(answer["Location"], HTTP_ACCEPT_LANGUAGE="en"))
        assert answers[known] == answers[unknown]
    _timing_alike(times[known], times[unknown], "activation")
    for _ in range(100):  # delivered after the answers, on background threads
        if len(smtp.messages) >= 4:
            break
        time.sleep(0.1)
    assert len(smtp.messages) == 4  # the known one was e-mailed each time; the unknown one never
    api = {who: Client().post("/api/v1/flows/activation", json.dumps({"identifier": who}), content_type="application/json") for who in (known, unknown)}
    assert (api[known].status_code, api[known].json(), sorted(api[known].cookies)) == (api[unknown].status_code, api[unknown].json(), sorted(api[unknown].cookies))


@pytest.mark.django_db(transaction=True)
def test_api_starts_answer_known_and_unknown_alike(settings, smtp, gateway):
    """ASVS v5 6.3.8; FP-CS: the JSON API's recovery and SMS sign-in starts answer a known and an
    unknown identifier with the same status, body shape and state (the flow id aside) and cookies."""
    settings.SCHOOLID_PROFILE = load_profile("il")
    parent = f.account("guardian", f.org_tree()["school_a"], password=PASSWORD, email="known@example.org", email_verified=True,
                       mobile="050-234-5678", mobile_verified=True)
    f.activate(parent)
    known, unknown = parent.person.national_id, _unknown_id("il_teudat_zehut")
    for path, field in (("/api/v1/flows/recovery", "identifier"), ("/api/v1/flows/sms-signin", "national_id")):
        answers = {}
        for who in (known, unknown):
            answer = Client().post(path, json.dumps({field: who}), content_type="application/json")
            body = answer.json()
            answers[who] = (answer.status_code, sorted(body), body.get("state"), body.get("detail"), sorted(answer.cookies))
        assert answers[known] == answers[unknown], path
    assert len(smtp.messages) == 1 and len(gateway.received) == 1  # only the known one got anything


@pytest.mark.django_db(transaction=True)
def test_registration_codes_step_takes_as_long_for_a_known_id(settings):
    """ASVS v5 6.3.8; FP-CS: the step that makes the account (new ID) or tells the owner (known ID)
    gives the same page and takes about as long (padded); the mailbox test is in test_registration."""
    from schoolid.notify.models import OutboxMessage

    settings.SCHOOLID_PROFILE = load_profile("il")
    settings.FLOW_ANSWER_SECONDS, settings.DELIVER_AFTER_RESPONSE = 0.25, True
    owner = f.account("guardian", f.org_tree()["school_a"], password=PASSWORD, email="owner@example.org", email_verified=True,
                      given_name="Miriam", family_name="Cohen", birth_date=datetime.date(1985, 4, 23))
    f.activate(owner)

    def code(purpose, to):
        body = OutboxMessage.objects.filter(purpose=purpose, to=to).order_by("-created_at").first().body
        return re.search(r"\b\d{6}\b", body).group(0)

    times, pages = {"known": [], "new": []}, {"known": [], "new": []}
    for n in range(3):
        for kind in ("known", "new"):
            client = Client()
            national_id = owner.person.national_id if kind == "known" else _unknown_id("il_teudat_zehut")
            client.post("/register/", {"national_id": national_id, "given_name": "Miriam", "family_name": "Cohen", "birth_date": "1985-04-23"})
            email, mobile = f"{kind}{n}@example.org", f"054-765-43{n}{1 if kind == 'known' else 5}"
            assert client.post("/register/contact/", {"email": email, "mobile": mobile}).status_code == 302
            to_mobile = OutboxMessage.objects.filter(purpose="registration.sms_code").order_by("-created_at").first().to
            answer, took = _timed(lambda: client.post("/register/codes/", {"email_code": code("registration.email_code", email),
                                                                            "mobile_code": code("registration.sms_code", to_mobile)}))
            times[kind].append(took)
            pages[kind].append(_page(answer))
    assert pages["known"] == pages["new"]
    _timing_alike(times["known"], times["new"], "registration")
