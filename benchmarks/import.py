"""OneRoster import of a whole country into PostgreSQL: seconds and peak RSS for the first import, seconds
for a re-sync in which 1 % of users.csv changed, and PostgreSQL's own COPY rate for the same people.

    python benchmarks/import.py [--people 1000000] [--schools 3000]

Budgets (design.md): import <= 120 s and <= 500 MB RSS; re-sync with 1 % changed <= 20 s.
The data set is generated once into var/bench/ and reused.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, bench_environment, describe  # noqa: E402
from oneroster_data import change_one_percent, generate  # noqa: E402

DATA_VERSION = "3"  # bump when oneroster_data.py changes what it writes


def dataset(people: int, schools: int) -> tuple[Path, Path]:
    base = ROOT / "var" / "bench" / f"oneroster-{people}-{schools}-v{DATA_VERSION}"
    full, changed = base / "full", base / "changed-1pc"
    if not (full / "manifest.csv").exists():
        print(f"generating {people} people in {schools} schools into {full} ...", flush=True)
        generate(full, people=people, schools=schools)
    if not (changed / "manifest.csv").exists():
        change_one_percent(full, changed)
    return full, changed


def timed_import(env: dict, path: Path) -> tuple[float, int]:
    """Seconds and peak RSS (bytes) of `schoolid import oneroster PATH` in its own process."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "schoolid.cli", "import", "oneroster", str(path)], env={**env, "SCHOOLID_LOG_LEVEL": "INFO"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(out + err)
        raise SystemExit("import failed")
    summary = [line for line in out.splitlines() if "refused rows" in line or "people" in line or "accounts" in line]
    print("   " + "\n   ".join(summary))
    # Where the time went: the importer logs each phase (and any statement over half a second).
    for line in err.splitlines():
        if '"import phase' in line or '"slow merge statement' in line:
            message = line.split('"message": "', 1)[1].split('"', 1)[0]
            print(f"     {message[:150]}")
    return elapsed, usage.ru_maxrss * 1024


def copy_rate(env: dict, users_csv: Path) -> tuple[int, float]:
    """PostgreSQL's COPY of the same people into a table shaped and indexed like the person table."""
    import psycopg

    url = env["DATABASE_URL"].replace("postgres://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn, open(users_csv, newline="", encoding="utf-8") as src:
        conn.execute("DROP TABLE IF EXISTS bench_copy_person")
        conn.execute("CREATE TABLE bench_copy_person (LIKE directory_person INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)")
        reader = csv.reader(src)
        header = next(reader)
        col = {name: header.index(name) for name in ("sourcedId", "givenName", "familyName", "email", "sms", "userMasterIdentifier")}
        started = time.perf_counter()
        rows = 0
        with conn.cursor().copy("COPY bench_copy_person (national_id_scheme, national_id, given_name, family_name, given_name_latin, "
                                "family_name_latin, email, email_verified, mobile, mobile_verified, search_name, sourced_id, "
                                "created_at, updated_at) FROM STDIN") as copy:
            for row in reader:
                copy.write_row(("pl_pesel", row[col["userMasterIdentifier"]], row[col["givenName"]], row[col["familyName"]], "", "",
                                row[col["email"]], False, row[col["sms"]], False, row[col["givenName"]].lower(), row[col["sourcedId"]],
                                "2026-11-30T00:00:00Z", "2026-11-30T00:00:00Z"))
                rows += 1
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_copy_person")
    return rows, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--schools", type=int, default=3000)
    args = parser.parse_args()
    full, changed = dataset(args.people, args.schools)
    env = bench_environment("import")
    env["SCHOOLID_PROFILE"] = "pl"
    if not env.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("this benchmark needs PostgreSQL on 127.0.0.1:5432")
    subprocess.run([sys.executable, "-m", "schoolid.cli", "migrate", "-v0"], env=env, check=True)
    people = sum(1 for _ in open(full / "users.csv", encoding="utf-8")) - 1
    print(f"OneRoster import, {people} people, {args.schools} schools ({describe(env)})")
    seconds, rss = timed_import(env, full)
    print(f"import:  {seconds:7.1f} s   peak RSS {rss / 2**20:6.0f} MB   ({people / seconds:,.0f} people/s)   budget <= 120 s, <= 500 MB")
    seconds, _rss = timed_import(env, changed)
    print(f"re-sync: {seconds:7.1f} s   (1 % of users.csv changed)   budget <= 20 s")
    rows, seconds = copy_rate(env, full / "users.csv")
    print(f"PostgreSQL COPY of the same people into an indexed person table: {rows / seconds:,.0f} rows/s ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
