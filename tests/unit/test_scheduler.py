"""The embedded host's scheduler without a server: requests, matching, accounting, messages, a 10,000-pod burst."""

from __future__ import annotations

import time
from typing import Any

from kubenest.api.clusters import Clusters
from kubenest.api.registry import Registry
from kubenest.controllers.client import Client
from kubenest.host.scheduler import Scheduler, _pod_info, node_selector_term_matches, pod_requests, tolerates
from kubenest.host.simulated import SimulatedRuntime
from kubenest.store.backend import MemoryBackend
from kubenest.store.store import Store

TOLERATE = [{"key": "kubenest.io/simulated", "operator": "Exists", "effect": "NoSchedule"}]


def scheduler() -> Scheduler:
    store = Store(MemoryBackend())
    s = Scheduler(Client(store, Clusters(store), Registry(store)))
    s._primed = True  # nothing stored to prime from
    return s


def pod(name: str, requests: dict[str, str] | None = None, node: str = "", **spec: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": "c", "image": "x"}
    if requests:
        c["resources"] = {"requests": requests}
    body: dict[str, Any] = {"containers": [c], "tolerations": TOLERATE, **spec}
    if node:
        body["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                                                            "labels": spec.pop("labels", {})}, "spec": body}


def test_pod_requests_take_the_largest_init_container_and_count_sidecars() -> None:
    p = {"spec": {
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
                       {"name": "b", "resources": {"limits": {"cpu": "250m", "nvidia.com/gpu": "2"}}}],
        "initContainers": [{"name": "big", "resources": {"requests": {"cpu": "2", "memory": "64Mi"}}},
                           {"name": "side", "restartPolicy": "Always",
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}],
        "overhead": {"cpu": "10m"}}}
    # containers 750m + sidecar 100m = 850m < init 2000m; memory 1Gi + 128Mi; limits stand in for requests
    assert pod_requests(p) == {"cpu": 2010, "memory": 1024 ** 3 + 128 * 1024 ** 2, "nvidia.com/gpu": 2}


def test_tolerations_and_node_selector_terms() -> None:
    taint = {"key": "kubenest.io/simulated", "value": "true", "effect": "NoSchedule"}
    assert tolerates([{"operator": "Exists"}], taint)
    assert tolerates([{"key": "kubenest.io/simulated", "value": "true"}], taint)
    assert not tolerates([{"key": "kubenest.io/simulated", "value": "false"}], taint)
    assert not tolerates([{"key": "kubenest.io/simulated", "operator": "Exists", "effect": "NoExecute"}], taint)
    node = {"metadata": {"name": "n1", "labels": {"zone": "a", "gen": "7"}}}
    assert node_selector_term_matches({"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["6"]}]}, node)
    assert not node_selector_term_matches({"matchExpressions": [{"key": "gen", "operator": "Lt", "values": ["7"]}]},
                                          node)
    assert node_selector_term_matches({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}],
                                       "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]},
                                      node)
    assert node_selector_term_matches({"matchExpressions": [{"key": "disk", "operator": "DoesNotExist"}]}, node)
    assert not node_selector_term_matches({}, node)  # an empty term matches nothing


def test_accounting_follows_bound_pods_and_the_fit_error_counts_reasons() -> None:
    s = scheduler()
    for i in range(3):
        s.cache.set_node(SimulatedRuntime(f"sim-{i}", i).node())
    s.cache.add_pod(_pod_info(pod("a", {"cpu": "30"}, node="sim-0")))
    s.cache.add_pod(_pod_info(pod("b", {"cpu": "30"}, node="sim-1")))
    assert s.cache.nodes["sim-0"].requested["cpu"] == 30000
    node, _ = s.pick(pod("c", {"cpu": "4"}))
    assert node == "sim-2"
    s.cache.add_pod(_pod_info(pod("c2", {"cpu": "30"}, node="sim-2")))
    node, fits = s.pick(pod("d", {"cpu": "4", "memory": "300Gi"}))
    assert node is None
    assert s.fit_error(pod("d"), fits) == (
        "0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient memory. no new claims to deallocate, "
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    node, fits = s.pick(pod("e", {"cpu": "4"}, preemptionPolicy="Never"))
    assert s.fit_error(pod("e", preemptionPolicy="Never"), fits) == (
        "0/3 nodes are available: 3 Insufficient cpu. no new claims to deallocate, "
        "preemption: not eligible due to preemptionPolicy=Never.")
    s.cache.remove_pod("uid-b")
    assert s.cache.nodes["sim-1"].requested["cpu"] == 0
    assert s.pick(pod("f", {"cpu": "4"}))[0] == "sim-1"


def test_a_burst_of_10000_decisions_over_100_nodes_is_fast() -> None:
    s = scheduler()
    for i in range(100):
        s.cache.set_node(SimulatedRuntime(f"sim-{i}", i).node())
    start = time.perf_counter()
    for i in range(10_000):
        p = pod(f"p{i}", {"cpu": "100m", "memory": "128Mi"})
        node, _ = s.pick(p)
        assert node is not None
        info = _pod_info(p)
        info.node = node
        s.cache.add_pod(info)
    elapsed = time.perf_counter() - start
    counts = [len(n.pods) for n in s.cache.nodes.values()]
    assert max(counts) - min(counts) <= 6  # least allocated spreads (integer scores, as kube's, leave ties)
    assert elapsed < 30, elapsed  # about 1.5 s here; a per-decision scan of all pods takes minutes
    # the 111th pod of a node finds no room: 110 pods each
    for i in range(1000):
        p = pod(f"q{i}")
        node, fits = s.pick(p)
        if node is None:
            assert "Too many pods" in s.fit_error(p, fits)
            break
        info = _pod_info(p)
        info.node = node
        s.cache.add_pod(info)
    assert all(len(n.pods) == 110 for n in s.cache.nodes.values())
