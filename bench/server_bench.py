"""Server benchmark: N townships pushing and pulling concurrently over loopback against
uvicorn + PostgreSQL (a throwaway cluster started here), with the single-township sequential rate
measured in the same run as the baseline.

The concurrent load comes from wrk (C, Debian's package) when it is installed, so that the load
generator takes as little of the two cores as possible; otherwise from an asyncio client.

Goal (DESIGN §10): ≥ 500 sync requests/s on 2 cores with p99 ≤ 200 ms at 50 concurrent townships.

    python bench/server_bench.py [--townships 50] [--seconds 20] [--workers 2]
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
            device, token = svc.enroll(svc.create_enroll_code(code), f"bench-{i}")
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
                        errors: list, batch: int) -> None:
    headers = {**PROTO, "Authorization": f"Bearer {token}"}
    since = 0
    while time.monotonic() < stop:
        body = gzip.compress(json.dumps({"protocol": 1, "batch_id": uuid.uuid4().hex,
                                         "changes": changes(township_id, batch)}).encode())
        t = time.perf_counter()
        r = await client.post(f"{base}/api/v1/sync/push", content=body,
                              headers={**headers, "Content-Encoding": "gzip", "Content-Type": "application/json"})
        latencies.append(time.perf_counter() - t)
        if r.status_code != 200:
            errors.append(r.status_code)
        t = time.perf_counter()
        r = await client.get(f"{base}/api/v1/sync/pull", params={"since": since, "limit": 500}, headers=headers)
        latencies.append(time.perf_counter() - t)
        if r.status_code == 200:
            since = r.json()["next"]
        else:
            errors.append(r.status_code)


async def run_load(base: str, devices: list[tuple[str, str]], seconds: float, batch: int) -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[int] = []
    limits = httpx.Limits(max_connections=len(devices) + 5, max_keepalive_connections=len(devices) + 5)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        start = time.monotonic()
        stop = start + seconds
        await asyncio.gather(*(township_loop(client, base, t, tok, stop, latencies, errors, batch)
                               for t, tok in devices))
        elapsed = time.monotonic() - start
    latencies.sort()
    return {
        "requests": len(latencies), "rps": len(latencies) / elapsed, "errors": len(errors),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
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
"""


def run_wrk(base: str, devices: list[tuple[str, str]], seconds: float, batch: int, tmp: Path) -> dict:
    """Concurrent load with wrk: one connection per township, pushes and pulls alternating."""
    entries = ", ".join(f'{{"{t}", "{tok}"}}' for t, tok in devices)
    script = tmp / "load.lua"
    script.write_text(WRK_SCRIPT % (entries, batch), encoding="utf-8")
    out = subprocess.run(["wrk", "-t2", f"-c{len(devices)}", f"-d{int(seconds)}s", "--latency", "-s", str(script),
                          base], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        import re

        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    import re

    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    return {"requests": requests_done, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "errors": int(non_2xx.group(1)) if non_2xx else 0, "p50_ms": ms("50%"), "p99_ms": ms("99%"),
            "socket_errors": errors.group(0) if errors else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--townships", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=10, help="changes per push")
    args = parser.parse_args()

    from tests.pg import PostgresCluster

    root = Path(tempfile.mkdtemp(prefix="gongkai-bench-pg-"))
    cluster = PostgresCluster(root).start()
    server = None
    try:
        url = cluster.create_database("county")
        devices = prepare(url, args.townships)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "main.py", "serve", "--db", url, "--port", str(port),
                                   "--workers", str(args.workers)], cwd=ROOT, env={**os.environ})
        import httpx

        for _ in range(200):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        baseline = asyncio.run(run_load(base, devices[:1], min(5.0, args.seconds), args.batch))
        if shutil.which("wrk"):
            loaded = run_wrk(base, devices, args.seconds, args.batch, root)
            client = "wrk"
        else:
            loaded = asyncio.run(run_load(base, devices, args.seconds, args.batch))
            client = "asyncio client"
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"server: uvicorn x{args.workers} workers + PostgreSQL, {args.batch} changes per push, loopback; "
          f"concurrent load from {client}")
    for name, r in (("1 township, sequential", baseline), (f"{args.townships} townships, concurrent", loaded)):
        print(f"{name:<28}: {r['rps']:7.1f} req/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
              f"({r['requests']} requests, {r['errors']} errors)")
    print(f"ratio concurrent / sequential: {loaded['rps'] / baseline['rps']:.2f}x   "
          f"goal ≥ 500 req/s with p99 ≤ 200 ms at 50 townships")


if __name__ == "__main__":
    main()
