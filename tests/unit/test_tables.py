"""Server-side printing: Table columns and cells as kube-apiserver prints them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubenest.api import tables
from kubenest.api.errors import ApiError
from kubenest.api.resources import ResourceInfo

NOW = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "now", lambda: NOW.timestamp())


def ago(seconds: float) -> str:
    """An RFC 3339 timestamp `seconds` before the fixed clock."""
    return (NOW - datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def res(kind: str, group: str = "", version: str = "v1", plural: str = "", **kw: Any) -> ResourceInfo:
    return ResourceInfo(group=group, version=version, kind=kind, plural=plural or kind.lower() + "s",
                        namespaced=True, **kw)


def meta(name: str, age: float = 300, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(age), "resourceVersion": "7", **extra}


def cells(resource: ResourceInfo, obj: dict[str, Any]) -> list[Any]:
    return tables.table(resource, [obj])["rows"][0]["cells"]


def column_names(resource: ResourceInfo) -> list[tuple[str, str, int]]:
    return [(c["name"], c["type"], c["priority"]) for c in tables.table(resource, [])["columnDefinitions"]]


POD = res("Pod")


# --- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "<invalid>"),
        (-1.5, "0s"),
        (0, "0s"),
        (59, "59s"),
        (119.9, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (599, "9m59s"),
        (600, "10m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 2 * 60, "3h2m"),
        (8 * 3600 + 59 * 60, "8h"),
        (47 * 3600 + 59 * 60, "47h"),
        (48 * 3600, "2d"),
        (49 * 3600, "2d1h"),
        (8 * 86400 - 1, "7d23h"),
        (8 * 86400, "8d"),
        (2 * 365 * 86400 - 1, "729d"),
        (2 * 365 * 86400, "2y"),
        (2 * 365 * 86400 + 86400, "2y1d"),
        (8 * 365 * 86400, "8y"),
        (20 * 365 * 86400 + 400 * 86400, "21y"),
    ],
)
def test_human_duration_matches_kube_rounding(seconds: float, text: str) -> None:
    assert tables.human_duration(seconds) == text


def test_age_cell_is_human_duration_since_creation() -> None:
    pod = {"metadata": meta("p", age=3 * 3600 + 125), "spec": {"containers": []}, "status": {}}
    assert cells(POD, pod)[4] == "3h2m"


def test_age_of_object_without_creation_timestamp_is_unknown() -> None:
    assert cells(res("ConfigMap"), {"metadata": {"name": "c"}})[2] == "<unknown>"


def test_clock_skew_of_a_second_reads_as_zero_age() -> None:
    future = (NOW + datetime.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cells(res("ConfigMap"), {"metadata": {"name": "c", "creationTimestamp": future}})[2] == "0s"


# --- pods ------------------------------------------------------------------------------------


def test_pod_columns_match_kube() -> None:
    assert column_names(POD) == [
        ("Name", "string", 0), ("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0),
        ("Age", "string", 0), ("IP", "string", 1), ("Node", "string", 1), ("Nominated Node", "string", 1),
        ("Readiness Gates", "string", 1),
    ]
    name_col = tables.table(POD, [])["columnDefinitions"][0]
    assert name_col["format"] == "name"
    assert name_col["description"].startswith("Name must be unique within a namespace.")


def test_crashlooping_pod_shows_reason_restarts_and_last_restart_age() -> None:
    pod = {
        "metadata": meta("web-1", age=3600),
        "spec": {"containers": [{"name": "app"}, {"name": "sidecar"}], "nodeName": "node-a"},
        "status": {
            "phase": "Running",
            "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}],
            "podIP": "10.0.0.5",
            "containerStatuses": [
                {"name": "app", "ready": False, "restartCount": 5,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(300)}}},
                {"name": "sidecar", "ready": True, "restartCount": 0,
                 "state": {"running": {"startedAt": ago(3500)}}},
            ],
        },
    }
    assert cells(POD, pod) == ["web-1", "1/2", "CrashLoopBackOff", "5 (5m ago)", "60m",
                               "10.0.0.5", "node-a", "<none>", "<none>"]


def test_running_pod_with_readiness_gates_and_nominated_node() -> None:
    pod = {
        "metadata": meta("p"),
        "spec": {"containers": [{"name": "a"}], "readinessGates": [{"conditionType": "example.com/lb"},
                                                                     {"conditionType": "example.com/dns"}]},
        "status": {
            "phase": "Running", "nominatedNodeName": "node-b",
            "conditions": [{"type": "example.com/lb", "status": "True"}, {"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "a", "ready": True, "restartCount": 0, "state": {"running": {}}}],
        },
    }
    assert cells(POD, pod)[1:4] == ["1/1", "Running", "0"]
    assert cells(POD, pod)[5:] == ["<none>", "<none>", "node-b", "1/2"]


def test_pod_waiting_for_image_is_container_creating() -> None:
    pod = {"metadata": meta("p"), "spec": {"containers": [{"name": "a"}]},
           "status": {"phase": "Pending", "containerStatuses": [
               {"name": "a", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}}
    assert cells(POD, pod)[1:4] == ["0/1", "ContainerCreating", "0"]


def test_unscheduled_pod_shows_phase_pending() -> None:
    pod = {"metadata": meta("p"), "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending"}}
    assert cells(POD, pod)[1:3] == ["0/1", "Pending"]


def test_scheduling_gated_pod() -> None:
    pod = {"metadata": meta("p"), "spec": {"containers": [{"name": "a"}]},
           "status": {"phase": "Pending",
                      "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}}
    assert cells(POD, pod)[2] == "SchedulingGated"


def test_completed_pod_carries_completed_row_condition() -> None:
    pod = {"metadata": meta("job-x"), "spec": {"containers": [{"name": "a"}]},
           "status": {"phase": "Succeeded", "containerStatuses": [
               {"name": "a", "ready": False, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}}
    row = tables.table(POD, [pod])["rows"][0]
    assert row["cells"][1:3] == ["0/1", "Completed"]
    assert row["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                  "message": "The pod has completed successfully."}]


def test_running_pod_has_no_row_conditions() -> None:
    pod = {"metadata": meta("p"), "spec": {"containers": []}, "status": {"phase": "Running"}}
    assert "conditions" not in tables.table(POD, [pod])["rows"][0]


def test_terminated_container_without_reason_shows_exit_code_or_signal() -> None:
    base = {"metadata": meta("p"), "spec": {"containers": [{"name": "a"}]}}
    exited = {**base, "status": {"phase": "Running", "containerStatuses": [
        {"name": "a", "restartCount": 0, "state": {"terminated": {"exitCode": 3}}}]}}
    signalled = {**base, "status": {"phase": "Running", "containerStatuses": [
        {"name": "a", "restartCount": 0, "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}}
    assert cells(POD, exited)[2] == "ExitCode:3"
    assert cells(POD, signalled)[2] == "Signal:9"


def test_completed_container_beside_a_running_one_reads_running_or_not_ready() -> None:
    statuses = [
        {"name": "a", "ready": True, "restartCount": 0, "state": {"running": {}}},
        {"name": "b", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
    ]
    pod = {"metadata": meta("p"), "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
           "status": {"phase": "Running", "containerStatuses": statuses,
                      "conditions": [{"type": "Ready", "status": "True"}]}}
    assert cells(POD, pod)[1:3] == ["1/2", "Running"]
    pod["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    assert cells(POD, pod)[2] == "NotReady"


def test_deleted_pod_reads_terminating_unless_finished_or_node_lost() -> None:
    pod = {"metadata": meta("p", deletionTimestamp=ago(1)), "spec": {"containers": [{"name": "a"}]},
           "status": {"phase": "Running", "containerStatuses": [
               {"name": "a", "ready": True, "restartCount": 0, "state": {"running": {}}}]}}
    assert cells(POD, pod)[2] == "Terminating"
    pod["status"]["reason"] = "NodeLost"
    assert cells(POD, pod)[2] == "Unknown"
    done = {"metadata": meta("p", deletionTimestamp=ago(1)), "spec": {"containers": []},
            "status": {"phase": "Succeeded"}}
    assert cells(POD, done)[2] == "Succeeded"


def test_init_container_progress_and_failures() -> None:
    spec = {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]}
    done = {"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    running = {"name": "i2", "restartCount": 0, "state": {"running": {}}}
    pod = {"metadata": meta("p"), "spec": spec, "status": {"phase": "Pending",
                                                            "initContainerStatuses": [done, running]}}
    assert cells(POD, pod)[1:4] == ["0/1", "Init:1/2", "0"]

    looping = {"name": "i1", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
               "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(30)}}}
    pod["status"]["initContainerStatuses"] = [looping]
    assert cells(POD, pod)[2:4] == ["Init:CrashLoopBackOff", "4 (30s ago)"]

    failed = {"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}
    pod["status"]["initContainerStatuses"] = [failed]
    assert cells(POD, pod)[2] == "Init:ExitCode:2"


def test_restartable_init_container_counts_as_a_container() -> None:
    spec = {"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "a"}]}
    status = {
        "phase": "Running",
        "conditions": [{"type": "Initialized", "status": "True"}],
        "initContainerStatuses": [{"name": "proxy", "ready": True, "started": True, "restartCount": 2,
                                   "state": {"running": {}},
                                   "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(600)}}}],
        "containerStatuses": [{"name": "a", "ready": True, "restartCount": 0, "state": {"running": {}}}],
    }
    pod = {"metadata": meta("p"), "spec": spec, "status": status}
    assert cells(POD, pod)[1:4] == ["2/2", "Running", "2 (10m ago)"]


# --- workloads -------------------------------------------------------------------------------


def test_deployment_ready_up_to_date_available_and_wide_columns() -> None:
    deploy = {
        "metadata": meta("web", age=7200),
        "spec": {"replicas": 3,
                 "selector": {"matchLabels": {"app": "web"},
                              "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]},
                 "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"},
                                                      {"name": "log", "image": "busybox"}]}}},
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    resource = res("Deployment", "apps")
    assert column_names(resource) == [
        ("Name", "string", 0), ("Ready", "string", 0), ("Up-to-date", "string", 0), ("Available", "string", 0),
        ("Age", "string", 0), ("Containers", "string", 1), ("Images", "string", 1), ("Selector", "string", 1),
    ]
    assert cells(resource, deploy) == ["web", "2/3", 3, 2, "120m", "nginx,log", "nginx:1.27,busybox",
                                       "app=web,tier in (a,b)"]


def test_deployment_without_status_prints_zeroes() -> None:
    deploy = {"metadata": meta("d"), "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                                              "template": {"spec": {"containers": []}}}}
    assert cells(res("Deployment", "apps"), deploy)[1:4] == ["0/1", 0, 0]


def test_replicaset_statefulset_daemonset_cells() -> None:
    template = {"spec": {"containers": [{"name": "c", "image": "img"}], "nodeSelector": {"disk": "ssd"}}}
    rs = {"metadata": meta("rs"), "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "x"}},
                                           "template": template},
          "status": {"replicas": 2, "readyReplicas": 1}}
    assert cells(res("ReplicaSet", "apps"), rs) == ["rs", 2, 2, 1, "5m", "c", "img", "app=x"]
    sts = {"metadata": meta("db"), "spec": {"replicas": 3, "template": template}, "status": {"readyReplicas": 3}}
    assert cells(res("StatefulSet", "apps"), sts) == ["db", "3/3", "5m", "c", "img"]
    ds = {"metadata": meta("agent"), "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template},
          "status": {"desiredNumberScheduled": 4, "currentNumberScheduled": 4, "numberReady": 3,
                     "updatedNumberScheduled": 4, "numberAvailable": 3}}
    assert cells(res("DaemonSet", "apps"), ds) == ["agent", 4, 4, 3, 4, 3, "disk=ssd", "5m", "c", "img", "app=agent"]


def test_replication_controller_and_pod_template() -> None:
    rc = {"metadata": meta("rc"), "spec": {"replicas": 2, "selector": {"app": "x", "a": "b"},
                                           "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
          "status": {"replicas": 2, "readyReplicas": 2}}
    assert cells(res("ReplicationController"), rc) == ["rc", 2, 2, 2, "5m", "c", "i", "a=b,app=x"]
    pt = {"metadata": meta("pt"), "template": {"metadata": {"labels": {"run": "x"}},
                                               "spec": {"containers": [{"name": "c", "image": "i"}]}}}
    assert cells(res("PodTemplate"), pt) == ["pt", "c", "i", "run=x"]


def test_job_status_completions_and_duration() -> None:
    job = res("Job", "batch")
    assert [c[0] for c in column_names(job)] == ["Name", "Status", "Completions", "Duration", "Age",
                                                 "Containers", "Images", "Selector"]
    template = {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}
    selector = {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}
    complete = {
        "metadata": meta("pi", age=600),
        "spec": {"completions": 5, "parallelism": 2, "template": template, "selector": selector},
        "status": {"succeeded": 5, "startTime": ago(590), "completionTime": ago(590 - 135),
                   "conditions": [{"type": "Complete", "status": "True"}]},
    }
    assert cells(job, complete) == ["pi", "Complete", "5/5", "2m15s", "10m", "pi", "perl",
                                    "batch.kubernetes.io/controller-uid=u1"]
    running = {"metadata": meta("q", age=100), "spec": {"parallelism": 3, "template": template},
               "status": {"succeeded": 1, "startTime": ago(95)}}
    assert cells(job, running)[1:4] == ["Running", "1/1 of 3", "95s"]
    failed = {"metadata": meta("f"), "spec": {"completions": 1, "template": template},
              "status": {"failed": 1, "conditions": [{"type": "Failed", "status": "True"}]}}
    assert cells(job, failed)[1:4] == ["Failed", "0/1", ""]
    suspended = {"metadata": meta("s"), "spec": {"completions": 1, "template": template},
                 "status": {"conditions": [{"type": "Suspended", "status": "True"}]}}
    assert cells(job, suspended)[1] == "Suspended"


def test_cronjob_cells() -> None:
    cj = {
        "metadata": meta("hello", age=86400 * 3),
        "spec": {"schedule": "*/5 * * * *", "suspend": False,
                 "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}},
        "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": ago(65)},
    }
    resource = res("CronJob", "batch")
    assert cells(resource, cj) == ["hello", "*/5 * * * *", "<none>", "False", 1, "65s", "3d", "c", "busybox",
                                   "<none>"]
    cj["spec"]["timeZone"] = "Europe/Paris"
    del cj["spec"]["suspend"]
    del cj["status"]
    assert cells(resource, cj)[2:6] == ["Europe/Paris", "<unset>", 0, "<none>"]


def test_controller_revision_names_its_controller() -> None:
    cr = {"metadata": meta("web-5d4f", ownerReferences=[
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": True}]), "revision": 2}
    assert cells(res("ControllerRevision", "apps"), cr) == ["web-5d4f", "statefulset.apps/web", 2, "5m"]
    orphan = {"metadata": meta("x"), "revision": 1}
    assert cells(res("ControllerRevision", "apps"), orphan)[1] == "<none>"


# --- services and networking ----------------------------------------------------------------

SVC = res("Service")


def test_service_cluster_ip_with_ports() -> None:
    svc = {"metadata": meta("api"), "spec": {
        "type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 9153, "protocol": "TCP"}],
        "selector": {"k8s-app": "kube-dns"}}}
    assert column_names(SVC)[:5] == [("Name", "string", 0), ("Type", "string", 0), ("Cluster-IP", "string", 0),
                                     ("External-IP", "string", 0), ("Port(s)", "string", 0)]
    assert cells(SVC, svc) == ["api", "ClusterIP", "10.96.0.10", "<none>", "53/UDP,9153/TCP", "5m",
                               "k8s-app=kube-dns"]


def test_service_node_port_load_balancer_and_external_name() -> None:
    node_port = {"metadata": meta("np"), "spec": {"type": "NodePort", "clusterIPs": ["10.0.0.1"],
                                                  "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}}
    assert cells(SVC, node_port)[2:5] == ["10.0.0.1", "<none>", "80:30080/TCP"]
    lb = {"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "clusterIPs": ["10.0.0.2"], "ports": []}}
    assert cells(SVC, lb)[3:5] == ["<pending>", "<none>"]
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "a.example.com"}]}}
    lb["spec"]["externalIPs"] = ["198.51.100.1"]
    assert cells(SVC, lb)[3] == "203.0.113.9,a.example.com,198.51.100.1"
    ext = {"metadata": meta("ext"), "spec": {"type": "ExternalName", "externalName": "db.example.com"}}
    assert cells(SVC, ext)[1:5] == ["ExternalName", "<none>", "db.example.com", "<none>"]
    headless = {"metadata": meta("h"), "spec": {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}}
    assert cells(SVC, headless)[2:4] == ["None", "<none>"]
    assert cells(SVC, headless)[6] == "<none>"


def test_endpoints_list_addresses_with_ports_and_more() -> None:
    ep = {"metadata": meta("web"), "subsets": [
        {"addresses": [{"ip": "10.1.0.1"}, {"ip": "10.1.0.2"}], "ports": [{"port": 80}, {"port": 443}]}]}
    assert cells(res("Endpoints", plural="endpoints"), ep) == ["web", "10.1.0.1:80,10.1.0.2:80,10.1.0.1:443 + 1 more...",
                                                               "5m"]
    headless = {"metadata": meta("h"), "subsets": [{"addresses": [{"ip": "fd00::1"}]}]}
    assert cells(res("Endpoints"), headless)[1] == "fd00::1"
    v6 = {"metadata": meta("v6"), "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 8080}]}]}
    assert cells(res("Endpoints"), v6)[1] == "[fd00::1]:8080"
    assert cells(res("Endpoints"), {"metadata": meta("none")})[1] == "<none>"


def test_endpointslice_cells() -> None:
    eps = {"metadata": meta("web-abc"), "addressType": "IPv4",
           "ports": [{"name": "http", "port": 80}, {"name": "named"}],
           "endpoints": [{"addresses": ["10.1.0.1"]}, {"addresses": ["10.1.0.2"]}, {"addresses": ["10.1.0.3"]},
                         {"addresses": ["10.1.0.4"]}]}
    resource = res("EndpointSlice", "discovery.k8s.io")
    assert cells(resource, eps) == ["web-abc", "IPv4", "80,named", "10.1.0.1,10.1.0.2,10.1.0.3 + 1 more...", "5m"]
    empty = {"metadata": meta("e"), "addressType": "IPv6"}
    assert cells(resource, empty)[2:4] == ["<unset>", "<unset>"]


def test_ingress_hosts_address_and_ports() -> None:
    ing = {"metadata": meta("web"), "spec": {
        "ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
        "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}, {}, {"host": "c.example.com"},
                  {"host": "d.example.com"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}}
    resource = res("Ingress", "networking.k8s.io")
    assert cells(resource, ing) == ["web", "nginx", "a.example.com,b.example.com,c.example.com + 2 more...",
                                    "192.0.2.10", "80, 443", "5m"]
    bare = {"metadata": meta("b"), "spec": {"defaultBackend": {}}}
    assert cells(resource, bare)[1:5] == ["<none>", "*", "", "80"]


def test_network_policy_pod_selector() -> None:
    np = {"metadata": meta("deny"), "spec": {"podSelector": {}}}
    assert cells(res("NetworkPolicy", "networking.k8s.io"), np) == ["deny", "<none>", "5m"]
    np["spec"]["podSelector"] = {"matchExpressions": [{"key": "role", "operator": "Exists"},
                                                      {"key": "env", "operator": "DoesNotExist"}]}
    assert cells(res("NetworkPolicy", "networking.k8s.io"), np)[1] == "!env,role"


# --- config, storage, cluster ----------------------------------------------------------------


def test_configmap_secret_serviceaccount_namespace_cells() -> None:
    cm = {"metadata": meta("cfg"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert cells(res("ConfigMap"), cm) == ["cfg", 3, "5m"]
    secret = {"metadata": meta("tls"), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}
    assert cells(res("Secret"), secret) == ["tls", "kubernetes.io/tls", 2, "5m"]
    assert cells(res("ServiceAccount"), {"metadata": meta("default")}) == ["default", 0, "5m"]
    ns = {"metadata": meta("dev", age=86400 * 30), "status": {"phase": "Active"}}
    assert cells(res("Namespace"), ns) == ["dev", "Active", "30d"]


def test_node_status_roles_and_wide_columns() -> None:
    node = {
        "metadata": meta("cp-1", labels={"node-role.kubernetes.io/control-plane": "",
                                         "node-role.kubernetes.io/": "", "kubernetes.io/role": "etcd"}),
        "spec": {"unschedulable": True},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                  {"type": "Ready", "status": "True"}],
                   "addresses": [{"type": "InternalIP", "address": "172.18.0.2"},
                                 {"type": "Hostname", "address": "cp-1"}],
                   "nodeInfo": {"kubeletVersion": "v1.37.0", "osImage": "Debian GNU/Linux 12",
                                "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://2.0.0"}},
    }
    assert cells(res("Node"), node) == ["cp-1", "Ready,SchedulingDisabled", "control-plane,etcd", "5m", "v1.37.0",
                                        "172.18.0.2", "<none>", "Debian GNU/Linux 12", "6.1.0",
                                        "containerd://2.0.0"]
    bare = {"metadata": meta("n")}
    assert cells(res("Node"), bare)[1:3] == ["Unknown", "<none>"]
    assert cells(res("Node"), bare)[7:] == ["<unknown>", "<unknown>", "<unknown>"]


def test_persistent_volume_and_claim_cells() -> None:
    pv = {"metadata": meta("pv-1"), "spec": {
        "capacity": {"storage": "1.5Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"],
        "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": "default", "name": "data"},
        "storageClassName": "fast", "volumeMode": "Filesystem"}, "status": {"phase": "Bound"}}
    assert cells(res("PersistentVolume"), pv) == ["pv-1", "1536Mi", "RWO,RWX", "Retain", "Bound", "default/data",
                                                  "fast", "<unset>", "", "5m", "Filesystem"]
    pvc = {"metadata": meta("data"), "spec": {"volumeName": "pv-1", "storageClassName": "fast",
                                              "resources": {"requests": {"storage": "1Gi"}}},
           "status": {"phase": "Bound", "capacity": {"storage": "1536Mi"}, "accessModes": ["ReadWriteOnce"]}}
    assert cells(res("PersistentVolumeClaim"), pvc) == ["data", "Bound", "pv-1", "1536Mi", "RWO", "fast",
                                                        "<unset>", "5m", "<unset>"]
    pending = {"metadata": meta("p", annotations={"volume.beta.kubernetes.io/storage-class": "old"}),
               "spec": {"storageClassName": "fast"}, "status": {"phase": "Pending"}}
    assert cells(res("PersistentVolumeClaim"), pending)[1:6] == ["Pending", "", "", "", "old"]


def test_storage_class_marks_default() -> None:
    sc = {"metadata": meta("standard", annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
          "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"}
    resource = res("StorageClass", "storage.k8s.io")
    assert cells(resource, sc) == ["standard (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer",
                                   False, "5m"]


def test_resource_quota_splits_requests_and_limits() -> None:
    rq = {"metadata": meta("q"), "status": {
        "hard": {"requests.cpu": "2", "limits.memory": "2Gi", "pods": "10", "limits.cpu": "4000m"},
        "used": {"requests.cpu": "500m", "pods": "3"}}}
    assert cells(res("ResourceQuota"), rq) == [
        "q", "pods: 3/10, requests.cpu: 500m/2", "limits.cpu: 0/4, limits.memory: 0/2Gi", "5m"]


def test_hpa_targets_and_replicas() -> None:
    hpa = {"apiVersion": "autoscaling/v2", "metadata": meta("web"), "spec": {
        "scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 10,
        "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                        "averageUtilization": 80}}},
            {"type": "Pods", "pods": {"target": {"type": "AverageValue", "averageValue": "1k"}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                           "averageValue": "1Gi"}}},
        ]},
        "status": {"currentReplicas": 3, "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45}}}]}}
    resource = res("HorizontalPodAutoscaler", "autoscaling", "v2")
    assert cells(resource, hpa) == ["web", "Deployment/web", "cpu: 45%/80%, <unknown>/1k + 1 more...", "2", 10, 3,
                                    "5m"]
    v1 = {"apiVersion": "autoscaling/v1", "metadata": meta("old"), "spec": {
        "scaleTargetRef": {"kind": "Deployment", "name": "old"}, "maxReplicas": 4,
        "targetCPUUtilizationPercentage": 50}}
    assert cells(res("HorizontalPodAutoscaler", "autoscaling"), v1)[2:4] == ["cpu: <unknown>/50%", "<unset>"]


def test_pdb_lease_priorityclass_cells() -> None:
    pdb = {"metadata": meta("p"), "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}}
    assert cells(res("PodDisruptionBudget", "policy"), pdb) == ["p", "50%", "N/A", 1, "5m"]
    lease = {"metadata": meta("kube-scheduler"), "spec": {"holderIdentity": "cp-1_abc"}}
    assert cells(res("Lease", "coordination.k8s.io"), lease) == ["kube-scheduler", "cp-1_abc", "5m"]
    pc = {"metadata": meta("high"), "value": 1000000, "preemptionPolicy": "PreemptLowerPriority"}
    assert cells(res("PriorityClass", "scheduling.k8s.io"), pc) == ["high", 1000000, False, "5m",
                                                                   "PreemptLowerPriority"]


def test_role_bindings_list_subjects_in_wide_columns() -> None:
    rb = {"metadata": meta("admins"), "roleRef": {"kind": "ClusterRole", "name": "admin"},
          "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "ops"},
                       {"kind": "ServiceAccount", "namespace": "ci", "name": "deployer"},
                       {"kind": "User", "name": "bob"}]}
    resource = res("RoleBinding", "rbac.authorization.k8s.io")
    assert column_names(resource)[3:] == [("Users", "string", 1), ("Groups", "string", 1),
                                          ("ServiceAccounts", "string", 1)]
    assert cells(resource, rb) == ["admins", "ClusterRole/admin", "5m", "alice, bob", "ops", "ci/deployer"]


def test_core_event_cells_in_wide_column_order() -> None:
    ev = {"metadata": meta("web-1.17a", age=600), "type": "Warning", "reason": "BackOff",
          "message": "Back-off restarting failed container\n",
          "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
          "source": {"component": "kubelet", "host": "node-a"},
          "firstTimestamp": ago(600), "lastTimestamp": ago(20), "count": 12}
    resource = res("Event")
    assert [c[0] for c in column_names(resource)] == ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source",
                                                      "Message", "First Seen", "Count", "Name"]
    assert cells(resource, ev) == ["20s", "Warning", "BackOff", "pod/web-1", "spec.containers{app}",
                                   "kubelet, node-a", "Back-off restarting failed container", "10m", 12, "web-1.17a"]


def test_events_k8s_io_event_prints_like_core_event() -> None:
    # eventTime is a MicroTime: 59.88s ago truncates to "59s".
    ev = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": meta("e1"), "type": "Normal",
          "reason": "Scheduled", "note": "Successfully assigned default/p to node-a",
          "eventTime": "2024-05-01T11:59:00.123456Z",
          "reportingController": "default-scheduler", "reportingInstance": "default-scheduler-cp-1",
          "regarding": {"kind": "Pod", "name": "p"}}
    assert cells(res("Event", "events.k8s.io"), ev) == [
        "59s", "Normal", "Scheduled", "pod/p", "", "default-scheduler, default-scheduler-cp-1",
        "Successfully assigned default/p to node-a", "59s", 1, "e1"]
    series = dict(ev, series={"count": 4, "lastObservedTime": "2024-05-01T11:59:50.000000Z"})
    assert cells(res("Event", "events.k8s.io"), series)[0] == "10s"
    assert cells(res("Event", "events.k8s.io"), series)[8] == 4


# --- default and custom tables ---------------------------------------------------------------


def test_kinds_without_printer_get_name_and_created_at() -> None:
    for kind, group in (("Role", "rbac.authorization.k8s.io"), ("ClusterRole", "rbac.authorization.k8s.io"),
                        ("LimitRange", ""), ("CustomResourceDefinition", "apiextensions.k8s.io")):
        resource = res(kind, group)
        t = tables.table(resource, [{"metadata": {"name": "x", "creationTimestamp": "2024-04-30T10:00:00+02:00"}}])
        assert [(c["name"], c["type"], c["format"]) for c in t["columnDefinitions"]] == [
            ("Name", "string", "name"), ("Created At", "date", "")]
        assert t["rows"][0]["cells"] == ["x", "2024-04-30T08:00:00Z"]
    unset = tables.table(res("Role", "rbac.authorization.k8s.io"), [{"metadata": {"name": "y"}}])
    assert unset["rows"][0]["cells"] == ["y", "0001-01-01T00:00:00Z"]


CRD_COLUMNS: list[dict[str, Any]] = [
    {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas", "description": "Desired replicas"},
    {"name": "Ratio", "type": "number", "jsonPath": ".status.ratio", "priority": 1},
    {"name": "Paused", "type": "boolean", "jsonPath": ".spec.paused"},
    {"name": "Image", "type": "string", "jsonPath": ".spec.containers[*].image", "priority": 1},
    {"name": "Last Run", "type": "date", "jsonPath": ".status.lastRun"},
    {"name": "Selector", "type": "string", "jsonPath": ".spec.selector"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def crd_resource(columns: list[dict[str, Any]]) -> ResourceInfo:
    return ResourceInfo(group="example.com", version="v1", kind="Widget", plural="widgets", namespaced=True,
                        crd_schema={"type": "object"}, printer_columns=columns)


def test_custom_resource_columns_follow_printer_columns() -> None:
    t = tables.table(crd_resource(CRD_COLUMNS), [])
    assert [(c["name"], c["type"], c["priority"]) for c in t["columnDefinitions"]] == [
        ("Name", "string", 0), ("Ready", "string", 0), ("Replicas", "integer", 0), ("Ratio", "number", 1),
        ("Paused", "boolean", 0), ("Image", "string", 1), ("Last Run", "date", 0), ("Selector", "string", 0),
        ("Age", "date", 0)]
    assert t["columnDefinitions"][1]["description"] == (
        'Custom resource definition column (in JSONPath format): .status.conditions[?(@.type=="Ready")].status')
    assert t["columnDefinitions"][2]["description"] == "Desired replicas"


def test_custom_resource_cells_are_typed_jsonpath_results() -> None:
    widget = {
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": meta("w1", age=3 * 86400),
        "spec": {"replicas": 3.0, "paused": False, "selector": {"matchLabels": {"app": "w<1>"}},
                 "containers": [{"image": "a:1"}, {"image": "b:2"}]},
        "status": {"ratio": 1, "lastRun": ago(90),
                   "conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]},
    }
    assert cells(crd_resource(CRD_COLUMNS), widget) == [
        "w1", "True", 3, 1.0, False, "a:1", "90s", '{"matchLabels":{"app":"w\\u003c1\\u003e"}}', "3d"]


def test_custom_resource_missing_or_mistyped_values_are_null() -> None:
    widget = {"metadata": meta("w2"), "spec": {"replicas": "three", "paused": "no"},
              "status": {"lastRun": "yesterday"}}
    assert cells(crd_resource(CRD_COLUMNS), widget) == ["w2", None, None, None, None, None, "<invalid>", None, "5m"]


def test_custom_resource_string_column_prints_numbers_as_go_does() -> None:
    columns = [{"name": "N", "type": "string", "jsonPath": ".spec.n"}]
    for value, text in ((2, "2"), (2.5, "2.5"), (1e6, "1e+06"), (True, "true")):
        assert cells(crd_resource(columns), {"metadata": meta("x"), "spec": {"n": value}})[1] == text


def test_custom_resource_without_printer_columns_shows_age() -> None:
    t = tables.table(crd_resource([]), [{"metadata": meta("w", age=45)}])
    assert [(c["name"], c["type"]) for c in t["columnDefinitions"]] == [("Name", "string"), ("Age", "date")]
    assert t["columnDefinitions"][1]["description"].startswith("CreationTimestamp is a timestamp")
    assert t["rows"][0]["cells"] == ["w", "45s"]


# --- includeObject and table metadata --------------------------------------------------------


def test_include_object_metadata_is_partial_object_metadata() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("c"), "data": {"k": "v"}}
    row = tables.table(res("ConfigMap"), [cm])["rows"][0]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": cm["metadata"]}


def test_include_object_none_and_object() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("c"), "data": {"k": "v"}}
    assert tables.table(res("ConfigMap"), [cm], "None")["rows"][0]["object"] is None
    assert tables.table(res("ConfigMap"), [cm], "Object")["rows"][0]["object"] == cm


def test_unknown_include_object_is_a_bad_request() -> None:
    with pytest.raises(ApiError) as err:
        tables.table(res("ConfigMap"), [], "Everything")
    assert err.value.code == 400
    assert err.value.message == 'unrecognized includeObject value: "Everything"'


def test_table_envelope_and_list_metadata() -> None:
    t = tables.table(res("ConfigMap"), [], list_meta={"resourceVersion": "42", "continue": "abc"})
    assert t == {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                 "metadata": {"resourceVersion": "42", "continue": "abc"},
                 "columnDefinitions": t["columnDefinitions"], "rows": []}
    single = tables.table(res("ConfigMap"), [{"metadata": meta("c")}])
    assert single["metadata"] == {"resourceVersion": "7"}


def test_column_definitions_carry_every_field() -> None:
    col = tables.table(res("Pod"), [])["columnDefinitions"][5]
    assert set(col) == {"name", "type", "format", "description", "priority"}
    assert col["description"].startswith("podIP address allocated to the pod")


def test_flow_schemas_print_in_matching_order() -> None:
    resource = res("FlowSchema", "flowcontrol.apiserver.k8s.io")
    objs = [{"metadata": meta(n), "spec": {"matchingPrecedence": p, "priorityLevelConfiguration": {"name": "x"}}}
            for n, p in (("b", 1000), ("a", 1000), ("exempt", 1))]
    assert [r["cells"][0] for r in tables.table(resource, objs, "None")["rows"]] == ["exempt", "a", "b"]


# --- quantities and JSONPath -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("1Gi", "1Gi"), ("1.5Gi", "1536Mi"), ("2048Ki", "2Mi"), ("0.5Ki", "512"), ("1000", "1k"), ("1500", "1500"),
     ("0.1", "100m"), ("1.5", "1500m"), ("1e3", "1e3"), ("1.5e3", "1500"), ("1.1Ki", "1126400m"), ("0", "0"),
     ("-1Gi", "-1Gi"), ("0.0000000001", "1n"), ("500m", "500m"), (3, "3")],
)
def test_quantities_print_in_canonical_form(given: Any, canonical: str) -> None:
    assert tables.format_quantity(given) == canonical


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
        (".status.conditions[?(@.n>2)].type", ["Ready"]),
        (".status.conditions[?(@.n)].type", ["Ready"]),
        (".spec.c[*].name", ["a", "b"]),
        (".spec.c[-1].name", ["b"]),
        ("{.spec.c[0:1].name}", ["a"]),
        (".spec.m.x\\.y/z", ["v"]),
        (".spec.m['x.y/z']", ["v"]),
        ("..name", ["a", "b"]),
        (".missing.field", []),
    ],
)
def test_jsonpath_subset(path: str, found: list[Any]) -> None:
    obj = {"spec": {"c": [{"name": "a"}, {"name": "b"}], "m": {"x.y/z": "v"}},
           "status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True", "n": 3}]}}
    assert tables.jsonpath_find(path, obj) == found


def test_jsonpath_errors_on_bad_index_and_mixed_comparison() -> None:
    obj = {"a": [1], "b": [{"n": 3}]}
    with pytest.raises(tables.JSONPathError):
        tables.jsonpath_find(".a[4]", obj)
    with pytest.raises(tables.JSONPathError):
        tables.jsonpath_find('.b[?(@.n=="3")]', obj)
