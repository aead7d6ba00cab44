"""Controllers at scale: a Deployment of 100 replicas in each of 50 virtual clusters.

Measured: time from the first Deployment create until every ReplicaSet reports all its pods created
(`status.replicas == 100`), with the server's CPU time. Baseline in the same run: creating the same
number of pods directly through the API with the same client concurrency (the writes the
controllers must at least make).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from vcluster_create import Conn, ReadyWatch, create_and_call  # noqa: E402


def deployment(name: str, replicas: int) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}},
    }


async def all_replicasets_full(conn: Conn, clusters: list[str], token: str, replicas: int) -> bool:
    for c in clusters:
        status, body = await conn.call("GET", f"/clusters/{c}/apis/apps/v1/namespaces/default/replicasets", token)
        items = (body or {}).get("items") or []
        if status != 200 or not items or any((rs.get("status") or {}).get("replicas", 0) < replicas
                                             for rs in items):
            return False
    return True


async def run(args: argparse.Namespace) -> None:
    server = common.start_kubenest(cpu=0)
    try:
        token = server.token
        watch = ReadyWatch(server)
        await watch.start()
        conn = Conn(server)
        clusters = [f"dep-{i}" for i in range(args.clusters)]
        for c in clusters:
            await create_and_call(conn, watch, c, token)
        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()
        for c in clusters:
            status, body = await conn.call("POST", f"/clusters/{c}/apis/apps/v1/namespaces/default/deployments",
                                           token, deployment("web", args.replicas))
            assert status == 201, body
        while not await all_replicasets_full(conn, clusters, token, args.replicas):
            await asyncio.sleep(0.05)
            if time.perf_counter() - t0 > args.timeout:
                raise RuntimeError("ReplicaSets did not reach their replicas in time")
        took = time.perf_counter() - t0
        cpu = server.cpu_seconds() - cpu0

        # Baseline: the same pods created directly, 16 concurrent clients.
        conns = [Conn(server) for _ in range(16)]
        jobs = iter([(c, i) for c in clusters for i in range(args.replicas)])
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "direct-"},
               "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}

        async def worker(cc: Conn) -> None:
            for c, _ in jobs:
                status, body = await cc.call("POST", f"/clusters/{c}/api/v1/namespaces/default/pods", token, pod)
                assert status == 201, body

        cpu1 = server.cpu_seconds()
        t1 = time.perf_counter()
        await asyncio.gather(*(worker(cc) for cc in conns))
        base = time.perf_counter() - t1
        base_cpu = server.cpu_seconds() - cpu1
        total = args.clusters * args.replicas
        common.print_table(
            f"{args.clusters} virtual clusters x Deployment of {args.replicas} replicas ({total:,} pods, durable)",
            ["what", "time", "pods/s", "server CPU"],
            [["Deployments until every ReplicaSet reports its pods", f"{took:.2f} s", common.fmt_num(total / took),
              f"{cpu:.1f} s"],
             ["baseline: the same pods created directly (16 clients)", f"{base:.2f} s",
              common.fmt_num(total / base), f"{base_cpu:.1f} s"]],
        )
        print(json.dumps({"seconds": took, "baseline_seconds": base}))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--replicas", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.clusters, args.replicas = 5, 20
    common.header("deployments_scale", args)
    common.run(run(args))


if __name__ == "__main__":
    main()
