"""The Deployment controller's pure helpers, checked against the cases kube's own tests use."""

from __future__ import annotations

from typing import Any

import pytest

from kubenest.controllers import deployment as du


def rs(name: str, size: int, created: str = "2024-01-01T00:00:00Z", annotations: dict[str, str] | None = None,
       **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": name, "creationTimestamp": created, "annotations": annotations or {}},
            "spec": {"replicas": size}, "status": status}


def dep(replicas: int, surge: Any = "25%", unavailable: Any = "25%", **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "generation": 1},
            "spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                "maxSurge": surge, "maxUnavailable": unavailable}}},
            "status": status}


def test_safe_encode_maps_bytes_onto_the_unambiguous_alphabet() -> None:
    # Decimal digits land on 4-9 and b, c, d, f: the look of every pod-template-hash.
    assert du.safe_encode("0123456789") == "456789bcdf"


def test_compute_hash_is_stable_and_changes_with_template_and_collision_count() -> None:
    t = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "x"}]}}
    same = {"spec": {"containers": [{"image": "x", "name": "a"}]}, "metadata": {"labels": {"app": "web"}}}
    assert du.compute_hash(t, None) == du.compute_hash(same, None)
    assert du.compute_hash(t, None) != du.compute_hash(t, 1) != du.compute_hash(t, 2)
    other = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "y"}]}}
    assert du.compute_hash(t, None) != du.compute_hash(other, None)


def test_fnv32a_matches_the_reference_vectors() -> None:
    assert du.fnv32a(b"") == 0x811C9DC5
    assert du.fnv32a(b"a") == 0xE40C292C
    assert du.fnv32a(b"foobar") == 0xBF9CF968


@pytest.mark.parametrize(("surge", "unavailable", "desired", "expect"), [
    ("0%", "0%", 0, (0, 1)),
    ("39%", "39%", 10, (4, 3)),
    (None, "39%", 10, (0, 3)),
    ("39%", None, 10, (4, 0)),
    (None, None, 10, (0, 1)),
    ("25%", "25%", 3, (1, 0)),  # 0.75 rounds up to 1 for surge, down to 0 for unavailability
    (2, 0, 5, (2, 0)),
])
def test_resolve_fenceposts_rounds_surge_up_and_unavailability_down(surge: Any, unavailable: Any, desired: int,
                                                                   expect: tuple[int, int]) -> None:
    assert du.resolve_fenceposts(surge, unavailable, desired) == expect


def test_resolve_fenceposts_rejects_non_percentage_strings() -> None:
    with pytest.raises(ValueError):
        du.resolve_fenceposts("oops", "39%", 10)


def test_max_unavailable_is_capped_by_replicas_and_zero_for_recreate() -> None:
    assert du.max_unavailable(dep(2, unavailable=5)) == 2
    recreate = dep(4)
    recreate["spec"]["strategy"] = {"type": "Recreate"}
    assert du.max_unavailable(recreate) == 0 and du.max_surge(recreate) == 0


def test_new_rs_replicas_scales_up_within_surge_and_never_past_desired() -> None:
    d = dep(1, surge=1, unavailable=1)
    assert du.new_rs_replicas(d, [rs("old", 5)], rs("new", 5)) == 5  # cannot scale up
    d = dep(6, surge=10, unavailable=1)
    assert du.new_rs_replicas(d, [rs("old", 5)], rs("new", 2)) == 6
    d["spec"]["strategy"] = {"type": "Recreate"}
    assert du.new_rs_replicas(d, [rs("old", 5)], rs("new", 1)) == 6


def test_proportion_uses_the_max_replicas_annotation() -> None:
    d = dep(20)  # 20 + 25% = 25 allowed
    old = rs("old", 8, annotations={du.MAX_REPLICAS: "13"})
    new = rs("new", 5, annotations={du.MAX_REPLICAS: "13"})
    assert du.proportion(old, d, 12, 0) == 7
    assert du.proportion(new, d, 12, 7) == 5
    assert du.proportion(rs("empty", 0), d, 12, 0) == 0
    # Scaling to zero takes each replica set's whole size, bounded by what is left to remove.
    assert du.proportion(old, dep(0), -13, 0) == -8


def test_set_new_rs_annotations_copies_annotations_and_keeps_revision_history() -> None:
    d = {"metadata": {"annotations": {"kubernetes.io/change-cause": "v1", du.REVISION: "9", du.LAST_APPLIED: "{}"}},
         "spec": {"replicas": 3, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    new = rs("new", 0)
    assert du.set_new_rs_annotations(d, new, "1", exists=False)
    assert new["metadata"]["annotations"] == {"kubernetes.io/change-cause": "v1", du.REVISION: "1",
                                              du.DESIRED_REPLICAS: "3", du.MAX_REPLICAS: "4"}
    back = rs("back", 0, annotations={du.REVISION: "1"})
    assert du.set_new_rs_annotations(d, back, "3", exists=True)
    assert back["metadata"]["annotations"][du.REVISION] == "3"
    assert back["metadata"]["annotations"][du.REVISION_HISTORY] == "1"
    assert du.set_new_rs_annotations(d, back, "5", exists=True)
    assert back["metadata"]["annotations"][du.REVISION_HISTORY] == "1,3"
    assert not du.set_new_rs_annotations(d, back, "2", exists=True)  # never lowers a revision


def test_set_condition_keeps_transition_time_when_status_is_unchanged() -> None:
    status: dict[str, Any] = {}
    du.set_condition(status, du.new_condition("Progressing", "True", "A", "a", now="2024-01-01T00:00:00Z"))
    du.set_condition(status, du.new_condition("Available", "True", "B", "b", now="2024-01-01T00:00:01Z"))
    du.set_condition(status, du.new_condition("Progressing", "True", "C", "c", now="2024-01-01T00:00:02Z"))
    assert [c["type"] for c in status["conditions"]] == ["Available", "Progressing"]
    progressing = du.get_condition(status, "Progressing")
    assert progressing is not None
    assert (progressing["lastTransitionTime"], progressing["lastUpdateTime"]) == (
        "2024-01-01T00:00:00Z", "2024-01-01T00:00:02Z")
    du.set_condition(status, du.new_condition("Progressing", "True", "C", "other", now="2024-01-01T00:00:03Z"))
    assert du.get_condition(status, "Progressing") == progressing  # same status and reason: no-op


@pytest.mark.parametrize(("old", "new", "expect"), [
    ((10, 4, 4, 4), (10, 6, 4, 4), True),
    ((10, 4, 4, 4), (10, 4, 4, 4), False),
    ((10, 4, 6, 6), (8, 4, 6, 6), True),
    ((10, 7, 3, 3), (10, 6, 3, 3), False),
    ((10, 4, 7, 7), (8, 8, 5, 5), True),
    ((10, 10, 9, 8), (10, 10, 10, 8), True),
    ((10, 10, 10, 9), (10, 10, 10, 10), True),
])
def test_deployment_progressing_cases(old: tuple[int, ...], new: tuple[int, ...], expect: bool) -> None:
    keys = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    d = {"status": dict(zip(keys, old, strict=True))}
    assert du.deployment_progressing(d, dict(zip(keys, new, strict=True))) is expect


def test_deployment_complete_needs_every_replica_updated_and_available() -> None:
    d = dep(5, surge=0, unavailable=1)
    full = {"replicas": 5, "updatedReplicas": 5, "availableReplicas": 5, "observedGeneration": 1}
    assert du.deployment_complete(d, full)
    assert not du.deployment_complete(d, dict(full, availableReplicas=4))
    assert not du.deployment_complete(d, dict(full, updatedReplicas=4))
    assert not du.deployment_complete(d, dict(full, observedGeneration=0))


def test_terminating_count_is_unknown_once_a_synced_replica_set_does_not_report_it() -> None:
    a = rs("a", 1, observedGeneration=1, replicas=2, terminatingReplicas=3)
    b = rs("b", 2, observedGeneration=1, replicas=3, terminatingReplicas=1)
    unsynced = rs("c", 3)
    dropped = rs("d", 1, observedGeneration=1, replicas=1)
    assert du.terminating_count([a, b]) == 4
    assert du.terminating_count([unsynced]) == 0
    assert du.terminating_count([a, b, unsynced, dropped]) is None


def test_find_new_rs_ignores_the_hash_label_and_prefers_the_oldest() -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "x"}]}}
    d = {"spec": {"template": template}}

    def with_hash(name: str, created: str) -> dict[str, Any]:
        r = rs(name, 1, created)
        r["spec"]["template"] = {"metadata": {"labels": {"app": "web", du.HASH_LABEL: name}},
                                 "spec": {"containers": [{"name": "a", "image": "x", "resources": {}}]}}
        return r

    newer, older = with_hash("b", "2024-01-02T00:00:00Z"), with_hash("a", "2024-01-01T00:00:00Z")
    assert du.find_new_rs(d, [newer, older]) is older
    other = rs("c", 1)
    other["spec"]["template"] = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
        {"name": "a", "image": "y"}]}}
    assert du.find_new_rs(d, [other]) is None


def test_find_active_or_latest() -> None:
    new, old1, old2 = rs("new", 0, "2024-01-03T00:00:00Z"), rs("o1", 0, "2024-01-01T00:00:00Z"), rs(
        "o2", 0, "2024-01-02T00:00:00Z")
    assert du.find_active_or_latest(new, [old1, old2]) is new
    assert du.find_active_or_latest(None, [old1, old2]) is old2
    old1["spec"]["replicas"] = 3
    assert du.find_active_or_latest(new, [old1, old2]) is old1
    new["spec"]["replicas"] = 1
    assert du.find_active_or_latest(new, [old1, old2]) is None


def test_revision_ordering_and_last_revision() -> None:
    a = rs("a", 0, "2024-01-03T00:00:00Z", {du.REVISION: "2"})
    b = rs("b", 0, "2024-01-01T00:00:00Z", {du.REVISION: "10"})
    c = rs("c", 0, "2024-01-02T00:00:00Z", {du.REVISION: "1"})
    assert [r["metadata"]["name"] for r in du.by_revision([a, b, c])] == ["c", "a", "b"]
    assert du.max_revision([a, b, c]) == 10 and du.last_revision([a, b, c]) == 2


def test_rs_name_stays_within_253_characters() -> None:
    assert du.rs_name("web", "5d9c8f7b6") == "web-5d9c8f7b6"
    long = du.rs_name("x" * 253, "5d9c8f7b6")
    assert len(long) == 253 and long.endswith("-5d9c8f7b6")
