"""Syncer translation: pure functions, checked against kube's own schemas with kubernetes-validate."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import kubernetes_validate
import pytest

from kubenest.api import defaults
from kubenest.syncer import translate as tr

VERSION = "1.37.0"


def valid(obj: dict[str, Any]) -> None:
    """Strict: no unknown fields, as the syncer writes with fieldValidation=Strict."""
    kubernetes_validate.validate(obj, VERSION, strict=True)


def vpod(**spec: Any) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "team", "uid": "u-1", "labels": {"app": "web"},
                     "annotations": {"note": "x"}},
        "spec": {"serviceAccountName": "runner", "nodeName": "virtual-node",
                 "containers": [{"name": "c", "image": "nginx"}], **spec},
    }
    return pod


def ctx(**kw: Any) -> tr.PodContext:
    return tr.PodContext("exp", kw.pop("api_host", "10.0.0.1"), kw.pop("api_port", 6443), **kw)


def test_names_follow_vclusters_rule() -> None:
    assert tr.host_name("web", "default", "exp") == "web-x-default-x-exp"
    assert tr.host_namespace("exp") == "kubenest-exp"
    long = "a" * 40
    full = f"{long}-x-{long}-x-exp"
    name = tr.host_name(long, long, "exp")
    assert len(name) == 63
    assert name == full[:52] + "-" + hashlib.sha256(full.encode()).hexdigest()[:10]
    # vcluster drops a dot left right before the hash separator
    dotted = tr.safe_concat("a" * 51 + ".", "b" * 20)
    assert ".-" not in dotted and len(dotted) == 62
    assert tr.host_name("web", "default", "exp") != tr.host_name("web", "default", "exp2")


def test_origin_labels_and_annotations_round_trip() -> None:
    host = tr.translate_configmap({"metadata": {"name": "cfg", "namespace": "team", "uid": "u-9",
                                                "labels": {"a": "b", "kubenest.io/cluster": "evil"}},
                                   "data": {"k": "v"}}, "exp")
    meta = host["metadata"]
    assert meta["namespace"] == "kubenest-exp" and meta["name"] == "cfg-x-team-x-exp"
    assert meta["labels"] == {"a": "b", tr.MANAGED_BY: "kubenest", tr.CLUSTER_LABEL: "exp",
                              tr.NAMESPACE_LABEL: "team"}
    assert tr.origin_of(host) == tr.Origin("exp", "team", "cfg", "u-9")
    assert tr.origin_of({"metadata": {"name": "x"}}) is None
    valid(host)


def test_pod_references_are_renamed_and_pod_is_host_valid() -> None:
    pod = vpod(
        volumes=[{"name": "cfg", "configMap": {"name": "cfg"}},
                 {"name": "sec", "secret": {"secretName": "creds"}},
                 {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                 {"name": "mix", "projected": {"sources": [{"configMap": {"name": "cfg2"}},
                                                           {"secret": {"name": "creds2"}}]}},
                 {"name": "info", "downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}}],
        imagePullSecrets=[{"name": "pull"}],
        priorityClassName="high", priority=1000,
    )
    pod["spec"]["containers"][0].update(
        envFrom=[{"configMapRef": {"name": "envcfg"}}, {"secretRef": {"name": "envsec"}}],
        env=[{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}},
             {"name": "B", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "b"}}},
             {"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
             {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
             {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}])
    cms, secrets = tr.pod_refs(pod)
    assert cms == {"cfg", "cfg2", "envcfg"} and secrets == {"creds", "creds2", "envsec", "pull"}
    host = tr.translate_pod(pod, ctx())
    valid(host)
    spec = host["spec"]
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["cfg"]["configMap"]["name"] == "cfg-x-team-x-exp"
    assert vols["sec"]["secret"]["secretName"] == "creds-x-team-x-exp"
    assert vols["data"]["persistentVolumeClaim"]["claimName"] == "data-x-team-x-exp"
    assert [s.get("configMap", s.get("secret"))["name"] for s in vols["mix"]["projected"]["sources"]] == [
        "cfg2-x-team-x-exp", "creds2-x-team-x-exp"]
    assert vols["info"]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == \
        "metadata.annotations['kubenest.io/name']"
    c = spec["containers"][0]
    assert [e.get("configMapRef", e.get("secretRef"))["name"] for e in c["envFrom"]] == [
        "envcfg-x-team-x-exp", "envsec-x-team-x-exp"]
    env = {e["name"]: e for e in c["env"]}
    assert env["A"]["valueFrom"]["configMapKeyRef"]["name"] == "cfg-x-team-x-exp"
    assert env["B"]["valueFrom"]["secretKeyRef"]["name"] == "creds-x-team-x-exp"
    assert env["ME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.annotations['kubenest.io/name']"
    assert env["NS"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.annotations['kubenest.io/namespace']"
    assert env["IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["KUBERNETES_SERVICE_HOST"]["value"] == "10.0.0.1"
    assert env["KUBERNETES_SERVICE_PORT"]["value"] == "6443"
    assert spec["imagePullSecrets"] == [{"name": "pull-x-team-x-exp"}]
    assert spec["automountServiceAccountToken"] is False and spec["enableServiceLinks"] is False
    for gone in ("nodeName", "serviceAccountName", "priority", "priorityClassName"):
        assert gone not in spec
    assert host["metadata"]["labels"]["app"] == "web"
    assert host["metadata"]["annotations"]["note"] == "x"
    assert host["metadata"]["annotations"][tr.UID_ANNOTATION] == "u-1"
    assert pod["spec"]["nodeName"] == "virtual-node"  # the input is not changed


def test_token_volume_becomes_a_host_secret_with_token_ca_and_namespace() -> None:
    pod = vpod()
    defaults.mount_service_account_token(pod)  # as kube's ServiceAccount admission does
    vol_name = pod["spec"]["volumes"][0]["name"]
    assert vol_name.startswith("kube-api-access-")
    assert tr.needs_token(pod)
    assert tr.pod_refs(pod) == (set(), set())  # kube-root-ca.crt is not synced: the Secret holds the CA
    host = tr.translate_pod(pod, ctx())
    valid(host)
    vol = host["spec"]["volumes"][0]
    assert vol["name"] == vol_name
    assert vol["secret"]["secretName"] == tr.token_secret_name("web", "team", "exp")
    assert sorted(i["key"] for i in vol["secret"]["items"]) == ["ca.crt", "namespace", "token"]
    mounts = host["spec"]["containers"][0]["volumeMounts"]
    assert mounts == [{"name": vol_name, "readOnly": True, "mountPath": tr.TOKEN_PATH}]
    secret = tr.token_secret(pod, "exp", "tok", "CA")
    valid(secret)
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {
        "token": "tok", "ca.crt": "CA", "namespace": "team"}
    assert secret["metadata"]["name"] == vol["secret"]["secretName"]


def test_pod_without_admission_volume_still_gets_a_token_unless_opted_out() -> None:
    host = tr.translate_pod(vpod(), ctx())
    assert host["spec"]["volumes"][0]["name"] == tr.TOKEN_VOLUME
    assert host["spec"]["containers"][0]["volumeMounts"][0]["mountPath"] == tr.TOKEN_PATH
    valid(host)
    off = vpod(automountServiceAccountToken=False)
    assert not tr.needs_token(off)
    host = tr.translate_pod(off, ctx())
    assert "volumes" not in host["spec"] or host["spec"]["volumes"] == []
    assert host["spec"]["automountServiceAccountToken"] is False
    valid(host)


def test_service_links_point_at_host_cluster_ips_and_own_env_wins() -> None:
    svc = {"metadata": {"name": "my-db"}, "spec": {"clusterIP": "10.96.0.9",
                                                   "ports": [{"name": "sql", "port": 5432, "protocol": "TCP"}]}}
    headless = {"metadata": {"name": "hl"}, "spec": {"clusterIP": "None", "ports": [{"port": 1}]}}
    pod = vpod()
    pod["spec"]["containers"][0]["env"] = [{"name": "MY_DB_SERVICE_PORT", "value": "mine"}]
    env = {e["name"]: e.get("value") for e in tr.translate_pod(pod, ctx(
        services=[svc, headless], host_cluster_ips={"my-db": "10.100.0.7"}))["spec"]["containers"][0]["env"]}
    assert env["MY_DB_SERVICE_HOST"] == "10.100.0.7"
    assert env["MY_DB_SERVICE_PORT"] == "mine"
    assert env["MY_DB_SERVICE_PORT_SQL"] == "5432"
    assert env["MY_DB_PORT_5432_TCP"] == "tcp://10.100.0.7:5432"
    assert env["MY_DB_PORT_5432_TCP_ADDR"] == "10.100.0.7"
    assert not any(k.startswith("HL_") for k in env)
    no_links = vpod(enableServiceLinks=False)
    env2 = {e["name"] for e in tr.translate_pod(no_links, ctx(services=[svc]))["spec"]["containers"][0]["env"]}
    assert "MY_DB_SERVICE_HOST" not in env2 and "KUBERNETES_SERVICE_HOST" in env2


def test_pod_status_flows_up() -> None:
    host = {"status": {"phase": "Running", "podIP": "10.244.0.5", "podIPs": [{"ip": "10.244.0.5"}],
                       "hostIP": "172.30.0.1", "hostIPs": [{"ip": "172.30.0.1"}], "startTime": "t",
                       "qosClass": "BestEffort", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "c", "ready": True}], "unknownField": 1}}
    status = tr.pod_status_up(vpod(), host)
    assert status["phase"] == "Running" and status["podIPs"] == [{"ip": "10.244.0.5"}]
    assert status["hostIP"] == "172.30.0.1" and status["qosClass"] == "BestEffort"
    assert "unknownField" not in status


def test_update_pod_changes_only_mutable_fields() -> None:
    current = tr.translate_pod(vpod(), ctx())
    current["spec"]["nodeName"] = "sim-0"
    changed = vpod()
    changed["spec"]["containers"][0]["image"] = "nginx:2"
    changed["metadata"]["labels"]["tier"] = "front"
    new = tr.update_pod(current, tr.translate_pod(changed, ctx()))
    assert new["spec"]["nodeName"] == "sim-0"
    assert new["spec"]["containers"][0]["image"] == "nginx:2"
    assert new["metadata"]["labels"]["tier"] == "front"


def test_service_selector_is_scoped_to_its_namespace() -> None:
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "web", "namespace": "team", "uid": "s1"},
           "spec": {"selector": {"app": "web"}, "type": "NodePort", "clusterIP": "10.96.1.1",
                    "clusterIPs": ["10.96.1.1"],
                    "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}]}}
    host = tr.translate_service(svc, "exp")
    valid(host)
    assert host["spec"]["selector"] == {"app": "web", tr.NAMESPACE_LABEL: "team"}
    assert "clusterIP" not in host["spec"] and "nodePort" not in host["spec"]["ports"][0]
    current = dict(host, spec=dict(host["spec"], clusterIP="10.100.0.1", clusterIPs=["10.100.0.1"],
                                   ports=[dict(host["spec"]["ports"][0], nodePort=31000)]))
    updated = tr.update_service(current, host)
    assert updated["spec"]["clusterIP"] == "10.100.0.1" and updated["spec"]["ports"][0]["nodePort"] == 31000
    headless = tr.translate_service({"metadata": {"name": "h", "namespace": "team"},
                                     "spec": {"clusterIP": "None", "ports": [{"port": 1}]}}, "exp")
    assert headless["spec"]["clusterIP"] == "None"
    valid(headless)


def test_service_cluster_ips_go_down_only_at_creation_and_come_back_up() -> None:
    svc = {"metadata": {"name": "web", "namespace": "team", "uid": "u1"},
           "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.9.9", "clusterIPs": ["10.96.9.9"],
                    "ports": [{"port": 80}]}}
    desired = tr.with_hash(tr.translate_service(svc, "exp"))
    unallocated = tr.with_hash(tr.translate_service(dict(svc, spec={"selector": {"app": "web"},
                                                                  "ports": [{"port": 80}]}), "exp"))
    assert tr.hash_of(desired) == tr.hash_of(unallocated)  # the address is no part of what decides a write
    create = tr.with_cluster_ips(desired, svc)
    valid(create)
    assert (create["spec"]["clusterIP"], create["spec"]["clusterIPs"]) == ("10.96.9.9", ["10.96.9.9"])
    assert "clusterIP" not in tr.without_cluster_ips(create)["spec"] and create["spec"]["clusterIP"]
    headless = {"metadata": svc["metadata"], "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}
    ext = {"metadata": svc["metadata"], "spec": {"type": "ExternalName", "externalName": "db.example.com"}}
    assert not tr.has_cluster_ip(headless) and not tr.has_cluster_ip(ext) and tr.has_cluster_ip(svc)
    assert tr.with_cluster_ips(tr.translate_service(headless, "exp"), headless)["spec"]["clusterIP"] == "None"
    assert "clusterIP" not in tr.with_cluster_ips(tr.translate_service(ext, "exp"), ext)["spec"]
    host = {"spec": {"clusterIP": "10.100.0.5", "clusterIPs": ["10.100.0.5"], "ipFamilies": ["IPv4"],
                     "ipFamilyPolicy": "SingleStack"}}
    v: dict[str, Any] = {"spec": {"ports": [{"port": 80}]}}
    tr.cluster_ips_up(v, host)
    assert v["spec"]["clusterIPs"] == ["10.100.0.5"] and v["spec"]["ipFamilies"] == ["IPv4"]
    assert tr.service_status_up(None) == {"loadBalancer": {}}
    lb = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}, "conditions": [{"type": "x", "status": "True"}]}
    assert tr.service_status_up(lb) == lb


def test_endpoints_pvc_ingress_and_secret_translate_to_valid_host_objects() -> None:
    ep = tr.translate_endpoints({"metadata": {"name": "ext", "namespace": "team"}, "subsets": [
        {"addresses": [{"ip": "1.2.3.4", "nodeName": "n", "targetRef": {"kind": "Pod", "name": "p",
                                                                         "namespace": "team", "uid": "x"}}],
         "ports": [{"port": 80}]}]}, "exp")
    valid(ep)
    assert ep["subsets"][0]["addresses"][0]["targetRef"] == {"kind": "Pod", "name": "p-x-team-x-exp",
                                                             "namespace": "kubenest-exp"}
    pvc = tr.translate_pvc({"metadata": {"name": "data", "namespace": "team",
                                         "annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
                            "spec": {"accessModes": ["ReadWriteOnce"], "volumeName": "pv-1",
                                     "resources": {"requests": {"storage": "1Gi"}}}}, "exp")
    valid(pvc)
    assert "volumeName" not in pvc["spec"]
    assert "pv.kubernetes.io/bind-completed" not in pvc["metadata"]["annotations"]
    ing = tr.translate_ingress({"metadata": {"name": "i", "namespace": "team"}, "spec": {
        "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}},
        "tls": [{"hosts": ["a.example"], "secretName": "tls"}],
        "rules": [{"host": "a.example", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"name": "http"}}}}]}}]}},
        "exp")
    valid(ing)
    assert ing["spec"]["defaultBackend"]["service"]["name"] == "web-x-team-x-exp"
    assert ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "api-x-team-x-exp"
    assert ing["spec"]["tls"][0]["secretName"] == "tls-x-team-x-exp"
    sa_secret = tr.translate_secret({"metadata": {"name": "t", "namespace": "team", "annotations": {
        "kubernetes.io/service-account.name": "default"}}, "type": "kubernetes.io/service-account-token",
        "data": {"token": "eA=="}}, "exp")
    valid(sa_secret)
    assert sa_secret["type"] == "Opaque"
    string_data = tr.translate_secret({"metadata": {"name": "s", "namespace": "team"}, "data": {"a": "eA=="},
                                       "stringData": {"b": "y"}}, "exp")
    valid(string_data)
    assert string_data["data"] == {"a": "eA==", "b": "eQ=="}


def test_network_policy_selectors_are_scoped_to_virtual_namespaces() -> None:
    pol = {"metadata": {"name": "p", "namespace": "team"}, "spec": {
        "podSelector": {"matchLabels": {"app": "db"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}},
                              {"namespaceSelector": {"matchLabels": {"env": "prod"}}},
                              {"ipBlock": {"cidr": "10.0.0.0/8"}}]}],
        "egress": [{"to": [{"namespaceSelector": {}}]}]}}
    host = tr.translate_network_policy(pol, "exp", {"team": {}, "prod-a": {"env": "prod"}, "dev": {"env": "dev"}})
    valid(host)
    spec = host["spec"]
    assert spec["podSelector"]["matchLabels"] == {"app": "db", tr.NAMESPACE_LABEL: "team"}
    peers = spec["ingress"][0]["from"]
    assert peers[0] == {"podSelector": {"matchLabels": {"app": "web", tr.NAMESPACE_LABEL: "team"}}}
    assert peers[1]["podSelector"]["matchExpressions"] == [
        {"key": tr.NAMESPACE_LABEL, "operator": "In", "values": ["prod-a"]}]
    assert peers[2] == {"ipBlock": {"cidr": "10.0.0.0/8"}}
    assert spec["egress"][0]["to"][0]["podSelector"]["matchExpressions"][0]["values"] == ["dev", "prod-a", "team"]


def test_host_namespace_objects_from_virtual_cluster_spec() -> None:
    objs = tr.namespace_objects("exp", {"quota": {"hard": {"pods": "10", "requests.cpu": "4"}},
                                        "limitRange": {"limits": [{"type": "Container",
                                                                   "default": {"cpu": "500m"}}]}})
    kinds = [o["kind"] for _, _, o in objs]
    assert kinds == ["Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange"]
    for _, _, o in objs:
        valid(o)
        assert o["metadata"]["labels"] == {tr.MANAGED_BY: "kubenest", tr.CLUSTER_LABEL: "exp"}
    pol = objs[1][2]["spec"]
    assert pol == {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}
    assert [o["kind"] for _, _, o in tr.namespace_objects("exp", {})] == ["Namespace", "NetworkPolicy"]


def test_up_objects_are_valid() -> None:
    node = {"metadata": {"name": "sim-0", "labels": {"kubenest.io/runtime": "simulated"}},
            "spec": {"taints": [{"key": "kubenest.io/simulated", "value": "true", "effect": "NoSchedule"}]},
            "status": {"capacity": {"cpu": "32"}, "conditions": [{"type": "Ready", "status": "True",
                                                                  "lastHeartbeatTime": "a"}]}}
    vnode = tr.virtual_node(node)
    valid(vnode)
    later = dict(node["status"], conditions=[{"type": "Ready", "status": "True", "lastHeartbeatTime": "b"}])
    assert not tr.node_status_differs(vnode["status"], later)
    assert tr.node_status_differs(vnode["status"], dict(later, capacity={"cpu": "16"}))
    pvc = {"metadata": {"name": "data", "namespace": "team", "uid": "u"}}
    pv = tr.virtual_pv(pvc, {"spec": {"volumeName": "pvc-123", "storageClassName": "standard"},
                             "status": {"phase": "Bound", "capacity": {"storage": "1Gi"},
                                        "accessModes": ["ReadWriteOnce"]}})
    valid(pv)
    assert pv["metadata"]["name"] == "pvc-123" and pv["spec"]["claimRef"]["name"] == "data"
    ev = tr.virtual_event({"metadata": {"uid": "e1"}, "involvedObject": {"kind": "Pod", "name": "web-x-team-x-exp"},
                           "reason": "Scheduled", "message": "assigned kubenest-exp/web-x-team-x-exp to sim-0",
                           "type": "Normal", "count": 1},
                          {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "team",
                                                                           "uid": "u"}})
    valid(ev)
    assert ev["involvedObject"]["name"] == "web" and "web-x-team-x-exp" not in ev["message"]


@pytest.mark.parametrize("name,ns,cluster", [("a", "b", "c"), ("x" * 63, "y" * 63, "z" * 40)])
def test_host_names_are_dns_labels(name: str, ns: str, cluster: str) -> None:
    import re

    for n in (tr.host_name(name, ns, cluster), tr.host_namespace(cluster), tr.token_secret_name(name, ns, cluster)):
        assert len(n) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", n)
