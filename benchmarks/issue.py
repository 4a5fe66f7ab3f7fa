"""Seconds to issue one-time passwords for 1,000 students, including their slips PDF.

Budget (design.md): ≤ 3 s on 2 cores. Measures what a principal's click does: the scope check for
every student, secret generation and hashing, the all-or-nothing write with audit events, and the PDF.

    python benchmarks/issue.py [--students 1000] [--runs 3]
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_environment, describe, schoolid  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = bench_environment("issue")
    schoolid(env, "migrate", "--verbosity", "0")
    os.environ.update({k: v for k, v in env.items() if k.startswith(("SCHOOLID_", "DATABASE_URL", "REDIS_URL"))})
    os.environ["DJANGO_SETTINGS_MODULE"] = "schoolid.settings"
    import django

    django.setup()
    from django.conf import settings

    from schoolid.accounts.models import Account
    from schoolid.credentials import exports
    from schoolid.credentials.services import issue_secrets, new_idempotency_key
    from schoolid.demo.build import build_demo_country

    build_demo_country(settings.SCHOOLID_PROFILE, students=args.students * 10, seed=7)
    school_students = (
        Account.objects.filter(assignments__role="student", assignments__org_unit__path__startswith=_first_school().path)
        .select_related("person")
        .order_by("pk")
    )
    targets = list(school_students[: args.students])
    actor = Account.objects.get(assignments__role="principal", assignments__org_unit=_first_school())
    actor.status = "active"
    actor.save(update_fields=["status"])
    timings = []
    for _run in range(args.runs):
        start = time.perf_counter()
        result = issue_secrets(actor, targets, idempotency_key=new_idempotency_key())
        issued = time.perf_counter()
        pdf = exports.slips_pdf(result.items, settings.SCHOOLID_PROFILE)
        done = time.perf_counter()
        timings.append((issued - start, done - issued, done - start, len(pdf)))
    print(f"issue benchmark ({describe(env)}; profile {settings.SCHOOLID_PROFILE.code}, {len(targets)} students of one school)")
    for i, (t_issue, t_pdf, total, size) in enumerate(timings, 1):
        print(f"  run {i}: issue {t_issue:5.2f} s + slips PDF {t_pdf:5.2f} s = {total:5.2f} s   ({size / 1e6:.1f} MB PDF)")
    best = min(t[2] for t in timings)
    print(f"  best total: {best:.2f} s   (budget ≤ 3.00 s)")


def _first_school():
    from schoolid.directory.models import OrgUnit

    return OrgUnit.objects.filter(kind="school").order_by("path").first()


if __name__ == "__main__":
    main()
