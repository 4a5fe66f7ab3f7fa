"""Fault runs against `schoolid serve` (issue 17, section 4): each prints what it saw and exits non-zero
when a promise is broken. Every wait is bounded; every process started here is stopped here.

    python benchmarks/faults.py redis-down     # Redis killed in the middle of sign-ins, then restarted
    python benchmarks/faults.py gateway        # SMS gateway answering 500, then slow (30 s), then well
    python benchmarks/faults.py worker-kill    # a server worker SIGKILLed under load

PostgreSQL on localhost (a throw-away database), a private redis-server on a free port, the `il` demo.
`gateway` runs the production shape for jobs (a Celery worker; requests do not send).
"""
import argparse
import http.client
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, bench_environment  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway(http.server.BaseHTTPRequestHandler):
    """An SMS gateway that honours Idempotency-Key (a repeat of a key it took is not sent again)."""
    mode = "ok"  # ok | fail | slow
    received: list[str] = []  # texts sent to phones
    keys: dict[str, int] = {}  # key -> requests that carried it
    lock = threading.Lock()

    def do_POST(self):
        text = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))["text"]
        key = self.headers.get("Idempotency-Key") or text
        if type(self).mode == "slow":
            time.sleep(30)  # takes the message, answers long after the sender's timeout
        if type(self).mode == "fail":
            self.send_response(500)
            self.end_headers()
            return
        with type(self).lock:
            seen = key in type(self).keys
            type(self).keys[key] = type(self).keys.get(key, 0) + 1
            if not seen:
                type(self).received.append(text)
        try:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")
        except OSError:  # the sender gave up waiting
            pass

    def log_message(self, *args):
        pass


def request(port, method, path, form=None, cookies=None, token=None):
    headers = {"Accept-Language": "en"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urllib.parse.urlencode(dict(form, csrfmiddlewaretoken=token)).encode()
        headers.update({"Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{port}{path}"})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    for value in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        if cookies is not None:
            cookies[name] = rest.split(";", 1)[0]
    return response.status, response.headers, data


def submit(port, path, form):
    """GET the form, POST it; returns (status, headers, seconds of the POST)."""
    cookies = {}
    status, _h, page = request(port, "GET", path, cookies=cookies)
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not found:
        return status, {}, 0.0
    start = time.perf_counter()
    status, headers, _ = request(port, "POST", path, form, cookies, found.group(1).decode())
    return status, headers, time.perf_counter() - start


class Stack:
    """Database (demo), a private Redis, the server, optionally a Celery worker."""

    def __init__(self, *, celery: bool = False, sms_port: int | None = None):
        self.work = Path(tempfile.mkdtemp(prefix="schoolid-faults-"))
        self.redis_port, self.port = free_port(), free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = bench_environment("faults")
        self.env.update(SCHOOLID_VAR_DIR=str(self.work), SCHOOLID_PROFILE="il", REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
                        SCHOOLID_ALLOWED_HOSTS="127.0.0.1", DJANGO_SETTINGS_MODULE="schoolid.settings", SCHOOLID_SMS_SEND_LIMIT="100000",
                        SCHOOLID_LOGIN_IP_FAILURE_LIMIT="100000", SCHOOLID_LOG_LEVEL="INFO")
        if sms_port:
            self.env.update(SMS_GATEWAY_URL=f"http://127.0.0.1:{sms_port}/send", SMS_GATEWAY_TIMEOUT="5")
        if celery:
            self.env["SCHOOLID_EAGER_JOBS"] = "0"
        self.celery = celery

    def start_redis(self):
        self.procs["redis"] = subprocess.Popen(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                                                "--appendonly", "no", "--dir", str(self.work)], stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)

    def __enter__(self):
        self.start_redis()
        subprocess.run([sys.executable, "-m", "schoolid.cli", "demo", "--country", "il", "--no-serve", "--students", "60", "--seed", "9"],
                       env=self.env, check=True, capture_output=True, timeout=600)
        self.demo = json.loads((self.work / "demo.json").read_text())
        self.parent = next(i for i in self.demo["identities"] if i["role"] == "parent")
        self.national_id = subprocess.run([sys.executable, "-c", "import django; django.setup(); from schoolid.accounts.models import Account; "
                                           f"print(Account.objects.get(user_code={self.parent['user_code'].replace('-', '')!r}).person.national_id)"],
                                          env=self.env, check=True, capture_output=True, text=True).stdout.strip()
        self.log = open(self.work / "serve.log", "w")
        self.procs["serve"] = subprocess.Popen([sys.executable, "-m", "schoolid.cli", "serve", "--port", str(self.port), "--workers", "2"],
                                               env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        if self.celery:
            self.procs["worker"] = subprocess.Popen([sys.executable, "-m", "celery", "-A", "schoolid", "worker", "--pool", "threads", "--concurrency", "4",
                                                     "--loglevel", "WARNING"], env=self.env, cwd=self.work, stdout=self.log, stderr=subprocess.STDOUT,
                                                    start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/api/v1/ready")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        raise SystemExit("the server did not become ready")

    def __exit__(self, *exc):
        for name, proc in self.procs.items():
            if proc.poll() is None:
                (os.killpg(proc.pid, signal.SIGTERM) if name != "redis" else proc.terminate())
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.log.close()

    def sign_in(self, password=None):
        return submit(self.port, "/signin/", {"identifier": self.parent["user_code"], "password": password or self.parent["password"]})

    def worker_pids(self):
        return [int(p) for p in Path(f"/proc/{self.procs['serve'].pid}/task/{self.procs['serve'].pid}/children").read_text().split()]


def redis_down(args) -> int:
    problems = []
    with Stack() as stack:
        before = [stack.sign_in()[0] for _ in range(3)]
        stack.procs["redis"].kill()
        stack.procs["redis"].wait()
        down = [stack.sign_in()[0] for _ in range(5)] + [stack.sign_in("a wrong password here")[0] for _ in range(5)]
        ready_down = request(stack.port, "GET", "/api/v1/ready")[0]
        stack.start_redis()
        start, back = time.monotonic(), None
        while time.monotonic() - start < 30:
            if stack.sign_in()[0] == 302:
                back = time.monotonic() - start
                break
            time.sleep(0.5)
        ready_up = request(stack.port, "GET", "/api/v1/ready")[0]
        log = (stack.work / "serve.log").read_text()
    print(f"redis-down: before {before}; while down {down} (ready {ready_down}); after restart: sign-in back in "
          f"{'never' if back is None else f'{back:.1f} s'} (ready {ready_up})")
    if set(before) != {302}:
        problems.append("sign-in did not work before the fault")
    if any(s == 302 for s in down):
        problems.append("a sign-in succeeded while the throttle counters could not be read (fail open)")
    if any(s == 500 for s in down) or ready_down != 503:
        problems.append("an unclear 500 (or readiness not 503) while Redis was down")
    if back is None or ready_up != 200:
        problems.append("the service did not come back by itself")
    if "Fatal Python error" in log:
        problems.append("the server crashed")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


def gateway(args) -> int:
    problems = []
    sms = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=sms.serve_forever, daemon=True).start()
    try:
        with Stack(celery=True, sms_port=sms.server_address[1]) as stack:
            timings = {}
            for mode in ("fail", "slow"):
                Gateway.mode = mode
                times = []
                for _ in range(4):
                    status, headers, seconds = submit(stack.port, "/signin/sms/", {"national_id": stack.national_id})
                    times.append(seconds)
                    if status != 302:
                        problems.append(f"SMS sign-in start answered {status} with the gateway {mode}")
                timings[mode] = max(times)
            Gateway.mode = "ok"
            time.sleep(35)  # the slow gateway finishes the requests it was holding (the worker gave up after 5 s)
            for _ in range(2):  # the failed messages wait for their retry time: make them due and deliver
                subprocess.run([sys.executable, "-c", "import django; django.setup(); from django.utils import timezone; "
                                "from schoolid.notify.models import OutboxMessage as M; M.objects.filter(status='queued').update(next_attempt_at=timezone.now()); "
                                "from schoolid.notify.services import deliver_due; print(deliver_due())"], env=stack.env, check=True, timeout=300, capture_output=True)
            counts = json.loads(subprocess.run([sys.executable, "-c", "import django, json; django.setup(); from django.db.models import Count; "
                                                "from schoolid.notify.models import OutboxMessage as M; "
                                                "print(json.dumps({r['status']: r['n'] for r in M.objects.values('status').annotate(n=Count('pk')).order_by()}))"],
                                               env=stack.env, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    finally:
        sms.shutdown()
    texts = Gateway.received
    duplicates = len(texts) - len(set(texts))
    repeats = sum(n - 1 for n in Gateway.keys.values())
    print(f"gateway: slowest SMS sign-in start with the gateway failing {timings.get('fail', 0) * 1000:.0f} ms, "
          f"slow {timings.get('slow', 0) * 1000:.0f} ms; outbox afterwards {counts}; sent to phones {len(texts)}, twice {duplicates}; "
          f"repeated tries recognised by their Idempotency-Key {repeats}")
    if max(timings.values()) > 2.0:
        problems.append("a request waited for the gateway")
    if duplicates:
        problems.append("a message was sent twice")
    if counts.get("sent", 0) != 8:
        problems.append(f"not every message was delivered once the gateway was back: {counts}")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


def worker_kill(args) -> int:
    problems = []
    with Stack() as stack:
        results, stop = [], [False]

        def load():
            while not stop[0]:
                try:
                    results.append((time.monotonic(), request(stack.port, "GET", "/signin/")[0]))
                except OSError as exc:
                    results.append((time.monotonic(), type(exc).__name__))

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(3)
        victim = stack.worker_pids()[0]
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (len(stack.worker_pids()) < 2 or victim in stack.worker_pids()):
            time.sleep(0.2)
        replaced = len(stack.worker_pids()) == 2 and victim not in stack.worker_pids()
        replaced_at = time.monotonic()
        time.sleep(8)  # the new worker loads the application, then serves
        stop[0] = True
        for t in threads:
            t.join()
    failed = [r for r in results if r[1] != 200]
    after = [r for r in results if r[0] > replaced_at + 5]
    print(f"worker-kill: {len(results)} requests, {len(failed)} failed ({sorted({str(r[1]) for r in failed})}), worker replaced: {replaced} "
          f"(process back {replaced_at - killed_at:.1f} s after the kill), {sum(1 for r in after if r[1] == 200)}/{len(after)} fine from 5 s after that")
    print("  (the requests in flight on the killed worker are lost to the client; a proxy retries idempotent ones: deploy/nginx.conf)")
    if not replaced:
        problems.append("the killed worker was not replaced")
    if not after or any(r[1] != 200 for r in after):
        problems.append("errors continued after the worker was replaced")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fault", choices=["redis-down", "gateway", "worker-kill"])
    args = parser.parse_args()
    return {"redis-down": redis_down, "gateway": gateway, "worker-kill": worker_kill}[args.fault](args)


if __name__ == "__main__":
    sys.exit(main())
