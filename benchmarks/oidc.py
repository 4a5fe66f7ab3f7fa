"""OpenID Provider throughput on one core: authorization-code round trips per second with an existing
session (authorize -> code -> token -> userinfo) and refresh-token grants per second.

The server is one Granian worker process pinned to core 0 (taskset) with threads; the clients run on
core 1. Budget (issue 12): ≥ 360 refresh grants per second per core (Keycloak's sizing guide: 120/vCPU).

    python benchmarks/oidc.py [--seconds 5] [--rounds 3] [--clients 6]
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, bench_environment, describe, schoolid  # noqa: E402

SETUP = """
import django, json, sys
django.setup()
from schoolid.accounts.services import assign_role, create_account, set_password
from schoolid.accounts.models import Account
from schoolid.directory.services import create_org_unit, register_person, PersonInput
from schoolid.directory.national_ids import SCHEMES
from schoolid.provider.services import create_client
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
    Account.objects.filter(pk=account.pk).update(status="active")
    out.append(person.national_id)
client, secret = create_client("bench", redirect_uris=["https://bench.example/cb"], first_party=True, offline_access=True)
print(json.dumps({"ids": out, "client_id": client.client_id, "secret": secret}))
"""
REDIRECT = "https://bench.example/cb"
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def _cookies(response, jar: dict) -> None:
    for k, h in response.getheaders():
        if k.lower() == "set-cookie":
            name, _sep, value = h.split(";", 1)[0].partition("=")
            jar[name] = value


def _cookie_header(jar: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def sign_in(port: int, identifier: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    jar: dict = {}
    conn.request("GET", "/signin/?x=1")
    response = conn.getresponse()
    token = CSRF_INPUT.search(response.read()).group(1).decode()
    _cookies(response, jar)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "identifier": identifier, "password": "bench password long enough"})
    conn.request("POST", "/signin/", body=form, headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": _cookie_header(jar),
                                                         "Referer": f"http://127.0.0.1:{port}/signin/"})
    response = conn.getresponse()
    body = re.findall(rb'class="error"[^>]*>([^<]*)', response.read())
    _cookies(response, jar)
    assert response.status == 302, (response.status, body)
    conn.close()
    return jar


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def round_trip(conn, jar: dict, client_id: str, secret: str, scope: str = "openid profile") -> str | None:
    """authorize -> code -> token -> userinfo; the refresh token if offline_access was asked."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({"client_id": client_id, "redirect_uri": REDIRECT, "response_type": "code", "scope": scope,
                                    "state": secrets.token_urlsafe(12), "nonce": secrets.token_urlsafe(12),
                                    "code_challenge": challenge, "code_challenge_method": "S256"})
    conn.request("GET", "/oidc/authorize?" + query, headers={"Cookie": _cookie_header(jar)})
    response = conn.getresponse()
    response.read()
    _cookies(response, jar)
    location = response.getheader("Location", "")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code", [""])[0]
    if not code:
        raise RuntimeError(f"no code: {response.status} {location}")
    body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
    conn.request("POST", "/oidc/token", body=body, headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": _basic(client_id, secret)})
    response = conn.getresponse()
    tokens = json.loads(response.read())
    conn.request("GET", "/oidc/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError("userinfo failed")
    return tokens.get("refresh_token")


def refresh(conn, client_id: str, secret: str, token: str) -> str:
    body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": token})
    conn.request("POST", "/oidc/token", body=body, headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": _basic(client_id, secret)})
    response = conn.getresponse()
    answer = json.loads(response.read())
    if response.status != 200:
        raise RuntimeError(f"refresh failed: {answer}")
    return answer["refresh_token"]


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and its children, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid] + [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measure(args, work, pid: int) -> tuple[float, int, float]:
    """Median rate, failures, and median server CPU seconds per operation."""
    rates, failures, costs = [], 0, []
    for _round in range(args.rounds):
        done, failed = [0], [0]
        stop = time.perf_counter() + args.seconds

        def client(n: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
            state = work.setup(n)
            while time.perf_counter() < stop:
                try:
                    state = work.step(conn, state)
                    done[0] += 1
                except (RuntimeError, OSError, http.client.HTTPException):
                    failed[0] += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
            conn.close()

        cpu_before = server_cpu_seconds(pid)
        start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rates.append(done[0] / (time.perf_counter() - start))
        costs.append((server_cpu_seconds(pid) - cpu_before) / max(1, done[0] + failed[0]))
        failures += failed[0]
    return statistics.median(rates), failures, statistics.median(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--threads", type=int, default=4, help="threads of the one server process")
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args()

    env = bench_environment("oidc")
    env["SCHOOLID_ALLOWED_HOSTS"] = "127.0.0.1"
    env["SCHOOLID_BASE_URL"] = f"http://127.0.0.1:{args.port}"
    schoolid(env, "migrate", "--verbosity", "0")
    setup = json.loads(subprocess.run([sys.executable, "-c", SETUP, str(args.clients)], env={**env, "DJANGO_SETTINGS_MODULE": "schoolid.settings"},
                                      check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    client_id, secret = setup["client_id"], setup["secret"]
    server = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-m", "schoolid.cli", "serve", "--port", str(args.port), "--workers", "1",
                               "--threads", str(args.threads)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(600):  # a loaded machine starts the server slowly
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request("GET", "/api/v1/health")
                break
            except OSError:
                time.sleep(0.1)
        os.sched_setaffinity(0, {1})  # the clients stay off the server's core
        jars = [sign_in(args.port, identifier) for identifier in setup["ids"]]

        class RoundTrips:
            setup = staticmethod(lambda n: jars[n])
            step = staticmethod(lambda conn, jar: (round_trip(conn, jar, client_id, secret), jar)[1])

        class Refreshes:
            @staticmethod
            def setup(n):
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
                token = round_trip(conn, jars[n], client_id, secret, scope="openid offline_access")
                conn.close()
                return token

            step = staticmethod(lambda conn, token: refresh(conn, client_id, secret, token))

        trips, trip_failures, trip_cpu = measure(args, RoundTrips, server.pid)
        refreshes, refresh_failures, refresh_cpu = measure(args, Refreshes, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"OpenID Provider benchmark ({describe(env)}; 1 server process on 1 core, {args.threads} threads, {args.clients} clients on another core)")
    print(f"  authorization-code round trips per second: {trips:8.1f}   (authorize -> code -> token -> userinfo, existing session; median of {args.rounds} x {args.seconds:.0f} s; {trip_failures} failed)")
    print(f"  refresh-token grants per second          : {refreshes:8.1f}   (rotation with reuse detection; budget ≥ 360; {refresh_failures} failed)")
    # On a shared machine the wall-clock rates depend on the other load; the server's own CPU per
    # operation does not (the database's CPU is not in it).
    print(f"  server CPU per round trip / per refresh  : {trip_cpu * 1000:6.1f} ms / {refresh_cpu * 1000:.1f} ms"
          f"   (one core's worth: {1 / max(trip_cpu, 1e-9):.0f} round trips/s, {1 / max(refresh_cpu, 1e-9):.0f} refreshes/s)")
    if trip_failures or refresh_failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
