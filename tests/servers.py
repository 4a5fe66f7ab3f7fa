"""`schoolid serve` in a subprocess, for the tests that check the real server."""
import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request


def migrate(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "schoolid.cli", "migrate", "--verbosity", "0"], env=env, check=True)


@contextlib.contextmanager
def serving(env: dict, *args: str, stderr=subprocess.DEVNULL):
    """Start `schoolid serve` on a free port with `args`; yield (process, port, first health body)
    once it answers; stop it afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "schoolid.cli", "serve", "--port", str(port), *args], env=env,
                              stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        body = None
        deadline = time.monotonic() + 60  # a busy 2-core machine starts two workers in well over 10 s
        while time.monotonic() < deadline and server.poll() is None:
            try:
                body = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).read())
                break
            except OSError:
                time.sleep(0.1)
        yield server, port, body
    finally:
        server.terminate()
        server.wait(timeout=10)
