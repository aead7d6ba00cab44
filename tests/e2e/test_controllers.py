"""In-cluster controllers with real kubectl; pod phases are advanced by the test (no host yet)."""

from __future__ import annotations

import json
import textwrap
import time
from typing import Any

from tests.conftest import Cluster
from tests.waiting import eventually

RS = textwrap.dedent(
    """
    apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: web}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers: [{name: app, image: nginx:1.27}]
    """
)




def pods(cluster: Cluster, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cluster.json("get", "pods", "-l", selector)["items"]
    return items


def mark_running_and_ready(cluster: Cluster, name: str) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": now},
        {"type": "ContainersReady", "status": "True", "lastTransitionTime": now}]}}
    cluster.kubectl("patch", "pod", name, "--subresource=status", "--type=merge", "-p", json.dumps(status))


def test_replicaset_creates_owned_pods_and_reports_ready_replicas(cluster: Cluster) -> None:
    cluster.apply(RS)
    created = eventually(lambda: len(pods(cluster, "app=web")) == 3 and pods(cluster, "app=web"), what="3 pods")
    rs = cluster.json("get", "rs", "web")
    for p in created:
        ref = p["metadata"]["ownerReferences"][0]
        assert ref["kind"] == "ReplicaSet" and ref["uid"] == rs["metadata"]["uid"] and ref["controller"] is True
        assert p["metadata"]["name"].startswith("web-")
    for p in created:
        mark_running_and_ready(cluster, p["metadata"]["name"])
    eventually(lambda: cluster.json("get", "rs", "web")["status"].get("readyReplicas") == 3, what="ready 3")
    status = cluster.json("get", "rs", "web")["status"]
    assert status["replicas"] == 3 and status["availableReplicas"] == 3 and status["observedGeneration"] == 1
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=web").stdout
    assert "SuccessfulCreate" in events


def test_replicaset_scales_down_and_replaces_deleted_pods(cluster: Cluster) -> None:
    cluster.apply(RS)
    eventually(lambda: len(pods(cluster, "app=web")) == 3, what="3 pods")
    victim = pods(cluster, "app=web")[0]["metadata"]["name"]
    cluster.kubectl("delete", "pod", victim)
    eventually(lambda: len(pods(cluster, "app=web")) == 3 and victim not in
               [p["metadata"]["name"] for p in pods(cluster, "app=web")], what="a replacement pod")
    cluster.kubectl("scale", "rs", "web", "--replicas=1")
    eventually(lambda: len(pods(cluster, "app=web")) == 1, what="scale down to 1")
    eventually(lambda: cluster.json("get", "rs", "web")["status"]["replicas"] == 1, what="status replicas 1")


def test_replicaset_adopts_matching_orphans(cluster: Cluster) -> None:
    cluster.apply("apiVersion: v1\nkind: Pod\nmetadata: {name: orphan, labels: {app: web}}\n"
                  "spec: {containers: [{name: app, image: nginx:1.27}]}\n")
    cluster.apply(RS)
    eventually(lambda: len(pods(cluster, "app=web")) == 3, what="3 pods including the orphan")
    orphan = cluster.json("get", "pod", "orphan")
    assert orphan["metadata"]["ownerReferences"][0]["name"] == "web"


def test_deleting_a_replicaset_deletes_its_pods(cluster: Cluster) -> None:
    cluster.apply(RS)
    eventually(lambda: len(pods(cluster, "app=web")) == 3, what="3 pods")
    cluster.kubectl("delete", "rs", "web")
    eventually(lambda: not pods(cluster, "app=web"), what="pods gone")
