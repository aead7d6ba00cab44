"""Pod sync latency: a pod created in a virtual cluster to the pod created on the host.

One kubenest server (embedded host with simulated nodes, nothing runs) and one virtual cluster. A watch
on all pods of the host cluster timestamps each host pod's ADDED event; a pod's latency is that time
minus the moment its create was sent to the virtual cluster. Two loads:

- steady: pods created one at a time at a fixed rate (default 50/s), each measured on its own;
- burst: 1,000 pods created as fast as 16 connections allow, each measured from its own send.

Baseline in the same run: the same creates sent directly to the host cluster and timed the same way,
which is the floor of any sync (one create and one watch event on the host).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

VCS = "/clusters/root/apis/kubenest.io/v1alpha1/virtualclusters"
TOLERATE = [{"key": "kubenest.io/simulated", "operator": "Exists", "effect": "NoSchedule"}]


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "inf"]}],
                     "tolerations": TOLERATE, "nodeSelector": {"kubenest.io/runtime": "simulated"}}}


class Conn:
    """One keep-alive TLS connection doing request/response."""

    def __init__(self, server: common.ServerProcess) -> None:
        self.server = server
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await common.connect(self.server.port,
                                                                common.ssl_context(self.server.ca_path))
            assert self.reader is not None
            try:
                self.writer.write(common.request_bytes(method, path, self.server.token, data))
                status, raw = await common.read_response(self.reader)
                return status, json.loads(raw) if raw else None
            except (asyncio.IncompleteReadError, ConnectionError):
                # The server closes connections idle past its keep-alive timeout: reconnect once.
                self.writer = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class HostPods:
    """A watch on every pod of the host cluster: arrival time of each pod by its origin name."""

    def __init__(self, server: common.ServerProcess) -> None:
        self.server = server
        self.arrived: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        reader, self.writer = await common.connect(self.server.port, common.ssl_context(self.server.ca_path))
        self.writer.write(common.request_bytes("GET", "/clusters/host/api/v1/pods?watch=1", self.server.token))
        status, _ = await common.read_head(reader)
        if status != 200:
            raise RuntimeError(f"host watch answered {status}")
        self.task = asyncio.ensure_future(self._read(reader))

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        async for now, ev in common.watch_events(reader):
            if ev["type"] != "ADDED":
                continue
            meta = ev["object"]["metadata"]
            name = (meta.get("annotations") or {}).get("kubenest.io/name") or meta["name"]
            self.arrived.setdefault(name, now)
            fut = self.waiters.pop(name, None)
            if fut is not None and not fut.done():
                fut.set_result(now)

    async def wait(self, name: str, timeout: float = 30) -> float:
        if name in self.arrived:
            return self.arrived[name]
        fut = self.waiters.setdefault(name, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(fut, timeout)


async def create_vc(conn: Conn, name: str) -> None:
    status, body = await conn.call("POST", VCS, {"apiVersion": "kubenest.io/v1alpha1", "kind": "VirtualCluster",
                                                 "metadata": {"name": name}, "spec": {}})
    if status != 201:
        raise RuntimeError(f"creating virtual cluster {name}: {status} {body}")
    for _ in range(2000):
        _, vc = await conn.call("GET", f"{VCS}/{name}")
        if (vc.get("status") or {}).get("phase") == "Ready":
            return
        await asyncio.sleep(0.005)
    raise RuntimeError(f"virtual cluster {name} not Ready")


async def steady(conn: Conn, watch: HostPods, base: str, prefix: str, count: int, rate: float) -> list[float]:
    latencies = []
    for i in range(count):
        name = f"{prefix}-{i}"
        start = time.perf_counter()
        status, body = await conn.call("POST", f"{base}/api/v1/namespaces/default/pods", pod(name))
        if status != 201:
            raise RuntimeError(f"create {name}: {status} {body}")
        latencies.append(await watch.wait(name) - start)
        await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - start)))
    return latencies


async def burst(conns: list[Conn], watch: HostPods, base: str, prefix: str,
                count: int) -> tuple[list[float], float]:
    """Per-pod latencies, and the time from the first create sent to the last host pod seen."""
    sent: dict[str, float] = {}
    names = iter(f"{prefix}-{i}" for i in range(count))

    async def worker(conn: Conn) -> None:
        for name in names:
            sent[name] = time.perf_counter()
            status, body = await conn.call("POST", f"{base}/api/v1/namespaces/default/pods", pod(name))
            if status != 201:
                raise RuntimeError(f"create {name}: {status} {body}")

    await asyncio.gather(*(worker(c) for c in conns))
    arrivals = await asyncio.gather(*(watch.wait(n, timeout=120) for n in sent))
    return [a - sent[n] for n, a in zip(sent, arrivals, strict=True)], max(arrivals) - min(sent.values())


async def run(args: argparse.Namespace) -> None:
    server = common.start_kubenest(simulated_nodes=args.nodes, cpu=0)
    try:
        conn = Conn(server)
        await create_vc(conn, "bench")
        await conn.call("POST", "/clusters/host/api/v1/namespaces",
                        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default-direct"}})
        watch = HostPods(server)
        await watch.start()
        vc = "/clusters/bench"
        host = "/clusters/host"
        await steady(conn, watch, vc, "warm", 20, args.rate)  # connections, caches, first-use paths
        conns = [Conn(server) for _ in range(args.connections)]
        results: list[tuple[str, list[float], list[float], str, str]] = []
        direct = await steady(conn, watch, host, "d-steady", args.steady, args.rate)
        synced = await steady(conn, watch, vc, "v-steady", args.steady, args.rate)
        results.append((f"steady, {args.rate:g} pods/s x {args.steady}", synced, direct, "-", "-"))
        direct, direct_all = await burst(conns, watch, host, "d-burst", args.burst)
        synced, synced_all = await burst(conns, watch, vc, "v-burst", args.burst)
        results.append((f"burst of {args.burst}, {args.connections} connections", synced, direct,
                        f"{synced_all:.2f} s", f"{direct_all:.2f} s"))
        rows = []
        for label, s, d, s_all, d_all in results:
            rows.append([label, common.fmt_ms(common.percentile(s, 50)), common.fmt_ms(common.percentile(s, 99)),
                         s_all, common.fmt_ms(common.percentile(d, 50)), common.fmt_ms(common.percentile(d, 99)),
                         d_all])
        common.print_table("pod created in a virtual cluster -> pod created on the host (target p50 < 10 ms)",
                           ["load", "synced p50", "synced p99", "all synced", "baseline: direct p50", "direct p99",
                            "all direct"], rows)
        watch.close()
        for c in [conn, *conns]:
            if c.writer is not None:
                c.writer.close()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steady", type=int, default=300, help="pods in the steady phase")
    parser.add_argument("--rate", type=float, default=50, help="pods per second in the steady phase")
    parser.add_argument("--burst", type=int, default=1000, help="pods in the burst")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--nodes", type=int, default=50,
                        help="simulated nodes of the embedded host (110 pods each: room for every pod)")
    args = parser.parse_args()
    common.header("pod_sync", args)
    common.run(run(args))


if __name__ == "__main__":
    main()
