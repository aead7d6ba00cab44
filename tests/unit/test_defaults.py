"""Built-in defaulting: every field kube fills in, nested pod templates, and respect for client values."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

import pytest

from kubenest.api.defaults import (
    apply_defaults,
    fill_zero_values,
    image_tag,
    mount_service_account_token,
    token_volume_name,
)

Obj = dict[str, Any]


def container(**extra: Any) -> Obj:
    return {"name": "app", "image": "nginx:1.25", **extra}


def pod_spec(**extra: Any) -> Obj:
    return {"containers": [container()], **extra}


def template(spec: Obj | None = None) -> Obj:
    return {"metadata": {"labels": {"app": "web"}}, "spec": spec or pod_spec()}


def defaulted(group: str, version: str, kind: str, obj: Obj, **kw: Any) -> Obj:
    apply_defaults(group, version, kind, obj, **kw)
    return obj


# Every workload kind and where its pod template sits.
WORKLOADS = [
    ("", "v1", "ReplicationController", lambda t: {"spec": {"template": t}}, lambda o: o["spec"]["template"]),
    ("", "v1", "PodTemplate", lambda t: {"template": t}, lambda o: o["template"]),
    ("apps", "v1", "Deployment", lambda t: {"spec": {"template": t}}, lambda o: o["spec"]["template"]),
    ("apps", "v1", "ReplicaSet", lambda t: {"spec": {"template": t}}, lambda o: o["spec"]["template"]),
    ("apps", "v1", "StatefulSet", lambda t: {"spec": {"template": t}}, lambda o: o["spec"]["template"]),
    ("apps", "v1", "DaemonSet", lambda t: {"spec": {"template": t}}, lambda o: o["spec"]["template"]),
    ("batch", "v1", "Job", lambda t: {"spec": {"template": t}}, lambda o: o["spec"]["template"]),
    (
        "batch",
        "v1",
        "CronJob",
        lambda t: {"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": t}}}},
        lambda o: o["spec"]["jobTemplate"]["spec"]["template"],
    ),
]
WORKLOAD_IDS = [w[2] for w in WORKLOADS]


# --- pods


def test_pod_spec_defaults() -> None:
    spec = defaulted("", "v1", "Pod", {"metadata": {"name": "p"}, "spec": pod_spec()})["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["securityContext"] == {}
    assert spec["enableServiceLinks"] is True


def test_pod_admission_defaults_on_create() -> None:
    spec = defaulted("", "v1", "Pod", {"metadata": {"name": "p"}, "spec": pod_spec()})["spec"]
    assert spec["serviceAccountName"] == "default"
    assert spec["serviceAccount"] == "default"
    assert spec["priority"] == 0
    assert spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert spec["tolerations"] == [
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
    ]


def test_pod_create_only_defaults_are_skipped_on_update() -> None:
    spec = defaulted("", "v1", "Pod", {"metadata": {"name": "p"}, "spec": pod_spec()}, create=False)["spec"]
    assert "serviceAccountName" not in spec
    assert "priority" not in spec
    assert spec["restartPolicy"] == "Always"


def test_pod_system_priority_classes_resolve_and_others_are_left_to_the_caller() -> None:
    spec = defaulted("", "v1", "Pod", {"spec": pod_spec(priorityClassName="system-node-critical")})["spec"]
    assert spec["priority"] == 2000001000
    spec = defaulted("", "v1", "Pod", {"spec": pod_spec(priorityClassName="high")})["spec"]
    assert "priority" not in spec


def test_pod_existing_tolerations_that_cover_the_taints_are_kept_alone() -> None:
    mine = [
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 5,
        }
    ]
    spec = defaulted("", "v1", "Pod", {"spec": pod_spec(tolerations=copy.deepcopy(mine))})["spec"]
    assert spec["tolerations"][0] == mine[0]
    assert [t["key"] for t in spec["tolerations"]] == [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ]
    wildcard = [{"operator": "Exists"}]
    spec = defaulted("", "v1", "Pod", {"spec": pod_spec(tolerations=copy.deepcopy(wildcard))})["spec"]
    assert spec["tolerations"] == wildcard


def test_mirror_pods_get_no_service_account() -> None:
    pod = {"metadata": {"annotations": {"kubernetes.io/config.mirror": "x"}}, "spec": pod_spec()}
    assert "serviceAccountName" not in defaulted("", "v1", "Pod", pod)["spec"]


def test_container_defaults() -> None:
    c = defaulted("", "v1", "Pod", {"spec": pod_spec()})["spec"]["containers"][0]
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["resources"] == {}


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("registry.local:5000/team/app", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("Upper/Case", "IfNotPresent"),
    ],
)
def test_image_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    c = defaulted("", "v1", "Pod", {"spec": {"containers": [{"name": "c", "image": image}]}})["spec"][
        "containers"
    ][0]
    assert c["imagePullPolicy"] == policy


def test_image_tag_parsing() -> None:
    assert image_tag("ghcr.io/org/img:v1.2") == "v1.2"
    assert image_tag("localhost:5000/img") == "latest"
    assert image_tag("BadName") == ""


def test_container_ports_env_probes_and_lifecycle_defaults() -> None:
    c = container(
        ports=[{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
        env=[{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        livenessProbe={"httpGet": {"port": 8080}},
        readinessProbe={"tcpSocket": {"port": 80}, "periodSeconds": 5},
        startupProbe={"grpc": {"port": 9000}},
        lifecycle={"preStop": {"httpGet": {"port": 80}}},
    )
    out = defaulted("", "v1", "Pod", {"spec": {"containers": [c]}})["spec"]["containers"][0]
    assert [p["protocol"] for p in out["ports"]] == ["TCP", "UDP"]
    assert out["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "spec.nodeName", "apiVersion": "v1"}
    assert out["livenessProbe"] == {
        "httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert out["readinessProbe"]["periodSeconds"] == 5
    assert out["readinessProbe"]["timeoutSeconds"] == 1
    assert out["startupProbe"]["grpc"] == {"port": 9000, "service": ""}
    assert out["lifecycle"]["preStop"]["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}


def test_init_and_ephemeral_containers_are_defaulted_too() -> None:
    spec = pod_spec(initContainers=[container(name="init")], ephemeralContainers=[container(name="debug")])
    out = defaulted("", "v1", "Pod", {"spec": spec})["spec"]
    for c in (out["initContainers"][0], out["ephemeralContainers"][0]):
        assert c["terminationMessagePolicy"] == "File"
        assert c["resources"] == {}


def test_pod_requests_default_to_limits_but_templates_do_not() -> None:
    limits = {"cpu": "500m", "memory": "1Gi"}
    c = container(resources={"limits": dict(limits), "requests": {"cpu": "100m"}})
    out = defaulted("", "v1", "Pod", {"spec": {"containers": [copy.deepcopy(c)]}})["spec"]["containers"][0]
    assert out["resources"]["requests"] == {"cpu": "100m", "memory": "1Gi"}
    dep = defaulted(
        "apps", "v1", "Deployment", {"spec": {"template": template({"containers": [copy.deepcopy(c)]})}}
    )
    assert dep["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "100m"}


def test_host_network_pods_default_host_ports() -> None:
    spec = pod_spec(hostNetwork=True)
    spec["containers"][0]["ports"] = [{"containerPort": 8080}, {"containerPort": 9090, "hostPort": 9091}]
    ports = defaulted("", "v1", "Pod", {"spec": spec})["spec"]["containers"][0]["ports"]
    assert [p["hostPort"] for p in ports] == [8080, 9091]


def test_volume_defaults() -> None:
    volumes = [
        {"name": "scratch"},
        {"name": "cfg", "configMap": {"name": "c"}},
        {"name": "sec", "secret": {"secretName": "s", "defaultMode": 256}},
        {"name": "host", "hostPath": {"path": "/data"}},
        {
            "name": "dapi",
            "downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]},
        },
        {
            "name": "proj",
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"path": "token"}},
                    {
                        "downwardAPI": {
                            "items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]
                        }
                    },
                ]
            },
        },
        {
            "name": "eph",
            "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}},
        },
    ]
    out = {
        v["name"]: v
        for v in defaulted("", "v1", "Pod", {"spec": pod_spec(volumes=volumes)})["spec"]["volumes"]
    }
    assert out["scratch"] == {"name": "scratch", "emptyDir": {}}
    assert out["cfg"]["configMap"]["defaultMode"] == 420
    assert out["sec"]["secret"]["defaultMode"] == 256
    assert out["host"]["hostPath"]["type"] == ""
    assert out["dapi"]["downwardAPI"]["defaultMode"] == 420
    assert out["dapi"]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"] == "v1"
    assert out["proj"]["projected"]["defaultMode"] == 420
    assert out["proj"]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"] == 3600
    assert out["proj"]["projected"]["sources"][1]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"] == "v1"
    assert out["eph"]["ephemeral"]["volumeClaimTemplate"]["spec"]["volumeMode"] == "Filesystem"


def test_service_account_alias_mirrors_the_name() -> None:
    spec = defaulted("", "v1", "Pod", {"spec": pod_spec(serviceAccount="legacy")})["spec"]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("legacy", "legacy")
    spec = defaulted("", "v1", "Pod", {"spec": pod_spec(serviceAccount="old", serviceAccountName="new")})[
        "spec"
    ]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("new", "new")


def test_pod_explicit_values_are_never_overwritten() -> None:
    spec = pod_spec(
        restartPolicy="Never",
        dnsPolicy="Default",
        schedulerName="custom",
        terminationGracePeriodSeconds=0,
        securityContext={"runAsUser": 1000},
        enableServiceLinks=False,
        serviceAccountName="builder",
        priority=7,
        preemptionPolicy="Never",
    )
    spec["containers"][0].update(
        imagePullPolicy="Never",
        terminationMessagePath="/tmp/log",
        terminationMessagePolicy="FallbackToLogsOnError",
        livenessProbe={"exec": {"command": ["true"]}, "timeoutSeconds": 5, "failureThreshold": 10},
    )
    original = copy.deepcopy(spec)
    out = defaulted("", "v1", "Pod", {"spec": spec})["spec"]
    for key, value in original.items():
        if key != "containers":
            assert out[key] == value, key
    c = out["containers"][0]
    assert c["imagePullPolicy"] == "Never"
    assert c["terminationMessagePath"] == "/tmp/log"
    assert c["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert c["livenessProbe"]["timeoutSeconds"] == 5
    assert c["livenessProbe"]["failureThreshold"] == 10


def test_pod_gets_an_empty_status() -> None:
    assert defaulted("", "v1", "Pod", {"spec": pod_spec()})["status"] == {}


def test_service_account_token_volume_is_mounted_like_admission() -> None:
    pod = defaulted("", "v1", "Pod", {"spec": pod_spec(initContainers=[container(name="init")])})
    mount_service_account_token(pod, "kube-api-access-abcde")
    spec = pod["spec"]
    mount = {
        "name": "kube-api-access-abcde",
        "readOnly": True,
        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
    }
    assert spec["containers"][0]["volumeMounts"] == [mount]
    assert spec["initContainers"][0]["volumeMounts"] == [mount]
    volume = spec["volumes"][0]
    assert volume["name"] == "kube-api-access-abcde"
    assert volume["projected"]["defaultMode"] == 420
    sources = volume["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert sources[2]["downwardAPI"]["items"][0]["fieldRef"] == {
        "apiVersion": "v1",
        "fieldPath": "metadata.namespace",
    }


def test_service_account_token_opt_outs() -> None:
    pod = {"spec": pod_spec(automountServiceAccountToken=False)}
    mount_service_account_token(pod, "kube-api-access-abcde")
    assert "volumes" not in pod["spec"]
    pod = {"spec": pod_spec()}
    mount_service_account_token(pod, "kube-api-access-abcde", service_account_automount=False)
    assert "volumes" not in pod["spec"]
    pod = {"spec": pod_spec(automountServiceAccountToken=True)}
    mount_service_account_token(pod, "kube-api-access-abcde", service_account_automount=False)
    assert pod["spec"]["volumes"][0]["name"] == "kube-api-access-abcde"


def test_token_volume_name_uses_kube_alphabet() -> None:
    name = token_volume_name(random.Random(1))
    assert name.startswith("kube-api-access-")
    suffix = name.removeprefix("kube-api-access-")
    assert len(suffix) == 5 and set(suffix) <= set("bcdfghjklmnpqrstvwxz2456789")


# --- pod templates in every workload kind


@pytest.mark.parametrize(("group", "version", "kind", "build", "get"), WORKLOADS, ids=WORKLOAD_IDS)
def test_nested_pod_template_is_defaulted_in_every_workload(
    group: str, version: str, kind: str, build: Callable[[Obj], Obj], get: Callable[[Obj], Obj]
) -> None:
    c = container(ports=[{"containerPort": 80}], readinessProbe={"httpGet": {"port": 80}}, image="busybox")
    spec = pod_spec(volumes=[{"name": "cfg", "configMap": {"name": "c"}}], restartPolicy="OnFailure")
    spec["containers"] = [c]
    obj = defaulted(group, version, kind, build(template(spec)))
    tmpl = get(obj)
    ps = tmpl["spec"]
    assert ps["dnsPolicy"] == "ClusterFirst"
    assert ps["schedulerName"] == "default-scheduler"
    assert ps["terminationGracePeriodSeconds"] == 30
    assert ps["securityContext"] == {}
    assert ps["restartPolicy"] == "OnFailure"
    assert ps["volumes"][0]["configMap"]["defaultMode"] == 420
    out = ps["containers"][0]
    assert out["imagePullPolicy"] == "Always"
    assert out["ports"][0]["protocol"] == "TCP"
    assert out["readinessProbe"]["httpGet"]["scheme"] == "HTTP"
    assert out["readinessProbe"]["successThreshold"] == 1
    assert out["resources"] == {}
    # Pod-only defaults and admission never reach templates.
    for key in ("enableServiceLinks", "priority", "tolerations", "serviceAccountName", "preemptionPolicy"):
        assert key not in ps


@pytest.mark.parametrize(("group", "version", "kind", "build", "get"), WORKLOADS, ids=WORKLOAD_IDS)
def test_template_without_metadata_gets_empty_metadata(
    group: str, version: str, kind: str, build: Callable[[Obj], Obj], get: Callable[[Obj], Obj]
) -> None:
    obj = defaulted(group, version, kind, build({"spec": pod_spec()}))
    assert get(obj)["metadata"] == {}


def test_restart_policy_in_templates_defaults_to_always_when_unset() -> None:
    dep = defaulted("apps", "v1", "Deployment", {"spec": {"template": template()}})
    assert dep["spec"]["template"]["spec"]["restartPolicy"] == "Always"


# --- apps/v1


def test_deployment_defaults() -> None:
    spec = defaulted("apps", "v1", "Deployment", {"spec": {"template": template()}})["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600


def test_deployment_explicit_values_are_kept() -> None:
    given = {
        "replicas": 0,
        "strategy": {"type": "Recreate"},
        "revisionHistoryLimit": 0,
        "progressDeadlineSeconds": 30,
        "template": template(),
    }
    spec = defaulted("apps", "v1", "Deployment", {"spec": copy.deepcopy(given)})["spec"]
    assert spec["replicas"] == 0
    assert spec["strategy"] == {"type": "Recreate"}
    assert spec["revisionHistoryLimit"] == 0
    assert spec["progressDeadlineSeconds"] == 30
    partial = {"strategy": {"rollingUpdate": {"maxSurge": 3}}, "template": template()}
    spec = defaulted("apps", "v1", "Deployment", {"spec": partial})["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 3, "maxUnavailable": "25%"},
    }


def test_replica_set_defaults() -> None:
    rs = defaulted("apps", "v1", "ReplicaSet", {"spec": {"template": template()}})
    assert rs["spec"]["replicas"] == 1
    assert rs["status"] == {"replicas": 0}
    assert defaulted("apps", "v1", "ReplicaSet", {"spec": {"replicas": 5}})["spec"]["replicas"] == 5


def test_stateful_set_defaults() -> None:
    sts = defaulted(
        "apps",
        "v1",
        "StatefulSet",
        {
            "spec": {
                "serviceName": "db",
                "template": template(),
                "volumeClaimTemplates": [
                    {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
                ],
            }
        },
    )
    spec = sts["spec"]
    assert spec["replicas"] == 1
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"partition": 0, "maxUnavailable": 1},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    claim = spec["volumeClaimTemplates"][0]
    assert claim["spec"]["volumeMode"] == "Filesystem"
    assert claim["status"] == {"phase": "Pending"}
    assert sts["status"] == {"replicas": 0, "availableReplicas": 0}


def test_stateful_set_version_gates() -> None:
    spec = defaulted("apps", "v1", "StatefulSet", {"spec": {"template": template()}}, kube_version="1.34")[
        "spec"
    ]
    assert spec["updateStrategy"]["rollingUpdate"] == {"partition": 0}
    spec = defaulted("apps", "v1", "StatefulSet", {"spec": {"template": template()}}, kube_version="1.26")[
        "spec"
    ]
    assert "persistentVolumeClaimRetentionPolicy" not in spec


def test_stateful_set_explicit_strategy_is_kept() -> None:
    spec = defaulted("apps", "v1", "StatefulSet", {"spec": {"updateStrategy": {"type": "OnDelete"}}})["spec"]
    assert spec["updateStrategy"] == {"type": "OnDelete"}
    # An explicit RollingUpdate without parameters stays without them, as upstream leaves it.
    spec = defaulted("apps", "v1", "StatefulSet", {"spec": {"updateStrategy": {"type": "RollingUpdate"}}})[
        "spec"
    ]
    assert spec["updateStrategy"] == {"type": "RollingUpdate"}
    spec = defaulted(
        "apps",
        "v1",
        "StatefulSet",
        {"spec": {"podManagementPolicy": "Parallel", "updateStrategy": {"rollingUpdate": {"partition": 2}}}},
    )["spec"]
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["updateStrategy"]["rollingUpdate"]["partition"] == 2


def test_daemon_set_defaults() -> None:
    ds = defaulted("apps", "v1", "DaemonSet", {"spec": {"template": template()}})
    spec = ds["spec"]
    assert spec["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert ds["status"] == {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    }
    spec = defaulted("apps", "v1", "DaemonSet", {"spec": {"updateStrategy": {"type": "OnDelete"}}})["spec"]
    assert spec["updateStrategy"] == {"type": "OnDelete"}


# --- batch/v1


def test_job_defaults() -> None:
    job = defaulted(
        "batch",
        "v1",
        "Job",
        {"metadata": {"name": "j"}, "spec": {"template": template(pod_spec(restartPolicy="Never"))}},
    )
    spec = job["spec"]
    assert (spec["parallelism"], spec["completions"]) == (1, 1)
    assert spec["backoffLimit"] == 6
    assert spec["completionMode"] == "NonIndexed"
    assert spec["suspend"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert spec["manualSelector"] is False
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    # A job without labels takes its template's.
    assert job["metadata"]["labels"] == {"app": "web"}


def test_job_parallelism_alone_leaves_completions_unset() -> None:
    spec = defaulted("batch", "v1", "Job", {"spec": {"parallelism": 3, "template": template()}})["spec"]
    assert spec["parallelism"] == 3
    assert "completions" not in spec
    spec = defaulted("batch", "v1", "Job", {"spec": {"completions": 5, "template": template()}})["spec"]
    assert (spec["completions"], spec["parallelism"]) == (5, 1)


def test_job_backoff_limit_per_index_and_pod_failure_policy() -> None:
    spec = defaulted(
        "batch",
        "v1",
        "Job",
        {
            "spec": {
                "completionMode": "Indexed",
                "completions": 3,
                "backoffLimitPerIndex": 1,
                "podFailurePolicy": {
                    "rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]
                },
                "template": template(),
            }
        },
    )["spec"]
    assert spec["backoffLimit"] == 2147483647
    assert spec["podReplacementPolicy"] == "Failed"
    assert spec["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"] == "True"
    assert spec["completionMode"] == "Indexed"


def test_job_explicit_values_and_labels_are_kept() -> None:
    given = {
        "metadata": {"labels": {"mine": "yes"}},
        "spec": {
            "backoffLimit": 0,
            "suspend": True,
            "podReplacementPolicy": "Failed",
            "template": template(),
        },
    }
    job = defaulted("batch", "v1", "Job", given)
    assert job["metadata"]["labels"] == {"mine": "yes"}
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["suspend"] is True
    assert job["spec"]["podReplacementPolicy"] == "Failed"


def test_cron_job_defaults_and_job_template_is_not_job_defaulted() -> None:
    cj = defaulted(
        "batch",
        "v1",
        "CronJob",
        {"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template()}}}},
    )
    spec = cj["spec"]
    assert spec["concurrencyPolicy"] == "Allow"
    assert spec["suspend"] is False
    assert spec["successfulJobsHistoryLimit"] == 3
    assert spec["failedJobsHistoryLimit"] == 1
    assert spec["jobTemplate"]["metadata"] == {}
    job_spec = spec["jobTemplate"]["spec"]
    assert "backoffLimit" not in job_spec and "completions" not in job_spec
    explicit = defaulted(
        "batch", "v1", "CronJob", {"spec": {"concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 0}}
    )
    assert explicit["spec"]["concurrencyPolicy"] == "Forbid"
    assert explicit["spec"]["successfulJobsHistoryLimit"] == 0


# --- core kinds


def test_service_defaults() -> None:
    svc = defaulted(
        "",
        "v1",
        "Service",
        {
            "spec": {
                "selector": {"app": "web"},
                "ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}],
            }
        },
    )
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["ports"][0] == {"port": 80, "protocol": "TCP", "targetPort": 80}
    assert spec["ports"][1]["targetPort"] == "dns"
    assert spec["ports"][1]["protocol"] == "UDP"
    assert spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["ipFamilies"] == ["IPv4"]
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert "clusterIP" not in spec
    assert "externalTrafficPolicy" not in spec
    assert svc["status"] == {"loadBalancer": {}}


def test_load_balancer_and_node_port_service_defaults() -> None:
    spec = defaulted("", "v1", "Service", {"spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}})[
        "spec"
    ]
    assert spec["externalTrafficPolicy"] == "Cluster"
    assert spec["allocateLoadBalancerNodePorts"] is True
    spec = defaulted("", "v1", "Service", {"spec": {"type": "NodePort", "externalTrafficPolicy": "Local"}})[
        "spec"
    ]
    assert spec["externalTrafficPolicy"] == "Local"
    assert "allocateLoadBalancerNodePorts" not in spec


def test_external_name_service_gets_no_ip_fields() -> None:
    spec = defaulted("", "v1", "Service", {"spec": {"type": "ExternalName", "externalName": "example.com"}})[
        "spec"
    ]
    for key in ("ipFamilyPolicy", "ipFamilies", "internalTrafficPolicy"):
        assert key not in spec


def test_headless_service_ip_families() -> None:
    spec = defaulted("", "v1", "Service", {"spec": {"clusterIP": "None", "selector": {"a": "b"}}})["spec"]
    assert spec["clusterIPs"] == ["None"]
    assert spec["ipFamilyPolicy"] == "SingleStack"
    spec = defaulted("", "v1", "Service", {"spec": {"clusterIP": "None"}})["spec"]
    assert spec["ipFamilyPolicy"] == "RequireDualStack"
    assert spec["ipFamilies"] == ["IPv4"]
    spec = defaulted("", "v1", "Service", {"spec": {"clusterIP": "fd00::10"}})["spec"]
    assert spec["ipFamilies"] == ["IPv6"]


def test_service_session_affinity() -> None:
    spec = defaulted("", "v1", "Service", {"spec": {"sessionAffinity": "ClientIP"}})["spec"]
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    spec = defaulted(
        "",
        "v1",
        "Service",
        {
            "spec": {
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
            }
        },
    )["spec"]
    assert spec["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] == 60
    # kube drops a config that a None affinity cannot use.
    spec = defaulted(
        "", "v1", "Service", {"spec": {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}}
    )["spec"]
    assert "sessionAffinityConfig" not in spec


def test_namespace_defaults() -> None:
    ns = defaulted("", "v1", "Namespace", {"metadata": {"name": "team-a"}})
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}


def test_namespace_finalizer_is_not_put_back_on_update_of_a_deleting_namespace() -> None:
    ns = {"metadata": {"name": "a", "deletionTimestamp": "2024-01-01T00:00:00Z"}, "spec": {"finalizers": []}}
    assert defaulted("", "v1", "Namespace", ns, create=False)["spec"]["finalizers"] == []
    ns = {
        "metadata": {"name": "a"},
        "spec": {"finalizers": ["example.com/x"]},
        "status": {"phase": "Terminating"},
    }
    out = defaulted("", "v1", "Namespace", ns)
    assert out["spec"]["finalizers"] == ["example.com/x", "kubernetes"]
    assert out["status"]["phase"] == "Terminating"


def test_secret_and_pvc_and_pv_defaults() -> None:
    assert defaulted("", "v1", "Secret", {"data": {}})["type"] == "Opaque"
    assert defaulted("", "v1", "Secret", {"type": "kubernetes.io/tls"})["type"] == "kubernetes.io/tls"
    pvc = defaulted("", "v1", "PersistentVolumeClaim", {"spec": {"accessModes": ["ReadWriteOnce"]}})
    assert pvc["spec"]["volumeMode"] == "Filesystem"
    assert pvc["status"] == {"phase": "Pending"}
    assert (
        defaulted("", "v1", "PersistentVolumeClaim", {"spec": {"volumeMode": "Block"}})["spec"]["volumeMode"]
        == "Block"
    )
    pv = defaulted("", "v1", "PersistentVolume", {"spec": {"hostPath": {"path": "/x"}}})
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["volumeMode"] == "Filesystem"
    assert pv["spec"]["hostPath"]["type"] == ""
    assert pv["status"] == {"phase": "Pending"}


def test_endpoints_and_endpoint_slice_port_protocols() -> None:
    ep = defaulted(
        "", "v1", "Endpoints", {"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}
    )
    assert ep["subsets"][0]["ports"][0]["protocol"] == "TCP"
    es = defaulted(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        {
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.0.1"]}],
            "ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "name": "dns"}],
        },
    )
    assert es["ports"][0] == {"port": 80, "name": "", "protocol": "TCP"}
    assert es["ports"][1] == {"port": 53, "protocol": "UDP", "name": "dns"}
    assert es["endpoints"][0]["conditions"] == {}


def test_replication_controller_selector_and_labels_from_template() -> None:
    rc = defaulted(
        "", "v1", "ReplicationController", {"metadata": {"name": "rc"}, "spec": {"template": template()}}
    )
    assert rc["spec"]["selector"] == {"app": "web"}
    assert rc["metadata"]["labels"] == {"app": "web"}
    assert rc["spec"]["replicas"] == 1
    assert rc["status"] == {"replicas": 0}


def test_limit_range_container_defaults() -> None:
    lr = defaulted(
        "",
        "v1",
        "LimitRange",
        {"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}},
    )
    item = lr["spec"]["limits"][0]
    assert item["default"] == {"cpu": "2"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "64Mi"}


def test_core_event_zero_values() -> None:
    ev = defaulted("", "v1", "Event", {"involvedObject": {"kind": "Pod"}, "reason": "X"})
    assert ev["source"] == {}
    assert ev["reportingComponent"] == "" and ev["reportingInstance"] == ""
    assert ev["firstTimestamp"] is None and ev["eventTime"] is None


# --- other groups


def test_role_binding_subject_api_groups() -> None:
    rb = defaulted(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        {
            "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [
                {"kind": "User", "name": "alice"},
                {"kind": "Group", "name": "devs"},
                {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"},
            ],
        },
    )
    assert rb["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
    assert [s["apiGroup"] for s in rb["subjects"]] == [
        "rbac.authorization.k8s.io",
        "rbac.authorization.k8s.io",
        "",
    ]
    crb = defaulted(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        {"roleRef": {"kind": "ClusterRole", "name": "c"}, "subjects": [{"kind": "User", "name": "bob"}]},
    )
    assert crb["subjects"][0]["apiGroup"] == "rbac.authorization.k8s.io"


def test_hpa_v2_defaults() -> None:
    hpa = defaulted(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        {"spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "d"}}},
    )
    spec = hpa["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
        }
    ]
    assert "behavior" not in spec
    assert hpa["status"] == {"currentMetrics": None, "desiredReplicas": 0}


def test_hpa_v2_behavior_is_filled_when_given() -> None:
    spec = defaulted(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        {
            "spec": {
                "minReplicas": 2,
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}},
                "metrics": [{"type": "Pods"}],
            }
        },
    )["spec"]
    assert spec["minReplicas"] == 2
    assert spec["metrics"] == [{"type": "Pods"}]
    assert spec["behavior"]["scaleUp"] == {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    }
    assert spec["behavior"]["scaleDown"] == {
        "stabilizationWindowSeconds": 60,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    }


def test_hpa_v1_defaults() -> None:
    hpa = defaulted("autoscaling", "v1", "HorizontalPodAutoscaler", {"spec": {"maxReplicas": 3}})
    assert hpa["spec"]["minReplicas"] == 1
    assert hpa["spec"]["targetCPUUtilizationPercentage"] == 80
    assert hpa["status"] == {"currentReplicas": 0, "desiredReplicas": 0}


def test_network_policy_defaults() -> None:
    spec = defaulted(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        {"spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}},
    )["spec"]
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"][0]["ports"][0]["protocol"] == "TCP"
    spec = defaulted(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        {"spec": {"egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}},
    )["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["egress"][0]["ports"][0]["protocol"] == "UDP"
    assert spec["podSelector"] == {}
    spec = defaulted("networking.k8s.io", "v1", "NetworkPolicy", {"spec": {"policyTypes": ["Egress"]}})[
        "spec"
    ]
    assert spec["policyTypes"] == ["Egress"]


def test_ingress_has_no_path_type_default_but_zero_status() -> None:
    ing = {
        "spec": {
            "rules": [
                {
                    "http": {
                        "paths": [
                            {"path": "/", "backend": {"service": {"name": "s", "port": {"number": 80}}}}
                        ]
                    }
                }
            ]
        }
    }
    out = defaulted("networking.k8s.io", "v1", "Ingress", copy.deepcopy(ing))
    assert out["spec"] == ing["spec"]
    assert out["status"] == {"loadBalancer": {}}


def test_pdb_has_no_spec_defaults_only_zero_status() -> None:
    pdb = defaulted("policy", "v1", "PodDisruptionBudget", {"spec": {"minAvailable": 1}})
    assert pdb["spec"] == {"minAvailable": 1}
    assert pdb["status"] == {
        "disruptionsAllowed": 0,
        "currentHealthy": 0,
        "desiredHealthy": 0,
        "expectedPods": 0,
    }


def test_storage_class_and_csi_driver_defaults() -> None:
    sc = defaulted("storage.k8s.io", "v1", "StorageClass", {"provisioner": "x"})
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Delete", "Immediate")
    sc = defaulted(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        {"provisioner": "x", "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"},
    )
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Retain", "WaitForFirstConsumer")
    spec = defaulted("storage.k8s.io", "v1", "CSIDriver", {"spec": {}})["spec"]
    assert spec == {
        "attachRequired": True,
        "podInfoOnMount": False,
        "storageCapacity": False,
        "fsGroupPolicy": "ReadWriteOnceWithFSType",
        "volumeLifecycleModes": ["Persistent"],
        "requiresRepublish": False,
        "seLinuxMount": False,
    }


def test_priority_class_preemption_policy() -> None:
    pc = defaulted("scheduling.k8s.io", "v1", "PriorityClass", {"value": 100})
    assert pc["preemptionPolicy"] == "PreemptLowerPriority"


def test_webhook_configuration_defaults() -> None:
    hook = {
        "name": "h.example.com",
        "clientConfig": {"service": {"name": "svc", "namespace": "ns"}},
        "rules": [
            {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}
        ],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    }
    mwc = defaulted(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        {"webhooks": [copy.deepcopy(hook)]},
    )
    out = mwc["webhooks"][0]
    assert out["failurePolicy"] == "Fail"
    assert out["matchPolicy"] == "Equivalent"
    assert out["namespaceSelector"] == {} and out["objectSelector"] == {}
    assert out["timeoutSeconds"] == 10
    assert out["reinvocationPolicy"] == "Never"
    assert out["rules"][0]["scope"] == "*"
    assert out["clientConfig"]["service"]["port"] == 443
    vwc = defaulted(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        {"webhooks": [dict(copy.deepcopy(hook), failurePolicy="Ignore")]},
    )
    assert vwc["webhooks"][0]["failurePolicy"] == "Ignore"
    assert "reinvocationPolicy" not in vwc["webhooks"][0]


def test_validating_admission_policy_defaults() -> None:
    vap = defaulted(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        {
            "spec": {
                "matchConstraints": {
                    "resourceRules": [{"operations": ["CREATE"], "resources": ["deployments"]}]
                }
            }
        },
    )
    spec = vap["spec"]
    assert spec["failurePolicy"] == "Fail"
    mc = spec["matchConstraints"]
    assert (mc["matchPolicy"], mc["namespaceSelector"], mc["objectSelector"]) == ("Equivalent", {}, {})
    assert mc["resourceRules"][0]["scope"] == "*"


def test_flow_control_defaults() -> None:
    fs = defaulted(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "FlowSchema",
        {"spec": {"priorityLevelConfiguration": {"name": "x"}}},
    )
    assert fs["spec"]["matchingPrecedence"] == 1000
    plc = defaulted(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "PriorityLevelConfiguration",
        {"spec": {"type": "Limited", "limited": {"limitResponse": {"type": "Queue", "queuing": {}}}}},
    )
    limited = plc["spec"]["limited"]
    assert (limited["nominalConcurrencyShares"], limited["lendablePercent"]) == (30, 0)
    assert limited["limitResponse"]["queuing"] == {"handSize": 8, "queues": 64, "queueLengthLimit": 50}


def test_custom_resource_definition_defaults() -> None:
    crd = defaulted(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        {
            "spec": {
                "group": "ex.io",
                "names": {"kind": "Widget", "plural": "widgets"},
                "scope": "Namespaced",
                "versions": [{"name": "v1", "served": True, "storage": True}],
            }
        },
    )
    assert crd["spec"]["names"]["singular"] == "widget"
    assert crd["spec"]["names"]["listKind"] == "WidgetList"
    assert crd["spec"]["conversion"] == {"strategy": "None"}
    assert crd["status"]["storedVersions"] == ["v1"]
    assert crd["status"]["acceptedNames"] == {"plural": "", "kind": ""}


def test_unknown_kinds_are_left_alone() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"x": 1}}
    before = copy.deepcopy(obj)
    apply_defaults("example.com", "v1", "Widget", obj)
    assert obj == before
    cm = {"metadata": {"name": "c"}}
    assert defaulted("", "v1", "ConfigMap", copy.deepcopy(cm)) == cm


def test_defaulting_twice_changes_nothing() -> None:
    objs = [
        ("", "v1", "Pod", {"metadata": {"name": "p"}, "spec": pod_spec()}),
        ("apps", "v1", "StatefulSet", {"spec": {"template": template()}}),
        ("", "v1", "Service", {"spec": {"ports": [{"port": 80}]}}),
        ("", "v1", "Namespace", {"metadata": {"name": "n"}}),
        ("autoscaling", "v2", "HorizontalPodAutoscaler", {"spec": {"behavior": {}}}),
    ]
    for group, version, kind, obj in objs:
        once = defaulted(group, version, kind, obj)
        twice = defaulted(group, version, kind, copy.deepcopy(once))
        assert twice == once, kind


def test_fill_zero_values_restores_status_after_a_reset() -> None:
    sts: Obj = {"spec": {}, "status": {}}
    fill_zero_values("apps", "v1", "StatefulSet", sts)
    assert sts["status"] == {"replicas": 0, "availableReplicas": 0}
    sts["status"] = {"replicas": 3}
    fill_zero_values("apps", "v1", "StatefulSet", sts)
    assert sts["status"] == {"replicas": 3, "availableReplicas": 0}
