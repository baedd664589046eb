"""The real county server in a subprocess (uvicorn on a free loopback port), for tests that talk
to it over HTTP."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def county_server(db_url: str) -> Iterator[str]:
    """Run ``main.py serve`` on ``db_url``; yields the base URL; stops the server afterwards."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "main.py", "serve", "--db", db_url, "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if requests.get(f"{base}/api/v1/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"county server did not start: {proc.stderr.read()}") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
