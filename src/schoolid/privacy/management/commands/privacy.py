"""`schoolid privacy export|retain|erase|report`: the privacy duties for operators (docs/privacy.md)."""
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from schoolid.accounts.models import Account
from schoolid.accounts.user_codes import normalize_user_code
from schoolid.core.digits import ascii_digits


def _account(user_code: str) -> Account:
    code = normalize_user_code(ascii_digits(user_code or ""))
    account = Account.objects.select_related("person").filter(user_code=code).first() if code else None
    if account is None or account.person is None:
        raise CommandError(f"No person has the user code {user_code!r}.")
    return account


class Command(BaseCommand):
    help = "Privacy duties: subject access export, retention, erasure, records of processing."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="everything held about one person, as JSON or PDF")
        export.add_argument("user_code")
        export.add_argument("--out", required=True, help="file to write; .pdf gives the readable PDF, anything else JSON")
        export.add_argument("--language", default="", help="language of the PDF (default: the person's, else the country's)")
        retain = sub.add_parser("retain", help="apply the retention settings of the country profile")
        retain.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
        erase = sub.add_parser("erase", help="erase a person who left the register")
        erase.add_argument("user_code")
        report = sub.add_parser("report", help="counts by category and age of what is held")
        report.add_argument("--json", action="store_true")

    def handle(self, *args, action, **options):
        return getattr(self, f"_{action}")(**options)

    def _export(self, user_code, out, language, **_options):
        from schoolid.privacy import exports, services

        account = _account(user_code)
        fmt = "pdf" if out.lower().endswith(".pdf") else "json"
        data = services.export_for("cli", account.person, channel="cli", fmt=fmt)
        body = exports.as_pdf(data, language or exports.language_for(account)) if fmt == "pdf" else exports.as_json(data)
        with open(out, "wb") as handle:
            handle.write(body)
        self.stdout.write(f"Wrote {out} ({len(body)} bytes, {fmt}).")

    def _retain(self, dry_run, **_options):
        from schoolid.privacy.services import retain

        plan = retain(dry_run=dry_run)
        self.stdout.write("Dry run: nothing is changed." if dry_run else "Retention applied.")
        for line in plan.lines():
            self.stdout.write(line)

    def _erase(self, user_code, **_options):
        from schoolid.privacy.services import ErasureRefused, erase

        account = _account(user_code)
        try:
            record = erase(account.person, actor="cli")
        except ErasureRefused as exc:
            self.stderr.write(f"Refused: {exc.reason}")
            sys.exit(1)
        self.stdout.write(f"Erased. The account {account.user_code} stays disabled (user codes are never reused); "
                          f"the audit log now names the person {record.pseudonym}.")

    def _report(self, json: bool = False, **_options):
        from schoolid.privacy.selectors import AGE_BUCKETS, records_report

        rows = records_report()
        if json:
            self.stdout.write(_json.dumps({category: counts for category, counts in rows}, ensure_ascii=False, indent=2))
            return
        labels = [label for _days, label in AGE_BUCKETS]
        width = max(len(category) for category, _counts in rows)
        self.stdout.write(f"{'category'.ljust(width)}  {'total':>9}  " + "  ".join(f"{label:>11}" for label in labels))
        for category, counts in rows:
            self.stdout.write(f"{category.ljust(width)}  {sum(counts.values()):>9}  " + "  ".join(f"{counts[label]:>11}" for label in labels))


_json = json
