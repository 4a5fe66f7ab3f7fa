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
