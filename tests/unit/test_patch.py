"""JSON patch, merge patch and strategic merge patch, checked against what kube-apiserver does.

Strategic merge cases use the real 1.37 Pod and Deployment schemas; a few ordering cases are taken from
apimachinery's own strategicpatch tests (their expected results come from upstream, not from us).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubenest.api import schema
from kubenest.api.patch import PatchError, json_patch, merge_patch, strategic_merge_patch

SCHEMAS = schema.load("1.37")
POD = SCHEMAS.for_kind("", "v1", "Pod")
DEPLOYMENT = SCHEMAS.for_kind("apps", "v1", "Deployment")


def pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": {"app": "web", "tier": "frontend"},
            "annotations": {"example.com/owner": "team-a"},
            "finalizers": ["example.com/a", "example.com/b"],
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "nginx:1.25",
                    "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}],
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    "args": ["--port", "80"],
                },
                {"name": "sidecar", "image": "busybox", "command": ["sleep", "3600"]},
            ],
            "volumes": [{"name": "data", "emptyDir": {}}, {"name": "config", "configMap": {"name": "cfg"}}],
            "tolerations": [{"key": "a", "operator": "Exists"}],
            "nodeSelector": {"disk": "ssd", "zone": "a"},
        },
    }


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]},
            },
        },
    }


def smp(doc: dict[str, Any], patch: Any, node: dict[str, Any] | None = POD) -> dict[str, Any]:
    assert node is not None
    return strategic_merge_patch(doc, patch, node, SCHEMAS.resolve)


def names(items: list[dict[str, Any]]) -> list[Any]:
    return [i["name"] for i in items]


def smp_error(doc: dict[str, Any], patch: Any, node: dict[str, Any] | None = POD) -> PatchError:
    with pytest.raises(PatchError) as info:
        smp(doc, patch, node)
    return info.value


# ---------------------------------------------------------------------------------------------------------
# Strategic merge patch: lists merged by key


def test_smp_merges_containers_by_name_keeping_other_fields():
    out = smp(pod(), {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    app, sidecar = out["spec"]["containers"]
    assert app["image"] == "nginx:1.27"
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert app["args"] == ["--port", "80"]
    assert sidecar == {"name": "sidecar", "image": "busybox", "command": ["sleep", "3600"]}


def test_smp_new_list_item_goes_before_server_only_items():
    # Items named in the patch come first unless the live order places a server-only item before them.
    out = smp(pod(), {"spec": {"containers": [{"name": "debug", "image": "alpine"}]}})
    assert names(out["spec"]["containers"]) == ["debug", "app", "sidecar"]


def test_smp_keeps_live_order_for_items_both_lists_know():
    patch = {
        "spec": {"containers": [{"name": "sidecar", "image": "busybox:2"}, {"name": "app", "image": "x"}]}
    }
    out = smp(pod(), patch)
    # Patch order wins among patch items: upstream sorts them by their position in the patch.
    assert names(out["spec"]["containers"]) == ["sidecar", "app"]
    assert out["spec"]["containers"][0]["image"] == "busybox:2"


def test_smp_merges_env_by_name_inside_a_container():
    patch = {
        "spec": {
            "containers": [
                {"name": "app", "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]}
            ]
        }
    }
    out = smp(pod(), patch)
    assert out["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "20"},
        {"name": "C", "value": "3"},
    ]


def test_smp_merges_ports_by_container_port():
    patch = {
        "spec": {
            "containers": [
                {"name": "app", "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]}
            ]
        }
    }
    out = smp(pod(), patch)
    assert out["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP", "name": "web"},
        {"containerPort": 443},
    ]


def test_smp_merge_key_compares_with_go_types():
    # Go compares int64(80) with float64(80) as different values, so 80.0 is a new port.
    patch = {"spec": {"containers": [{"name": "app", "ports": [{"containerPort": 80.0}]}]}}
    ports = smp(pod(), patch)["spec"]["containers"][0]["ports"]
    assert [p["containerPort"] for p in ports] == [80.0, 80]
    assert isinstance(ports[0]["containerPort"], float)


def test_smp_unions_primitive_merge_list_finalizers():
    out = smp(pod(), {"metadata": {"finalizers": ["example.com/b", "example.com/c", "example.com/c"]}})
    assert out["metadata"]["finalizers"] == ["example.com/a", "example.com/b", "example.com/c"]


def test_smp_delete_from_primitive_list_removes_finalizer():
    out = smp(
        pod(), {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a", "example.com/zzz"]}}
    )
    assert out["metadata"]["finalizers"] == ["example.com/b"]


def test_smp_delete_from_primitive_list_on_missing_list_adds_nothing():
    doc = pod()
    del doc["metadata"]["finalizers"]
    out = smp(doc, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}})
    assert "finalizers" not in out["metadata"]


def test_smp_replaces_lists_without_merge_strategy():
    patch = {
        "spec": {
            "tolerations": [{"key": "b", "operator": "Exists"}],
            "containers": [{"name": "app", "args": ["--debug"]}],
        }
    }
    out = smp(pod(), patch)
    assert out["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]
    assert out["spec"]["containers"][0]["args"] == ["--debug"]


def test_smp_empty_merge_list_changes_nothing():
    out = smp(pod(), {"spec": {"containers": []}})
    assert out["spec"]["containers"] == pod()["spec"]["containers"]


# ---------------------------------------------------------------------------------------------------------
# Strategic merge patch: directives


def test_smp_patch_delete_removes_list_item_by_key():
    out = smp(pod(), {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}})
    assert names(out["spec"]["containers"]) == ["app"]


def test_smp_patch_delete_of_missing_item_is_a_no_op():
    out = smp(pod(), {"spec": {"volumes": [{"name": "nope", "$patch": "delete"}]}})
    assert names(out["spec"]["volumes"]) == ["data", "config"]


def test_smp_patch_replace_element_replaces_whole_list():
    patch = {"spec": {"volumes": [{"$patch": "replace"}, {"name": "only", "emptyDir": {}}]}}
    out = smp(pod(), patch)
    assert out["spec"]["volumes"] == [{"name": "only", "emptyDir": {}}]


def test_smp_patch_replace_on_map_replaces_it():
    out = smp(pod(), {"spec": {"nodeSelector": {"$patch": "replace", "gpu": "a100"}}})
    assert out["spec"]["nodeSelector"] == {"gpu": "a100"}


def test_smp_patch_delete_on_map_empties_it():
    out = smp(pod(), {"metadata": {"labels": {"$patch": "delete"}}})
    assert out["metadata"]["labels"] == {}


def test_smp_null_removes_label_and_merges_others():
    out = smp(pod(), {"metadata": {"labels": {"tier": None, "version": "v2"}}})
    assert out["metadata"]["labels"] == {"app": "web", "version": "v2"}


def test_smp_null_for_missing_key_is_ignored():
    out = smp(pod(), {"metadata": {"labels": {"nothere": None}}})
    assert out["metadata"]["labels"] == {"app": "web", "tier": "frontend"}


def test_smp_new_subtree_drops_nulls_and_directive_maps():
    patch = {
        "spec": {
            "securityContext": {"runAsUser": 1000, "runAsGroup": None, "seLinuxOptions": {"$patch": "delete"}}
        }
    }
    out = smp(pod(), patch)
    assert out["spec"]["securityContext"] == {"runAsUser": 1000}


def test_smp_retain_keys_on_volume_switches_source():
    patch = {
        "$setElementOrder/volumes": [{"name": "data"}, {"name": "config"}],
        "volumes": [{"name": "data", "$retainKeys": ["configMap", "name"], "configMap": {"name": "other"}}],
    }
    out = smp(pod(), {"spec": patch})
    assert out["spec"]["volumes"] == [
        {"name": "data", "configMap": {"name": "other"}},
        {"name": "config", "configMap": {"name": "cfg"}},
    ]


def test_smp_retain_keys_clears_rolling_update_when_switching_to_recreate():
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}}
    out = smp(deployment(), patch, DEPLOYMENT)
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_smp_retain_keys_clears_fields_the_patch_does_not_mention():
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    out = smp(deployment(), patch, DEPLOYMENT)
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_smp_retain_keys_must_list_every_key_the_patch_sets():
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}}
    err = smp_error(deployment(), patch, DEPLOYMENT)
    assert (err.code, err.reason, err.message) == (400, "BadRequest", "invalid patch format of retainKeys")


def test_smp_retain_keys_must_be_a_list():
    err = smp_error(deployment(), {"spec": {"strategy": {"$retainKeys": "type"}}}, DEPLOYMENT)
    assert (err.code, err.message) == (400, "invalid patch format of retainKeys")


def test_smp_set_element_order_reorders_containers():
    patch = {"spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}]}}
    assert names(smp(pod(), patch)["spec"]["containers"]) == ["sidecar", "app"]


def test_smp_set_element_order_as_kubectl_apply_sends_it():
    # kubectl apply adds "debug" between the two containers and changes the sidecar image.
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "debug"}, {"name": "sidecar"}],
            "containers": [{"name": "debug", "image": "alpine"}, {"name": "sidecar", "image": "busybox:2"}],
        }
    }
    out = smp(pod(), patch)
    assert names(out["spec"]["containers"]) == ["app", "debug", "sidecar"]
    assert out["spec"]["containers"][2]["image"] == "busybox:2"
    assert out["spec"]["containers"][0]["env"][0] == {"name": "A", "value": "1"}


def test_smp_set_element_order_keeps_server_only_items_in_live_position():
    # From upstream "set elements order in a list with server-only items 2": 9 exists only on the server.
    doc = pod()
    doc["spec"]["containers"] = [
        {"name": "c1", "image": "a"},
        {"name": "c2", "image": "2"},
        {"name": "c9", "image": "x"},
        {"name": "c3", "image": "3"},
        {"name": "c4", "image": "4"},
    ]
    order = [{"name": n} for n in ("c2", "c1", "c4", "c3")]
    out = smp(doc, {"spec": {"$setElementOrder/containers": order}})
    assert names(out["spec"]["containers"]) == ["c2", "c1", "c9", "c4", "c3"]


def test_smp_set_element_order_with_delete_matches_upstream_ordering():
    # From upstream "add map and delete map from merging list": upstream deletes in place and appends
    # into the freed slot, and orders by what that array then holds; the result is 2, 4, 3.
    doc = pod()
    doc["spec"]["containers"] = [{"name": "c1"}, {"name": "c2", "image": "b"}, {"name": "c4", "image": "c"}]
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "c2"}, {"name": "c3"}],
            "containers": [{"name": "c3"}, {"name": "c1", "$patch": "delete"}],
        }
    }
    out = smp(doc, patch)
    assert out["spec"]["containers"] == [
        {"name": "c2", "image": "b"},
        {"name": "c4", "image": "c"},
        {"name": "c3"},
    ]


def test_smp_set_element_order_keeps_server_only_finalizer_in_place():
    # From upstream "set elements order in a int list with server-only items 2".
    doc = pod()
    doc["metadata"]["finalizers"] = ["f1", "f2", "f9", "f3", "f4"]
    out = smp(doc, {"metadata": {"$setElementOrder/finalizers": ["f2", "f1", "f4", "f3"]}})
    assert out["metadata"]["finalizers"] == ["f2", "f1", "f9", "f4", "f3"]


def test_smp_set_element_order_with_duplicate_env_names():
    # From upstream "behavior of set element order for a merging list with duplicate".
    doc = pod()
    env = [
        {"name": "A"},
        {"name": "B", "value": "dup1"},
        {"name": "C"},
        {"name": "B", "value": "dup2"},
        {"name": "D"},
    ]
    doc["spec"]["containers"][0]["env"] = env
    order = [{"name": n} for n in ("B", "A", "D", "C", "B")]
    patch = {"spec": {"containers": [{"name": "app", "$setElementOrder/env": order}]}}
    out = smp(doc, patch)
    assert out["spec"]["containers"][0]["env"] == [
        {"name": "B", "value": "dup1"},
        {"name": "B", "value": "dup2"},
        {"name": "A"},
        {"name": "D"},
        {"name": "C"},
    ]


def test_smp_set_element_order_for_primitive_list():
    patch = {
        "metadata": {
            "$setElementOrder/finalizers": ["example.com/c", "example.com/b", "example.com/a"],
            "finalizers": ["example.com/c"],
        }
    }
    out = smp(pod(), patch)
    assert out["metadata"]["finalizers"] == ["example.com/c", "example.com/b", "example.com/a"]


def test_smp_set_element_order_must_agree_with_patch_list():
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
            "containers": [{"name": "sidecar", "image": "a"}, {"name": "app", "image": "b"}],
        }
    }
    err = smp_error(pod(), patch)
    assert err.code == 500 and err.reason == ""
    assert "doesn't match $setElementOrder list" in err.message


def test_smp_set_element_order_without_field_name_is_bad_request():
    err = smp_error(pod(), {"spec": {"$setElementOrder": [{"name": "app"}]}})
    assert (err.code, err.message) == (400, "invalid patch format of setElementOrder list")


def test_smp_delete_from_primitive_list_without_field_name_is_bad_request():
    err = smp_error(pod(), {"metadata": {"$deleteFromPrimitiveList": ["x"]}})
    assert (err.code, err.reason, err.message) == (
        400,
        "BadRequest",
        "invalid patch format of primitive list",
    )


# ---------------------------------------------------------------------------------------------------------
# Strategic merge patch: kubectl commands


def test_smp_rollout_restart_adds_template_annotation():
    patch = {
        "spec": {
            "template": {
                "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}}
            }
        }
    }
    out = smp(deployment(), patch, DEPLOYMENT)
    template = out["spec"]["template"]
    assert template["metadata"] == {
        "labels": {"app": "web"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"},
    }
    assert template["spec"] == deployment()["spec"]["template"]["spec"]


def test_smp_rollout_pause_and_scale():
    out = smp(deployment(), {"spec": {"paused": True, "replicas": 5}}, DEPLOYMENT)
    assert out["spec"]["paused"] is True and out["spec"]["replicas"] == 5
    assert out["spec"]["strategy"] == deployment()["spec"]["strategy"]


def test_smp_set_image_on_deployment_template():
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}
    out = smp(deployment(), patch, DEPLOYMENT)
    assert out["spec"]["template"]["spec"]["containers"] == [{"name": "app", "image": "nginx:1.27"}]


def test_smp_does_not_mutate_inputs():
    doc = pod()
    patch = {
        "metadata": {"labels": {"tier": None}, "$deleteFromPrimitiveList/finalizers": ["example.com/a"]},
        "spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
            "containers": [{"name": "app", "env": [{"name": "A", "$patch": "delete"}]}],
            "volumes": [{"name": "new", "emptyDir": {"medium": None}}],
        },
    }
    doc_before, patch_before = copy.deepcopy(doc), copy.deepcopy(patch)
    out = smp(doc, patch)
    assert doc == doc_before and patch == patch_before
    out["spec"]["volumes"][0]["emptyDir"]["medium"] = "Memory"
    out["spec"]["containers"][1]["env"].append({"name": "Z"})
    assert doc == doc_before and patch == patch_before


def test_smp_null_patch_is_a_no_op():
    assert smp(pod(), None) == pod()


# ---------------------------------------------------------------------------------------------------------
# Strategic merge patch: errors as kube answers them


def test_smp_unknown_patch_directive_on_map_is_internal_error():
    err = smp_error(pod(), {"metadata": {"labels": {"$patch": "merge"}}})
    assert (err.code, err.reason) == (500, "")
    assert err.message == "unknown patch type: merge in map: map[$patch:merge]"


def test_smp_unknown_patch_directive_on_list_item():
    err = smp_error(pod(), {"spec": {"containers": [{"name": "app", "$patch": "bogus"}]}})
    assert err.code == 500
    assert err.message == "unknown patch type: bogus in map: map[$patch:bogus name:app]"


def test_smp_patch_merge_in_list_is_refused():
    err = smp_error(pod(), {"spec": {"containers": [{"$patch": "merge"}]}})
    assert (err.code, err.message) == (500, "merging lists cannot yet be specified in the patch")


def test_smp_missing_merge_key_is_reported():
    err = smp_error(pod(), {"spec": {"containers": [{"image": "nginx"}]}})
    assert err.code == 500
    assert err.message == "map: map[image:nginx] does not contain declared merge key: name"


def test_smp_delete_directive_needs_merge_key():
    err = smp_error(pod(), {"spec": {"containers": [{"$patch": "delete"}]}})
    assert err.message == "map: map[$patch:delete] does not contain declared merge key: name"


def test_smp_mixed_element_types_are_refused():
    err = smp_error(pod(), {"metadata": {"finalizers": [1]}})
    assert err.code == 500
    assert err.message == "list element types are not identical: [[example.com/a example.com/b] [1]]"


def test_smp_list_of_lists_is_invalid():
    doc = pod()
    doc["metadata"]["finalizers"] = []
    err = smp_error(doc, {"metadata": {"finalizers": [["a"]]}})
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message == "the server rejected our request due to an error in our request"


def test_smp_non_object_patch_is_bad_request():
    err = smp_error(pod(), ["a"])
    assert (err.code, err.reason) == (400, "BadRequest")
    assert err.message == "json: cannot unmarshal array into Go value of type map[string]interface {}"


def test_smp_on_crd_style_inline_schema():
    node = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "workers": {
                        "type": "array",
                        "x-kubernetes-patch-strategy": "merge",
                        "x-kubernetes-patch-merge-key": "id",
                        "items": {
                            "type": "object",
                            "properties": {"id": {"type": "string"}, "gpus": {"type": "integer"}},
                        },
                    },
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            }
        },
    }
    doc = {"spec": {"workers": [{"id": "a", "gpus": 1}], "tags": ["x"]}}
    out = strategic_merge_patch(
        doc, {"spec": {"workers": [{"id": "a", "gpus": 8}], "tags": ["y"]}}, node, schema.identity
    )
    assert out == {"spec": {"workers": [{"id": "a", "gpus": 8}], "tags": ["y"]}}


# ---------------------------------------------------------------------------------------------------------
# JSON patch (RFC 6902, evanphx/json-patch v4 semantics)


def jp_error(doc: dict[str, Any], ops: Any) -> PatchError:
    with pytest.raises(PatchError) as info:
        json_patch(doc, ops)
    return info.value


def assert_invalid(err: PatchError, cause: str) -> None:
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message == "the server rejected our request due to an error in our request"
    assert err.details == {}
    assert str(err.__cause__) == cause


def test_json_patch_add_remove_replace():
    ops = [
        {"op": "add", "path": "/metadata/labels/version", "value": "v2"},
        {"op": "remove", "path": "/metadata/labels/tier"},
        {"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:1.27"},
    ]
    out = json_patch(pod(), ops)
    assert out["metadata"]["labels"] == {"app": "web", "version": "v2"}
    assert out["spec"]["containers"][0]["image"] == "nginx:1.27"


def test_json_patch_pointer_escapes():
    doc = pod()
    doc["metadata"]["annotations"]["a~b"] = "tilde"
    ops = [
        {"op": "replace", "path": "/metadata/annotations/example.com~1owner", "value": "team-b"},
        {"op": "remove", "path": "/metadata/annotations/a~0b"},
        {"op": "add", "path": "/metadata/annotations/x~01", "value": "literal ~1"},
    ]
    out = json_patch(doc, ops)
    assert out["metadata"]["annotations"] == {"example.com/owner": "team-b", "x~1": "literal ~1"}


def test_json_patch_dash_appends_and_index_inserts():
    ops = [
        {"op": "add", "path": "/metadata/finalizers/-", "value": "example.com/z"},
        {"op": "add", "path": "/metadata/finalizers/0", "value": "example.com/first"},
    ]
    out = json_patch(pod(), ops)
    assert out["metadata"]["finalizers"] == [
        "example.com/first",
        "example.com/a",
        "example.com/b",
        "example.com/z",
    ]


def test_json_patch_negative_indices_count_from_the_end():
    out = json_patch(pod(), [{"op": "remove", "path": "/metadata/finalizers/-1"}])
    assert out["metadata"]["finalizers"] == ["example.com/a"]
    out = json_patch(pod(), [{"op": "add", "path": "/metadata/finalizers/-1", "value": "z"}])
    assert out["metadata"]["finalizers"] == ["example.com/a", "example.com/b", "z"]


def test_json_patch_move_and_copy():
    ops = [
        {"op": "copy", "from": "/metadata/labels/app", "path": "/metadata/annotations/app"},
        {"op": "move", "from": "/spec/containers/1", "path": "/spec/containers/0"},
    ]
    out = json_patch(pod(), ops)
    assert out["metadata"]["annotations"]["app"] == "web"
    assert names(out["spec"]["containers"]) == ["sidecar", "app"]


def test_json_patch_test_op_passes_and_fails():
    ok = [{"op": "test", "path": "/spec/containers/0/ports/0/containerPort", "value": 80}]
    assert json_patch(pod(), ok) == pod()
    err = jp_error(pod(), [{"op": "test", "path": "/metadata/name", "value": "other"}])
    assert_invalid(err, "testing value /metadata/name failed: test failed")


def test_json_patch_test_compares_number_types_like_the_library():
    err = jp_error(pod(), [{"op": "test", "path": "/spec/containers/0/ports/0/containerPort", "value": 80.0}])
    assert_invalid(err, "testing value /spec/containers/0/ports/0/containerPort failed: test failed")
    doc = {"spec": {"paused": True}}
    jp_error(doc, [{"op": "test", "path": "/spec/paused", "value": 1}])


def test_json_patch_test_null_matches_missing_key():
    assert json_patch(pod(), [{"op": "test", "path": "/metadata/uid", "value": None}]) == pod()


def test_json_patch_test_whole_document():
    assert json_patch({"a": 1}, [{"op": "test", "path": "", "value": {"a": 1}}]) == {"a": 1}
    jp_error({"a": 1}, [{"op": "test", "path": "", "value": {"a": 2}}])


def test_json_patch_remove_missing_key_is_invalid():
    err = jp_error(pod(), [{"op": "remove", "path": "/metadata/labels/nothere"}])
    assert_invalid(
        err,
        "error in remove for path: '/metadata/labels/nothere': Unable to remove nonexistent key: nothere: missing value",
    )


def test_json_patch_replace_missing_object_key_adds_it():
    # gopkg.in/evanphx/json-patch.v4 does not check that the key exists; kube inherits that.
    out = json_patch(pod(), [{"op": "replace", "path": "/metadata/labels/new", "value": "x"}])
    assert out["metadata"]["labels"]["new"] == "x"


def test_json_patch_replace_out_of_range_index_is_invalid():
    err = jp_error(pod(), [{"op": "replace", "path": "/metadata/finalizers/5", "value": "x"}])
    assert_invalid(
        err, "replace operation does not apply: doc is missing key: /metadata/finalizers/5: missing value"
    )


def test_json_patch_add_under_missing_parent_is_invalid():
    err = jp_error(pod(), [{"op": "add", "path": "/spec/affinity/nodeAffinity", "value": {}}])
    assert_invalid(
        err, 'add operation does not apply: doc is missing path: "/spec/affinity/nodeAffinity": missing value'
    )


def test_json_patch_add_past_end_of_array_is_invalid():
    err = jp_error(pod(), [{"op": "add", "path": "/metadata/finalizers/3", "value": "x"}])
    assert_invalid(
        err,
        "error in add for path: '/metadata/finalizers/3': Unable to access invalid index: 3: invalid index referenced",
    )


def test_json_patch_move_into_own_child_is_invalid():
    err = jp_error(pod(), [{"op": "move", "from": "/spec", "path": "/spec/inner"}])
    assert err.code == 422


def test_json_patch_copy_from_missing_key_writes_null():
    out = json_patch(pod(), [{"op": "copy", "from": "/metadata/nothere", "path": "/metadata/labels/x"}])
    assert out["metadata"]["labels"]["x"] is None


def test_json_patch_add_without_value_adds_null():
    out = json_patch(pod(), [{"op": "add", "path": "/metadata/labels/x"}])
    assert out["metadata"]["labels"]["x"] is None


def test_json_patch_unknown_op_and_missing_path_are_invalid():
    assert_invalid(jp_error(pod(), [{"op": "frobnicate", "path": "/a"}]), "Unexpected kind: frobnicate")
    assert_invalid(
        jp_error(pod(), [{"op": "add", "value": 1}]), "add operation failed to decode path: missing value"
    )


def test_json_patch_failure_leaves_no_partial_result():
    doc = pod()
    ops = [{"op": "add", "path": "/metadata/labels/x", "value": "1"}, {"op": "remove", "path": "/nope"}]
    jp_error(doc, ops)
    assert doc == pod()


def test_json_patch_replace_root_with_object():
    assert json_patch(pod(), [{"op": "replace", "path": "", "value": {"kind": "Pod"}}]) == {"kind": "Pod"}


def test_json_patch_turning_the_object_into_an_array_is_invalid():
    err = jp_error(pod(), [{"op": "replace", "path": "", "value": [1]}])
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message.startswith(' "" is invalid: patch: Invalid value: "[1]": ')
    assert err.details is not None and err.details["causes"][0]["field"] == "patch"


def test_json_patch_body_must_be_a_list_of_objects():
    err = jp_error(pod(), {"op": "add"})
    assert (err.code, err.reason) == (400, "BadRequest")
    assert err.message == "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
    err = jp_error(pod(), ["add"])
    assert err.message == "json: cannot unmarshal string into Go value of type jsonpatch.Operation"


def test_json_patch_operation_limit():
    ops = [{"op": "test", "path": "/kind", "value": "Pod"}] * 10001
    err = jp_error(pod(), ops)
    assert (err.code, err.reason) == (413, "RequestEntityTooLarge")
    assert err.message == (
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
    )


def test_json_patch_does_not_alias_or_mutate():
    doc = pod()
    value = {"k": ["v"]}
    ops = [{"op": "add", "path": "/metadata/labels2", "value": value}]
    out = json_patch(doc, ops)
    out["metadata"]["labels2"]["k"].append("w")
    out["spec"]["containers"][0]["image"] = "changed"
    assert value == {"k": ["v"]}
    assert doc == pod()


# ---------------------------------------------------------------------------------------------------------
# JSON merge patch (RFC 7386)


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"a": 1, "e": None}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7386_appendix_cases(target, patch, expected):
    assert merge_patch(target, patch) == expected


def test_merge_patch_labels_and_lists_on_a_pod():
    out = merge_patch(
        pod(), {"metadata": {"labels": {"tier": None, "v": "2"}}, "spec": {"containers": [{"name": "only"}]}}
    )
    assert out["metadata"]["labels"] == {"app": "web", "v": "2"}
    assert out["spec"]["containers"] == [{"name": "only"}]


def test_merge_patch_keeps_nulls_inside_arrays():
    out = merge_patch({"a": {"b": 1}}, {"a": {"list": [None, {"x": None, "y": 1}]}})
    assert out == {"a": {"b": 1, "list": [None, {"y": 1}]}}


def test_merge_patch_null_or_scalar_is_bad_request():
    for bad in (None, "bar", 3):
        with pytest.raises(PatchError) as info:
            merge_patch({"a": "foo"}, bad)  # type: ignore[arg-type]
        assert (info.value.code, info.value.reason, info.value.message) == (
            400,
            "BadRequest",
            "Invalid JSON Patch",
        )


def test_merge_patch_array_body_is_invalid():
    with pytest.raises(PatchError) as info:
        merge_patch(pod(), ["x"])  # type: ignore[arg-type]
    assert (info.value.code, info.value.reason) == (422, "Invalid")


def test_merge_patch_does_not_mutate_or_alias():
    doc = pod()
    patch: dict[str, Any] = {"metadata": {"labels": {"new": "x"}}, "spec": {"tolerations": [{"key": "z"}]}}
    out = merge_patch(doc, patch)
    out["spec"]["tolerations"][0]["key"] = "changed"
    out["metadata"]["labels"]["app"] = "changed"
    assert doc == pod()
    assert patch["spec"]["tolerations"] == [{"key": "z"}]
