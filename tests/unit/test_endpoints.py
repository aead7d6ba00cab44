"""Endpoints controller pieces that need no server: port lookup, subset repacking, change detection."""

from __future__ import annotations

from typing import Any

from kubenest.controllers import endpoints


def pod(name: str, ip: str = "", ready: bool = False, **spec: Any) -> dict[str, Any]:
    # The Ready transition time differs by the length of the name, so tests can order changes.
    since = f"2026-01-01T00:00:0{len(name)}Z"
    status: dict[str, Any] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": since}]}
    if ip:
        status["podIPs"] = [{"ip": ip}]
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "ports": [{"name": "http", "containerPort": 8080},
                                                              {"name": "dns", "containerPort": 53,
                                                               "protocol": "UDP"}]}], **spec},
            "status": status}


def test_named_target_ports_resolve_by_name_and_protocol() -> None:
    p = pod("a")
    assert endpoints.find_port(p, {"port": 80, "targetPort": "http"}) == 8080
    assert endpoints.find_port(p, {"port": 53, "targetPort": "dns", "protocol": "UDP"}) == 53
    assert endpoints.find_port(p, {"port": 53, "targetPort": "dns"}) is None
    assert endpoints.find_port(p, {"port": 80, "targetPort": 9000}) == 9000
    sidecar = {"name": "proxy", "restartPolicy": "Always", "ports": [{"name": "admin", "containerPort": 9901}]}
    assert endpoints.find_port(pod("b", initContainers=[sidecar]), {"port": 1, "targetPort": "admin"}) == 9901


def test_repack_groups_addresses_by_the_ports_they_offer() -> None:
    a = {"ip": "10.0.0.1", "targetRef": {"uid": "a"}}
    b = {"ip": "10.0.0.2", "targetRef": {"uid": "b"}}
    http = {"name": "http", "port": 8080, "protocol": "TCP"}
    metrics = {"name": "metrics", "port": 9090, "protocol": "TCP"}
    subsets = endpoints.repack_subsets([(a, True, http), (a, True, metrics), (b, False, http)])
    assert subsets == [
        {"addresses": [a], "ports": [metrics]},
        {"addresses": [a], "notReadyAddresses": [b], "ports": [http]},
    ] or subsets == [
        {"addresses": [a], "notReadyAddresses": [b], "ports": [http]},
        {"addresses": [a], "ports": [metrics]},
    ]
    # Addresses offering the same ports share one subset.
    assert endpoints.repack_subsets([(a, True, http), (b, True, http)]) == [{"addresses": [a, b], "ports": [http]}]


def test_over_a_thousand_addresses_are_truncated_ready_first() -> None:
    ready = [{"ip": f"10.0.{i // 256}.{i % 256}"} for i in range(900)]
    not_ready = [{"ip": f"10.1.{i // 256}.{i % 256}"} for i in range(300)]
    subsets = [{"addresses": ready, "notReadyAddresses": not_ready}]
    assert endpoints.truncate_subsets(subsets)
    assert len(subsets[0]["addresses"]) == 900 and len(subsets[0]["notReadyAddresses"]) == 100


def test_pod_changes_that_move_endpoints_are_told_apart() -> None:
    old = pod("a", "10.0.0.1", ready=False)
    new = pod("a", "10.0.0.1", ready=True)
    assert endpoints.pod_endpoints_changed(old, new) == (True, False)
    relabelled = pod("a", "10.0.0.1", ready=False)
    relabelled["metadata"]["labels"] = {"app": "db"}
    assert endpoints.pod_endpoints_changed(old, relabelled) == (False, True)
    annotated = pod("a", "10.0.0.1", ready=False)
    annotated["metadata"]["annotations"] = {"x": "y"}
    assert endpoints.pod_endpoints_changed(old, annotated) == (False, False)


def test_trigger_time_is_the_service_creation_first_then_the_earliest_new_change() -> None:
    tracker = endpoints.TriggerTimeTracker()
    svc = {"metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"}}
    key = ("c", "default", "web")
    a = pod("a", "10.0.0.1", ready=True)
    assert tracker.compute(key, svc, [a]) == "2026-01-01T00:00:00Z"
    assert tracker.compute(key, svc, [a]) == ""
    b = pod("bb", "10.0.0.2", ready=True)
    c = pod("ccc", "10.0.0.3", ready=True)
    assert tracker.compute(key, svc, [a, c, b]) == "2026-01-01T00:00:02Z"
