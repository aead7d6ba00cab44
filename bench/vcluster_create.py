"""Virtual cluster creation: request to first successful API call with the new credentials.

For each virtual cluster: POST a VirtualCluster to the root cluster, wait (on one shared watch) until
it is Ready, read its kubeconfig Secret, and GET /api/v1/namespaces/default in the new cluster with
the new token. Reported: p50/p99 of that whole sequence over sequential creations, sustained
creations per second with concurrent clients, and the server's resident memory per virtual cluster.

Baseline in the same run: the same shape of work for one durable object (POST a ConfigMap, then GET
it), which is the floor any creation pays on this machine and disk.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

VCS = "/clusters/root/apis/kubenest.io/v1alpha1/virtualclusters"


class Conn:
    """One keep-alive TLS connection doing request/response."""

    def __init__(self, server: common.ServerProcess) -> None:
        self.server = server
        self.ctx = common.ssl_context(server.ca_path)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def call(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        if self.writer is None:
            self.reader, self.writer = await common.connect(self.server.port, self.ctx)
        assert self.reader is not None
        data = json.dumps(body).encode() if body is not None else b""
        self.writer.write(common.request_bytes(method, path, token, data))
        status, raw = await common.read_response(self.reader)
        return status, json.loads(raw) if raw else None


class ReadyWatch:
    """One watch on all VirtualClusters; resolves a future per name when it turns Ready."""

    def __init__(self, server: common.ServerProcess) -> None:
        self.server = server
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.task: asyncio.Task[None] | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        reader, writer = await common.connect(self.server.port, common.ssl_context(self.server.ca_path))
        self.writer = writer  # kept: a collected StreamWriter closes its connection
        writer.write(common.request_bytes("GET", VCS + "?watch=1&timeoutSeconds=3600", self.server.token))
        status, _ = await common.read_head(reader)
        assert status == 200, status
        self.task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        async for _, ev in common.watch_events(reader):
            obj = ev["object"]
            if (obj.get("status") or {}).get("phase") == "Ready":
                fut = self.waiting.pop(obj["metadata"]["name"], None)
                if fut is not None and not fut.done():
                    fut.set_result(None)

    def expect(self, name: str) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting[name] = fut
        return fut


async def create_and_call(conn: Conn, watch: ReadyWatch, name: str, token: str) -> float:
    """Seconds from the create request to the first successful call with the new credentials."""
    ready = watch.expect(name)
    t0 = time.perf_counter()
    status, body = await conn.call("POST", VCS, token, {"apiVersion": "kubenest.io/v1alpha1",
                                                        "kind": "VirtualCluster", "metadata": {"name": name}})
    if status != 201:
        raise RuntimeError(f"create {name}: {status} {body}")
    await asyncio.wait_for(ready, 30)
    status, secret = await conn.call("GET", f"/clusters/root/api/v1/namespaces/kubenest-system/secrets/vc-{name}",
                                      token)
    if status != 200:
        raise RuntimeError(f"secret of {name}: {status}")
    new_token = base64.b64decode(secret["data"]["token"]).decode()
    status, _ = await conn.call("GET", f"/clusters/{name}/api/v1/namespaces/default", new_token)
    if status != 200:
        raise RuntimeError(f"first call to {name}: {status}")
    return time.perf_counter() - t0


async def baseline_one(conn: Conn, i: int, token: str) -> float:
    t0 = time.perf_counter()
    status, _ = await conn.call("POST", "/clusters/root/api/v1/namespaces/default/configmaps", token,
                                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"base-{i}"}})
    if status != 201:
        raise RuntimeError(f"baseline create: {status}")
    status, _ = await conn.call("GET", f"/clusters/root/api/v1/namespaces/default/configmaps/base-{i}", token)
    return time.perf_counter() - t0


async def run(args: argparse.Namespace, server: common.ServerProcess) -> None:
    token = server.token
    conn = Conn(server)
    watch = ReadyWatch(server)
    await watch.start()
    for i in range(20):  # warm-up
        await create_and_call(conn, watch, f"warm-{i}", token)
        await baseline_one(conn, -i - 1, token)
    seq, base = [], []
    for i in range(args.creations):
        seq.append(await create_and_call(conn, watch, f"seq-{i}", token))
        base.append(await baseline_one(conn, i, token))
    conns = [Conn(server) for _ in range(args.concurrency)]
    counter = iter(range(args.burst))

    async def worker(c: Conn) -> None:
        for i in counter:
            await create_and_call(c, watch, f"burst-{i}", token)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    burst_s = time.perf_counter() - t0
    rate = args.burst / burst_s
    common.print_table(
        f"create to first successful API call with the new credentials ({args.creations} sequential, durable)",
        ["what", "p50", "p99", "max", "target"],
        [["virtual cluster", common.fmt_ms(common.percentile(seq, 50)), common.fmt_ms(common.percentile(seq, 99)),
          common.fmt_ms(max(seq)), "p50 < 20 ms: " + ("met" if common.percentile(seq, 50) < 0.020 else "MISSED")],
         ["baseline: ConfigMap POST + GET", common.fmt_ms(common.percentile(base, 50)),
          common.fmt_ms(common.percentile(base, 99)), common.fmt_ms(max(base)), "-"]],
    )
    common.print_table(
        f"sustained creations ({args.burst} virtual clusters, {args.concurrency} concurrent clients)",
        ["creations/s", "target"],
        [[common.fmt_num(rate, "/s"), "> 200/s: " + ("met" if rate > 200 else "MISSED")]],
    )


async def get_latency(server: common.ServerProcess, name: str, gets: int) -> list[float]:
    """Sequential keep-alive GETs in virtual cluster `name` with its own token."""
    conn = Conn(server)
    status, secret = await conn.call("GET", f"/clusters/root/api/v1/namespaces/kubenest-system/secrets/vc-{name}",
                                     server.token)
    token = base64.b64decode(secret["data"]["token"]).decode()
    path = f"/clusters/{name}/api/v1/namespaces/default"
    out = []
    for _ in range(gets):
        t0 = time.perf_counter()
        status, _ = await conn.call("GET", path, token)
        out.append(time.perf_counter() - t0)
        assert status == 200
    return out


async def lone_server_latency(gets: int) -> list[float]:
    """The baseline: the same GETs on a server holding one virtual cluster."""
    lone = common.start_kubenest(cpu=0)
    try:
        await create_and_call(Conn(lone), await _started_watch(lone), "idle-0", lone.token)
        await get_latency(lone, "idle-0", 200)
        return await get_latency(lone, "idle-0", gets)
    finally:
        lone.stop()


async def _started_watch(server: common.ServerProcess) -> ReadyWatch:
    watch = ReadyWatch(server)
    await watch.start()
    return watch


async def memory(args: argparse.Namespace, server: common.ServerProcess) -> None:
    token = server.token
    conns = [Conn(server) for _ in range(8)]
    watch = ReadyWatch(server)
    await watch.start()
    await create_and_call(conns[0], watch, "mem-warm", token)
    await asyncio.sleep(0.5)
    before = server.rss_kib()
    counter = iter(range(args.idle))

    async def worker(c: Conn) -> None:
        for i in counter:
            await create_and_call(c, watch, f"idle-{i}", token)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    took = time.perf_counter() - t0
    await asyncio.sleep(1.0)
    after = server.rss_kib()
    per = (after - before) / args.idle
    await get_latency(server, "idle-0", 200)
    busy = await get_latency(server, "idle-0", args.gets)
    common.print_table(
        f"{args.idle:,} idle virtual clusters (VirtualCluster, owner binding, kubeconfig Secret, default namespaces)",
        ["memory per cluster", "target", "RSS growth", "created in"],
        [[f"{per:.1f} KiB", "< 100 KiB: " + ("met" if per < 100 else "MISSED"),
          f"{(after - before) / 1024:.1f} MiB", f"{took:.1f} s ({args.idle / took:.0f}/s)"]],
    )
    alone = await lone_server_latency(args.gets)
    ratio = common.percentile(busy, 50) / common.percentile(alone, 50)
    common.print_table(
        f"GET in one virtual cluster with its token, {args.gets:,} sequential keep-alive requests",
        ["beside", "p50", "p99", "target"],
        [[f"{args.idle:,} idle virtual clusters", common.fmt_ms(common.percentile(busy, 50)),
          common.fmt_ms(common.percentile(busy, 99)),
          f"no growth (p50 within 10%): {'met' if ratio <= 1.10 else 'MISSED'} ({ratio:.2f}x)"],
         ["baseline: server with 1 virtual cluster", common.fmt_ms(common.percentile(alone, 50)),
          common.fmt_ms(common.percentile(alone, 99)), "-"]],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creations", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--idle", type=int, default=10000, help="virtual clusters for the memory figure")
    parser.add_argument("--gets", type=int, default=2000, help="GETs for the latency comparison")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.creations, args.burst, args.idle, args.gets = 50, 100, 200, 300
    common.header("vcluster_create", args)
    loop = common.new_event_loop()
    server = common.start_kubenest(cpu=0)
    try:
        loop.run_until_complete(run(args, server))
    finally:
        server.stop()
    server = common.start_kubenest(cpu=0)
    try:
        loop.run_until_complete(memory(args, server))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
