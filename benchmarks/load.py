"""A school morning against `schoolid serve`: a mix of password sign-ins, SMS sign-ins, console list
pages, slip downloads and SCIM reads, from concurrent clients, for a bounded time.

PostgreSQL + Redis when they answer on localhost (benchmarks/_common.py), the `il` demo country, all
server workers (one per core by default), an SMS gateway receiver started here. Prints throughput,
p50/p95/p99 latency per kind, errors (5xx and failed steps) and the server's CPU per request.

    python benchmarks/load.py [--seconds 20] [--clients 8] [--workers N] [--students 600]

Slip downloads go through one staff session at a time (a result page lives until that session opens
another console page), so their latency includes the wait for that desk.

Not here yet (issue 17 section 3): a register sync running meanwhile, the 10-minute hold at 2x the
single-core sign-in rate with its budget checks, and two instances behind a proxy.
"""
import argparse
import http.client
import http.server
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, bench_environment, describe, schoolid  # noqa: E402
from signin import server_cpu_seconds  # noqa: E402

SMS: list[str] = []


class Gateway(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        SMS.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))["text"])
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


class Client:
    """One browser: keeps cookies, follows no redirects; counts every request it makes."""

    def __init__(self, port: int, stats):
        self.port, self.stats, self.cookies, self.token = port, stats, {}, None

    def request(self, method, path, form=None, headers=None):
        headers = dict(headers or {}, **{"Accept-Language": "en"})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(dict(form, csrfmiddlewaretoken=self.token), doseq=True).encode()
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{self.port}{path}"})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        self.stats["requests"] += 1
        if response.status >= 500:
            self.stats["5xx"] += 1
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', data)
        if found:
            self.token = found.group(1).decode()
        return response.status, response.headers, data

    def submit(self, path, form):
        self.request("GET", path)
        return self.request("POST", path, form)


def password_signin(port, stats, ctx):
    who = random.choice(ctx["people"])
    status, headers, _ = Client(port, stats).submit("/signin/", {"identifier": who["user_code"], "password": who["password"]})
    return status == 302 and headers.get("Location") == "/account/"


def sms_signin(port, stats, ctx):
    client = Client(port, stats)
    before = len(SMS)
    status, _h, _b = client.submit("/signin/sms/", {"national_id": ctx["parent_national_id"]})
    if status != 302:
        return False
    deadline = time.monotonic() + 30
    while len(SMS) <= before and time.monotonic() < deadline:
        time.sleep(0.01)
    codes = [m for m in SMS[before:]]
    for text in codes:  # the clients run side by side: try the codes sent since this one started
        code = re.search(r"\b(\d{6})\b", text).group(1)
        status, headers, _ = client.request("POST", "/signin/sms/code/", {"code": code})
        if status == 302:
            return True
    return False


def staff(port, stats, ctx):
    client = Client(port, stats)
    principal = ctx["principal"]
    status, headers, _ = client.submit("/signin/", {"identifier": principal["user_code"], "password": principal["password"]})
    import pyotp

    status, headers, _ = client.submit(headers["Location"], {"code": pyotp.TOTP(principal["totp_seed"]).now()})
    return client if status == 302 else None


def console_page(port, stats, ctx):
    client = ctx["staff_clients"][0]
    status, _h, body = client.request("GET", f"/console/?type=students&page={random.randint(1, 5)}")
    return status == 200 and b'name="account"' in body


def slip_download(port, stats, ctx):
    """Issue one student's password and download the slip, in the slip desk's own session (a result
    page is shown only until the session opens another console page), one at a time."""
    with ctx["slip_lock"]:
        client = ctx["slip_client"]
        status, _h, page = client.request("GET", "/console/?type=students")
        codes = re.findall(rb'name="account" value="([^"]+)"', page)
        target = random.choice(codes).decode()
        status, _h, confirm = client.request("POST", "/console/issue/confirm/", {"account": [target]})
        key = re.search(rb'name="idempotency_key" value="([^"]+)"', confirm).group(1).decode()
        status, headers, _ = client.request("POST", "/console/issue/", {"idempotency_key": key, "account": [target]})
        if status != 302:
            return False
        status, _h, pdf = client.request("GET", headers["Location"] + "slips.pdf")
        return status == 200 and pdf.startswith(b"%PDF")


def scim_read(port, stats, ctx):
    client = Client(port, stats)
    status, _h, body = client.request("GET", f"/scim/v2/Users?startIndex={random.randint(1, 200)}&count=20",
                                      headers={"Authorization": f"Bearer {ctx['scim_token']}", "Accept": "application/scim+json"})
    return status == 200 and b"Resources" in body


# A morning: mostly sign-ins and pages; weights per request kind.
MIX = [(password_signin, 40), (sms_signin, 10), (console_page, 25), (slip_download, 5), (scim_read, 20)]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the run (bounded)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--students", type=int, default=600)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    gateway = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    env = bench_environment("load")
    env.update(SCHOOLID_PROFILE="il", SCHOOLID_ALLOWED_HOSTS="127.0.0.1", SMS_GATEWAY_URL=f"http://127.0.0.1:{gateway.server_address[1]}/send",
               SCHOOLID_SMS_SEND_LIMIT="1000000", SCHOOLID_LOGIN_IP_FAILURE_LIMIT="1000000", DJANGO_SETTINGS_MODULE="schoolid.settings")
    schoolid(env, "demo", "--country", "il", "--no-serve", "--students", str(args.students), "--seed", "5", capture_output=True)
    demo = json.loads((Path(env["SCHOOLID_VAR_DIR"]) / "demo.json").read_text())
    roles = {i["role"]: i for i in demo["identities"]}
    helper = ("import django, json; django.setup(); from schoolid.accounts.models import Account; "
              "from schoolid.provisioning.scim.services import create_token; "
              f"nid = Account.objects.get(user_code={roles['parent']['user_code'].replace('-', '')!r}).person.national_id; "
              "print(json.dumps([nid, create_token('load')[1]]))")
    national_id, scim_token = json.loads(subprocess.run([sys.executable, "-c", helper], env=env, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    ctx = {"people": [roles["parent"], roles["student"]], "principal": roles["principal"], "parent_national_id": national_id, "scim_token": scim_token}

    server = subprocess.Popen([sys.executable, "-m", "schoolid.cli", "serve", "--port", str(args.port), "--workers", str(args.workers), "--threads", str(args.threads)],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stats = {"requests": 0, "5xx": 0}
    latencies: dict[str, list[float]] = {fn.__name__: [] for fn, _ in MIX}
    failures: dict[str, int] = {fn.__name__: 0 for fn, _ in MIX}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                Client(args.port, {"requests": 0, "5xx": 0}).request("GET", "/api/v1/health")
                break
            except OSError:
                time.sleep(0.2)
        # Two staff sessions (console pages; the slip desk). A second-factor code is accepted once, so
        # the second session waits for the next code (at most 30 s).
        ctx["staff_clients"] = [staff(args.port, stats, ctx)]
        time.sleep(30 - time.time() % 30 + 1)
        ctx["slip_client"], ctx["slip_lock"] = staff(args.port, stats, ctx), threading.Lock()
        assert ctx["staff_clients"][0] and ctx["slip_client"], "staff sign-in failed"
        kinds, weights = zip(*MIX)
        cpu_before, requests_before = server_cpu_seconds(server.pid), stats["requests"]
        stop = time.monotonic() + args.seconds

        def client_loop(seed):
            rng = random.Random(seed)
            while time.monotonic() < stop:
                kind = rng.choices(kinds, weights)[0]
                start = time.perf_counter()
                try:
                    ok = kind(args.port, stats, ctx)
                except Exception:  # noqa: BLE001 - a failed step is counted, the run goes on
                    ok = False
                latencies[kind.__name__].append(time.perf_counter() - start)
                failures[kind.__name__] += not ok

        started = time.monotonic()
        threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        cpu = server_cpu_seconds(server.pid) - cpu_before
        requests = stats["requests"] - requests_before
    finally:
        server.terminate()
        server.wait(timeout=20)
        gateway.shutdown()
    print(f"school morning: {describe(env)}; {args.workers} server processes x {args.threads} threads, {args.clients} clients, {elapsed:.0f} s")
    print(f"{'kind':<16}{'done/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'failed':>8}")
    for name, values in latencies.items():
        ms = [v * 1000 for v in values]
        print(f"{name:<16}{len(values) / elapsed:>8.1f}{percentile(ms, 50):>9.0f}{percentile(ms, 95):>9.0f}{percentile(ms, 99):>9.0f}{failures[name]:>8}")
    print(f"HTTP requests: {requests} ({requests / elapsed:.1f}/s), 5xx: {stats['5xx']}, server CPU per request: {cpu / max(1, requests) * 1000:.1f} ms")
    return 1 if stats["5xx"] else 0


if __name__ == "__main__":
    sys.exit(main())
