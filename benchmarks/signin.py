"""Web password sign-ins per second per core, against the bare Argon2id verify rate, in one run.

The server is one Granian worker process pinned to one core (taskset), with threads so that a request
waiting on the database does not leave the core idle; the clients run on the other core.
A sign-in is what a browser does: GET /signin/ (fresh session and CSRF token), POST the form, and
receive the redirect to /account/. Budget (design.md): ratio ≥ 0.8.

    python benchmarks/signin.py [--seconds 3] [--rounds 7] [--accounts 40]
"""
import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, bench_environment, describe, schoolid  # noqa: E402

SETUP = """
import django, json, sys
django.setup()
from schoolid.accounts.services import assign_role, create_account, set_password
from schoolid.directory.services import create_org_unit, register_person, PersonInput
from schoolid.directory.national_ids import SCHEMES
from django.conf import settings
import random
rng = random.Random(1)
scheme = SCHEMES[settings.SCHOOLID_PROFILE.national_id_scheme]
root = create_org_unit(kind="ministry", code="BENCH", name="Bench", parent=None)
out = []
for i in range(int(sys.argv[1])):
    person = register_person(PersonInput(national_id=scheme.generate(rng), given_name=f"Bench{i}", family_name="User"))
    account = create_account(person)
    assign_role(account, "guardian", root)
    set_password(account, "bench password long enough")
    out.append(person.national_id)
print(json.dumps(out))
"""


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and its workers, from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def bare_argon2_rate(seconds: float) -> float:
    import argon2
    from django.conf import settings

    hasher = argon2.PasswordHasher(time_cost=settings.ARGON2_TIME_COST, memory_cost=settings.ARGON2_MEMORY_KIB, parallelism=settings.ARGON2_PARALLELISM)
    encoded = hasher.hash("bench password long enough")
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        hasher.verify(encoded, "bench password long enough")
        count += 1
    return count / (time.perf_counter() - start)


CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def one_signin_post_only(port: int, identifier: str, state: dict) -> bool:
    """Diagnostic: POST only, reusing the CSRF cookie the previous response set (Django accepts the
    unmasked secret as the form token)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if "csrf" not in state:
            conn.request("GET", "/signin/")
            response = conn.getresponse()
            response.read()
            for k, h in response.getheaders():
                if k.lower() == "set-cookie" and h.startswith("csrf="):
                    state["csrf"] = h.split(";", 1)[0].split("=", 1)[1]
        token = state["csrf"]
        form = f"csrfmiddlewaretoken={token}&identifier={identifier}&password=bench+password+long+enough"
        conn.request("POST", "/signin/", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrf={token}", "Accept-Language": "en",
            "Referer": f"http://127.0.0.1:{port}/signin/",
        })
        response = conn.getresponse()
        response.read()
        for k, h in response.getheaders():
            if k.lower() == "set-cookie" and h.startswith("csrf="):
                state["csrf"] = h.split(";", 1)[0].split("=", 1)[1]
        return response.status == 302
    finally:
        conn.close()


def one_signin(port: int, identifier: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/signin/", headers={"Accept-Language": "en"})
        response = conn.getresponse()
        body = response.read()
        cookies = "; ".join(h.split(";", 1)[0] for k, h in response.getheaders() if k.lower() == "set-cookie")
        token = CSRF_INPUT.search(body).group(1).decode()
        form = f"csrfmiddlewaretoken={token}&identifier={identifier}&password=bench+password+long+enough"
        conn.request("POST", "/signin/", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies, "Accept-Language": "en",
            "Referer": f"http://127.0.0.1:{port}/signin/",
        })
        response = conn.getresponse()
        response.read()
        return response.status == 302 and response.getheader("Location") == "/account/"
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each web round and each bare round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--post-only", action="store_true", help="diagnostic: count only the credential POST, not the page")
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=1, help="server processes, all pinned to core 0")
    parser.add_argument("--threads", type=int, default=4, help="threads per server process")
    parser.add_argument("--clients", type=int, default=6, help="concurrent client connections")
    args = parser.parse_args()

    env = bench_environment("signin")
    env["SCHOOLID_ALLOWED_HOSTS"] = "127.0.0.1"
    schoolid(env, "migrate", "--verbosity", "0")
    ids = subprocess.run([sys.executable, "-c", SETUP, str(args.accounts)], env={**env, "DJANGO_SETTINGS_MODULE": "schoolid.settings"},
                         check=True, capture_output=True, text=True).stdout
    import json

    identifiers = json.loads(ids.strip().splitlines()[-1])

    os.environ.update({k: v for k, v in env.items() if k.startswith(("SCHOOLID_", "DATABASE_URL", "REDIS_URL"))})
    os.environ["DJANGO_SETTINGS_MODULE"] = "schoolid.settings"
    import django

    django.setup()

    server = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-m", "schoolid.cli", "serve", "--port", str(args.port), "--workers", str(args.workers), "--threads", str(args.threads)],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request("GET", "/api/v1/health")
                break
            except OSError:
                time.sleep(0.1)
        # Warm up, then alternate bare and web rounds, starting and ending with a bare one: this
        # machine's speed drifts, and each web round is compared with the bare rounds on both sides
        # of it, so a steady drift cancels instead of tilting every ratio the same way.
        for identifier in identifiers[:4]:
            assert one_signin(args.port, identifier), "warm-up sign-in failed"
        web_rates, bare_rates, cpu_costs, failed_total, done_total = [], [], [], 0, 0
        os.sched_setaffinity(0, {0})
        bare_rates.append(bare_argon2_rate(args.seconds))
        for _round in range(args.rounds):
            done, failed = [0], [0]
            stop = time.perf_counter() + args.seconds

            def client(offset: int) -> None:
                i, state = offset, {}
                while time.perf_counter() < stop:
                    if args.post_only:
                        ok = one_signin_post_only(args.port, identifiers[i % len(identifiers)], state)
                    else:
                        ok = one_signin(args.port, identifiers[i % len(identifiers)])
                    done[0] += ok
                    failed[0] += not ok
                    i += args.clients

            os.sched_setaffinity(0, {1})  # the clients stay off the server's core
            cpu_before = server_cpu_seconds(server.pid)
            start = time.perf_counter()
            threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            web_rates.append(done[0] / (time.perf_counter() - start))
            cpu_costs.append((server_cpu_seconds(server.pid) - cpu_before) / max(1, done[0] + failed[0]))
            done_total += done[0]
            failed_total += failed[0]
            os.sched_setaffinity(0, {0})  # the server's core, now idle
            bare_rates.append(bare_argon2_rate(args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=10)
    web_rate, bare_rate, cpu_per_signin = statistics.median(web_rates), statistics.median(bare_rates), statistics.median(cpu_costs)
    ratios = [w / ((before + after) / 2) for w, before, after in zip(web_rates, bare_rates, bare_rates[1:])]
    from django.conf import settings

    print(f"sign-in benchmark ({describe(env)}; Argon2id m={settings.ARGON2_MEMORY_KIB} KiB, t={settings.ARGON2_TIME_COST}, p={settings.ARGON2_PARALLELISM})")
    print(f"  web sign-ins per second per core : {web_rate:8.1f}   (median of {args.rounds} rounds of {args.seconds:.0f} s; {done_total} ok, {failed_total} failed; {args.workers} worker(s) on 1 core, {args.threads} threads, {args.clients} clients)")
    print(f"  bare Argon2id verifies per second: {bare_rate:8.1f}   (median; 1 thread on the same core, before, between and after the web rounds)")
    print(f"  ratio                            : {statistics.median(ratios):8.2f}   (median of rounds, each against the bare rounds around it: {', '.join(f'{r:.2f}' for r in ratios)}; budget ≥ 0.80)")
    print(f"  server CPU per sign-in           : {cpu_per_signin * 1000:8.1f} ms (bare verify {1000 / bare_rate:.1f} ms)")
    if failed_total:
        sys.exit(1)


if __name__ == "__main__":
    main()
