"""Watch fan-out: one writer, many watchers of one kind, delivery latency from write to receipt.

The writer (this process) creates ConfigMaps at a steady rate in one namespace of one logical cluster,
each carrying the wall-clock time it was sent in `data.sent`; every watcher (an asyncio TLS stream in a
separate client process) notes when each event arrives. Latency = arrival - sent: it includes the
create request, the durable commit (SQLite by default) and the fan-out.

Baseline in the same run: the same writes with 1 watcher. Target: p99 < 100 ms with 1,000 watchers.
Server pinned to CPU 0, watchers to CPU 1 (a 1,000-stream client is not free: see its CPU column).
Usage: python bench/watch_fanout.py [--quick] [--watchers N] [--rates 5,20] [--seconds S] [--memory]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

import common
import orjson

CLUSTER = "bench"
TARGET_P99 = 0.100


# -- the watcher process ----------------------------------------------------------------------------


def _lines(buffer: bytearray, chunk: bytes) -> Iterator[bytes]:
    """Complete lines of a newline-delimited stream; a partial last line stays in `buffer`."""
    buffer += chunk
    while True:
        end = buffer.find(b"\n")
        if end < 0:
            return
        line = bytes(buffer[:end])
        del buffer[: end + 1]
        if line.strip():
            yield line


async def _watchers(spec: dict[str, Any], ready: IO[str]) -> dict[str, Any]:
    """Open `watchers` watch streams, report READY, then collect `events` events on each."""
    common.raise_open_files_limit()
    ctx = common.ssl_context(spec["ca"])
    n, events, port = int(spec["watchers"]), int(spec["events"]), int(spec["port"])
    path = f"/clusters/{CLUSTER}/api/v1/namespaces/{spec['namespace']}/configmaps?watch=true"
    request = common.request_bytes("GET", path, spec["token"])
    latencies: list[float] = []
    per_event_last: dict[int, float] = {}  # seq -> latency of the last watcher to receive it
    opened = 0
    handshakes = asyncio.Semaphore(64)  # TLS handshakes at once: enough to open 1,000 in about a second
    all_open = asyncio.Event()
    streams: list[asyncio.StreamWriter] = []

    async def watch() -> None:
        nonlocal opened
        async with handshakes:
            reader, writer = await common.connect(port, ctx)
            streams.append(writer)
            writer.write(request)
            status, headers = await common.read_head(reader)
        if status != 200 or "chunked" not in headers.get("transfer-encoding", ""):
            raise RuntimeError(f"watch answered {status} {headers}")
        opened += 1
        if opened == n:
            all_open.set()
        buffer = bytearray()
        got = 0
        while got < events:
            chunk = await common.read_chunk(reader)
            now = time.time()
            if not chunk:
                return
            for line in _lines(buffer, chunk):
                ev = orjson.loads(line)
                data = ev["object"].get("data") or {}
                if ev["type"] != "ADDED" or "sent" not in data:
                    continue
                latency = now - float(data["sent"])
                latencies.append(latency)
                seq = int(data["seq"])
                if latency > per_event_last.get(seq, -1.0):
                    per_event_last[seq] = latency
                got += 1

    tasks = [asyncio.create_task(watch()) for _ in range(n)]
    opening = asyncio.create_task(all_open.wait())
    done, _ = await asyncio.wait([opening, *tasks], return_when=asyncio.FIRST_COMPLETED, timeout=120)
    if opening not in done:
        for t in tasks:
            if t.done() and t.exception():
                raise RuntimeError(f"a watch failed to open: {t.exception()}")
        raise RuntimeError(f"only {opened} of {n} watches opened")
    ready.write("READY\n")
    ready.flush()
    cpu0 = time.process_time()
    t0 = time.monotonic()
    await asyncio.wait(tasks, timeout=float(spec["timeout"]))
    elapsed = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    for t in tasks:
        t.cancel()
    for w in streams:
        w.close()
    return {
        "received": len(latencies),
        "expected": n * events,
        "p50": common.percentile(latencies, 50),
        "p99": common.percentile(latencies, 99),
        "max": max(latencies, default=float("nan")),
        "last_p50": common.percentile(list(per_event_last.values()), 50),
        "last_p99": common.percentile(list(per_event_last.values()), 99),
        "client_cpu": cpu / elapsed if elapsed else 0.0,
        "client_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def worker_main(spec_json: str) -> None:
    """Entry of the watcher child process: READY on stdout once every stream is open, then RESULT."""
    loop = common.new_event_loop()
    result = loop.run_until_complete(_watchers(json.loads(spec_json), sys.stdout))
    print("RESULT " + json.dumps(result), flush=True)


# -- the writer -------------------------------------------------------------------------------------


async def _post(server: common.ServerProcess, path: str, obj: dict[str, Any],
                conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    reader, writer = conn
    writer.write(common.request_bytes("POST", f"/clusters/{CLUSTER}{path}", server.token, orjson.dumps(obj)))
    status, body = await common.read_response(reader)
    if status != 201:
        raise RuntimeError(f"POST {path} answered {status}: {body[:300]!r}")


async def _write(server: common.ServerProcess, namespace: str, events: int, rate: float) -> list[float]:
    """Create `events` ConfigMaps, `rate` a second, each stamped with its send time; returns ack latencies."""
    conn = await common.connect(server.port, common.ssl_context(server.ca_path))
    acks: list[float] = []
    start = time.monotonic()
    for seq in range(events):
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent = time.time()
        await _post(server, f"/api/v1/namespaces/{namespace}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"event-{seq:06d}"},
            "data": {"sent": repr(sent), "seq": str(seq)}}, conn)
        acks.append(time.time() - sent)
    conn[1].close()
    return acks


async def _namespace(server: common.ServerProcess, name: str) -> None:
    conn = await common.connect(server.port, common.ssl_context(server.ca_path))
    await _post(server, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                conn)
    conn[1].close()


def scenario(server: common.ServerProcess, watchers: int, rate: float, args: argparse.Namespace,
             loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    """One measurement: a fresh namespace, `watchers` streams open, then `rate` writes a second."""
    events = max(1, round(rate * args.seconds))
    namespace = f"watch-{watchers}-{rate:g}".replace(".", "-")
    loop.run_until_complete(_namespace(server, namespace))
    spec = {"port": server.port, "ca": server.ca_path, "token": server.token, "namespace": namespace,
            "watchers": watchers, "events": events, "timeout": args.seconds + 30}
    cmd = common.cpu_pinning(None if args.no_pin else 1) + [
        sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "READY":
        proc.kill()
        raise RuntimeError(f"watchers did not open: {line!r} (exit {proc.wait()})")
    cpu0, rss0, t0 = server.cpu_seconds(), server.rss_kib(), time.monotonic()
    acks = loop.run_until_complete(_write(server, namespace, events, rate))
    out, _ = proc.communicate(timeout=args.seconds + 120)
    elapsed = time.monotonic() - t0
    result_line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
    if result_line is None:
        raise RuntimeError(f"watcher process gave no result (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(result_line[7:])
    result.update(watchers=watchers, rate=rate, events=events,
                  ack_p50=common.percentile(acks, 50), ack_p99=common.percentile(acks, 99),
                  server_cpu=(server.cpu_seconds() - cpu0) / elapsed,
                  server_rss_growth_kib=server.rss_kib() - rss0)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watchers", type=int, default=1000, help="concurrent watch streams")
    parser.add_argument("--rates", default="5,20", help="writes per second, one measurement pair each")
    parser.add_argument("--seconds", type=float, default=10, help="length of each measurement")
    parser.add_argument("--memory", action="store_true", help="in-memory store instead of SQLite")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and watchers to separate CPUs")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 watchers, 20 events")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
        return
    if args.quick:
        args.watchers, args.seconds, args.rates = 100, 2, "20"
    common.header("watch_fanout", args)
    common.raise_open_files_limit()
    server = common.start_kubenest(durable=not args.memory, clusters=[CLUSTER], cpu=None if args.no_pin else 0)
    loop = common.new_event_loop()
    try:
        results = []
        for rate in (float(x) for x in args.rates.split(",")):
            results.append(scenario(server, 1, rate, args, loop))
            results.append(scenario(server, args.watchers, rate, args, loop))
    finally:
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)
    report(results, args)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    rows = []
    for r in results:
        target = "baseline" if r["watchers"] == 1 else f"p99 < {TARGET_P99 * 1000:.0f} ms: {'met' if r['p99'] < TARGET_P99 else 'MISSED'}"
        rows.append([f"{r['rate']:g}/s", f"{r['watchers']:,}", f"{r['received']:,} / {r['expected']:,}",
                     common.fmt_ms(r["p50"]), common.fmt_ms(r["p99"]), common.fmt_ms(r["max"]), common.fmt_ms(r["last_p99"]),
                     common.fmt_ms(r["ack_p50"]), target, f"{r['server_cpu']:.0%}", f"{r['client_cpu']:.0%}"])
    store = "in-memory store" if args.memory else "SQLite store"
    common.print_table(
        f"watch delivery latency, write -> watcher received ({args.seconds:g} s of creates per row, {store})",
        ["writes", "watchers", "events received", "p50", "p99", "max", "last watcher p99", "write ack p50", "target",
         "server CPU", "client CPU"],
        rows,
    )
    print("last watcher p99: per write, the latency of the slowest watcher to get it (fan-out completion). "
          "client CPU near 100% means the watcher process adds its own queueing to the figures.")
    missing = [r for r in results if r["received"] < r["expected"]]
    if missing:
        print("WARNING: some events were not received before the timeout.")


if __name__ == "__main__":
    main()
