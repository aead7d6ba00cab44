"""The official `kubernetes` Python client against a real server: typed APIs, errors, paging, watch, dynamic client."""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

from kubenest.testing import ServerThread
from tests.conftest import Cluster

NS = "default"


@pytest.fixture
def api(cluster: Cluster) -> Iterator[client.ApiClient]:
    c = config.new_client_from_config(config_file=cluster.kubeconfig)
    yield c
    c.close()


def _core(api: client.ApiClient) -> Any:
    # Typed as Any: the client's models declare every field Optional, which says nothing here.
    return client.CoreV1Api(api)


def _apps(api: client.ApiClient) -> Any:
    return client.AppsV1Api(api)


def _cm(name: str, labels: dict[str, str] | None = None, **data: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data or {"k": "v"})


def _deployment(name: str, replicas: int = 1) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="nginx:1.27")]),
            ),
        ),
    )


def _status(e: ApiException) -> dict[str, Any]:
    assert e.body, "kube answers errors with a Status body"
    body: dict[str, Any] = json.loads(e.body)
    return body


# -- typed CRUD ------------------------------------------------------------------------------------


def test_configmap_create_read_replace_patch_delete(api: client.ApiClient) -> None:
    v1 = _core(api)
    created = v1.create_namespaced_config_map(NS, _cm("settings", {"app": "web"}, color="blue"))
    assert created.metadata.uid and created.metadata.resource_version
    assert created.metadata.creation_timestamp is not None
    read = v1.read_namespaced_config_map("settings", NS)
    assert read.data == {"color": "blue"} and read.metadata.labels == {"app": "web"}
    read.data["color"] = "red"
    replaced = v1.replace_namespaced_config_map("settings", NS, read)
    assert replaced.data == {"color": "red"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    patched = v1.patch_namespaced_config_map("settings", NS, {"metadata": {"labels": {"tier": "front"}}})
    assert patched.metadata.labels == {"app": "web", "tier": "front"}
    # Deleting a ConfigMap answers a Success Status (the client leaves deletes' bodies as dicts).
    status = v1.delete_namespaced_config_map("settings", NS)
    assert status["kind"] == "Status" and status["status"] == "Success"
    assert status["details"] == {"name": "settings", "kind": "configmaps", "uid": created.metadata.uid}
    assert [c.metadata.name for c in v1.list_namespaced_config_map(NS).items] == ["kube-root-ca.crt"]


def test_deployment_crud_with_defaults_and_generation(api: client.ApiClient) -> None:
    apps = _apps(api)
    d = apps.create_namespaced_deployment(NS, _deployment("web", replicas=2))
    assert d.metadata.generation == 1
    assert d.spec.strategy.type == "RollingUpdate"
    assert d.spec.template.spec.containers[0].termination_message_path == "/dev/termination-log"
    assert d.spec.revision_history_limit == 10
    # The deployment controller writes status right after create, as on a real cluster: a replace
    # carries a read resourceVersion and retries on 409 Conflict.
    for _attempt in range(20):
        d = apps.read_namespaced_deployment("web", NS)
        d.spec.replicas = 5
        try:
            d = apps.replace_namespaced_deployment("web", NS, d)
            break
        except ApiException as e:
            assert e.status == 409, e
    assert d.spec.replicas == 5 and d.metadata.generation == 2
    scale = apps.read_namespaced_deployment_scale("web", NS)
    assert scale.spec.replicas == 5 and scale.status.selector == "app=web"
    apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("web", NS).spec.replicas == 3
    # Strategic merge patch merges containers by name.
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}}
    d = apps.patch_namespaced_deployment("web", NS, patch)
    assert [(c.name, c.image) for c in d.spec.template.spec.containers] == [("app", "nginx:1.28")]
    apps.delete_namespaced_deployment("web", NS)
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("web", NS)
    assert err.value.status == 404


def test_namespace_lifecycle(api: client.ApiClient) -> None:
    v1 = _core(api)
    ns = v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="team-a")))
    assert ns.status.phase == "Active"
    assert ns.metadata.labels == {"kubernetes.io/metadata.name": "team-a"}
    assert ns.spec.finalizers == ["kubernetes"]
    v1.create_namespaced_config_map("team-a", _cm("inside"))
    names = [n.metadata.name for n in v1.list_namespace().items]
    assert "team-a" in names and "default" in names
    v1.patch_namespace("team-a", {"metadata": {"labels": {"owner": "alice"}}})
    assert v1.read_namespace("team-a").metadata.labels["owner"] == "alice"
    # Namespaces answer a delete with the object itself, now terminating.
    deleted = v1.delete_namespace("team-a")
    assert deleted["kind"] == "Namespace" and deleted["status"]["phase"] == "Terminating"
    assert deleted["metadata"]["deletionTimestamp"]
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_config_map("team-a", _cm("late"))
    if err.value.status == 403:
        assert _status(err.value)["reason"] == "Forbidden"
    else:  # the namespace controller already finished
        assert err.value.status == 404
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            v1.read_namespace("team-a")
        except ApiException as e:
            assert e.status == 404
            break
        time.sleep(0.1)
    else:
        pytest.fail("namespace team-a was not removed within 10 s")
    assert v1.list_namespaced_config_map("team-a").items == []


# -- errors ----------------------------------------------------------------------------------------


def test_missing_object_raises_404_with_a_status_body(api: client.ApiClient) -> None:
    v1 = _core(api)
    with pytest.raises(ApiException) as err:
        v1.read_namespaced_config_map("missing", NS)
    e = err.value
    assert e.status == 404 and e.reason == "Not Found"
    assert e.headers is not None and e.headers["Content-Type"] == "application/json"
    assert _status(e) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "missing" not found', "reason": "NotFound",
        "details": {"name": "missing", "kind": "configmaps"}, "code": 404,
    }
    with pytest.raises(ApiException) as err:
        _apps(api).read_namespaced_deployment("missing", NS)
    assert _status(err.value)["details"] == {"name": "missing", "group": "apps", "kind": "deployments"}


def test_create_existing_raises_409_already_exists(api: client.ApiClient) -> None:
    v1 = _core(api)
    v1.create_namespaced_config_map(NS, _cm("dup"))
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_config_map(NS, _cm("dup"))
    assert err.value.status == 409
    status = _status(err.value)
    assert status["reason"] == "AlreadyExists"
    assert status["message"] == 'configmaps "dup" already exists'
    assert status["details"] == {"name": "dup", "kind": "configmaps"}


def test_replace_with_stale_resource_version_raises_409_conflict(api: client.ApiClient) -> None:
    v1 = _core(api)
    first = v1.create_namespaced_config_map(NS, _cm("racy"))
    v1.patch_namespaced_config_map("racy", NS, {"data": {"k": "newer"}})
    first.data = {"k": "stale"}
    with pytest.raises(ApiException) as err:
        v1.replace_namespaced_config_map("racy", NS, first)
    assert err.value.status == 409
    status = _status(err.value)
    assert status["reason"] == "Conflict"
    assert status["message"] == (
        'Operation cannot be fulfilled on configmaps "racy": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert v1.read_namespaced_config_map("racy", NS).data == {"k": "newer"}


def test_invalid_object_raises_422_with_causes(api: client.ApiClient) -> None:
    v1 = _core(api)
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_config_map(NS, _cm("Bad_Name"))
    assert err.value.status == 422
    status = _status(err.value)
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "metadata.name"


# -- list ------------------------------------------------------------------------------------------


def test_list_with_label_selector(api: client.ApiClient) -> None:
    v1 = _core(api)
    for i in range(3):
        v1.create_namespaced_config_map(NS, _cm(f"web-{i}", {"app": "web", "idx": str(i)}))
    v1.create_namespaced_config_map(NS, _cm("db", {"app": "db"}))
    names = [c.metadata.name for c in v1.list_namespaced_config_map(NS, label_selector="app=web").items]
    assert names == ["web-0", "web-1", "web-2"]
    names = [c.metadata.name for c in v1.list_namespaced_config_map(NS, label_selector="app=web,idx!=1").items]
    assert names == ["web-0", "web-2"]
    everywhere = v1.list_config_map_for_all_namespaces(label_selector="app in (db)")
    assert [(c.metadata.namespace, c.metadata.name) for c in everywhere.items] == [(NS, "db")]
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_config_map(NS, label_selector="app in (")
    assert err.value.status == 400 and _status(err.value)["reason"] == "BadRequest"


def test_list_pages_with_limit_and_continue(api: client.ApiClient) -> None:
    v1 = _core(api)
    for i in range(7):
        v1.create_namespaced_config_map(NS, _cm(f"cm-{i}", {"batch": "one"}))
    first = v1.list_namespaced_config_map(NS, limit=3)
    assert [c.metadata.name for c in first.items] == ["cm-0", "cm-1", "cm-2"]
    # Every namespace also holds kube-root-ca.crt, which sorts last.
    assert first.metadata._continue and first.metadata.remaining_item_count == 5
    # Pages are one snapshot, as etcd serves them: writes after the first page do not show in later ones.
    v1.create_namespaced_config_map(NS, _cm("cm-9", {"batch": "one"}))
    v1.patch_namespaced_config_map("cm-3", NS, {"data": {"k": "changed"}})
    v1.delete_namespaced_config_map("cm-4", NS)
    second = v1.list_namespaced_config_map(NS, limit=3, _continue=first.metadata._continue)
    assert [c.metadata.name for c in second.items] == ["cm-3", "cm-4", "cm-5"]
    assert second.items[0].data == {"k": "v"}
    assert second.metadata.resource_version == first.metadata.resource_version
    assert second.metadata.remaining_item_count == 2
    last = v1.list_namespaced_config_map(NS, limit=3, _continue=second.metadata._continue)
    assert [c.metadata.name for c in last.items] == ["cm-6", "kube-root-ca.crt"]
    assert last.metadata._continue is None and last.metadata.remaining_item_count is None


def test_paging_with_a_label_selector_visits_every_match(api: client.ApiClient) -> None:
    v1 = _core(api)
    for i in range(6):
        v1.create_namespaced_config_map(NS, _cm(f"cm-{i}", {"parity": "even" if i % 2 == 0 else "odd"}))
    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = v1.list_namespaced_config_map(NS, label_selector="parity=even", limit=2, _continue=token)
        pages += 1
        names += [c.metadata.name for c in page.items]
        # kube cannot count the remaining matches of a selector, so it never reports a count.
        assert page.metadata.remaining_item_count is None
        token = page.metadata._continue
        if not token:
            break
    assert names == ["cm-0", "cm-2", "cm-4"]
    assert pages == 2


def test_invalid_continue_token_is_rejected(api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as err:
        _core(api).list_namespaced_config_map(NS, limit=1, _continue="not-a-token")
    assert err.value.status == 400
    assert _status(err.value)["message"].startswith("continue key is not valid")


# -- watch -----------------------------------------------------------------------------------------


def _events(stream: Iterator[dict[str, Any]], w: watch.Watch, count: int) -> list[tuple[str, str, str]]:
    out = []
    for ev in stream:
        obj = ev["object"]
        out.append((ev["type"], obj.metadata.name, obj.metadata.resource_version))
        if len(out) == count:
            w.stop()
    return out


def test_watch_resumes_from_the_last_seen_resource_version(api: client.ApiClient) -> None:
    v1 = _core(api)
    start_rv = v1.list_namespaced_config_map(NS).metadata.resource_version
    v1.create_namespaced_config_map(NS, _cm("a"))
    v1.create_namespaced_config_map(NS, _cm("b"))
    w = watch.Watch()
    seen = _events(w.stream(v1.list_namespaced_config_map, NS, resource_version=start_rv, timeout_seconds=10),
                   w, 2)
    assert [(t, n) for t, n, _ in seen] == [("ADDED", "a"), ("ADDED", "b")]
    resume_rv = seen[-1][2]
    # Changes while nobody watches.
    v1.create_namespaced_config_map(NS, _cm("c"))
    v1.patch_namespaced_config_map("a", NS, {"data": {"k": "changed"}})
    v1.delete_namespaced_config_map("b", NS)
    w2 = watch.Watch()
    # timeout_seconds ends the stream, so this also proves nothing else was sent.
    after = [(ev["type"], ev["object"].metadata.name, ev["object"].metadata.resource_version)
             for ev in w2.stream(v1.list_namespaced_config_map, NS, resource_version=resume_rv, timeout_seconds=1)]
    assert [(t, n) for t, n, _ in after] == [("ADDED", "c"), ("MODIFIED", "a"), ("DELETED", "b")]
    rvs = [int(rv) for _, _, rv in after]
    assert rvs == sorted(rvs) and rvs[0] > int(resume_rv)
    assert w2.resource_version == after[-1][2]


def test_watch_without_resource_version_replays_current_state(api: client.ApiClient) -> None:
    v1 = _core(api)
    v1.create_namespaced_config_map(NS, _cm("x", {"w": "1"}))
    v1.create_namespaced_config_map(NS, _cm("y", {"w": "2"}))
    w = watch.Watch()
    seen = _events(w.stream(v1.list_namespaced_config_map, NS, label_selector="w=2", timeout_seconds=1), w, 99)
    assert [(t, n) for t, n, _ in seen] == [("ADDED", "y")]


@pytest.fixture
def short_history(tmp_path: Path) -> Iterator[Any]:
    """A server of its own whose history window is 5 events: a stand-in for 20000 writes."""
    st = ServerThread(data_dir=str(tmp_path), durable=False)
    try:
        st.server.store._history = collections.deque(maxlen=5)
        st.create_cluster("expiry")
        api = config.new_client_from_config(config_file=st.write_kubeconfig("expiry"))
        yield _core(api)
        api.close()
    finally:
        st.stop()


def test_watch_from_a_too_old_resource_version_raises_410(short_history: Any) -> None:
    v1 = short_history
    old_rv = v1.create_namespaced_config_map(NS, _cm("first")).metadata.resource_version
    for i in range(10):
        v1.create_namespaced_config_map(NS, _cm(f"n{i}"))
    w = watch.Watch()
    with pytest.raises(ApiException) as err:
        for _ in w.stream(v1.list_namespaced_config_map, NS, resource_version=old_rv, timeout_seconds=5):
            pass
    assert err.value.status == 410
    assert "Expired" in err.value.reason and f"too old resource version: {old_rv}" in err.value.reason
    # Without a timeout the client retries once from the same version, then gives up the same way.
    with pytest.raises(ApiException) as err:
        for _ in watch.Watch().stream(v1.list_namespaced_config_map, NS, resource_version=old_rv):
            pass
    assert err.value.status == 410
    # The recovery the client documents: list, then watch from the list's version.
    rv = v1.list_namespaced_config_map(NS).metadata.resource_version
    v1.create_namespaced_config_map(NS, _cm("after"))
    w = watch.Watch()
    seen = _events(w.stream(v1.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=5), w, 1)
    assert [(t, n) for t, n, _ in seen] == [("ADDED", "after")]


def test_continue_token_older_than_the_history_raises_410_with_a_fresh_token(
        short_history: Any) -> None:
    v1 = short_history
    for i in range(4):
        v1.create_namespaced_config_map(NS, _cm(f"cm-{i}"))
    first = v1.list_namespaced_config_map(NS, limit=2)
    for i in range(4, 10):
        v1.create_namespaced_config_map(NS, _cm(f"cm-{i}"))
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_config_map(NS, limit=2, _continue=first.metadata._continue)
    assert err.value.status == 410
    status = _status(err.value)
    assert status["reason"] == "Expired"
    assert status["message"].startswith("The provided continue parameter is too old to display a consistent list")
    # The token kube offers goes on from the same place at the latest revision: the new objects show up.
    rest = v1.list_namespaced_config_map(NS, _continue=status["metadata"]["continue"])
    assert [c.metadata.name for c in rest.items] == [f"cm-{i}" for i in range(2, 10)] + ["kube-root-ca.crt"]
    assert int(rest.metadata.resource_version) > int(first.metadata.resource_version)


def test_watch_from_before_a_restart_raises_410(tmp_path: Path) -> None:
    # After a restart the history holds nothing older than what was loaded, like a fresh watch cache:
    # resuming from an older revision must say so rather than silently skip the changes in between.
    st = ServerThread(data_dir=str(tmp_path))
    try:
        st.create_cluster("restarts")
        kubeconfig = st.write_kubeconfig("restarts")
        api = config.new_client_from_config(config_file=kubeconfig)
        v1 = _core(api)
        old_rv = v1.create_namespaced_config_map(NS, _cm("before")).metadata.resource_version
        v1.create_namespaced_config_map(NS, _cm("unseen"))
        api.close()
    finally:
        st.stop()
    st = ServerThread(data_dir=str(tmp_path), port=st.port)
    try:
        api = config.new_client_from_config(config_file=kubeconfig)
        v1 = _core(api)
        with pytest.raises(ApiException) as err:
            for _ in watch.Watch().stream(v1.list_namespaced_config_map, NS, resource_version=old_rv,
                                          timeout_seconds=5):
                pass
        assert err.value.status == 410
        # From the revision a list gives after the restart, watching works.
        rv = v1.list_namespaced_config_map(NS).metadata.resource_version
        v1.create_namespaced_config_map(NS, _cm("after"))
        w = watch.Watch()
        seen = _events(w.stream(v1.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=5), w, 1)
        assert [(t, n) for t, n, _ in seen] == [("ADDED", "after")]
        api.close()
    finally:
        st.stop()


# -- dynamic client --------------------------------------------------------------------------------

CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "trainings.ml.example.com"},
    "spec": {
        "group": "ml.example.com",
        "scope": "Namespaced",
        "names": {"plural": "trainings", "singular": "training", "kind": "Training", "shortNames": ["tr"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "spec": {"type": "object", "required": ["model"], "properties": {
                        "model": {"type": "string"},
                        "workers": {"type": "integer", "minimum": 1, "default": 1},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    }},
                    "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                },
            }},
        }],
    },
}


def _training(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "ml.example.com/v1", "kind": "Training", "metadata": {"name": name}, "spec": spec}


@pytest.fixture
def trainings(api: client.ApiClient) -> Any:
    """A dynamic client resource for a CRD created through the dynamic client, once it is established."""
    dyn = dynamic.DynamicClient(api)
    crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.create(body=CRD)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        conds = crds.get(name=CRD["metadata"]["name"]).to_dict().get("status", {}).get("conditions") or []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conds):
            break
        time.sleep(0.05)
    else:
        pytest.fail("CRD not established within 10 s")
    dyn.resources.invalidate_cache()
    return dyn, dyn.resources.get(api_version="ml.example.com/v1", kind="Training")


def test_dynamic_client_create_get_patch_delete_custom_resource(trainings: Any) -> None:
    dyn, res = trainings
    created = res.create(body=_training("bert", model="bert-base"), namespace=NS)
    assert created.spec.model == "bert-base" and created.spec.workers == 1  # defaulted from the schema
    assert created.metadata.generation == 1
    got = res.get(name="bert", namespace=NS)
    assert got.metadata.uid == created.metadata.uid
    assert [i.metadata.name for i in res.get(namespace=NS).items] == ["bert"]
    patched = res.patch(name="bert", namespace=NS, body={"spec": {"workers": 4}},
                        content_type="application/merge-patch+json")
    assert patched.spec.workers == 4 and patched.spec.model == "bert-base" and patched.metadata.generation == 2
    patched = res.patch(name="bert", namespace=NS, body=[{"op": "add", "path": "/spec/tags", "value": ["nlp"]}],
                        content_type="application/json-patch+json")
    assert patched.spec.tags == ["nlp"]
    # Custom resources have no Go struct to take patch strategies from: kube refuses strategic merge patch.
    with pytest.raises(ApiException) as err:
        res.patch(name="bert", namespace=NS, body={"spec": {"workers": 2}})
    assert err.value.status == 415
    assert _status(err.value)["reason"] == "UnsupportedMediaType"
    with pytest.raises(ApiException) as err:
        res.create(body=_training("bad", workers=0), namespace=NS)
    assert err.value.status == 422
    message = _status(err.value)["message"]
    assert "spec.model: Required value" in message and "spec.workers: Invalid value: 0" in message
    res.status.patch(name="bert", namespace=NS, body={"status": {"phase": "Running"}},
                     content_type="application/merge-patch+json")
    assert res.get(name="bert", namespace=NS).status.phase == "Running"
    deleted = res.delete(name="bert", namespace=NS)
    assert deleted.metadata.name == "bert"
    with pytest.raises(ApiException) as err:
        res.get(name="bert", namespace=NS)
    assert err.value.status == 404
    assert _status(err.value)["details"] == {"name": "bert", "group": "ml.example.com", "kind": "trainings"}


def test_dynamic_client_server_side_apply(trainings: Any) -> None:
    dyn, res = trainings
    applied = res.server_side_apply(body=_training("gpt", model="gpt2", workers=2), namespace=NS,
                                    field_manager="trainer")
    assert applied.spec.workers == 2
    managers = {(m["manager"], m["operation"]) for m in applied.to_dict()["metadata"]["managedFields"]}
    assert managers == {("trainer", "Apply")}
    # A second manager taking a field the first owns conflicts, unless it forces.
    with pytest.raises(ApiException) as err:
        res.server_side_apply(body=_training("gpt", model="gpt2", workers=8), namespace=NS, field_manager="scaler")
    assert err.value.status == 409
    status = _status(err.value)
    assert status["reason"] == "Conflict"
    assert status["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "trainer"', "field": ".spec.workers"}]
    forced = res.server_side_apply(body={"apiVersion": "ml.example.com/v1", "kind": "Training",
                                         "metadata": {"name": "gpt"}, "spec": {"workers": 8}},
                                   namespace=NS, field_manager="scaler", force_conflicts=True)
    assert forced.spec.workers == 8 and forced.spec.model == "gpt2"
    # The first manager dropping a field it alone owns removes it.
    res.server_side_apply(body=_training("gpt", model="gpt2", tags=["llm"]), namespace=NS, field_manager="trainer")
    res.server_side_apply(body=_training("gpt", model="gpt2"), namespace=NS, field_manager="trainer")
    final = res.get(name="gpt", namespace=NS)
    assert final.spec.workers == 8 and "tags" not in final.to_dict()["spec"]
    owned = {m["manager"]: m["fieldsV1"] for m in final.to_dict()["metadata"]["managedFields"]}
    assert owned["scaler"] == {"f:spec": {"f:workers": {}}}
    assert owned["trainer"] == {"f:spec": {"f:model": {}}}
    # Apply without a field manager is a 400.
    with pytest.raises(ApiException) as err:
        res.server_side_apply(body=_training("gpt", model="x"), namespace=NS)
    assert err.value.status == 400


def test_dynamic_client_server_side_apply_on_a_builtin_kind(api: client.ApiClient) -> None:
    dyn = dynamic.DynamicClient(api)
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"a": "1", "b": "2"}}
    created = cms.server_side_apply(body=body, namespace=NS, field_manager="tool")
    assert created.to_dict()["data"] == {"a": "1", "b": "2"}
    body["data"] = {"a": "1"}
    assert cms.server_side_apply(body=body, namespace=NS, field_manager="tool").to_dict()["data"] == {"a": "1"}
    dry = cms.server_side_apply(body=dict(body, data={"a": "dry"}), namespace=NS, field_manager="tool",
                                dry_run="All")
    assert dry.to_dict()["data"] == {"a": "dry"}
    assert _core(api).read_namespaced_config_map("applied", NS).data == {"a": "1"}


def test_dynamic_client_watches_custom_resources(trainings: Any) -> None:
    dyn, res = trainings
    rv = res.get(namespace=NS).metadata.resourceVersion
    res.create(body=_training("t5", model="t5-small"), namespace=NS)
    res.patch(name="t5", namespace=NS, body={"spec": {"workers": 3}}, content_type="application/merge-patch+json")
    res.delete(name="t5", namespace=NS)
    events = [(e["type"], e["object"].metadata.name, e["object"].spec.workers)
              for e in dyn.watch(res, namespace=NS, resource_version=rv, timeout=1)]
    assert events == [("ADDED", "t5", 1), ("MODIFIED", "t5", 3), ("DELETED", "t5", 3)]


def test_delete_options_body_preconditions(api: client.ApiClient) -> None:
    v1 = _core(api)
    cm = v1.create_namespaced_config_map(NS, _cm("guarded"))
    wrong = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="00000000-0000-0000-0000-000000000000"))
    with pytest.raises(ApiException) as err:
        v1.delete_namespaced_config_map("guarded", NS, body=wrong)
    assert err.value.status == 409
    assert _status(err.value)["message"].startswith(
        'Operation cannot be fulfilled on configmaps "guarded": Precondition failed: UID in precondition:')
    right = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=cm.metadata.uid),
                                   propagation_policy="Foreground")
    v1.delete_namespaced_config_map("guarded", NS, body=right)
    with pytest.raises(ApiException) as err:
        v1.read_namespaced_config_map("guarded", NS)
    assert err.value.status == 404
