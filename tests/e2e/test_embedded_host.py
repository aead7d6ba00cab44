"""The embedded host with simulated nodes, through kubectl: nodes, scheduling, binding, workloads, deletion.

Scheduling tests use a server of their own with exactly three simulated nodes (messages count nodes);
workload tests use the shared `host` fixture (four nodes).
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kubenest.testing import ServerThread
from tests.conftest import Cluster, host_cluster
from tests.waiting import eventually

TOLERATE = [{"key": "kubenest.io/simulated", "operator": "Exists", "effect": "NoSchedule"}]
POST = "no new claims to deallocate, preemption: 0/3 nodes are available:"


@pytest.fixture(scope="module")
def three_nodes() -> Iterator[ServerThread]:
    st = ServerThread(durable=False, simulated_nodes=3, process_node=False)
    yield st
    st.stop()


@pytest.fixture
def h3(three_nodes: ServerThread, bins: tuple[str, str], request: pytest.FixtureRequest) -> Iterator[Cluster]:
    c = host_cluster(three_nodes, bins, request.node.name)
    yield c
    # leave the nodes and their room as the next test expects them
    ns = json.loads(c.kubectl("config", "view", "--minify", "-o", "json").stdout)["contexts"][0]["context"]["namespace"]
    c.kubectl("delete", "namespace", ns, "--wait=true", "--timeout=60s", check=False)


# polling kubectl less often than the default
wait_for = functools.partial(eventually, timeout=20, interval=0.1)


def pod_manifest(name: str, requests: dict[str, str] | None = None, tolerate: bool = True,
                 labels: dict[str, str] | None = None, **spec: Any) -> str:
    container: dict[str, Any] = {"name": "c", "image": "nginx"}
    if requests:
        container["resources"] = {"requests": requests, "limits": requests}
    body: dict[str, Any] = {"containers": [container], **spec}
    if tolerate:
        body["tolerations"] = TOLERATE
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
                       "spec": body})


def get_pod(c: Cluster, name: str) -> dict[str, Any]:
    pod: dict[str, Any] = c.json("get", "pod", name)
    return pod


def node_of(c: Cluster, name: str) -> str:
    return str(get_pod(c, name)["spec"].get("nodeName", ""))


def scheduled_condition(c: Cluster, name: str) -> dict[str, Any]:
    for cond in get_pod(c, name).get("status", {}).get("conditions") or ():
        if cond["type"] == "PodScheduled":
            return dict(cond)
    return {}


def unschedulable_message(c: Cluster, name: str) -> str:
    cond = wait_for(lambda: (lambda x: x if x.get("status") == "False" else None)(scheduled_condition(c, name)))
    assert cond["reason"] == "Unschedulable"
    return str(cond["message"])


# -- nodes --------------------------------------------------------------------------------------------


def test_simulated_nodes_are_registered_ready_with_lease(host: Cluster) -> None:
    out = host.kubectl("get", "nodes").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    rows = {ln.split()[0]: ln.split() for ln in lines[1:]}
    assert set(rows) == {"sim-0", "sim-1", "sim-2", "sim-3"}
    for row in rows.values():
        assert row[1] == "Ready" and row[4] == "v1.37.0"
    node = host.json("get", "node", "sim-2")
    assert node["metadata"]["labels"]["kubenest.io/runtime"] == "simulated"
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "sim-2"
    assert {"key": "kubenest.io/simulated", "value": "true", "effect": "NoSchedule"} in node["spec"]["taints"]
    cap = node["status"]["capacity"]
    assert (cap["cpu"], cap["memory"], cap["pods"], cap["nvidia.com/gpu"]) == ("32", "256Gi", "110", "8")
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"][0]
    assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
    assert node["status"]["addresses"][0]["type"] == "InternalIP"
    lease = host.json("get", "lease", "sim-2", "-n", "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == "sim-2" and lease["spec"]["renewTime"]


# -- scheduling -----------------------------------------------------------------------------------------


def test_pod_without_toleration_is_unschedulable_with_kubes_message_and_event(h3: Cluster) -> None:
    h3.apply(pod_manifest("plain", tolerate=False))
    msg = unschedulable_message(h3, "plain")
    assert msg == (f"0/3 nodes are available: 3 node(s) had untolerated taint(s). "
                   f"{POST} 3 Preemption is not helpful for scheduling.")
    describe = h3.kubectl("describe", "pod", "plain").stdout
    events = describe[describe.index("Events:"):]
    assert "FailedScheduling" in events and "default-scheduler" in events and "0/3 nodes are available" in events
    assert node_of(h3, "plain") == ""


def test_gpu_requests_fill_nodes_and_a_freed_node_takes_the_waiting_pod(h3: Cluster) -> None:
    for i in range(3):
        h3.apply(pod_manifest(f"gpu-{i}", {"nvidia.com/gpu": "6", "cpu": "1"}))
    nodes = [wait_for(lambda i=i: node_of(h3, f"gpu-{i}")) for i in range(3)]
    assert sorted(nodes) == ["sim-0", "sim-1", "sim-2"]  # 6 of 8 GPUs each: one pod per node
    h3.apply(pod_manifest("gpu-3", {"nvidia.com/gpu": "4"}))
    msg = unschedulable_message(h3, "gpu-3")
    assert msg == (f"0/3 nodes are available: 3 Insufficient nvidia.com/gpu. "
                   f"{POST} 3 No preemption victims found for incoming pod.")
    h3.apply(pod_manifest("gpu-huge", {"nvidia.com/gpu": "9"}))
    assert unschedulable_message(h3, "gpu-huge").endswith(f"{POST} 3 Preemption is not helpful for scheduling.")
    freed = node_of(h3, "gpu-1")
    h3.kubectl("delete", "pod", "gpu-1", "--timeout=30s")
    assert wait_for(lambda: node_of(h3, "gpu-3")) == freed
    assert scheduled_condition(h3, "gpu-3")["status"] == "True"
    events = h3.kubectl("get", "events", "--field-selector", "involvedObject.name=gpu-3").stdout
    assert f"Successfully assigned {h3.json('get', 'pod', 'gpu-3')['metadata']['namespace']}/gpu-3 to {freed}" \
        in events


def test_cpu_and_memory_requests_and_pod_count(h3: Cluster) -> None:
    h3.apply(pod_manifest("big", {"cpu": "30", "memory": "1Gi"},
                          nodeSelector={"kubernetes.io/hostname": "sim-0"}))
    assert wait_for(lambda: node_of(h3, "big")) == "sim-0"
    h3.apply(pod_manifest("more", {"cpu": "3", "memory": "300Gi"},
                          nodeSelector={"kubernetes.io/hostname": "sim-0"}))
    msg = unschedulable_message(h3, "more")
    assert msg == ("0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, "
                   "2 node(s) didn't match Pod's node affinity/selector. "
                   f"{POST} 3 Preemption is not helpful for scheduling.")
    # init containers: the largest init request counts when it exceeds the containers' sum
    init = json.loads(pod_manifest("init", {"cpu": "1"}, nodeSelector={"kubernetes.io/hostname": "sim-0"}))
    init["spec"]["initContainers"] = [{"name": "setup", "image": "busybox",
                                       "resources": {"requests": {"cpu": "3"}, "limits": {"cpu": "3"}}}]
    h3.apply(json.dumps(init))
    assert "1 Insufficient cpu" in unschedulable_message(h3, "init")


def test_node_selector_and_required_node_affinity(h3: Cluster) -> None:
    h3.kubectl("label", "node", "sim-2", "gen=5", "--overwrite")
    try:
        h3.apply(pod_manifest("by-selector", nodeSelector={"kubernetes.io/hostname": "sim-1"}))
        aff = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["sim-0", "sim-1"]}]}]}}}
        h3.apply(pod_manifest("by-notin", affinity=aff))
        gt = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["3"]}]}]}}}
        h3.apply(pod_manifest("by-gt", affinity=gt))
        fields = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["sim-0"]}]}]}}}
        h3.apply(pod_manifest("by-field", affinity=fields))
        missing = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "gen", "operator": "DoesNotExist"}]},
            {"matchExpressions": [{"key": "gen", "operator": "Lt", "values": ["5"]}]}]}}}
        h3.apply(pod_manifest("by-doesnotexist", affinity=missing))
        assert wait_for(lambda: node_of(h3, "by-selector")) == "sim-1"
        assert wait_for(lambda: node_of(h3, "by-notin")) == "sim-2"
        assert wait_for(lambda: node_of(h3, "by-gt")) == "sim-2"
        assert wait_for(lambda: node_of(h3, "by-field")) == "sim-0"
        assert wait_for(lambda: node_of(h3, "by-doesnotexist")) in ("sim-0", "sim-1")
        h3.apply(pod_manifest("nowhere", nodeSelector={"disk": "ssd"}))
        assert unschedulable_message(h3, "nowhere") == (
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. "
            f"{POST} 3 Preemption is not helpful for scheduling.")
        h3.kubectl("label", "node", "sim-1", "disk=ssd")
        assert wait_for(lambda: node_of(h3, "nowhere")) == "sim-1"  # a node change retries it
    finally:
        h3.kubectl("label", "node", "sim-2", "gen-", check=False)
        h3.kubectl("label", "node", "sim-1", "disk-", check=False)


def test_taints_tolerations_and_cordoned_nodes(h3: Cluster) -> None:
    h3.kubectl("taint", "node", "sim-0", "dedicated=infra:NoSchedule")
    h3.kubectl("cordon", "sim-1")
    try:
        h3.apply(pod_manifest("picky", {"cpu": "100m"}))
        assert wait_for(lambda: node_of(h3, "picky")) == "sim-2"
        pinned = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["sim-0", "sim-1"]}]}]}}}
        h3.apply(pod_manifest("pinned", affinity=pinned))
        assert unschedulable_message(h3, "pinned") == (
            "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
            "1 node(s) had untolerated taint(s), 1 node(s) were unschedulable. "
            f"{POST} 3 Preemption is not helpful for scheduling.")
        tolerant = json.loads(pod_manifest("tolerant", affinity=pinned))
        tolerant["spec"]["tolerations"].append({"key": "dedicated", "operator": "Equal", "value": "infra",
                                                "effect": "NoSchedule"})
        h3.apply(json.dumps(tolerant))
        assert wait_for(lambda: node_of(h3, "tolerant")) == "sim-0"
        h3.kubectl("uncordon", "sim-1")
        assert wait_for(lambda: node_of(h3, "pinned")) == "sim-1"
    finally:
        h3.kubectl("taint", "node", "sim-0", "dedicated-", check=False)
        h3.kubectl("uncordon", "sim-1", check=False)


def test_required_pod_anti_affinity_spreads_replicas_one_per_node(h3: Cluster) -> None:
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "spread"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "spread"},
              "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "spread"}},
                       "template": {"metadata": {"labels": {"app": "spread"}},
                                    "spec": {"tolerations": TOLERATE, "affinity": anti,
                                             "containers": [{"name": "c", "image": "nginx"}]}}}}
    h3.apply(json.dumps(deploy))

    def placed() -> list[dict[str, Any]] | None:
        pods = h3.json("get", "pods", "-l", "app=spread")["items"]
        bound = [p for p in pods if p["spec"].get("nodeName")]
        return pods if len(pods) == 4 and len(bound) == 3 else None

    pods = wait_for(placed)
    assert sorted(p["spec"]["nodeName"] for p in pods if p["spec"].get("nodeName")) == ["sim-0", "sim-1", "sim-2"]
    waiting = [p for p in pods if not p["spec"].get("nodeName")][0]["metadata"]["name"]
    assert unschedulable_message(h3, waiting) == (
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. "
        f"{POST} 3 No preemption victims found for incoming pod.")
    # a pod the running ones' anti-affinity rejects (symmetry), though it has no rule itself
    h3.apply(pod_manifest("intruder", labels={"app": "spread"}))
    assert "3 node(s) didn't satisfy existing pods anti-affinity rules" in unschedulable_message(h3, "intruder")


def test_pods_of_other_clusters_are_left_alone(three_nodes: ServerThread, bins: tuple[str, str]) -> None:
    from tests.conftest import make_cluster

    c = make_cluster(three_nodes, bins, "not-the-host")
    c.apply(pod_manifest("elsewhere"))
    time.sleep(1)
    pod = c.json("get", "pod", "elsewhere")
    assert not pod["spec"].get("nodeName")
    assert not pod.get("status", {}).get("conditions")
    assert c.json("get", "events")["items"] == []


# -- binding --------------------------------------------------------------------------------------------


def _http(server: ServerThread, **headers: str) -> httpx.Client:
    ctx = ssl.create_default_context(cafile=server.ca_path)
    return httpx.Client(verify=ctx, headers={"Authorization": f"Bearer {server.token}", **headers}, timeout=30,
                        base_url=server.url("host"))


def test_binding_sets_the_node_once_then_conflicts(h3: Cluster, three_nodes: ServerThread) -> None:
    h3.apply(pod_manifest("manual", schedulerName="my-scheduler"))
    ns = get_pod(h3, "manual")["metadata"]["namespace"]
    time.sleep(0.3)
    assert node_of(h3, "manual") == ""  # not ours to schedule
    with _http(three_nodes) as http:
        body = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "manual"},
                "target": {"apiVersion": "v1", "kind": "Node", "name": "sim-1"}}
        r = http.post(f"/api/v1/namespaces/{ns}/pods/manual/binding", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "Success"
        pod = get_pod(h3, "manual")
        assert pod["spec"]["nodeName"] == "sim-1"
        assert scheduled_condition(h3, "manual")["status"] == "True"
        r = http.post(f"/api/v1/namespaces/{ns}/bindings", json=dict(body, target={"name": "sim-2"}))
        assert r.status_code == 409
        assert r.json()["message"] == \
            'Operation cannot be fulfilled on pods/binding "manual": pod manual is already assigned to node "sim-1"'
        r = http.post(f"/api/v1/namespaces/{ns}/pods/manual/binding", json=dict(body, metadata={"name": "other"}))
        assert r.status_code == 400
        r = http.post(f"/api/v1/namespaces/{ns}/pods/ghost/binding", json=dict(body, metadata={"name": "ghost"}))
        assert r.status_code == 404
        r = http.post(f"/api/v1/namespaces/{ns}/pods/manual/binding", json=dict(body, target={}))
        assert r.status_code == 422 and "target.name: Required value" in r.json()["message"]
    # the simulated kubelet of sim-1 runs it
    wait_for(lambda: get_pod(h3, "manual")["status"].get("phase") == "Running")
    with _http(three_nodes, **{"Impersonate-User": f"system:serviceaccount:{ns}:default"}) as http:
        r = http.post(f"/api/v1/namespaces/{ns}/pods/manual/binding", json=body)
        assert r.status_code == 403
        assert 'cannot create resource "pods/binding"' in r.json()["message"]


# -- workloads on simulated nodes ------------------------------------------------------------------------


def test_deployment_pods_run_on_simulated_nodes_and_rollout_status_succeeds(host: Cluster) -> None:
    host.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=6")
    host.kubectl("patch", "deployment", "web", "-p", json.dumps({"spec": {"template": {"spec": {
        "tolerations": TOLERATE}}}}))
    host.kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    pods = host.json("get", "pods", "-l", "app=web")["items"]
    assert len(pods) == 6
    for p in pods:
        st = p["status"]
        assert st["phase"] == "Running" and st["podIP"].startswith("10.244.") and st["hostIP"].startswith("172.30.")
        assert st["startTime"] and st["containerStatuses"][0]["ready"] is True
        assert "running" in st["containerStatuses"][0]["state"]
        types = {c["type"]: c["status"] for c in st["conditions"]}
        assert types == {"PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
                         "ContainersReady": "True", "PodScheduled": "True"}
    assert len({p["status"]["podIP"] for p in pods}) == 6
    out = host.kubectl("get", "pods", "-o", "wide").stdout
    assert out.count("Running") == 6 and "sim-" in out
    # pods without requests spread over the nodes (least allocated with kube's non-zero defaults); pods of
    # earlier tests on these shared nodes decide which nodes are least allocated, so only "more than one"
    assert len({p["spec"]["nodeName"] for p in pods}) >= 2


def test_job_with_exit_code_annotation_completes_or_fails(host: Cluster) -> None:
    def job(name: str, code: int, completions: int) -> str:
        return json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": {
            "completions": completions, "parallelism": 2, "backoffLimit": 0,
            "template": {"metadata": {"annotations": {"kubenest.io/simulate-exit-code": str(code),
                                                      "kubenest.io/simulate-duration": "0.5"}},
                         "spec": {"restartPolicy": "Never", "tolerations": TOLERATE,
                                  "containers": [{"name": "c", "image": "busybox"}]}}}})

    host.apply(job("ok", 0, 3))
    host.apply(job("bad", 3, 1))
    host.kubectl("wait", "--for=condition=complete", "job/ok", "--timeout=60s")
    host.kubectl("wait", "--for=condition=failed", "job/bad", "--timeout=60s")
    pods = host.json("get", "pods", "-l", "job-name=ok")["items"]
    assert len(pods) == 3 and all(p["status"]["phase"] == "Succeeded" for p in pods)
    term = pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed")
    bad = host.json("get", "pods", "-l", "job-name=bad")["items"][0]
    assert bad["status"]["phase"] == "Failed"
    assert bad["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3


def test_restart_policy_always_restarts_a_crashing_container(host: Cluster) -> None:
    crash = json.loads(pod_manifest("crash"))
    crash["metadata"]["annotations"] = {"kubenest.io/simulate-exit-code": "1", "kubenest.io/simulate-duration": "0.3"}
    host.apply(json.dumps(crash))

    def restarted() -> bool:
        st = get_pod(host, "crash").get("status", {})
        cs = (st.get("containerStatuses") or [{}])[0]
        return st.get("phase") == "Running" and cs.get("restartCount", 0) >= 2

    wait_for(restarted)
    cs = get_pod(host, "crash")["status"]["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["exitCode"] == 1


def test_pod_deletion_finishes_through_the_kubelet(host: Cluster) -> None:
    host.apply(pod_manifest("doomed"))
    wait_for(lambda: get_pod(host, "doomed")["status"].get("phase") == "Running")
    start = time.monotonic()
    out = host.kubectl("delete", "pod", "doomed", "--timeout=30s").stdout
    assert 'pod "doomed" deleted' in out
    assert time.monotonic() - start < 10  # the simulated runtime stops at once; no 30 s grace wait
    assert host.kubectl("get", "pod", "doomed", check=False).returncode != 0
    # a pod no node runs is deleted at once
    host.apply(pod_manifest("unbound", tolerate=False))
    host.kubectl("delete", "pod", "unbound", "--wait=false")
    assert host.kubectl("get", "pod", "unbound", check=False).returncode != 0


def test_terminating_pod_shows_deletion_timestamp_until_the_kubelet_removes_it(sim_server: ServerThread,
                                                                               host: Cluster) -> None:
    # a pod on a node without a kubelet (a Node object only): graceful deletion waits for its kubelet
    host.apply(json.dumps({"apiVersion": "v1", "kind": "Node",
                           "metadata": {"name": "ghost-node", "labels": {"ghost": "yes"}}}))
    try:
        host.apply(pod_manifest("stuck", nodeName="ghost-node"))
        host.kubectl("delete", "pod", "stuck", "--wait=false")
        pod = get_pod(host, "stuck")
        assert pod["metadata"]["deletionTimestamp"] and pod["metadata"]["deletionGracePeriodSeconds"] == 30
        assert "Terminating" in host.kubectl("get", "pod", "stuck").stdout
        host.kubectl("delete", "pod", "stuck", "--grace-period=0", "--force")
        assert host.kubectl("get", "pod", "stuck", check=False).returncode != 0
    finally:
        host.kubectl("delete", "node", "ghost-node", check=False)


def test_restart_adopts_running_pods_and_keeps_their_accounting(bins: tuple[str, str], tmp_path: Any) -> None:
    data = str(tmp_path / "data")
    st = ServerThread(data_dir=data, simulated_nodes=2, process_node=False)
    try:
        c = host_cluster(st, bins, "restart")
        for i in range(2):
            c.apply(pod_manifest(f"big-{i}", {"cpu": "20"}))
        wait_for(lambda: all(get_pod(c, f"big-{i}")["status"].get("phase") == "Running" for i in range(2)))
        before = {f"big-{i}": (node_of(c, f"big-{i}"), get_pod(c, f"big-{i}")["status"]["podIP"]) for i in range(2)}
        ns = get_pod(c, "big-0")["metadata"]["namespace"]
    finally:
        st.stop()
    st = ServerThread(data_dir=data, simulated_nodes=2, process_node=False)
    try:
        c = host_cluster(st, bins, "restart-after")
        c.kubectl("config", "set-context", "--current", f"--namespace={ns}")
        after = {f"big-{i}": (node_of(c, f"big-{i}"), get_pod(c, f"big-{i}")["status"]["podIP"]) for i in range(2)}
        assert after == before
        assert all(get_pod(c, f"big-{i}")["status"]["phase"] == "Running" for i in range(2))
        # the restarted scheduler counts them: 20 of 32 CPUs are taken on both nodes
        c.apply(pod_manifest("third", {"cpu": "20"}))
        assert "2 Insufficient cpu" in unschedulable_message(c, "third")
        c.kubectl("delete", "pod", "big-0", "--timeout=30s")  # the restarted kubelet finishes it
        assert wait_for(lambda: node_of(c, "third")) == before["big-0"][0]
        wait_for(lambda: get_pod(c, "third")["status"].get("phase") == "Running")
    finally:
        st.stop()
