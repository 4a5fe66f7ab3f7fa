"""The production shape, started from `make install` alone (no test extras), walked end to end.

PostgreSQL and Redis (already running), a Celery worker and beat, `schoolid serve` with
SCHOOLID_MODE=production behind an assumed TLS proxy (X-Forwarded-Proto), an SMTP receiver and an SMS
gateway receiver started here. Walks: a password sign-in, a principal's issuance (second factor, slips
PDF), an SMS sign-in (the code arrives through the Celery worker) and a recovery (the e-mailed link).
Uses only the standard library and the runtime dependencies. Cleans up its processes, database and
Redis database; exits non-zero on the first failure.

    .venv-prod/bin/python .ci/production_smoke.py [--pg postgres://postgres@127.0.0.1:5432] [--redis-db 13]
"""
import argparse
import email
import email.policy
import http.client
import http.cookies
import http.server
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

STEP_SECONDS = 60  # every wait below is bounded


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.sms: list[dict] = []
        self.mail: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    def wait(self, kind: str, count: int) -> list:
        deadline = time.monotonic() + STEP_SECONDS
        while time.monotonic() < deadline:
            with self.lock:
                items = list(getattr(self, kind))
            if len(items) >= count:
                return items
            time.sleep(0.2)
        raise AssertionError(f"no {kind} arrived within {STEP_SECONDS} s (have {len(items)})")


INBOX = Inbox()


class SmsGateway(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with INBOX.lock:
            INBOX.sms.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


class Smtp(socketserver.StreamRequestHandler):
    """Enough SMTP for Django's backend without TLS: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def reply(self, line: str):
        self.wfile.write((line + "\r\n").encode())

    def handle(self):
        self.reply("220 smoke ESMTP")
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-smoke")
                self.reply("250 8BITMIME")
            elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with .")
                data = bytearray()
                while True:
                    chunk = self.rfile.readline(1 << 20)
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                with INBOX.lock:
                    INBOX.mail.append(email.message_from_bytes(bytes(data), policy=email.policy.default))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not here")


class Browser:
    """Cookies kept by name (the production cookies are Secure: the proxy in front speaks TLS), no
    redirects followed, every request marked as having come through the TLS proxy."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}
        self.origin = f"https://127.0.0.1:{port}"

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, bytes]:
        headers = {"Host": f"127.0.0.1:{self.port}", "X-Forwarded-Proto": "https", "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            form = dict(form, csrfmiddlewaretoken=self.csrf_token)
            body = urllib.parse.urlencode(form, doseq=True).encode()
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin, "Referer": self.origin + path})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(value)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', data)
        if found:
            self.csrf_token = found.group(1).decode()
        if response.status >= 500:
            raise AssertionError(f"{method} {path}: {response.status}\n{data[:2000]!r}")
        return response.status, response.headers, data

    def get(self, path: str):
        return self.request("GET", path)

    def submit(self, path: str, form: dict):
        """GET the form page (fresh token), then POST it."""
        self.get(path)
        return self.request("POST", path, form)


def expect_redirect(result, to: str, what: str) -> str:
    status, headers, body = result
    location = headers.get("Location", "")
    assert status == 302 and location.startswith(to), f"{what}: {status} {location!r}\n{body[:1500]!r}"
    return location


def walk(port: int, demo: dict, national_id: str, totp_now) -> list[str]:
    done = []
    parent = next(i for i in demo["identities"] if i["role"] == "parent")
    principal = next(i for i in demo["identities"] if i["role"] == "principal")

    # 1. A password sign-in.
    browser = Browser(port)
    expect_redirect(browser.submit("/signin/", {"identifier": parent["user_code"], "password": parent["password"]}), "/account/", "password sign-in")
    assert browser.get("/account/")[0] == 200
    done.append("password sign-in")

    # 2. An issuance: the principal signs in with the second factor and issues one student's password.
    staff = Browser(port)
    step = expect_redirect(staff.submit("/signin/", {"identifier": principal["user_code"], "password": principal["password"]}), "/signin/second-factor/", "principal sign-in")
    expect_redirect(staff.submit(step, {"code": totp_now(principal["totp_seed"])}), "/", "second factor")
    status, _headers, page = staff.get("/console/?type=students")
    assert status == 200, f"console: {status}"
    student_code = re.search(rb'name="account" value="([^"]+)"', page).group(1).decode()
    status, _headers, confirm = staff.request("POST", "/console/issue/confirm/", {"account": [student_code]})
    assert status == 200, f"issue confirm: {status}"
    key = re.search(rb'name="idempotency_key" value="([^"]+)"', confirm).group(1).decode()
    issued = expect_redirect(staff.request("POST", "/console/issue/", {"idempotency_key": key, "account": [student_code]}), "/console/issued/", "issuance")
    assert staff.get(issued)[2].count(b'class="secret"') == 1
    status, headers, pdf = staff.get(issued + "slips.pdf")
    assert status == 200 and pdf.startswith(b"%PDF"), f"slips: {status}"
    done.append("issuance (second factor, slips PDF)")

    # 3. An SMS sign-in: the code comes through the Celery worker to the gateway.
    sms_before = len(INBOX.sms)
    phone = Browser(port)
    expect_redirect(phone.submit("/signin/sms/", {"national_id": national_id}), "/signin/sms/code/", "SMS sign-in start")
    text = INBOX.wait("sms", sms_before + 1)[-1]["text"]
    code = re.search(r"\b(\d{6})\b", text).group(1)
    expect_redirect(phone.submit("/signin/sms/code/", {"code": code}), "/", "SMS code")
    assert phone.get("/account/")[0] == 200
    done.append("SMS sign-in (code delivered by the worker)")

    # 4. A recovery by the e-mailed link, then a sign-in with the new password.
    mail_before = len(INBOX.mail)
    lost = Browser(port)
    expect_redirect(lost.submit("/recover/", {"need": "password", "identifier": parent["user_code"]}), "/recover/sent/", "recovery start")
    message = INBOX.wait("mail", mail_before + 1)[-1]
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"https?://[^\s]+/recover/link/[^\s/]+/", body).group(0)
    finish = expect_redirect(lost.get(urllib.parse.urlsplit(link).path), "/recover/", "recovery link")
    new_password = "smoke " + secrets.token_hex(8) + " lantern quietly"
    status, _headers, page = lost.submit(finish, {"new_password": new_password, "new_password_again": new_password})
    assert status == 200, f"recovery finish: {status} {page[:800]!r}"
    expect_redirect(Browser(port).submit("/signin/", {"identifier": parent["user_code"], "password": new_password}), "/account/", "sign-in after recovery")
    done.append("recovery (e-mailed link, new password signs in)")

    # 5. What operators read: readiness, and metrics summed over both server workers.
    assert Browser(port).get("/api/v1/ready")[0] == 200
    status, _headers, text = Browser(port).get("/metrics")
    assert status == 200 and b'schoolid_signin_events_total{action="signin",result="success"}' in text, text[:1500]
    assert b'schoolid_outbox_messages{status="sent"}' in text
    done.append("readiness and metrics")
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("SMOKE_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--redis", default=os.environ.get("SMOKE_REDIS", "redis://127.0.0.1:6379"))
    parser.add_argument("--redis-db", type=int, default=int(os.environ.get("SMOKE_REDIS_DB", "13")))
    args = parser.parse_args()

    import psycopg
    import pyotp
    import redis

    work = Path(tempfile.mkdtemp(prefix="schoolid-smoke-"))
    database = f"schoolid_smoke_{os.getpid()}"
    redis_url = f"{args.redis}/{args.redis_db}"
    processes: list[tuple[str, subprocess.Popen]] = []
    servers = []
    failed = True
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
        admin.execute(f'CREATE DATABASE "{database}"')
    redis.Redis.from_url(redis_url).flushdb()
    try:
        sms = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SmsGateway)
        smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
        smtp.daemon_threads = True
        for server in (sms, smtp):
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHOOLID_", "DJANGO_", "EMAIL_", "SMS_", "CELERY_"))}
        env.update(
            SCHOOLID_MODE="production", SCHOOLID_SECRET_KEY=secrets.token_urlsafe(50), SCHOOLID_ALLOWED_HOSTS="127.0.0.1",
            SCHOOLID_BASE_URL=f"https://127.0.0.1:{port}", SCHOOLID_BEHIND_PROXY="1", SCHOOLID_PROFILE="il",
            SCHOOLID_VAR_DIR=str(work / "var"), DATABASE_URL=f"{args.pg}/{database}", REDIS_URL=redis_url,
            SMS_GATEWAY_URL=f"http://127.0.0.1:{sms.server_address[1]}/send", SMS_GATEWAY_TOKEN="smoke",
            EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp.server_address[1]), EMAIL_USE_TLS="0", EMAIL_USE_SSL="0",
            PYTHONFAULTHANDLER="1", DJANGO_SETTINGS_MODULE="schoolid.settings",
        )
        python = sys.executable

        def run(*command):
            done = subprocess.run([python, *command], env=env, cwd=work, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, f"{command}: {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
            return done.stdout

        def start(name, *command):
            log = open(work / f"{name}.log", "w")
            processes.append((name, subprocess.Popen([python, *command], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)))

        run("-m", "schoolid.cli", "migrate", "--verbosity", "0")
        run("-m", "schoolid.cli", "demo", "--country", "il", "--no-serve", "--students", "60", "--seed", "3")
        demo = json.loads((work / "var" / "demo.json").read_text())
        parent = next(i for i in demo["identities"] if i["role"] == "parent")
        national_id = run("-c", "import django; django.setup(); from schoolid.accounts.models import Account; "
                          f"print(Account.objects.get(user_code={parent['user_code'].replace('-', '')!r}).person.national_id)").strip()
        start("worker", "-m", "celery", "-A", "schoolid", "worker", "--pool", "solo", "--loglevel", "INFO")
        start("beat", "-m", "celery", "-A", "schoolid", "beat", "--loglevel", "INFO", "--schedule", str(work / "beat-schedule"))
        start("serve", "-m", "schoolid.cli", "serve", "--port", str(port), "--workers", "2")
        deadline = time.monotonic() + STEP_SECONDS
        while True:
            try:
                status, _h, body = Browser(port).get("/api/v1/health")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /api/v1/health"
            for name, process in processes:
                assert process.poll() is None, f"{name} exited with {process.returncode}"
            time.sleep(0.3)
        steps = walk(port, demo, national_id, lambda seed: pyotp.TOTP(seed).now())
        for name, process in processes:
            assert process.poll() is None, f"{name} exited with {process.returncode}"
        serve_log = (work / "serve.log").read_text()
        assert "Fatal Python error" not in serve_log and "Unexpected exit" not in serve_log, serve_log[-3000:]
        assert "beat: Starting" in (work / "beat.log").read_text()
        for step in steps:
            print(f"ok  {step}")
        print(f"ok  production shape: PostgreSQL, Redis, Celery worker and beat, schoolid serve (2 workers); {len(INBOX.sms)} SMS, {len(INBOX.mail)} e-mail received")
        failed = False
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
    finally:
        for _name, process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            if failed:
                log = work / f"{name}.log"
                print(f"--- {name} log (last lines) ---\n" + "\n".join(log.read_text().splitlines()[-30:]) if log.exists() else "", file=sys.stderr)
        for server in servers:
            server.shutdown()
        with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        redis.Redis.from_url(redis_url).flushdb()
        if not failed:
            subprocess.run(["rm", "-rf", str(work)], check=False)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
