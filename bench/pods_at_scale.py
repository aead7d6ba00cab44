"""10,000 pods across 100 virtual clusters on simulated nodes: time until all Running, syncer memory.

Two kubenest servers, as a real deployment would have them: the host (an embedded host with simulated
nodes, standing in for a Kubernetes cluster) and the kubenest under test, which reaches the host only
through its kubeconfig (`--host-kubeconfig`). 100 virtual clusters get 100 pods each, created over 16
connections; one watch per virtual cluster counts pods whose status says Running. Reported: the time
from the first create until all are Running in their virtual clusters (the VirtualCluster paper reports
about 23 s on 2x96 cores), and the memory per synced pod.

Memory: what the syncer itself keeps per synced pod (`Syncer.state_bytes`: host caches, references,
node tracking), target under 10 KB. Beside it, for scale, the resident growth of the whole server per
synced pod (virtual pod, its events and virtual nodes, watch history, syncer) and the baseline measured
in the same process and run: the growth per pod of the same pods with the same Running status stored in
a plain logical cluster the syncer does not sync.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from pod_sync import Conn, create_vc, pod  # noqa: E402


class RunningCounter:
    """One pod watch per virtual cluster; counts pods that reached phase Running."""

    def __init__(self, server: common.ServerProcess) -> None:
        self.server = server
        self.running: set[tuple[str, str]] = set()
        self.target = 0
        self.done = asyncio.Event()
        self.last: dict[str, Any] = {}
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def watch(self, cluster: str) -> None:
        reader, writer = await common.connect(self.server.port, common.ssl_context(self.server.ca_path))
        self.writers.append(writer)
        writer.write(common.request_bytes("GET", f"/clusters/{cluster}/api/v1/pods?watch=1", self.server.token))
        status, _ = await common.read_head(reader)
        if status != 200:
            raise RuntimeError(f"watch of {cluster} answered {status}")
        self.tasks.append(asyncio.ensure_future(self._read(cluster, reader)))

    async def _read(self, cluster: str, reader: asyncio.StreamReader) -> None:
        async for _, ev in common.watch_events(reader):
            obj = ev["object"]
            if (obj.get("status") or {}).get("phase") == "Running":
                self.running.add((cluster, obj["metadata"]["name"]))
                self.last = obj
                if self.target and len(self.running) >= self.target:
                    self.done.set()


async def create_pods(conns: list[Conn], targets: list[tuple[str, str]]) -> None:
    todo = iter(targets)

    async def worker(conn: Conn) -> None:
        for cluster, name in todo:
            status, body = await conn.call("POST", f"/clusters/{cluster}/api/v1/namespaces/default/pods", pod(name))
            if status != 201:
                raise RuntimeError(f"create {cluster}/{name}: {status} {body}")

    await asyncio.gather(*(worker(c) for c in conns))


async def run(args: argparse.Namespace) -> None:
    host = common.start_kubenest(simulated_nodes=args.nodes)
    server = None
    try:
        server = common.start_kubenest(host_kubeconfig=os.path.join(host.data_dir, "host.kubeconfig"),
                                       clusters=["plain"])
        conn = Conn(server)
        vcs = [f"vc-{i}" for i in range(args.clusters)]
        for name in vcs:
            await create_vc(conn, name)
        counter = RunningCounter(server)
        for name in vcs:
            await counter.watch(name)
        conns = [Conn(server) for _ in range(args.connections)]
        targets = [(vc, f"p-{i}") for i in range(args.pods // args.clusters) for vc in vcs]
        counter.target = len(targets)
        await asyncio.sleep(1)
        rss_before = server.rss_kib()
        syncer_before = server.syncer_bytes()
        start = time.perf_counter()
        await create_pods(conns, targets)
        created = time.perf_counter() - start
        await asyncio.wait_for(counter.done.wait(), args.timeout)
        elapsed = time.perf_counter() - start
        await asyncio.sleep(2)  # let status writes and the syncer settle before reading memory
        synced_kib = server.rss_kib() - rss_before
        syncer_per_pod = (server.syncer_bytes() - syncer_before) / len(targets)

        # Baseline: the same pods with the same Running status in a cluster the syncer does not sync.
        status_template = counter.last["status"]
        rss_before = server.rss_kib()
        plain = [("plain", f"p-{i}") for i in range(len(targets))]
        await create_pods(conns, plain)

        async def set_status(c: Conn, names: list[str]) -> None:
            for name in names:
                _, obj = await c.call("GET", f"/clusters/plain/api/v1/namespaces/default/pods/{name}")
                obj["status"] = status_template
                code, body = await c.call("PUT", f"/clusters/plain/api/v1/namespaces/default/pods/{name}/status",
                                          obj)
                if code != 200:
                    raise RuntimeError(f"status of plain/{name}: {code} {body}")

        names = [n for _, n in plain]
        await asyncio.gather(*(set_status(c, names[i::len(conns)]) for i, c in enumerate(conns)))
        await asyncio.sleep(2)
        plain_kib = server.rss_kib() - rss_before
        n = len(targets)
        common.print_table(
            f"{n:,} pods across {args.clusters} virtual clusters on {args.nodes} simulated nodes",
            ["what", "figure", "reference"],
            [["all pods Running in their virtual clusters", f"{elapsed:.1f} s",
              "VirtualCluster paper: about 23 s on 2x96 cores"],
             ["of which creating them (16 connections)", f"{created:.1f} s", "-"],
             ["syncer memory per synced pod", f"{syncer_per_pod / 1000:.1f} KB",
              "target < 10 KB; VirtualCluster about 40 KB"],
             ["server RSS growth per synced pod (all of it)", f"{synced_kib * 1024 / n / 1000:.1f} KB", "-"],
             ["baseline: RSS growth per pod stored unsynced", f"{plain_kib * 1024 / n / 1000:.1f} KB", "-"]])
        for task in counter.tasks:
            task.cancel()
        for writer in counter.writers:
            writer.close()
    finally:
        if server is not None:
            server.stop()
        host.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=100, help="simulated nodes of the host")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    common.header("pods_at_scale", args)
    common.run(run(args))


if __name__ == "__main__":
    main()
