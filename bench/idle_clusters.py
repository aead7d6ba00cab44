"""Idle logical clusters: memory per cluster, creation rate, and whether many clusters slow a request.

For each store (in-memory, then SQLite, each in a fresh process), two servers run in background
threads of one process, the client in its main thread:
  1. both servers get a logical cluster "probe"; one of them then gets N empty logical clusters more,
     created one after another through the internal API (each with kube's 4 default namespaces; with
     SQLite every create waits for its fsyncs), timed; resident memory (VmRSS after gc) before and
     after gives memory per cluster;
  2. sequential keep-alive GETs of /api/v1/namespaces/default on "probe", in rounds alternating
     between the server with N clusters and the baseline server that holds only "probe".
Targets: under 100 KiB per idle cluster; no measurable growth of GET latency.
Usage: python bench/idle_clusters.py [--quick] [--clusters N] [--gets N] [--modes memory,durable]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

import common

from kubenest.testing import ServerThread

TARGET_KIB = 100
GET_GROWTH_TOLERANCE = 1.10  # within 10%: the noise of this shared 2-core machine


async def _get_latencies(port: int, ca: str, token: str, path: str, count: int, warmup: int) -> list[float]:
    """`count` sequential GETs over one keep-alive TLS connection, after `warmup` unmeasured ones."""
    reader, writer = await common.connect(port, common.ssl_context(ca))
    request = common.request_bytes("GET", path, token)
    out: list[float] = []
    for i in range(warmup + count):
        t0 = time.perf_counter()
        writer.write(request)
        status, body = await common.read_response(reader)
        elapsed = time.perf_counter() - t0
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        if i >= warmup:
            out.append(elapsed)
    writer.close()
    return out


async def _create_clusters(server: Any, n: int) -> tuple[list[float], float]:
    """Create n clusters one after another on the server's loop; per-create seconds and total seconds."""
    durations: list[float] = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        await server.clusters.create(f"idle-{i:05d}")
        durations.append(time.perf_counter() - t0)
    return durations, time.perf_counter() - start


async def _tasks() -> int:
    """Asyncio tasks alive on the server's loop (an idle cluster should add none)."""
    return len(asyncio.all_tasks())


def measure(durable: bool, args: argparse.Namespace) -> dict[str, Any]:
    """One store mode, in this (fresh) process: memory and creation of N clusters, then GET latencies."""
    alone = ServerThread(durable=durable)  # the baseline: a server holding only "probe" (and root)
    crowded = ServerThread(durable=durable)  # the same, then N idle clusters more
    client_loop = common.new_event_loop()
    try:
        for st in (alone, crowded):
            st.create_cluster("probe")

        def gets(st: ServerThread, cluster: str, count: int) -> list[float]:
            path = f"/clusters/{cluster}/api/v1/namespaces/default"
            return client_loop.run_until_complete(
                _get_latencies(st.port, st.ca_path, st.token, path, count, max(1, count // 10)))

        tasks0, threads0 = crowded.call(_tasks()), threading.active_count()
        rss0 = common.settled_rss_kib()
        durations, total = crowded.call(_create_clusters(crowded.server, args.clusters), timeout=3600)
        rss1 = common.settled_rss_kib()
        tasks1, threads1 = crowded.call(_tasks()), threading.active_count()
        gets(crowded, f"idle-{args.clusters - 1:05d}", 10)  # the newest cluster answers too
        # Rounds alternate between the two servers, so other work on this shared machine lands on both.
        before: list[float] = []
        after: list[float] = []
        batch = max(1, args.gets // args.rounds)
        for _ in range(args.rounds):
            before += gets(alone, "probe", batch)
            after += gets(crowded, "probe", batch)
        return {"mode": "SQLite" if durable else "in-memory", "rss0": rss0, "rss1": rss1, "total": total,
                "tasks_added": tasks1 - tasks0, "threads_added": threads1 - threads0,
                "create_p50": common.percentile(durations, 50), "create_p99": common.percentile(durations, 99),
                "before_p50": common.percentile(before, 50), "before_p99": common.percentile(before, 99),
                "after_p50": common.percentile(after, 50), "after_p99": common.percentile(after, 99)}
    finally:
        for st in (alone, crowded):
            st.stop()
            shutil.rmtree(st.data_dir, ignore_errors=True)
        client_loop.close()


def measure_in_child(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run `measure` in a fresh interpreter: memory freed by an earlier mode would hide the next one's growth."""
    cmd = [sys.executable, os.path.abspath(__file__), "--one", mode, "--clusters", str(args.clusters),
           "--gets", str(args.gets), "--rounds", str(args.rounds)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{mode} measurement failed (exit {out.returncode}): {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(line[7:])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=10_000, help="idle logical clusters to create")
    parser.add_argument("--gets", type=int, default=2000, help="sequential GETs per server")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds the GETs are split into")
    parser.add_argument("--modes", default="memory,durable", help="stores to measure: memory, durable or both")
    parser.add_argument("--quick", action="store_true", help="smoke run: 500 clusters, 300 GETs, in-memory")
    parser.add_argument("--one", choices=["memory", "durable"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(measure(args.one == "durable", args)), flush=True)
        return
    if args.quick:
        args.clusters, args.gets, args.modes = 500, 300, "memory"
    common.header("idle_clusters", args)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    results = [measure_in_child(m, args) for m in modes]
    report(results, args)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    n = args.clusters
    rows = []
    for r in results:
        per_cluster = (r["rss1"] - r["rss0"]) / n
        verdict = "met" if per_cluster < TARGET_KIB else "MISSED"
        rows.append([r["mode"], f"{per_cluster:.1f} KiB", f"< {TARGET_KIB} KiB: {verdict}",
                     f"{(r['rss1'] - r['rss0']) / 1024:.1f} MiB", f"{n / r['total']:,.0f} /s",
                     common.fmt_ms(r["create_p50"]), common.fmt_ms(r["create_p99"]),
                     f"{r['tasks_added']} / {r['threads_added']}"])
    common.print_table(
        f"{n:,} idle logical clusters (each with its 4 default namespaces), created one after another",
        ["store", "memory per cluster", "target", "RSS growth", "creation rate", "create p50", "create p99",
         "tasks / threads added"],
        rows,
    )
    rows = []
    for r in results:
        b50, b99, a50, a99 = r["before_p50"], r["before_p99"], r["after_p50"], r["after_p99"]
        growth = a50 / b50 if b50 else float("nan")
        verdict = "met" if growth <= GET_GROWTH_TOLERANCE else "MISSED"
        rows.append([r["mode"], common.fmt_ms(a50), common.fmt_ms(a99), common.fmt_ms(b50), common.fmt_ms(b99),
                     f"{growth:.2f}x", f"no growth (p50 within 10%): {verdict}"])
    common.print_table(
        f"GET /api/v1/namespaces/default on one cluster, {args.gets:,} sequential keep-alive GETs per server "
        f"in {args.rounds} alternating rounds (client in the same process)",
        ["store", f"p50 beside {n:,}", f"p99 beside {n:,}", "p50 alone (baseline)", "p99 alone (baseline)",
         "p50 ratio", "target"],
        rows,
    )
    print("memory per cluster: (VmRSS after gc with N+2 clusters - VmRSS with 2) / N, for the whole "
          "process (store cache, watch history window, cluster records; SQLite page cache when durable).")


if __name__ == "__main__":
    main()
