"""Deletion with kubectl: cascade policies through ownerReferences, namespace termination, collections."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import Cluster


def _owner_and_dependent(cluster: Cluster) -> None:
    cluster.kubectl("create", "configmap", "owner", "--from-literal=a=b")
    uid = cluster.json("get", "cm", "owner")["metadata"]["uid"]
    dependent = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "dependent", "ownerReferences": [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid, "blockOwnerDeletion": True}]},
        "data": {"x": "y"},
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(dependent))


def _gone(cluster: Cluster, name: str, timeout: float = 10) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cluster.kubectl("get", "cm", name, check=False).returncode != 0:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("cascade", ["background", "foreground"])
def test_cascading_delete_removes_dependents(cluster: Cluster, cascade: str) -> None:
    _owner_and_dependent(cluster)
    cluster.kubectl("delete", "cm", "owner", f"--cascade={cascade}", "--timeout=20s")
    assert _gone(cluster, "owner")
    assert _gone(cluster, "dependent")


def test_orphan_delete_keeps_dependents_without_the_reference(cluster: Cluster) -> None:
    _owner_and_dependent(cluster)
    cluster.kubectl("delete", "cm", "owner", "--cascade=orphan", "--timeout=20s")
    assert _gone(cluster, "owner")
    dep = cluster.json("get", "cm", "dependent")
    assert "ownerReferences" not in dep["metadata"]


def test_namespace_deletion_removes_its_content(cluster: Cluster) -> None:
    cluster.kubectl("create", "namespace", "scratch")
    cluster.kubectl("create", "configmap", "c1", "-n", "scratch", "--from-literal=a=b")
    cluster.kubectl("create", "secret", "generic", "s1", "-n", "scratch", "--from-literal=a=b")
    cluster.kubectl("delete", "namespace", "scratch", "--timeout=30s")
    assert cluster.kubectl("get", "ns", "scratch", check=False).returncode != 0
    cluster.kubectl("create", "namespace", "scratch")
    # Only what every namespace gets (kube's root CA ConfigMap) is in the new one.
    names = set(cluster.kubectl("get", "cm,secret", "-n", "scratch", "-o", "name").stdout.split())
    assert names <= {"configmap/kube-root-ca.crt"}


def test_terminating_namespace_waits_for_finalizers_and_refuses_new_content(cluster: Cluster) -> None:
    cluster.kubectl("create", "namespace", "held")
    cluster.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: held, "
                  "finalizers: [example.com/hold]}\n")
    cluster.kubectl("delete", "namespace", "held", "--wait=false")
    ns = cluster.json("get", "ns", "held")
    assert ns["status"]["phase"] == "Terminating"
    refused = cluster.kubectl("create", "configmap", "new", "-n", "held", check=False)
    assert refused.returncode != 0 and "because it is being terminated" in refused.stderr
    deadline = time.time() + 5
    while time.time() < deadline:
        conds = {c["type"]: c for c in cluster.json("get", "ns", "held")["status"].get("conditions", [])}
        if conds.get("NamespaceFinalizersRemaining", {}).get("status") == "True":
            break
        time.sleep(0.1)
    assert "example.com/hold" in conds["NamespaceFinalizersRemaining"]["message"]
    cluster.kubectl("patch", "cm", "c", "-n", "held", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    cluster.kubectl("wait", "--for=delete", "ns/held", "--timeout=20s")


def test_delete_collection_by_label(cluster: Cluster) -> None:
    for i in range(3):
        cluster.kubectl("create", "configmap", f"c{i}", "--from-literal=a=b")
    cluster.kubectl("label", "cm", "c0", "c1", "batch=old")
    cluster.kubectl("delete", "cm", "-l", "batch=old")
    names = cluster.kubectl("get", "cm", "-o", "name").stdout.split()
    assert "configmap/c2" in names and "configmap/c0" not in names and "configmap/c1" not in names


def test_delete_with_stale_precondition_conflicts(cluster: Cluster) -> None:
    import ssl

    import httpx

    cluster.kubectl("create", "configmap", "c", "--from-literal=a=b")
    srv = cluster.server
    ctx = ssl.create_default_context(cafile=srv.ca_path)
    with httpx.Client(verify=ctx, headers={"Authorization": f"Bearer {srv.token}"}) as c:
        url = srv.url(cluster.name) + "/api/v1/namespaces/default/configmaps/c"
        r = c.request("DELETE", url, json={"kind": "DeleteOptions", "apiVersion": "v1",
                                            "preconditions": {"resourceVersion": "1"}})
        assert r.status_code == 409 and "Precondition failed" in r.json()["message"]
        r = c.request("DELETE", url)
        assert r.status_code == 200 and r.json()["status"] == "Success" and r.json()["details"]["name"] == "c"
        r = c.request("DELETE", url)
        assert r.status_code == 404 and r.json()["message"] == 'configmaps "c" not found'


def test_jobs_orphan_their_pods_when_no_policy_is_given(cluster: Cluster, http: tuple[object, str]) -> None:
    import httpx

    cluster.apply("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n"
                  "      restartPolicy: Never\n      containers: [{name: c, image: busybox, command: [sleep, '1']}]\n")
    deadline = time.time() + 10
    while time.time() < deadline and not cluster.json("get", "pods", "-l", "job-name=j")["items"]:
        time.sleep(0.05)
    c, base = http
    assert isinstance(c, httpx.Client)
    r = c.request("DELETE", base + "/apis/batch/v1/namespaces/default/jobs/j")
    assert r.status_code in (200, 202), r.text
    assert _gone_job(cluster)
    pods = cluster.json("get", "pods", "-l", "job-name=j")["items"]
    assert pods and all(not p["metadata"].get("ownerReferences") for p in pods)


def _gone_job(cluster: Cluster, timeout: float = 10) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cluster.kubectl("get", "job", "j", check=False).returncode != 0:
            return True
        time.sleep(0.1)
    return False
