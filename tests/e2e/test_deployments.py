"""The Deployment controller with real kubectl: rollouts, history, undo, restart, pause, Recreate, scaling.

Pods have no kubelet yet: `PodSim` (tests/e2e/podsim.py) marks them Running and Ready so rollouts
progress, and pausing it holds a rollout at a point where the pod counts can be checked.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from tests.conftest import Cluster
from tests.e2e.podsim import PodSampler, PodSim
from tests.e2e.test_controllers import eventually, pods

SAFE = set("bcdfghjklmnpqrstvwxz2456789")


def manifest(replicas: int = 3, image: str = "nginx:1.27", strategy: dict[str, Any] | None = None,
             annotations: dict[str, str] | None = None, **spec: Any) -> str:
    """A Deployment `web` selecting app=web (JSON is YAML)."""
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "annotations": annotations or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "app", "image": image}]}},
            **spec,
        },
    }
    if strategy is not None:
        obj["spec"]["strategy"] = strategy
    return json.dumps(obj)


def deployment(cluster: Cluster) -> dict[str, Any]:
    d: dict[str, Any] = cluster.json("get", "deployment", "web")
    return d


def replica_sets(cluster: Cluster) -> list[dict[str, Any]]:
    """ReplicaSets of `web`, oldest revision first."""
    items: list[dict[str, Any]] = cluster.json("get", "rs", "-l", "app=web")["items"]
    return sorted(items, key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    for c in obj.get("status", {}).get("conditions") or ():
        if c["type"] == type_:
            return dict(c)
    return {}


def events(cluster: Cluster, name: str = "web") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cluster.json("get", "events", "--field-selector",
                                               f"involvedObject.name={name}")["items"]
    return items


def scaling_messages(cluster: Cluster) -> list[str]:
    """ScalingReplicaSet messages in the order they were recorded (each message is recorded once here)."""
    return [e["message"] for e in sorted(events(cluster), key=lambda e: int(e["metadata"]["resourceVersion"]))
            if e["reason"] == "ScalingReplicaSet"]


def wait_rolled_out(cluster: Cluster, timeout: str = "60s") -> str:
    out = cluster.kubectl("rollout", "status", "deployment/web", f"--timeout={timeout}").stdout
    assert 'deployment "web" successfully rolled out' in out
    return out


def settled(check: Any, what: str, hold: float = 0.4) -> Any:
    """Wait for `check` to hold, then make sure it still holds a moment later (the controllers are idle)."""
    eventually(check, what=what)
    time.sleep(hold)
    return eventually(check, timeout=2, what=f"{what} (still)")


def spec_sizes(cluster: Cluster) -> list[int]:
    return [rs["spec"]["replicas"] for rs in replica_sets(cluster)]


def pod_counts(cluster: Cluster) -> tuple[int, int]:
    """(pods, ready pods) of app=web that are not being deleted."""
    live = [p for p in pods(cluster, "app=web") if not p["metadata"].get("deletionTimestamp")]
    ready = [p for p in live if any(c["type"] == "Ready" and c["status"] == "True"
                                    for c in p.get("status", {}).get("conditions") or ())]
    return len(live), len(ready)


def test_deployment_creates_owned_replica_set_and_becomes_available(cluster: Cluster) -> None:
    cluster.apply(manifest(annotations={"kubernetes.io/change-cause": "first"}))
    rs = eventually(lambda: replica_sets(cluster) and replica_sets(cluster)[0], what="a replica set")
    d = deployment(cluster)
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{pod_hash}" and set(pod_hash) <= SAFE and 1 <= len(pod_hash) <= 10
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": pod_hash}
    assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": pod_hash}
    ref = rs["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["uid"], ref["controller"], ref["blockOwnerDeletion"]) == (
        "Deployment", "web", d["metadata"]["uid"], True, True)
    ann = rs["metadata"]["annotations"]
    # 25% surge of 3 rounds up to 1: at most 4 pods.
    assert ann["deployment.kubernetes.io/revision"] == "1"
    assert ann["deployment.kubernetes.io/desired-replicas"] == "3"
    assert ann["deployment.kubernetes.io/max-replicas"] == "4"
    assert ann["kubernetes.io/change-cause"] == "first"
    assert "kubectl.kubernetes.io/last-applied-configuration" not in ann
    created = eventually(lambda: len(pods(cluster, "app=web")) == 3 and pods(cluster, "app=web"), what="3 pods")
    assert all(p["metadata"]["labels"]["pod-template-hash"] == pod_hash for p in created)

    with PodSim(cluster, "app=web"):
        wait_rolled_out(cluster)
        cluster.kubectl("wait", "--for=condition=Available", "deployment/web", "--timeout=30s")
    d = deployment(cluster)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    status = d["status"]
    assert status["observedGeneration"] == 1
    assert (status["replicas"], status["updatedReplicas"], status["readyReplicas"], status["availableReplicas"]) == (
        3, 3, 3, 3)
    assert "unavailableReplicas" not in status
    available, progressing = condition(d, "Available"), condition(d, "Progressing")
    assert (available["status"], available["reason"], available["message"]) == (
        "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "True", "NewReplicaSetAvailable", f'ReplicaSet "web-{pod_hash}" has successfully progressed.')
    assert [c["type"] for c in status["conditions"]] == ["Available", "Progressing"]
    scaled = [e for e in events(cluster) if e["reason"] == "ScalingReplicaSet"]
    assert [e["message"] for e in scaled] == [f"Scaled up replica set web-{pod_hash} from 0 to 3"]
    assert scaled[0]["source"]["component"] == "deployment-controller"
    assert scaled[0]["involvedObject"]["kind"] == "Deployment"


def stall_rolling_update(cluster: Cluster, sim: PodSim) -> tuple[str, str]:
    """Roll 10 replicas (25% surge, 25% unavailable) to nginx:1.28 with no new pod becoming ready.

    Returns the names of the old and the new ReplicaSet once the rollout has gone as far as it can.
    """
    cluster.apply(manifest(replicas=10, strategy={
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}))
    wait_rolled_out(cluster)
    sim.pause()
    cluster.kubectl("set", "image", "deployment/web", "app=nginx:1.28")
    # Surge: 25% of 10 rounds up to 3, so at most 13 pods; unavailability: 25% rounds down to 2, so at
    # least 8 available. New pods never get ready: old 10 -> 8, new 0 -> 3 -> 5, then nothing can move.
    settled(lambda: spec_sizes(cluster) == [8, 5] and pod_counts(cluster) == (13, 8), what="old 8 + new 5 pods")
    old, new = replica_sets(cluster)
    return old["metadata"]["name"], new["metadata"]["name"]


def test_rolling_update_holds_pod_counts_within_surge_and_unavailability(cluster: Cluster) -> None:
    with PodSim(cluster, "app=web") as sim:
        old, new = stall_rolling_update(cluster, sim)
        total, ready = pod_counts(cluster)
        assert total <= 10 + 3 and ready >= 10 - 2
        d = deployment(cluster)
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
        assert (d["status"]["replicas"], d["status"]["updatedReplicas"], d["status"]["availableReplicas"],
                d["status"]["unavailableReplicas"]) == (13, 5, 8, 5)
        progressing = condition(d, "Progressing")
        assert (progressing["status"], progressing["reason"], progressing["message"]) == (
            "True", "ReplicaSetUpdated", f'ReplicaSet "{new}" is progressing.')
        assert condition(d, "Available")["status"] == "True"  # 8 available is the minimum allowed
        out = cluster.kubectl("rollout", "status", "deployment/web", "--watch=false").stdout
        assert out == 'Waiting for deployment "web" rollout to finish: 5 out of 10 new replicas have been updated...\n'

        # Two new pods ready: two more old ones may go, and two more new ones come.
        sim.ready_some(2)
        settled(lambda: spec_sizes(cluster) == [6, 7] and pod_counts(cluster) == (13, 8), what="old 6 + new 7")

        sim.resume()
        wait_rolled_out(cluster)
    assert spec_sizes(cluster) == [0, 10]
    assert [rs["metadata"]["name"] for rs in replica_sets(cluster)] == [old, new]
    assert all(p["spec"]["containers"][0]["image"] == "nginx:1.28" for p in pods(cluster, "app=web"))
    messages = scaling_messages(cluster)
    assert f"Scaled up replica set {new} from 0 to 3" in messages
    assert f"Scaled down replica set {old} from 10 to 8" in messages


def test_scaling_during_a_rollout_scales_replica_sets_proportionally(cluster: Cluster) -> None:
    with PodSim(cluster, "app=web") as sim:
        old, new = stall_rolling_update(cluster, sim)
        cluster.kubectl("scale", "deployment/web", "--replicas=20")
        # 20 + 25% surge = 25 pods allowed, 12 more than the 13 now; each replica set grows by its share
        # of the 13 the deployment allowed before: old 8 * 25/13 -> 15, new 5 * 25/13 -> 10.
        settled(lambda: spec_sizes(cluster) == [15, 10], what="old 15 + new 10")
        rss = replica_sets(cluster)
        for rs in rss:
            assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "20"
            assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "25"
        messages = scaling_messages(cluster)
        assert f"Scaled up replica set {old} from 8 to 15" in messages
        assert f"Scaled up replica set {new} from 5 to 10" in messages
        sim.resume()
        wait_rolled_out(cluster)
    assert spec_sizes(cluster) == [0, 20]
    assert deployment(cluster)["status"]["availableReplicas"] == 20


def test_rollout_history_undo_and_restart(cluster: Cluster) -> None:
    with PodSim(cluster, "app=web"):
        cluster.apply(manifest(annotations={"kubernetes.io/change-cause": "v1"}))
        wait_rolled_out(cluster)
        cluster.apply(manifest(image="nginx:1.28", annotations={"kubernetes.io/change-cause": "v2"}))
        wait_rolled_out(cluster)
        history = cluster.kubectl("rollout", "history", "deployment/web").stdout
        assert re.search(r"^1\s+v1$", history, re.M) and re.search(r"^2\s+v2$", history, re.M)
        assert "nginx:1.27" in cluster.kubectl("rollout", "history", "deployment/web", "--revision=1").stdout
        first, second = replica_sets(cluster)

        out = cluster.kubectl("rollout", "undo", "deployment/web").stdout
        assert out.strip() == "deployment.apps/web rolled back"
        wait_rolled_out(cluster)
        d = deployment(cluster)
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
        # The first replica set is the new one again, under revision 3, remembering it served 1.
        rss = {rs["metadata"]["name"]: rs for rs in replica_sets(cluster)}
        assert set(rss) == {first["metadata"]["name"], second["metadata"]["name"]}
        back = rss[first["metadata"]["name"]]
        assert back["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
        assert back["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
        assert back["spec"]["replicas"] == 3 and rss[second["metadata"]["name"]]["spec"]["replicas"] == 0
        history = cluster.kubectl("rollout", "history", "deployment/web").stdout
        assert re.search(r"^2\s+v2$", history, re.M) and re.search(r"^3\s+v1$", history, re.M)
        assert not re.search(r"^1\s", history, re.M)

        out = cluster.kubectl("rollout", "restart", "deployment/web").stdout
        assert out.strip() == "deployment.apps/web restarted"
        wait_rolled_out(cluster)
    newest = replica_sets(cluster)[-1]
    assert newest["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"
    assert "kubectl.kubernetes.io/restartedAt" in newest["spec"]["template"]["metadata"]["annotations"]
    hashes = {p["metadata"]["labels"]["pod-template-hash"] for p in pods(cluster, "app=web")}
    assert hashes == {newest["metadata"]["labels"]["pod-template-hash"]}


def test_paused_deployment_scales_but_does_not_roll_out_until_resumed(cluster: Cluster) -> None:
    with PodSim(cluster, "app=web"):
        cluster.apply(manifest())
        wait_rolled_out(cluster)
        assert cluster.kubectl("rollout", "pause", "deployment/web").stdout.strip() == "deployment.apps/web paused"
        progressing = eventually(lambda: condition(deployment(cluster), "Progressing")["reason"] == "DeploymentPaused"
                                 and condition(deployment(cluster), "Progressing"), what="paused condition")
        assert (progressing["status"], progressing["message"]) == ("Unknown", "Deployment is paused")

        cluster.kubectl("set", "image", "deployment/web", "app=nginx:1.28")
        cluster.kubectl("scale", "deployment/web", "--replicas=5")
        # pause, image and scale: three spec changes, all observed.
        settled(lambda: deployment(cluster)["status"].get("observedGeneration") == 4 and spec_sizes(cluster) == [5]
                and pod_counts(cluster) == (5, 5), what="scaled while paused")
        assert len(replica_sets(cluster)) == 1
        assert all(p["spec"]["containers"][0]["image"] == "nginx:1.27" for p in pods(cluster, "app=web"))

        assert cluster.kubectl("rollout", "resume", "deployment/web").stdout.strip() == "deployment.apps/web resumed"
        wait_rolled_out(cluster)
    assert spec_sizes(cluster) == [0, 5]
    assert all(p["spec"]["containers"][0]["image"] == "nginx:1.28" for p in pods(cluster, "app=web"))
    assert condition(deployment(cluster), "Progressing")["reason"] == "NewReplicaSetAvailable"


def test_recreate_removes_old_pods_before_creating_new_ones(cluster: Cluster) -> None:
    with PodSim(cluster, "app=web"):
        cluster.apply(manifest(strategy={"type": "Recreate"}))
        wait_rolled_out(cluster)
        old = replica_sets(cluster)[0]
        assert old["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "3"
        with PodSampler(cluster, "app=web") as sampler:
            cluster.kubectl("set", "image", "deployment/web", "app=nginx:1.28")
            wait_rolled_out(cluster)
    old, new = replica_sets(cluster)
    old_hash, new_hash = old["metadata"]["labels"]["pod-template-hash"], new["metadata"]["labels"]["pod-template-hash"]
    for snap in sampler.snapshots:
        hashes = {labels["pod-template-hash"] for _, labels, _ in snap.pods}
        assert hashes != {old_hash, new_hash}, "old and new pods ran at the same time"
    seen = [{labels["pod-template-hash"] for _, labels, _ in s.pods} for s in sampler.snapshots]
    assert {old_hash} in seen and {new_hash} in seen  # the sampler saw both sides of the switch
    messages = scaling_messages(cluster)
    assert messages.index(f"Scaled down replica set {old['metadata']['name']} from 3 to 0") < messages.index(
        f"Scaled up replica set {new['metadata']['name']} from 0 to 3")


def test_revision_history_limit_keeps_only_the_newest_old_replica_sets(cluster: Cluster) -> None:
    with PodSim(cluster, "app=web"):
        for minor in (25, 26, 27, 28):
            cluster.apply(manifest(image=f"nginx:1.{minor}", revisionHistoryLimit=1))
            wait_rolled_out(cluster)
        eventually(lambda: len(replica_sets(cluster)) == 2, what="two replica sets left")
    revisions = [rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for rs in replica_sets(cluster)]
    assert revisions == ["3", "4"]
    assert [rs["spec"]["template"]["spec"]["containers"][0]["image"] for rs in replica_sets(cluster)] == [
        "nginx:1.27", "nginx:1.28"]


def test_rollout_status_fails_once_the_progress_deadline_passes(cluster: Cluster) -> None:
    cluster.apply(manifest(replicas=2, progressDeadlineSeconds=2))
    d = eventually(lambda: condition(deployment(cluster), "Progressing").get("reason") == "ProgressDeadlineExceeded"
                   and deployment(cluster), timeout=15, what="deadline exceeded")
    rs = replica_sets(cluster)[0]
    progressing, available = condition(d, "Progressing"), condition(d, "Available")
    assert (progressing["status"], progressing["message"]) == (
        "False", f'ReplicaSet "{rs["metadata"]["name"]}" has timed out progressing.')
    assert (available["status"], available["reason"], available["message"]) == (
        "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    proc = cluster.kubectl("rollout", "status", "deployment/web", "--timeout=10s", check=False)
    assert proc.returncode != 0
    assert 'deployment "web" exceeded its progress deadline' in proc.stderr


def test_orphaned_replica_set_is_adopted_by_a_new_deployment_with_the_same_template(cluster: Cluster) -> None:
    with PodSim(cluster, "app=web"):
        cluster.apply(manifest())
        wait_rolled_out(cluster)
    rs = replica_sets(cluster)[0]
    cluster.kubectl("delete", "deployment", "web", "--cascade=orphan")
    eventually(lambda: not replica_sets(cluster)[0]["metadata"].get("ownerReferences"), what="orphaned rs")
    before = sorted(p["metadata"]["name"] for p in pods(cluster, "app=web"))
    cluster.apply(manifest())
    d = eventually(lambda: deployment(cluster)["status"].get("availableReplicas") == 3 and deployment(cluster),
                   what="adopted and available")
    rss = replica_sets(cluster)
    assert [r["metadata"]["name"] for r in rss] == [rs["metadata"]["name"]]
    ref = rss[0]["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["uid"], ref["controller"]) == ("Deployment", d["metadata"]["uid"], True)
    assert sorted(p["metadata"]["name"] for p in pods(cluster, "app=web")) == before
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"


def test_deleting_a_deployment_in_the_foreground_removes_replica_sets_and_pods(cluster: Cluster) -> None:
    with PodSim(cluster, "app=web"):
        cluster.apply(manifest())
        wait_rolled_out(cluster)
    cluster.kubectl("delete", "deployment", "web", "--cascade=foreground", "--timeout=30s")
    eventually(lambda: not replica_sets(cluster) and not pods(cluster, "app=web"), what="all gone")
    assert cluster.kubectl("get", "deployment", "web", check=False).returncode != 0
