"""The floors hold: `lint-imports` checks the contracts in pyproject.toml ([tool.importlinter]),
imports inside functions included (issue 18)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()", "--no-logo", "--no-cache"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_scope_denied_has_one_writer():
    """One refusal path (issue 18): only accounts.services.refuse writes `scope.denied`; authorize,
    authorize_many and the pages that refuse a whole view call it."""
    writers = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "src" / "schoolid").rglob("*.py") if '"scope.denied"' in p.read_text(encoding="utf-8"))
    assert writers == ["src/schoolid/accounts/services.py"]


def test_flow_rows_have_one_owner():
    """The flow kernel (issue 18): only flows/kernel.py changes a flow's state, only flows/links.py writes
    link tokens, only flows/codes.py writes one-time codes."""
    src = ROOT / "src" / "schoolid"
    owners = {"Flow.objects.create(": "flows/kernel.py", "update(state=": "flows/kernel.py",
              "LinkToken.objects": "flows/links.py", "OneTimeCode.objects": "flows/codes.py"}
    for needle, owner in owners.items():
        writers = sorted(str(p.relative_to(src)) for p in src.rglob("*.py") if "migrations" not in p.parts and needle in p.read_text(encoding="utf-8"))
        assert writers == [owner], needle
