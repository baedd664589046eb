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
def county_server(db_url: str, *args: str) -> Iterator[str]:
    """Run ``main.py serve`` on ``db_url`` (with further ``args``); yields the base URL; stops the
    server afterwards."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "main.py", "serve", "--db", db_url, "--port", str(port), *args],
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


class CountyServer:
    """``main.py serve`` that a test can kill and start again on the same port (a server restart,
    or a crash with ``kill=True``)."""

    def __init__(self, db_url: str, port: int | None = None) -> None:
        self.db_url = db_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 30) -> CountyServer:
        self.proc = subprocess.Popen(
            [sys.executable, "main.py", "serve", "--db", self.db_url, "--port", str(self.port)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(f"{self.url}/api/v1/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"county server did not start: {self.proc.stderr.read()}") from None
                time.sleep(0.05)
        self.starts += 1
        return self

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()
        self.proc = None

    def __enter__(self) -> CountyServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
