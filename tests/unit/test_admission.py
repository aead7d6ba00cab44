"""LimitRanger and ResourceQuota pieces that need no server: resource sums, QoS, limit checks, usage."""

from __future__ import annotations

from typing import Any

from kubenest.api import admission


def pod(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = (), **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "spec": {"containers": list(containers), "initContainers": list(init), **spec}}


def c(name: str = "app", requests: dict[str, str] | None = None, limits: dict[str, str] | None = None,
      **extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if requests:
        res["requests"] = requests
    if limits:
        res["limits"] = limits
    return {"name": name, "resources": res, **extra}


def texts(rl: admission.ResourceList) -> dict[str, str]:
    return {k: admission.quantity_text(v) for k, v in rl.items()}


def test_pod_requests_sum_containers_and_sidecars_and_take_the_largest_init_step() -> None:
    p = pod(c(requests={"cpu": "100m", "memory": "64Mi"}), c("b", requests={"cpu": "200m"}),
            init=(c("sidecar", requests={"cpu": "50m"}, restartPolicy="Always"),
                  c("setup", requests={"cpu": "1", "memory": "32Mi"})),
            overhead={"cpu": "10m"})
    # 100m + 200m + sidecar 50m = 350m; the init step is 1 + the sidecar before it = 1050m, which wins.
    assert texts(admission.pod_resources(p, "requests")) == {"cpu": "1060m", "memory": "64Mi"}
    assert texts(admission.pod_resources(p, "requests", overhead=False)) == {"cpu": "1050m", "memory": "64Mi"}


def test_qos_classes_follow_cpu_and_memory_requests_and_limits() -> None:
    assert admission.qos_class(pod(c())) == "BestEffort"
    both = {"cpu": "1", "memory": "1Gi"}
    assert admission.qos_class(pod(c(requests=both, limits=both))) == "Guaranteed"
    assert admission.qos_class(pod(c(requests={"cpu": "1"}, limits=both))) == "Burstable"
    assert admission.qos_class(pod(c(requests={"nvidia.com/gpu": "1"}))) == "BestEffort"


def test_limit_range_defaults_are_noted_in_the_annotation() -> None:
    lr = {"spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "1Gi"},
                               "defaultRequest": {"cpu": "100m"}}]}}
    p = pod(c(limits={"memory": "2Gi"}), init=(c("init"),))
    assert admission.default_pod_resources(lr, p)
    assert p["spec"]["containers"][0]["resources"] == {"limits": {"memory": "2Gi", "cpu": "500m"},
                                                       "requests": {"cpu": "100m"}}
    assert p["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu request for container app; cpu limit for container app; "
        "cpu request for init container init; cpu, memory limit for init container init")
    assert not admission.default_pod_resources(lr, p)


def test_limit_range_messages_match_kube() -> None:
    lr = {"spec": {"limits": [
        {"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "64Mi"}, "maxLimitRequestRatio": {"cpu": "4"}},
        {"type": "Pod", "max": {"memory": "1Gi"}}]}}
    p = pod(c(requests={"cpu": "100m", "memory": "32Mi"}, limits={"cpu": "2", "memory": "800Mi"}),
            c("b", requests={"cpu": "100m", "memory": "512Mi"}, limits={"cpu": "200m", "memory": "512Mi"}))
    assert admission.validate_pod(lr, p) == [
        "minimum memory usage per Container is 64Mi, but request is 32Mi",
        "maximum cpu usage per Container is 1, but limit is 2",
        "cpu max limit to request ratio per Container is 4, but provided ratio is 20.000000",
        "maximum memory usage per Pod is 1Gi, but limit is 1312Mi",
    ]
    assert admission.aggregate(["a", "b", "a"]) == "[a, b]" and admission.aggregate(["a"]) == "a"


def test_claim_storage_is_checked_against_min_and_max() -> None:
    lr = {"spec": {"limits": [{"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}}]}}
    claim = {"spec": {"resources": {"requests": {"storage": "500Mi"}}}}
    assert admission.validate_pvc(lr, claim) == [
        "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"]


def test_quota_usage_of_pods_services_and_claims() -> None:
    p = pod(c(requests={"cpu": "250m", "nvidia.com/gpu": "2"}, limits={"memory": "1Gi", "nvidia.com/gpu": "2"}))
    assert texts(admission.usage("pods", p)) == {
        "count/pods": "1", "pods": "1", "cpu": "250m", "requests.cpu": "250m", "limits.memory": "1Gi",
        "requests.nvidia.com/gpu": "2"}
    done = dict(p, status={"phase": "Succeeded"})
    assert texts(admission.usage("pods", done)) == {"count/pods": "1"}
    svc = {"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 443}]}}
    assert texts(admission.usage("services", svc))["services.nodeports"] == "2"
    pvc = {"spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "5Gi"}}}}
    assert texts(admission.usage("persistentvolumeclaims", pvc)) == {
        "count/persistentvolumeclaims": "1", "persistentvolumeclaims": "1", "requests.storage": "5Gi",
        "fast.storageclass.storage.k8s.io/requests.storage": "5Gi",
        "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "1"}
    assert texts(admission.usage("widgets.example.com", {})) == {"count/widgets.example.com": "1"}


def test_quota_on_cpu_requires_every_container_to_state_it() -> None:
    p = pod(c(requests={"cpu": "1"}), c("b"), init=(c("init"),))
    assert admission.pod_constraints(["requests.cpu", "limits.memory", "pods"], p) == (
        "must specify limits.memory for: app,b,init; requests.cpu for: b,init")
    assert admission.pod_constraints(["pods", "requests.nvidia.com/gpu"], p) is None


def test_quota_scopes_select_pods() -> None:
    quota = {"spec": {"hard": {"pods": "1"}, "scopes": ["BestEffort"],
                      "scopeSelector": {"matchExpressions": [
                          {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}}
    assert admission.quota_matches(quota, "pods", pod(c(), priorityClassName="high"))
    assert not admission.quota_matches(quota, "pods", pod(c(), priorityClassName="low"))
    assert not admission.quota_matches(quota, "pods", pod(c(requests={"cpu": "1"}), priorityClassName="high"))
    # Scoped quotas never match kinds other than pods.
    assert not admission.quota_matches({"spec": {"hard": {"configmaps": "1"}, "scopes": ["BestEffort"]}},
                                       "configmaps", {})
