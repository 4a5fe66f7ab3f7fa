"""Shared set-up for benchmarks: a throw-away database on the real services when they answer."""
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def bench_environment(name: str) -> dict[str, str]:
    """Environment for a benchmark run: PostgreSQL database `schoolid_bench_<name>` (recreated) and
    Redis db 14 when they answer on localhost, otherwise SQLite in a temporary folder."""
    env = dict(os.environ)
    env.setdefault("SCHOOLID_VAR_DIR", tempfile.mkdtemp(prefix=f"schoolid-bench-{name}-"))
    env.setdefault("SCHOOLID_PROFILE", "ir")
    env["SCHOOLID_LOG_LEVEL"] = "WARNING"
    if "DATABASE_URL" not in os.environ and answers("127.0.0.1", 5432):
        db = f"schoolid_bench_{name}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], check=True, capture_output=True)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db}"], check=True, capture_output=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
    if "REDIS_URL" not in os.environ and answers("127.0.0.1", 6379):
        env["REDIS_URL"] = "redis://127.0.0.1:6379/14"
    return env


def schoolid(env: dict[str, str], *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "schoolid.cli", *args], env=env, check=True, **kwargs)


def describe(env: dict[str, str]) -> str:
    db = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    cache = "Redis" if env.get("REDIS_URL") else "local memory"
    return f"{db} + {cache}, {os.cpu_count()} cores"
