"""StatefulSet and DaemonSet controllers with real kubectl; the test plays kubelet (marks pods ready)."""

from __future__ import annotations

import json
import textwrap
import time
from functools import partial
from typing import Any

from kubenest.controllers import history
from tests.conftest import Cluster
from tests.e2e.test_controllers import eventually, mark_running_and_ready, pods


def sts_manifest(replicas: int = 3, extra_spec: str = "", image: str = "nginx:1.27") -> str:
    spec = textwrap.indent(textwrap.dedent(extra_spec).strip(), "  ") + "\n" if extra_spec.strip() else ""
    return textwrap.dedent(
        f"""
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {{name: web}}
        spec:
          serviceName: web
          replicas: {replicas}
          selector: {{matchLabels: {{app: web}}}}
          template:
            metadata: {{labels: {{app: web}}}}
            spec:
              containers: [{{name: app, image: "{image}"}}]
        """
    ) + spec


DS = textwrap.dedent(
    """
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: agent}
    spec:
      selector: {matchLabels: {app: agent}}
      template:
        metadata: {labels: {app: agent}}
        spec:
          containers: [{name: agent, image: "agent:1"}]
    """
)


def names(cluster: Cluster, selector: str) -> list[str]:
    return sorted(p["metadata"]["name"] for p in pods(cluster, selector))


def phase(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase", ""))


def ready_pending(cluster: Cluster, selector: str) -> int:
    """Mark every Pending pod of `selector` Running and Ready; how many there were."""
    pending = [p["metadata"]["name"] for p in pods(cluster, selector) if phase(p) == "Pending"]
    for name in pending:
        mark_running_and_ready(cluster, name)
    return len(pending)


def stays(check: Any, seconds: float = 0.4) -> None:
    """`check` holds throughout `seconds` (for "nothing else happens" assertions)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert check(), "condition stopped holding"
        time.sleep(0.05)


def web_pod(cluster: Cluster, name: str) -> dict[str, Any]:
    """The set's pod `name` from a list (no error while the controller replaces it); {} when absent."""
    return next((p for p in pods(cluster, "app=web") if p["metadata"]["name"] == name), {})


def has_pod(cluster: Cluster, name: str) -> bool:
    return bool(web_pod(cluster, name))


def pod_image_is(cluster: Cluster, name: str, image: str) -> bool:
    pod = web_pod(cluster, name)
    return bool(pod) and pod["spec"]["containers"][0]["image"] == image


def revision_label(cluster: Cluster, pod: str) -> str:
    return str((web_pod(cluster, pod).get("metadata") or {}).get("labels", {}).get("controller-revision-hash", ""))


def bring_up_statefulset(cluster: Cluster, manifest: str, replicas: int) -> None:
    cluster.apply(manifest)
    for i in range(replicas):
        eventually(partial(has_pod, cluster, f"web-{i}"), what=f"pod web-{i}")
        mark_running_and_ready(cluster, f"web-{i}")
    eventually(lambda: cluster.json("get", "sts", "web")["status"].get("readyReplicas") == replicas,
               what=f"{replicas} ready replicas")


def events_in_order(cluster: Cluster, name: str) -> list[str]:
    items = cluster.json("get", "events", "--field-selector", f"involvedObject.name={name}")["items"]
    return [e["message"] for e in sorted(items, key=lambda e: int(e["metadata"]["resourceVersion"]))]


# -- revisions ------------------------------------------------------------------------------------

def test_revision_data_and_hash_are_byte_for_byte_those_of_kube() -> None:
    # A revision kube 1.34 recorded (pkg/controller/statefulset/testdata): name test-776999688b.
    template = {"metadata": {"labels": {"app": "foo"}, "annotations": {"test": "value"}}, "spec": {
        "containers": [{"name": "test", "image": "test", "resources": {}, "imagePullPolicy": "Always",
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
        "securityContext": {}, "schedulerName": "default-scheduler"}}
    data = history.template_patch({"spec": {"template": template}})
    assert data.startswith(b'{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"test":"value"},')
    assert history.hash_revision(data, 0) == "776999688b"
    # Go's encoding/json escapes HTML characters and writes integral floats without a fraction.
    assert history.go_json({"b": "<&>", "a": 30.0, "c": 1e21, "d": 0.000001}) == \
        b'{"a":30,"b":"\\u003c\\u0026\\u003e","c":1e+21,"d":0.000001}'


# -- StatefulSet ----------------------------------------------------------------------------------

def test_statefulset_creates_ordinal_pods_one_after_another_as_each_becomes_ready(cluster: Cluster) -> None:
    cluster.apply(sts_manifest())
    eventually(lambda: names(cluster, "app=web") == ["web-0"], what="web-0")
    stays(lambda: names(cluster, "app=web") == ["web-0"])  # web-1 waits for web-0 to be Ready
    pod = cluster.json("get", "pod", "web-0")
    sts = cluster.json("get", "sts", "web")
    labels = pod["metadata"]["labels"]
    assert labels["statefulset.kubernetes.io/pod-name"] == "web-0"
    assert labels["apps.kubernetes.io/pod-index"] == "0"
    assert pod["spec"]["hostname"] == "web-0" and pod["spec"]["subdomain"] == "web"
    ref = pod["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["uid"], ref["controller"]) == ("StatefulSet", sts["metadata"]["uid"], True)
    mark_running_and_ready(cluster, "web-0")
    eventually(lambda: names(cluster, "app=web") == ["web-0", "web-1"], what="web-1 after web-0 is ready")
    stays(lambda: names(cluster, "app=web") == ["web-0", "web-1"])
    mark_running_and_ready(cluster, "web-1")
    eventually(lambda: names(cluster, "app=web") == ["web-0", "web-1", "web-2"], what="web-2")
    mark_running_and_ready(cluster, "web-2")
    eventually(lambda: cluster.json("get", "sts", "web")["status"].get("readyReplicas") == 3, what="3 ready")
    status = cluster.json("get", "sts", "web")["status"]
    revision = labels["controller-revision-hash"]
    assert status["replicas"] == 3 and status["currentReplicas"] == 3 and status["updatedReplicas"] == 3
    assert status["availableReplicas"] == 3 and status["observedGeneration"] == 1 and status["collisionCount"] == 0
    assert status["currentRevision"] == status["updateRevision"] == revision
    cr = cluster.json("get", "controllerrevision", revision)
    assert cr["revision"] == 1 and cr["metadata"]["ownerReferences"][0]["name"] == "web"
    assert cr["data"]["spec"]["template"]["$patch"] == "replace"
    assert revision == f"web-{cr['metadata']['labels']['controller.kubernetes.io/hash']}"
    messages = events_in_order(cluster, "web")
    assert [m for m in messages if m.startswith("create Pod")] == [
        f"create Pod web-{i} in StatefulSet web successful" for i in range(3)]


def test_statefulset_scales_down_from_the_highest_ordinal(cluster: Cluster) -> None:
    bring_up_statefulset(cluster, sts_manifest(), 3)
    cluster.kubectl("scale", "sts", "web", "--replicas=1")
    eventually(lambda: names(cluster, "app=web") == ["web-0"], what="scale down to web-0")
    deletions = [m for m in events_in_order(cluster, "web") if m.startswith("delete Pod")]
    assert deletions == ["delete Pod web-2 in StatefulSet web successful",
                         "delete Pod web-1 in StatefulSet web successful"]
    eventually(lambda: cluster.json("get", "sts", "web")["status"]["replicas"] == 1, what="status replicas 1")


def test_ordered_scale_down_waits_while_a_remaining_pod_is_unhealthy(cluster: Cluster) -> None:
    bring_up_statefulset(cluster, sts_manifest(), 3)
    cluster.kubectl("delete", "pod", "web-0")  # comes back Pending: not Ready
    eventually(lambda: phase(web_pod(cluster, "web-0")) == "Pending", what="web-0 recreated")
    cluster.kubectl("scale", "sts", "web", "--replicas=2")
    stays(lambda: names(cluster, "app=web") == ["web-0", "web-1", "web-2"])
    mark_running_and_ready(cluster, "web-0")
    eventually(lambda: names(cluster, "app=web") == ["web-0", "web-1"], what="web-2 removed")


def test_parallel_statefulset_creates_all_pods_without_waiting(cluster: Cluster) -> None:
    cluster.apply(sts_manifest(extra_spec="podManagementPolicy: Parallel"))
    eventually(lambda: names(cluster, "app=web") == ["web-0", "web-1", "web-2"], what="all three pods at once")
    cluster.kubectl("scale", "sts", "web", "--replicas=0")
    eventually(lambda: not names(cluster, "app=web"), what="all pods removed")


def test_partitioned_rolling_update_replaces_pods_from_the_highest_ordinal(cluster: Cluster) -> None:
    bring_up_statefulset(cluster, sts_manifest(), 3)
    old = revision_label(cluster, "web-0")
    cluster.kubectl("patch", "sts", "web", "--type=merge", "-p", json.dumps({"spec": {
        "updateStrategy": {"rollingUpdate": {"partition": 2}},
        "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}}))
    eventually(lambda: revision_label(cluster, "web-2") not in ("", old),
               what="web-2 at the new revision")
    new = revision_label(cluster, "web-2")
    assert cluster.json("get", "pod", "web-2")["spec"]["containers"][0]["image"] == "nginx:1.28"
    mark_running_and_ready(cluster, "web-2")
    eventually(lambda: cluster.json("get", "sts", "web")["status"].get("updatedReplicas") == 1, what="1 updated")
    stays(lambda: [revision_label(cluster, p) for p in ("web-0", "web-1")] == [old, old])
    out = cluster.kubectl("rollout", "status", "sts/web", "--timeout=10s").stdout
    assert "partitioned roll out complete: 1 new pods have been updated..." in out
    status = cluster.json("get", "sts", "web")["status"]
    assert status["currentRevision"] == old and status["updateRevision"] == new and status["currentReplicas"] == 2

    cluster.kubectl("patch", "sts", "web", "--type=merge", "-p",
                    json.dumps({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}}))
    eventually(lambda: revision_label(cluster, "web-1") == new,
               what="web-1 updated next")
    stays(lambda: revision_label(cluster, "web-0") == old)  # web-0 waits for web-1 to be Ready
    mark_running_and_ready(cluster, "web-1")
    eventually(lambda: revision_label(cluster, "web-0") == new,
               what="web-0 updated last")
    mark_running_and_ready(cluster, "web-0")
    eventually(lambda: cluster.json("get", "sts", "web")["status"].get("currentRevision") == new,
               what="the update revision becomes current")
    status = cluster.json("get", "sts", "web")["status"]
    assert status["currentReplicas"] == status["updatedReplicas"] == 3


def test_on_delete_statefulset_updates_only_pods_the_user_deletes(cluster: Cluster) -> None:
    bring_up_statefulset(cluster, sts_manifest(2, "updateStrategy: {type: OnDelete}"), 2)
    old = revision_label(cluster, "web-1")
    cluster.kubectl("set", "image", "sts/web", "app=nginx:1.28")
    eventually(lambda: cluster.json("get", "sts", "web")["status"].get("observedGeneration") == 2, what="observed")
    stays(lambda: [revision_label(cluster, p) for p in ("web-0", "web-1")] == [old, old])
    cluster.kubectl("delete", "pod", "web-1")
    eventually(lambda: revision_label(cluster, "web-1") not in ("", old),
               what="web-1 recreated at the new revision")
    assert revision_label(cluster, "web-0") == old


def test_claim_templates_make_pending_claims_deleted_on_scale_down_when_asked(cluster: Cluster) -> None:
    extra = """
    persistentVolumeClaimRetentionPolicy: {whenScaled: Delete, whenDeleted: Retain}
    volumeClaimTemplates:
    - metadata: {name: data, labels: {tier: db}}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
    """
    bring_up_statefulset(cluster, sts_manifest(2, extra), 2)
    claims = {c["metadata"]["name"]: c for c in cluster.json("get", "pvc")["items"]}
    assert sorted(claims) == ["data-web-0", "data-web-1"]
    for claim in claims.values():
        assert claim["metadata"]["labels"] == {"tier": "db", "app": "web"}
        assert claim["status"]["phase"] == "Pending"
        assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
        assert not claim["metadata"].get("ownerReferences")  # Retain on deletion: the set does not own it
    volume = cluster.json("get", "pod", "web-1")["spec"]["volumes"][0]
    assert volume == {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}}
    assert "create Claim data-web-0 Pod web-0 in StatefulSet web success" in events_in_order(cluster, "web")

    cluster.kubectl("scale", "sts", "web", "--replicas=1")
    eventually(lambda: [c["metadata"]["name"] for c in cluster.json("get", "pvc")["items"]] == ["data-web-0"],
               what="the scaled-down pod's claim deleted with it")
    cluster.kubectl("delete", "sts", "web")
    eventually(lambda: not pods(cluster, "app=web"), what="pods gone")
    assert [c["metadata"]["name"] for c in cluster.json("get", "pvc")["items"]] == ["data-web-0"]


def test_claims_owned_by_the_set_go_with_it_when_deleted_is_delete(cluster: Cluster) -> None:
    extra = """
    persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete}
    volumeClaimTemplates:
    - metadata: {name: www}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
    """
    bring_up_statefulset(cluster, sts_manifest(2, extra), 2)
    uid = cluster.json("get", "sts", "web")["metadata"]["uid"]
    eventually(lambda: all(c["metadata"].get("ownerReferences", [{}])[0].get("uid") == uid
                           for c in cluster.json("get", "pvc")["items"]), what="claims owned by the set")
    cluster.kubectl("scale", "sts", "web", "--replicas=1")  # whenScaled defaults to Retain
    eventually(lambda: names(cluster, "app=web") == ["web-0"], what="scaled down")
    assert len(cluster.json("get", "pvc")["items"]) == 2
    cluster.kubectl("delete", "sts", "web")
    eventually(lambda: not cluster.json("get", "pvc")["items"], what="claims deleted with the set")


def test_statefulset_rollout_history_and_undo(cluster: Cluster) -> None:
    bring_up_statefulset(cluster, sts_manifest(1), 1)
    cluster.kubectl("set", "image", "sts/web", "app=nginx:1.28")
    eventually(lambda: cluster.json("get", "sts", "web")["status"].get("updateRevision")
               != cluster.json("get", "sts", "web")["status"].get("currentRevision"), what="a new revision")
    eventually(lambda: phase(web_pod(cluster, "web-0")) == "Pending",
               what="web-0 replaced")
    mark_running_and_ready(cluster, "web-0")
    out = cluster.kubectl("rollout", "status", "sts/web", "--timeout=10s").stdout
    assert "roll out complete" in out
    history = cluster.kubectl("rollout", "history", "sts/web").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    assert "nginx:1.27" in cluster.kubectl("rollout", "history", "sts/web", "--revision=1").stdout

    assert "rolled back" in cluster.kubectl("rollout", "undo", "sts/web").stdout
    sts = cluster.json("get", "sts", "web")
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    eventually(partial(pod_image_is, cluster, "web-0", "nginx:1.27"),
               what="web-0 back on the old image")
    history = cluster.kubectl("rollout", "history", "sts/web").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
    revisions = cluster.json("get", "controllerrevisions")["items"]
    assert sorted(r["revision"] for r in revisions) == [2, 3]  # revision 1 became 3: same template
    out = cluster.kubectl("rollout", "undo", "sts/web", "--to-revision=3").stdout
    assert "skipped rollback (current template already matches revision 3)" in out


def test_statefulset_history_is_trimmed_to_its_limit(cluster: Cluster) -> None:
    bring_up_statefulset(cluster, sts_manifest(1, "revisionHistoryLimit: 1"), 1)
    for tag in ("1.28", "1.29", "1.30"):
        cluster.kubectl("set", "image", "sts/web", f"app=nginx:{tag}")
        eventually(partial(pod_image_is, cluster, "web-0", f"nginx:{tag}"), what=f"web-0 on {tag}")
        mark_running_and_ready(cluster, "web-0")
    # The live revision plus one old one.
    eventually(lambda: sorted(r["revision"] for r in cluster.json("get", "controllerrevisions")["items"]) == [3, 4],
               what="history trimmed to one old revision")


# -- DaemonSet ------------------------------------------------------------------------------------

def add_nodes(cluster: Cluster, *names: str, labels: dict[str, str] | None = None,
              taints: list[dict[str, str]] | None = None) -> None:
    items = []
    for name in names:
        node: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
        if labels:
            node["metadata"]["labels"] = labels
        if taints:
            node["spec"] = {"taints": taints}
        items.append(node)
    cluster.apply("\n---\n".join(json.dumps(node) for node in items))


def ds_pods_by_node(cluster: Cluster) -> dict[str, dict[str, Any]]:
    out = {}
    for p in pods(cluster, "app=agent"):
        term = p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"]
        assert len(term) == 1 and term[0]["matchFields"][0]["key"] == "metadata.name"
        out[term[0]["matchFields"][0]["values"][0]] = p
    return out


def test_daemonset_runs_one_pod_pinned_to_each_node(cluster: Cluster) -> None:
    add_nodes(cluster, "n1", "n2", "n3")
    cluster.apply(DS)
    eventually(lambda: sorted(ds_pods_by_node(cluster)) == ["n1", "n2", "n3"], what="a pod per node")
    stays(lambda: len(pods(cluster, "app=agent")) == 3)
    ds = cluster.json("get", "ds", "agent")
    assert ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "1"
    pod = ds_pods_by_node(cluster)["n1"]
    labels = pod["metadata"]["labels"]
    assert labels["pod-template-generation"] == "1"
    tolerations = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert {("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule")} <= tolerations
    revision = cluster.json("get", "controllerrevision", f"agent-{labels['controller-revision-hash']}")
    assert revision["revision"] == 1 and revision["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"]
    for p in pods(cluster, "app=agent"):
        mark_running_and_ready(cluster, p["metadata"]["name"])
    eventually(lambda: cluster.json("get", "ds", "agent")["status"].get("numberAvailable") == 3, what="3 available")
    status = cluster.json("get", "ds", "agent")["status"]
    assert status == {"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberMisscheduled": 0,
                      "numberReady": 3, "numberAvailable": 3, "updatedNumberScheduled": 3, "observedGeneration": 1}
    assert "Created pod: " in cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=agent").stdout


def test_daemonset_skips_tainted_and_unselected_nodes(cluster: Cluster) -> None:
    add_nodes(cluster, "n1", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
    add_nodes(cluster, "n2", labels={"disk": "ssd"})
    add_nodes(cluster, "n3")
    cluster.apply(DS)
    eventually(lambda: sorted(ds_pods_by_node(cluster)) == ["n2", "n3"], what="pods on the untainted nodes")
    stays(lambda: sorted(ds_pods_by_node(cluster)) == ["n2", "n3"])
    eventually(lambda: cluster.json("get", "ds", "agent")["status"].get("desiredNumberScheduled") == 2,
               what="2 desired")
    # A toleration admits the tainted node; a nodeSelector then narrows the set to n2.
    cluster.kubectl("patch", "ds", "agent", "--type=merge", "-p", json.dumps({"spec": {"template": {"spec": {
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]}}}}))
    eventually(lambda: "n1" in ds_pods_by_node(cluster), what="a pod on the tolerated node")
    cluster.kubectl("patch", "ds", "agent", "--type=merge", "-p",
                    json.dumps({"spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}}}}}))
    eventually(lambda: sorted(ds_pods_by_node(cluster)) == ["n2"], what="only the selected node")


def test_daemonset_follows_nodes_and_no_execute_taints(cluster: Cluster) -> None:
    add_nodes(cluster, "n1")
    cluster.apply(DS)
    eventually(lambda: sorted(ds_pods_by_node(cluster)) == ["n1"], what="a pod on n1")
    add_nodes(cluster, "n2")
    eventually(lambda: sorted(ds_pods_by_node(cluster)) == ["n1", "n2"], what="a pod on the new node")
    cluster.kubectl("taint", "nodes", "n1", "maintenance=now:NoSchedule")
    stays(lambda: sorted(ds_pods_by_node(cluster)) == ["n1", "n2"])  # a running pod may stay on NoSchedule
    eventually(lambda: cluster.json("get", "ds", "agent")["status"].get("numberMisscheduled") == 1,
               what="the pod on n1 counted as misscheduled")
    cluster.kubectl("taint", "nodes", "n1", "evict=now:NoExecute")
    eventually(lambda: sorted(ds_pods_by_node(cluster)) == ["n2"], what="evicted by the NoExecute taint")
    cluster.kubectl("delete", "node", "n2")
    eventually(lambda: not pods(cluster, "app=agent"), what="the removed node's pod deleted")
    eventually(lambda: cluster.json("get", "ds", "agent")["status"].get("desiredNumberScheduled") == 0,
               what="nothing desired")


def test_daemonset_rolling_update_replaces_one_node_at_a_time(cluster: Cluster) -> None:
    add_nodes(cluster, "n1", "n2", "n3")
    cluster.apply(DS)
    eventually(lambda: len(pods(cluster, "app=agent")) == 3, what="3 pods")
    ready_pending(cluster, "app=agent")
    eventually(lambda: cluster.json("get", "ds", "agent")["status"].get("numberAvailable") == 3, what="available")
    cluster.kubectl("set", "image", "ds/agent", "agent=agent:2")

    def images_are(want: list[str]) -> bool:
        return want == sorted(p["spec"]["containers"][0]["image"] for p in pods(cluster, "app=agent")
                              if not p["metadata"].get("deletionTimestamp"))

    for updated in (1, 2, 3):
        want = ["agent:1"] * (3 - updated) + ["agent:2"] * updated
        eventually(partial(images_are, want), what=f"{updated} pods updated")
        if updated < 3:
            stays(partial(images_are, want))  # the next waits for this one to be available
            waiting = cluster.kubectl("rollout", "status", "ds/agent", "--timeout=1s", check=False)
            assert waiting.returncode != 0
            assert f'Waiting for daemon set "agent" rollout to finish: {updated} out of 3 new pods have been updated' \
                in waiting.stdout
        ready_pending(cluster, "app=agent")
    out = cluster.kubectl("rollout", "status", "ds/agent", "--timeout=10s").stdout
    assert 'daemon set "agent" successfully rolled out' in out
    ds = cluster.json("get", "ds", "agent")
    assert ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "2"
    assert {p["metadata"]["labels"]["pod-template-generation"] for p in pods(cluster, "app=agent")} == {"2"}


def test_daemonset_surge_starts_the_new_pod_before_removing_the_old(cluster: Cluster) -> None:
    add_nodes(cluster, "n1")
    cluster.apply(DS.replace("  selector:", "  updateStrategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}\n"
                                            "  selector:"))
    eventually(lambda: len(pods(cluster, "app=agent")) == 1, what="1 pod")
    ready_pending(cluster, "app=agent")
    cluster.kubectl("set", "image", "ds/agent", "agent=agent:2")
    eventually(lambda: len(pods(cluster, "app=agent")) == 2, what="a surge pod beside the old one")
    stays(lambda: len(pods(cluster, "app=agent")) == 2)
    ready_pending(cluster, "app=agent")
    eventually(lambda: [p["spec"]["containers"][0]["image"] for p in pods(cluster, "app=agent")] == ["agent:2"],
               what="the old pod removed once the new one is available")


def test_daemonset_rollout_history_and_undo(cluster: Cluster) -> None:
    add_nodes(cluster, "n1")
    cluster.apply(DS)
    eventually(lambda: len(pods(cluster, "app=agent")) == 1, what="1 pod")
    ready_pending(cluster, "app=agent")
    cluster.kubectl("set", "image", "ds/agent", "agent=agent:2")
    eventually(lambda: [p["spec"]["containers"][0]["image"] for p in pods(cluster, "app=agent")] == ["agent:2"],
               what="updated pod")
    history = cluster.kubectl("rollout", "history", "ds/agent").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    assert "agent:1" in cluster.kubectl("rollout", "history", "ds/agent", "--revision=1").stdout
    assert "rolled back" in cluster.kubectl("rollout", "undo", "ds/agent").stdout
    eventually(lambda: [p["spec"]["containers"][0]["image"] for p in pods(cluster, "app=agent")] == ["agent:1"],
               what="back on agent:1")
    history = cluster.kubectl("rollout", "history", "ds/agent").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
    out = cluster.kubectl("rollout", "undo", "ds/agent", "--to-revision=3").stdout
    assert "skipped rollback (current template already matches revision 3)" in out


def test_deleting_a_daemonset_removes_its_pods_and_revisions(cluster: Cluster) -> None:
    add_nodes(cluster, "n1", "n2")
    cluster.apply(DS)
    eventually(lambda: len(pods(cluster, "app=agent")) == 2, what="2 pods")
    cluster.kubectl("delete", "ds", "agent")
    eventually(lambda: not pods(cluster, "app=agent") and not cluster.json("get", "controllerrevisions")["items"],
               what="pods and revisions gone")


def test_daemonset_history_is_trimmed_to_its_limit(cluster: Cluster) -> None:
    add_nodes(cluster, "n1")
    cluster.apply(DS.replace("  selector:", "  revisionHistoryLimit: 1\n  selector:"))
    eventually(lambda: len(pods(cluster, "app=agent")) == 1, what="1 pod")
    for tag in ("2", "3", "4"):
        cluster.kubectl("set", "image", "ds/agent", f"agent=agent:{tag}")
        eventually(partial(agent_images_are, cluster, [f"agent:{tag}"]), what=f"the pod on agent:{tag}")
    eventually(lambda: sorted(r["revision"] for r in cluster.json("get", "controllerrevisions")["items"]) == [3, 4],
               what="history trimmed to one old revision")


def agent_images_are(cluster: Cluster, want: list[str]) -> bool:
    return want == sorted(p["spec"]["containers"][0]["image"] for p in pods(cluster, "app=agent")
                          if not p["metadata"].get("deletionTimestamp"))
