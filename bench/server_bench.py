"""Server benchmark: N townships pushing and pulling concurrently over loopback against
uvicorn + PostgreSQL (a throwaway cluster started here), with the single-township sequential rate
measured in the same run as the baseline.

The concurrent load comes from wrk (C, Debian's package) when it is installed, so that the load
generator takes as little of the two cores as possible; otherwise from an asyncio client.

Goal (DESIGN §10): ≥ 500 sync requests/s on 2 cores with p99 ≤ 200 ms at 50 concurrent townships.

Then the page a resident's phone opens from a notice's QR code: the demo township's published
notice nearest 255 rows, fetched by 32 connections at once (gzip accepted, as phones do), from the
server as it runs (pages rendered once and kept) and from the same server with ``--page-cache 0``
(rendered for every request), one after the other in the same run. Goal: ≥ 1,000 pages/s with
p99 ≤ 50 ms.

The throwaway PostgreSQL cluster runs with production durability (fsync, synchronous_commit and
full_page_writes on, PostgreSQL's defaults otherwise): every accepted push waits for its commit to
reach the disk, as on the county's server. ``--unsafe-pg`` runs it like the test suite's clusters
instead (fsync, synchronous_commit and full_page_writes off), which measures the CPU cost alone.

    python bench/server_bench.py [--townships 50] [--seconds 20] [--workers 2] [--unsafe-pg] [--pages-only]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROTO = {"X-Gongkai-Protocol": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, townships: int) -> list[tuple[str, str]]:
    """County, townships and one enrolled device each; returns (township_id, token) pairs."""
    from app.context import Clock
    from server import sync_service as svc
    from server.county import add_township, init_county
    from server.db import open_server_database

    db = open_server_database(url)
    with db.connection_context():
        init_county("539901000000", "云岭县", "http://127.0.0.1:8765")
        out = []
        for i in range(townships):
            code = f"539901{101 + i:03d}000"
            township_id = add_township(code, f"镇{i}")
            now = Clock().now()
            device, token = svc.enroll(svc.create_enroll_code(code, now), f"bench-{i}", now)
            out.append((township_id, token))
    db.close_all() if hasattr(db, "close_all") else db.close()
    return out


def changes(township_id: str, n: int) -> list[dict]:
    out = []
    for _ in range(n):
        row_id = str(uuid.uuid4())
        out.append({"entity": "board", "id": row_id, "version": 1, "base_version": None, "deleted": False,
                    "data": {"id": row_id, "township_id": township_id, "name": "公开栏", "version": 1,
                             "deleted": False, "village_id": None, "location": "村委会门前"}})
    return out


async def township_loop(client, base: str, township_id: str, token: str, stop: float, latencies: list,
                        errors: list, batch: int, counts: dict) -> None:
    headers = {**PROTO, "Authorization": f"Bearer {token}"}
    since = 0
    while time.monotonic() < stop:
        body = gzip.compress(json.dumps({"protocol": 1, "batch_id": uuid.uuid4().hex,
                                         "changes": changes(township_id, batch)}).encode())
        t = time.perf_counter()
        r = await client.post(f"{base}/api/v1/sync/push", content=body,
                              headers={**headers, "Content-Encoding": "gzip", "Content-Type": "application/json"})
        latencies.append(time.perf_counter() - t)
        counts["pushes"] += 1
        if r.status_code != 200:
            errors.append(r.status_code)
        t = time.perf_counter()
        r = await client.get(f"{base}/api/v1/sync/pull", params={"since": since, "limit": 500}, headers=headers)
        latencies.append(time.perf_counter() - t)
        counts["pulls"] += 1
        if r.status_code == 200:
            since = r.json()["next"]
        else:
            errors.append(r.status_code)


async def run_load(base: str, devices: list[tuple[str, str]], seconds: float, batch: int) -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[int] = []
    counts = {"pushes": 0, "pulls": 0}
    limits = httpx.Limits(max_connections=len(devices) + 5, max_keepalive_connections=len(devices) + 5)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        start = time.monotonic()
        stop = start + seconds
        await asyncio.gather(*(township_loop(client, base, t, tok, stop, latencies, errors, batch, counts)
                               for t, tok in devices))
        elapsed = time.monotonic() - start
    latencies.sort()
    return {
        "requests": len(latencies), "rps": len(latencies) / elapsed, "errors": len(errors),
        "error_detail": ", ".join(f"{code}: {errors.count(code)}" for code in sorted(set(errors))),
        "pushes": counts["pushes"], "pulls": counts["pulls"],
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "max_ms": latencies[-1] * 1000,
    }


WRK_SCRIPT = r"""
local devices = {%s}
local counter = 0
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local function uuid()
  return string.format("%%08x-%%04x-4%%03x-a%%03x-%%012x", math.random(0, 0xffffffff), math.random(0, 0xffff),
                       math.random(0, 0xfff), math.random(0, 0xfff), math.random(0, 0xffffffffffff))
end
request = function()
  counter = counter + 1
  local d = devices[(counter %% #devices) + 1]
  local headers = {["Authorization"] = "Bearer " .. d[2], ["X-Gongkai-Protocol"] = "1",
                   ["Content-Type"] = "application/json"}
  if counter %% 2 == 0 then
    return wrk.format("GET", "/api/v1/sync/pull?since=0&limit=20", headers)
  end
  local changes = {}
  for i = 1, %d do
    local id = uuid()
    changes[i] = string.format('{"entity":"board","id":"%%s","version":1,"base_version":null,"deleted":false,'
      .. '"data":{"id":"%%s","township_id":"%%s","name":"公开栏","version":1,"deleted":false,'
      .. '"village_id":null,"location":"村委会门前"}}', id, id, d[1])
  end
  local body = string.format('{"protocol":1,"batch_id":"%%s","changes":[%%s]}', uuid(), table.concat(changes, ","))
  return wrk.format("POST", "/api/v1/sync/push", headers, body)
end
-- what came back: a push answers {"accepted": ...}, a pull {"changes": ...}; anything else is an error
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  pushes, pulls, failed, statuses = 0, 0, 0, {}
end
function response(status, headers, body)
  if status == 200 and string.sub(body, 1, 12) == '{"accepted":' then
    pushes = pushes + 1
  elseif status == 200 and string.sub(body, 1, 11) == '{"changes":' then
    pulls = pulls + 1
  else
    failed = failed + 1
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  end
end
function done(summary, latency, requests)
  local p, q, f, codes = 0, 0, 0, {}
  for _, t in ipairs(threads) do
    p, q, f = p + t:get("pushes"), q + t:get("pulls"), f + t:get("failed")
    for code, n in pairs(t:get("statuses")) do codes[code] = (codes[code] or 0) + n end
  end
  local detail = {}
  for code, n in pairs(codes) do table.insert(detail, "HTTP_" .. code .. ":" .. n) end
  local e = summary.errors
  io.write(string.format("GONGKAI pushes=%%d pulls=%%d failed=%%d detail=%%s\n", p, q, f, table.concat(detail, ",")))
  io.write(string.format("GONGKAI socket=%%d timeouts=%%d\n", e.connect + e.read + e.write, e.timeout))
  io.write(string.format("GONGKAI p50=%%d p90=%%d p99=%%d p999=%%d max=%%d\n", latency:percentile(50),
                         latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
"""


def run_wrk(base: str, devices: list[tuple[str, str]], seconds: float, batch: int, tmp: Path) -> dict:
    """Concurrent load with wrk: one connection per township, pushes and pulls alternating. A
    request slower than 10 s counts as an error (wrk leaves timed-out requests out of its
    latencies, so the timeout is far above the goal rather than wrk's default 2 s)."""
    import re

    entries = ", ".join(f'{{"{t}", "{tok}"}}' for t, tok in devices)
    script = tmp / "load.lua"
    script.write_text(WRK_SCRIPT % (entries, batch), encoding="utf-8")
    out = subprocess.run(["wrk", "-t2", f"-c{len(devices)}", f"-d{int(seconds)}s", "--timeout", "10s", "-s",
                          str(script), base], capture_output=True, text=True, check=True).stdout
    ours = dict(re.findall(r"(\w+)=(\S*)", " ".join(line for line in out.splitlines() if line.startswith("GONGKAI"))))
    failed, socket_errors, timeouts = int(ours["failed"]), int(ours["socket"]), int(ours["timeouts"])
    detail = ", ".join(filter(None, [ours["detail"].replace(",", ", ").replace("_", " ").replace(":", ": "),
                                     f"socket errors: {socket_errors}" if socket_errors else "",
                                     f"timeouts: {timeouts}" if timeouts else ""]))
    return {"requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "pushes": int(ours["pushes"]), "pulls": int(ours["pulls"]),
            "errors": failed + socket_errors + timeouts, "error_detail": detail,
            "p50_ms": int(ours["p50"]) / 1000, "p90_ms": int(ours["p90"]) / 1000, "p99_ms": int(ours["p99"]) / 1000,
            "p999_ms": int(ours["p999"]) / 1000, "max_ms": int(ours["max"]) / 1000}


PAGE_CODE = "539901999000"  # the demo township's code here, beside the townships above


def prepare_page(url: str, tmp: Path) -> tuple[str, int]:
    """The demo township, made and pushed to the county as its workstation would; returns the path
    of the public page of its published subsidy notice nearest 255 rows, and its row count."""
    from fastapi.testclient import TestClient

    from app.context import Clock, Context
    from app.demo import create_demo
    from db.connection import close_database, open_database
    from db.models import Notice, NoticeType, RosterRow
    from server.app import create_app
    from server.db import database, open_server_database
    from tests.server.test_public_pages import push_demo

    ctx = Context(db=open_database(tmp / "workstation" / "gongkai.sqlite3"), data_dir=tmp / "workstation")
    create_demo(ctx)
    db = open_server_database(url)
    with TestClient(create_app(clock=Clock())) as client, db.connection_context():
        push_demo(client, PAGE_CODE)
    db.close_all() if hasattr(db, "close_all") else db.close()
    database.initialize(None)
    candidates = (Notice.select().join(NoticeType).where((Notice.status == "published")
                  & (NoticeType.code == "subsidy_payout")))
    counted = [(RosterRow.select().where(RosterRow.notice == n.id).count(), n) for n in candidates]
    rows, notice = min(counted, key=lambda c: abs(c[0] - 255))
    path = f"/v/{notice.id}/{notice.edition}?f={notice.fingerprint[:12]}"
    close_database()
    return path, rows


def run_pages(base: str, path: str, seconds: float, connections: int = 32) -> dict:
    """wrk fetching one public page over ``connections`` connections; p99 from its latency table."""
    import re

    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "10s", "--latency",
                          "-H", "Accept-Encoding: gzip", base + path], capture_output=True, text=True,
                         check=True).stdout

    def ms(value: str, unit: str) -> float:
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    latency = dict((p, ms(v, u)) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "p50_ms": latency["50"], "p99_ms": latency["99"],
            "errors": (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0)}


def serve(url: str, workers: int, *extra: str):
    """``main.py serve`` in a subprocess; returns (process, base URL) once it answers."""
    import httpx

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "main.py", "serve", "--db", url, "--port", str(port),
                             "--workers", str(workers), *extra], cwd=ROOT, env={**os.environ})
    for _ in range(300):
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the county server did not start")


def pg_settings(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        return ", ".join(f"{name}={conn.execute(f'SHOW {name}').fetchone()[0]}"
                         for name in ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--townships", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=10, help="changes per push")
    parser.add_argument("--unsafe-pg", action="store_true",
                        help="PostgreSQL without fsync/synchronous_commit/full_page_writes, as in the tests")
    parser.add_argument("--pages-only", action="store_true", help="measure the public page alone")
    parser.add_argument("--page-seconds", type=float, default=10)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="gongkai-bench-pg-"))
    from tests.pg import PostgresCluster

    # durable like production unless --unsafe-pg (the test suite's setup)
    cluster = PostgresCluster(root, durable=not args.unsafe_pg).start()
    server = None
    baseline = loaded = None
    try:
        url = cluster.create_database("county")
        settings = pg_settings(url)
        devices = prepare(url, args.townships)
        page_path, page_rows = prepare_page(url, root)
        if not args.pages_only:
            server, base = serve(url, args.workers)
            baseline = asyncio.run(run_load(base, devices[:1], min(5.0, args.seconds), args.batch))
            if shutil.which("wrk"):
                loaded = run_wrk(base, devices, args.seconds, args.batch, root)
                client = "wrk"
            else:
                loaded = asyncio.run(run_load(base, devices, args.seconds, args.batch))
                client = "asyncio client"
            server.terminate()
            server.wait(timeout=20)
        # the public page: rendered for every request, then as the server runs (rendered once, kept)
        pages = {}
        for name, extra in (("uncached", ("--page-cache", "0")), ("cached", ())):
            server, base = serve(url, args.workers, *extra)
            run_pages(base, page_path, 2)  # warm up: connections, the first render
            pages[name] = run_pages(base, page_path, args.page_seconds)
            server.terminate()
            server.wait(timeout=20)
        server = None
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"PostgreSQL: {settings}")
    if loaded is not None:
        print(f"server: uvicorn x{args.workers} workers + PostgreSQL, {args.batch} changes per push, loopback; "
              f"concurrent load from {client}")
        for name, r in (("1 township, sequential", baseline), (f"{args.townships} townships, concurrent", loaded)):
            print(f"{name:<28}: {r['rps']:7.1f} req/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
                  f"max {r['max_ms']:6.1f} ms  ({r['requests']} requests: {r['pushes']} pushes, {r['pulls']} pulls; "
                  f"{r['errors']} errors{' — ' + r['error_detail'] if r['error_detail'] else ''})")
        print(f"ratio concurrent / sequential: {loaded['rps'] / baseline['rps']:.2f}x   "
              f"goal ≥ 500 req/s with p99 ≤ 200 ms at 50 townships: "
              f"{'met' if loaded['rps'] >= 500 and loaded['p99_ms'] <= 200 and not loaded['errors'] else 'NOT met'}")
    print(f"public page ({page_rows} rows, uvicorn x{args.workers} workers, 32 connections from wrk, gzip accepted):")
    for name in ("uncached", "cached"):
        r = pages[name]
        print(f"  {name:<9}: {r['rps']:8.1f} pages/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
              f"({r['requests']} requests, {r['errors']} errors)")
    cached = pages["cached"]
    print(f"ratio cached / uncached: {cached['rps'] / pages['uncached']['rps']:.1f}x   goal ≥ 1,000 pages/s with "
          f"p99 ≤ 50 ms: {'met' if cached['rps'] >= 1000 and cached['p99_ms'] <= 50 and not cached['errors'] else 'NOT met'}")


if __name__ == "__main__":
    main()
