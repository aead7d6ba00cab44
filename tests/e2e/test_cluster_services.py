"""Endpoints and EndpointSlices, default ServiceAccounts and root CA ConfigMaps, LimitRange and
ResourceQuota admission, with real kubectl. Pods get their IPs and readiness from the test (no host
runs them yet), through the status subresource as a kubelet would."""

from __future__ import annotations

import json
import textwrap
import time
from typing import Any

from tests.conftest import Cluster
from tests.e2e.test_controllers import eventually

SERVICE = textwrap.dedent(
    """
    apiVersion: v1
    kind: Service
    metadata: {name: web, labels: {tier: front}}
    spec:
      selector: {app: web}
      ports: [{name: http, port: 80, targetPort: http}]
    """
)


def pod_manifest(name: str, labels: str = "{app: web}", extra: str = "") -> str:
    return textwrap.dedent(
        f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}, labels: {labels}}}
        spec:
          {extra}
          containers:
          - name: app
            image: nginx:1.27
            ports: [{{name: http, containerPort: 8080}}]
        """
    )


def set_status(cluster: Cluster, name: str, ip: str | None = None, ready: bool | None = None) -> None:
    """Patch what a kubelet reports: the pod IP and the Ready condition."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status: dict[str, Any] = {"phase": "Running"}
    if ip is not None:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    if ready is not None:
        flag = "True" if ready else "False"
        status["conditions"] = [{"type": "Ready", "status": flag, "lastTransitionTime": now},
                                {"type": "ContainersReady", "status": flag, "lastTransitionTime": now}]
    cluster.kubectl("patch", "pod", name, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status}))


def endpoints(cluster: Cluster, name: str = "web") -> dict[str, Any]:
    result: dict[str, Any] = cluster.json("get", "endpoints", name)
    return result


def slices(cluster: Cluster, service: str = "web") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cluster.json(
        "get", "endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]
    return items


def slice_endpoints(cluster: Cluster, service: str = "web") -> dict[str, dict[str, Any]]:
    """Endpoints of all the service's slices by pod name."""
    return {ep["targetRef"]["name"]: ep for s in slices(cluster, service) for ep in s.get("endpoints") or ()}


def addresses(ep: dict[str, Any], field: str = "addresses") -> list[str]:
    return sorted(a["ip"] for s in ep.get("subsets") or () for a in s.get(field) or ())


def forbidden(cluster: Cluster, manifest: str) -> str:
    proc = cluster.kubectl("create", "-f", "-", input=manifest, check=False)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr.strip()


# ---------------------------------------------------------------------------------------------------
# Endpoints and EndpointSlices


def test_endpoints_list_ready_and_not_ready_pods_with_named_target_ports(cluster: Cluster) -> None:
    cluster.apply(SERVICE)
    eventually(lambda: cluster.kubectl("get", "endpoints", "web", check=False).returncode == 0, what="endpoints")
    ep = endpoints(cluster)
    assert "subsets" not in ep and ep["metadata"]["labels"] == {
        "tier": "front", "endpoints.kubernetes.io/managed-by": "endpoint-controller"}
    cluster.apply(pod_manifest("web-1") + "---" + pod_manifest("web-2") + "---" + pod_manifest("other", "{app: db}"))
    set_status(cluster, "web-1", "10.244.0.11", ready=True)
    set_status(cluster, "web-2", "10.244.0.12", ready=False)
    set_status(cluster, "other", "10.244.0.13", ready=True)
    ep = eventually(lambda: (e := endpoints(cluster)) and addresses(e) == ["10.244.0.11"]
                    and addresses(e, "notReadyAddresses") == ["10.244.0.12"] and e, what="ready and not ready")
    subset = ep["subsets"][0]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    pod = cluster.json("get", "pod", "web-1")
    assert subset["addresses"][0]["targetRef"] == {"kind": "Pod", "namespace": "default", "name": "web-1",
                                                    "uid": pod["metadata"]["uid"]}
    assert ep["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"]
    set_status(cluster, "web-2", ready=True)
    eventually(lambda: addresses(endpoints(cluster)) == ["10.244.0.11", "10.244.0.12"], what="both ready")
    cluster.kubectl("delete", "pod", "web-1")
    eventually(lambda: addresses(endpoints(cluster)) == ["10.244.0.12"], what="deleted pod removed")
    out = cluster.kubectl("get", "endpoints", "web").stdout
    assert "10.244.0.12:8080" in out


def test_endpointslices_carry_conditions_labels_and_owner(cluster: Cluster) -> None:
    cluster.apply(SERVICE)
    placeholder = eventually(lambda: slices(cluster), what="placeholder slice")
    assert len(placeholder) == 1 and not placeholder[0].get("endpoints") and not placeholder[0].get("ports")
    cluster.apply(pod_manifest("web-1") + "---" + pod_manifest("web-2"))
    set_status(cluster, "web-1", "10.244.1.1", ready=True)
    set_status(cluster, "web-2", "10.244.1.2", ready=False)
    eps = eventually(lambda: len(e := slice_endpoints(cluster)) == 2 and e, what="two endpoints")
    assert eps["web-1"]["conditions"] == {"ready": True, "serving": True, "terminating": False}
    assert eps["web-2"]["conditions"] == {"ready": False, "serving": False, "terminating": False}
    assert eps["web-1"]["addresses"] == ["10.244.1.1"]
    [s] = slices(cluster)
    svc = cluster.json("get", "service", "web")
    assert s["metadata"]["name"].startswith("web-") and s["addressType"] == "IPv4"
    assert s["metadata"]["labels"] == {"tier": "front", "kubernetes.io/service-name": "web",
                                       "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    assert s["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "web",
                                                 "uid": svc["metadata"]["uid"], "controller": True,
                                                 "blockOwnerDeletion": True}]
    assert s["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    # A pod being deleted stays, terminating and no longer ready (a pod on a node deletes gracefully).
    set_status(cluster, "web-2", ready=True)
    eventually(lambda: slice_endpoints(cluster)["web-2"]["conditions"]["ready"], what="web-2 ready")
    out = cluster.kubectl("get", "endpointslices").stdout
    assert "10.244.1.1,10.244.1.2" in out or "10.244.1.2,10.244.1.1" in out


def test_endpoints_follow_service_changes_and_go_with_the_service(cluster: Cluster) -> None:
    cluster.apply(SERVICE)
    cluster.apply(pod_manifest("web-1") + "---" + pod_manifest("db-1", "{app: db}"))
    set_status(cluster, "web-1", "10.244.2.1", ready=True)
    set_status(cluster, "db-1", "10.244.2.2", ready=True)
    eventually(lambda: addresses(endpoints(cluster)) == ["10.244.2.1"], what="web selected")
    cluster.kubectl("patch", "service", "web", "--type=merge", "-p", '{"spec":{"selector":{"app":"db"}}}')
    eventually(lambda: addresses(endpoints(cluster)) == ["10.244.2.2"], what="db selected")
    eventually(lambda: set(slice_endpoints(cluster)) == {"db-1"}, what="slice follows")
    # Numeric target ports need no container port of that name.
    cluster.kubectl("patch", "service", "web", "--type=json", "-p",
                    '[{"op":"replace","path":"/spec/ports/0/targetPort","value":9090}]')
    eventually(lambda: endpoints(cluster)["subsets"][0]["ports"][0]["port"] == 9090, what="port 9090")
    # A deleted Endpoints object comes back; the Service's deletion takes both kinds away.
    cluster.kubectl("delete", "endpoints", "web")
    eventually(lambda: addresses(endpoints(cluster)) == ["10.244.2.2"], what="endpoints recreated")
    cluster.kubectl("delete", "service", "web")
    eventually(lambda: cluster.kubectl("get", "endpoints", "web", check=False).returncode != 0, what="endpoints gone")
    eventually(lambda: slices(cluster) == [], what="slices gone")


def test_headless_service_publishes_hostnames_and_not_ready_addresses(cluster: Cluster) -> None:
    cluster.apply(textwrap.dedent(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: db}
        spec:
          clusterIP: None
          publishNotReadyAddresses: true
          selector: {app: db}
        """))
    cluster.apply(pod_manifest("db-0", "{app: db}", "hostname: db-0\n          subdomain: db"))
    set_status(cluster, "db-0", "10.244.3.1", ready=False)
    ep = eventually(lambda: addresses(e := endpoints(cluster, "db")) == ["10.244.3.1"] and e, what="db-0 listed")
    assert ep["subsets"][0]["addresses"][0]["hostname"] == "db-0" and "ports" not in ep["subsets"][0]
    assert ep["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    eps = eventually(lambda: slice_endpoints(cluster, "db"), what="slice")
    assert eps["db-0"]["hostname"] == "db-0" and eps["db-0"]["conditions"]["ready"] is True
    assert eps["db-0"]["conditions"]["serving"] is False
    assert slices(cluster, "db")[0]["metadata"]["labels"]["service.kubernetes.io/headless"] == ""


# ---------------------------------------------------------------------------------------------------
# ServiceAccounts and the root CA


def test_new_namespace_gets_default_service_account_and_root_ca(cluster: Cluster) -> None:
    for ns in ("default", "kube-system"):
        eventually(lambda ns=ns: cluster.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0,
                   what=f"default sa in {ns}")
    cluster.kubectl("create", "namespace", "team-a")
    eventually(lambda: cluster.kubectl("get", "sa", "default", "-n", "team-a", check=False).returncode == 0,
               what="default sa in team-a")
    cm = eventually(lambda: cluster.kubectl("get", "cm", "kube-root-ca.crt", "-n", "team-a", "-o", "json",
                                            check=False).stdout, what="root ca configmap")
    data = json.loads(cm)
    with open(cluster.server.ca_path) as f:
        assert data["data"] == {"ca.crt": f.read()}
    assert data["metadata"]["annotations"]["kubernetes.io/description"].startswith("Contains a CA bundle")


def test_default_service_account_and_root_ca_come_back(cluster: Cluster) -> None:
    eventually(lambda: cluster.kubectl("get", "cm", "kube-root-ca.crt", check=False).returncode == 0, what="cm")
    eventually(lambda: cluster.kubectl("get", "sa", "default", check=False).returncode == 0, what="sa")
    uid = cluster.json("get", "sa", "default")["metadata"]["uid"]
    cluster.kubectl("delete", "sa", "default")
    eventually(lambda: (r := cluster.kubectl("get", "sa", "default", "-o", "json", check=False)).returncode == 0
               and json.loads(r.stdout)["metadata"]["uid"] != uid, what="new default sa")
    cluster.kubectl("delete", "cm", "kube-root-ca.crt")
    eventually(lambda: cluster.kubectl("get", "cm", "kube-root-ca.crt", check=False).returncode == 0, what="cm back")
    cluster.kubectl("patch", "cm", "kube-root-ca.crt", "--type=merge", "-p", '{"data":{"ca.crt":"tampered"}}')
    with open(cluster.server.ca_path) as f:
        pem = f.read()
    eventually(lambda: cluster.json("get", "cm", "kube-root-ca.crt")["data"] == {"ca.crt": pem}, what="cm restored")


# ---------------------------------------------------------------------------------------------------
# LimitRange


LIMITS = textwrap.dedent(
    """
    apiVersion: v1
    kind: LimitRange
    metadata: {name: limits}
    spec:
      limits:
      - type: Container
        default: {cpu: 500m, memory: 256Mi}
        defaultRequest: {cpu: 100m}
        max: {cpu: "1"}
        min: {memory: 64Mi}
        maxLimitRequestRatio: {cpu: "10"}
    """
)


def resources_pod(name: str, resources: str) -> str:
    return textwrap.dedent(
        f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}}}
        spec:
          containers: [{{name: app, image: nginx:1.27, resources: {resources}}}]
        """
    )


def test_limitrange_defaults_container_resources(cluster: Cluster) -> None:
    cluster.apply(LIMITS)
    lr = cluster.json("get", "limitrange", "limits")
    # The API defaults a Container item's request from its default limit where none is given.
    assert lr["spec"]["limits"][0]["defaultRequest"] == {"cpu": "100m", "memory": "256Mi"}
    cluster.kubectl("create", "-f", "-", input=resources_pod("plain", "{}"))
    pod = cluster.json("get", "pod", "plain")
    assert pod["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "500m", "memory": "256Mi"},
                                                         "requests": {"cpu": "100m", "memory": "256Mi"}}
    assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app")
    assert pod["status"]["qosClass"] == "Burstable"
    # What the pod states itself is kept.
    cluster.kubectl("create", "-f", "-", input=resources_pod("own", "{limits: {cpu: 200m}}"))
    res = cluster.json("get", "pod", "own")["spec"]["containers"][0]["resources"]
    assert res == {"limits": {"cpu": "200m", "memory": "256Mi"}, "requests": {"cpu": "200m", "memory": "256Mi"}}


def test_limitrange_rejects_pods_outside_min_max_and_ratio(cluster: Cluster) -> None:
    cluster.apply(LIMITS)
    err = forbidden(cluster, resources_pod("big", "{limits: {cpu: '2'}}"))
    assert err == ('Error from server (Forbidden): error when creating "STDIN": pods "big" is forbidden: '
                   "maximum cpu usage per Container is 1, but limit is 2")
    err = forbidden(cluster, resources_pod("small", "{limits: {memory: 32Mi}}"))
    assert err == ('Error from server (Forbidden): error when creating "STDIN": pods "small" is forbidden: '
                   "minimum memory usage per Container is 64Mi, but request is 32Mi")
    err = forbidden(cluster, resources_pod("ratio", "{requests: {cpu: 10m}, limits: {cpu: 500m}}"))
    assert err == ('Error from server (Forbidden): error when creating "STDIN": pods "ratio" is forbidden: '
                   "cpu max limit to request ratio per Container is 10, but provided ratio is 50.000000")
    assert cluster.kubectl("get", "pods", "-o", "name").stdout == ""


def test_limitrange_bounds_claim_storage(cluster: Cluster) -> None:
    cluster.apply(textwrap.dedent(
        """
        apiVersion: v1
        kind: LimitRange
        metadata: {name: storage}
        spec:
          limits: [{type: PersistentVolumeClaim, min: {storage: 1Gi}, max: {storage: 10Gi}}]
        """))
    claim = textwrap.dedent(
        """
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: data}
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 20Gi}}
        """)
    err = forbidden(cluster, claim)
    assert err == ('Error from server (Forbidden): error when creating "STDIN": persistentvolumeclaims "data" is '
                   "forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi")
    cluster.kubectl("create", "-f", "-", input=claim.replace("20Gi", "5Gi"))


# ---------------------------------------------------------------------------------------------------
# ResourceQuota


def quota_status(cluster: Cluster, name: str = "q") -> dict[str, Any]:
    status: dict[str, Any] = cluster.json("get", "resourcequota", name).get("status") or {}
    return status


def test_resourcequota_rejects_past_hard_limit_and_reports_usage(cluster: Cluster) -> None:
    cluster.kubectl("create", "quota", "q", "--hard=pods=2,configmaps=5")
    status = eventually(lambda: quota_status(cluster).get("used"), what="quota status")
    assert quota_status(cluster)["hard"] == {"pods": "2", "configmaps": "5"}
    # kube-root-ca.crt counts like any ConfigMap.
    eventually(lambda: quota_status(cluster)["used"] == {"pods": "0", "configmaps": "1"}, what="initial usage")
    cluster.apply(pod_manifest("p1") + "---" + pod_manifest("p2"))
    err = forbidden(cluster, pod_manifest("p3"))
    assert err == ('Error from server (Forbidden): error when creating "STDIN": pods "p3" is forbidden: '
                   "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2")
    status = eventually(lambda: (s := quota_status(cluster))["used"]["pods"] == "2" and s, what="used 2")
    assert status["used"] == {"pods": "2", "configmaps": "1"}
    rows = [line.split() for line in cluster.kubectl("describe", "quota", "q").stdout.splitlines()]
    assert ["pods", "2", "2"] in rows and ["configmaps", "1", "5"] in rows
    # Finished pods no longer count; deleted ones free their share.
    cluster.kubectl("patch", "pod", "p1", "--subresource=status", "--type=merge", "-p",
                    '{"status":{"phase":"Succeeded"}}')
    eventually(lambda: quota_status(cluster)["used"]["pods"] == "1", what="used 1")
    cluster.kubectl("create", "-f", "-", input=pod_manifest("p3"))
    cluster.kubectl("delete", "pod", "p2", "p3")
    eventually(lambda: quota_status(cluster)["used"]["pods"] == "0", what="used 0")


def test_resourcequota_on_compute_resources_requires_and_sums_requests(cluster: Cluster) -> None:
    cluster.apply(textwrap.dedent(
        """
        apiVersion: v1
        kind: ResourceQuota
        metadata: {name: compute}
        spec:
          hard: {requests.cpu: "1", limits.memory: 1Gi, requests.nvidia.com/gpu: "1"}
        """))
    eventually(lambda: quota_status(cluster, "compute").get("used"), what="quota status")
    err = forbidden(cluster, resources_pod("bare", "{}"))
    assert err == ('Error from server (Forbidden): error when creating "STDIN": pods "bare" is forbidden: '
                   "failed quota: compute: must specify limits.memory for: app; requests.cpu for: app")
    ok = "{requests: {cpu: 600m, nvidia.com/gpu: '1'}, limits: {memory: 512Mi, nvidia.com/gpu: '1'}}"
    cluster.kubectl("create", "-f", "-", input=resources_pod("a", ok))
    eventually(lambda: quota_status(cluster, "compute")["used"] == {
        "requests.cpu": "600m", "limits.memory": "512Mi", "requests.nvidia.com/gpu": "1"}, what="usage summed")
    err = forbidden(cluster, resources_pod("b", ok))
    assert err == ('Error from server (Forbidden): error when creating "STDIN": pods "b" is forbidden: '
                   "exceeded quota: compute, requested: requests.cpu=600m,requests.nvidia.com/gpu=1, "
                   "used: requests.cpu=600m,requests.nvidia.com/gpu=1, limited: requests.cpu=1,requests.nvidia.com/gpu=1")


def test_resourcequota_counts_objects_of_any_kind(cluster: Cluster) -> None:
    cluster.kubectl("create", "quota", "q", "--hard=count/secrets=1,services=1,count/deployments.apps=1")
    eventually(lambda: quota_status(cluster).get("used"), what="quota status")
    cluster.kubectl("create", "secret", "generic", "s1", "--from-literal=a=b")
    proc = cluster.kubectl("create", "secret", "generic", "s2", "--from-literal=a=b", check=False)
    assert proc.stderr.strip() == ('error: failed to create secret secrets "s2" is forbidden: exceeded quota: q, '
                                   "requested: count/secrets=1, used: count/secrets=1, limited: count/secrets=1")
    cluster.kubectl("create", "deployment", "d1", "--image=nginx")
    proc = cluster.kubectl("create", "deployment", "d2", "--image=nginx", check=False)
    assert 'deployments.apps "d2" is forbidden: exceeded quota: q, requested: count/deployments.apps=1' in proc.stderr
    eventually(lambda: quota_status(cluster)["used"] == {"count/secrets": "1", "services": "0",
                                                         "count/deployments.apps": "1"}, what="usage")


def test_service_account_admission_mounts_the_token_volume_and_checks_the_account(cluster: Cluster) -> None:
    cluster.apply(resources_pod("plain", "{}"))
    spec = cluster.json("get", "pod", "plain")["spec"]
    assert spec["serviceAccountName"] == "default"
    volume = next(v for v in spec["volumes"] if v["name"].startswith("kube-api-access-"))
    sources = volume["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert spec["containers"][0]["volumeMounts"] == [
        {"name": volume["name"], "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]

    missing = cluster.kubectl("run", "nosa", "--image=busybox", "--overrides",
                              '{"spec":{"serviceAccountName":"ghost"}}', check=False)
    assert missing.returncode != 0
    assert 'pods "nosa" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" ' \
           'not found' in missing.stderr

    cluster.apply("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: quiet}\nautomountServiceAccountToken: false\n")
    cluster.kubectl("run", "quiet", "--image=busybox", "--overrides", '{"spec":{"serviceAccountName":"quiet"}}')
    quiet = cluster.json("get", "pod", "quiet")["spec"]
    assert not any(v["name"].startswith("kube-api-access-") for v in quiet.get("volumes") or [])
    assert "volumeMounts" not in quiet["containers"][0]
