"""OpenAPI v3 documents (/openapi/v3): the shapes kubectl and client-go rely on."""

from __future__ import annotations

import copy
import hashlib
import re
import time
from typing import Any

import orjson
import pytest

from kubenest.api import openapi, resources, schema
from kubenest.api.resources import ResourceInfo

Node = dict[str, Any]
METHODS = ("get", "put", "post", "delete", "patch")
CORE = "#/components/schemas/"


@pytest.fixture(scope="module")
def schemas() -> schema.Schemas:
    return schema.load("1.37")


@pytest.fixture(scope="module")
def surface() -> resources.ApiSurface:
    return resources.surface("1.37")


@pytest.fixture(scope="module")
def core_doc(schemas: schema.Schemas, surface: resources.ApiSurface) -> Node:
    return openapi.group_version_document(schemas, surface.resources, "", "v1")


@pytest.fixture(scope="module")
def apps_doc(schemas: schema.Schemas, surface: resources.ApiSurface) -> Node:
    return openapi.group_version_document(schemas, surface.resources, "apps", "v1")


WIDGET_SCHEMA: Node = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "description": "Size of the widget."},
                "port": {"x-kubernetes-int-or-string": True},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                },
                "ids": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def widget(**overrides: Any) -> ResourceInfo:
    fields: dict[str, Any] = dict(
        group="example.com",
        version="v1",
        kind="Widget",
        plural="widgets",
        namespaced=True,
        subresources=("status", "scale"),
        crd_schema=copy.deepcopy(WIDGET_SCHEMA),
    )
    fields.update(overrides)
    return ResourceInfo(**fields)


@pytest.fixture(scope="module")
def widget_doc(schemas: schema.Schemas) -> Node:
    return openapi.group_version_document(schemas, [widget()], "example.com", "v1")


def operations(doc: Node) -> list[tuple[str, str, Node]]:
    return [(path, m, item[m]) for path, item in doc["paths"].items() for m in METHODS if m in item]


def all_params(doc: Node, path: str, method: str) -> dict[tuple[str, str], Node]:
    item = doc["paths"][path]
    params = item.get("parameters", []) + item[method].get("parameters", [])
    return {(p["name"], p["in"]): p for p in params}


def resolve(doc: Node, node: Node) -> Node:
    """Follow allOf[0] and $ref the way strategicpatch.PatchMetaFromOpenAPIV3 does."""
    if node.get("allOf"):
        node = node["allOf"][0]
    ref = node.get("$ref")
    if ref:
        node = doc["components"]["schemas"][ref.removeprefix(CORE)]
    return node


def schema_for_gvk(doc: Node, gvk: Node) -> tuple[str, Node] | None:
    """The first component (in sorted order) whose GVK list contains gvk, as kubectl explain finds it."""
    for name in sorted(doc["components"]["schemas"]):
        node = doc["components"]["schemas"][name]
        if gvk in node.get("x-kubernetes-group-version-kind", []):
            return name, node
    return None


def refs_in(doc: Node) -> set[str]:
    return set(re.findall(r'"#/components/schemas/([^"]+)"', orjson.dumps(doc).decode()))


# -- index and hashing ------------------------------------------------------------------------


def test_index_points_every_group_version_at_its_hashed_url_without_cluster_prefix() -> None:
    idx = openapi.index({"apis/apps/v1": "BB", "api/v1": "AA"})
    assert idx == {
        "paths": {
            "api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=AA"},
            "apis/apps/v1": {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=BB"},
        }
    }
    assert list(idx["paths"]) == ["api/v1", "apis/apps/v1"]


def test_gv_path_names_core_and_named_groups() -> None:
    assert openapi.gv_path("", "v1") == "api/v1"
    assert openapi.gv_path("apps", "v1") == "apis/apps/v1"


def test_document_hash_is_uppercase_sha512_of_its_bytes(core_doc: Node) -> None:
    data, digest = openapi.document_bytes_and_hash(core_doc)
    assert digest == hashlib.sha512(data).hexdigest().upper()
    assert re.fullmatch(r"[0-9A-F]{128}", digest)
    assert orjson.loads(data)["openapi"] == "3.0.0"
    assert openapi.document_bytes_and_hash(core_doc) == (data, digest)


def test_document_hash_changes_with_content(schemas: schema.Schemas) -> None:
    a = openapi.group_version_document(schemas, [widget()], "example.com", "v1")
    b = openapi.group_version_document(schemas, [widget(subresources=())], "example.com", "v1")
    assert openapi.document_bytes_and_hash(a)[1] != openapi.document_bytes_and_hash(b)[1]


# -- a built-in document ------------------------------------------------------------------------


def test_core_document_header_names_the_kubernetes_version(core_doc: Node) -> None:
    assert core_doc["openapi"] == "3.0.0"
    assert core_doc["info"] == {"title": "Kubernetes", "version": "v1.37.0"}


def test_pods_have_collection_item_status_all_namespaces_and_watch_paths(core_doc: Node) -> None:
    paths = core_doc["paths"]
    base = "/api/v1/namespaces/{namespace}/pods"
    assert set(paths[base]) >= {"get", "post", "delete"}
    assert set(paths[base + "/{name}"]) >= {"get", "put", "patch", "delete"}
    assert set(paths[base + "/{name}/status"]) >= {"get", "put", "patch"}
    assert paths["/api/v1/pods"]["get"]["x-kubernetes-action"] == "list"
    assert paths["/api/v1/watch/namespaces/{namespace}/pods"]["get"]["x-kubernetes-action"] == "watchlist"
    assert paths["/api/v1/watch/namespaces/{namespace}/pods/{name}"]["get"]["x-kubernetes-action"] == "watch"
    assert paths["/api/v1/watch/pods"]["get"]["x-kubernetes-action"] == "watchlist"
    assert paths["/api/v1/"]["get"]["operationId"] == "getCoreV1APIResources"


def test_pod_operations_carry_kube_action_ids_and_gvk(core_doc: Node) -> None:
    item = core_doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]
    gvk = {"group": "", "kind": "Pod", "version": "v1"}
    expected = {
        "get": ("get", "readCoreV1NamespacedPod"),
        "put": ("put", "replaceCoreV1NamespacedPod"),
        "patch": ("patch", "patchCoreV1NamespacedPod"),
        "delete": ("delete", "deleteCoreV1NamespacedPod"),
    }
    for method, (action, op_id) in expected.items():
        assert item[method]["x-kubernetes-action"] == action
        assert item[method]["operationId"] == op_id
        assert item[method]["x-kubernetes-group-version-kind"] == gvk
        assert item[method]["tags"] == ["core_v1"]
    coll = core_doc["paths"]["/api/v1/namespaces/{namespace}/pods"]
    assert coll["post"]["x-kubernetes-action"] == "post"
    assert coll["delete"]["x-kubernetes-action"] == "deletecollection"
    assert coll["delete"]["operationId"] == "deleteCoreV1CollectionNamespacedPod"


def test_every_operation_has_action_and_group_version_kind(core_doc: Node, apps_doc: Node) -> None:
    for doc in (core_doc, apps_doc):
        for path, method, op in operations(doc):
            if path.endswith("/v1/"):
                continue  # the resource list of the group-version has no kind
            assert op.get("x-kubernetes-action"), (path, method)
            assert set(op["x-kubernetes-group-version-kind"]) == {"group", "kind", "version"}, (path, method)


def test_every_patch_operation_offers_field_validation_and_all_patch_types(
    core_doc: Node, apps_doc: Node
) -> None:
    patches = [(p, op) for doc in (core_doc, apps_doc) for p, m, op in operations(doc) if m == "patch"]
    assert len(patches) > 20
    for path, op in patches:
        # kubectl's QueryParamVerifierV3 reads the PATCH operation's own parameters, not the path's.
        names = {(p["name"], p["in"]) for p in op["parameters"]}
        assert ("fieldValidation", "query") in names, path
        assert {("dryRun", "query"), ("fieldManager", "query"), ("force", "query")} <= names, path
        assert set(op["requestBody"]["content"]) == {
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
            "application/apply-patch+yaml",
        }, path
        body = op["requestBody"]["content"]["application/json-patch+json"]["schema"]
        assert body == {"$ref": CORE + openapi.PATCH}


def test_field_validation_support_is_found_for_every_patchable_kind(core_doc: Node, apps_doc: Node) -> None:
    # Whatever PATCH operation kubectl meets first for a GVK (Go map order), it must list fieldValidation.
    for doc in (core_doc, apps_doc):
        by_gvk: dict[tuple[str, str, str], list[Node]] = {}
        for _, method, op in operations(doc):
            if method == "patch":
                g = op["x-kubernetes-group-version-kind"]
                by_gvk.setdefault((g["group"], g["version"], g["kind"]), []).append(op)
        for ops in by_gvk.values():
            for op in ops:
                assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in op["parameters"])
        assert by_gvk
    assert {("", "v1", "Pod"), ("", "v1", "Namespace")} <= set(by_gvk_of(core_doc))
    assert {("apps", "v1", "Deployment"), ("autoscaling", "v1", "Scale")} <= set(by_gvk_of(apps_doc))


def by_gvk_of(doc: Node) -> list[tuple[str, str, str]]:
    gvks = [op["x-kubernetes-group-version-kind"] for _, m, op in operations(doc) if m == "patch"]
    return [(g["group"], g["version"], g["kind"]) for g in gvks]


def test_create_and_replace_offer_field_validation(core_doc: Node) -> None:
    coll = "/api/v1/namespaces/{namespace}/configmaps"
    assert ("fieldValidation", "query") in all_params(core_doc, coll, "post")
    assert ("fieldValidation", "query") in all_params(core_doc, coll + "/{name}", "put")


def test_namespaced_paths_carry_required_namespace_and_name_path_params(core_doc: Node) -> None:
    item = core_doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]
    path_params = {p["name"]: p for p in item["parameters"] if p["in"] == "path"}
    assert set(path_params) == {"name", "namespace"}
    assert all(p["required"] is True and p["schema"]["type"] == "string" for p in path_params.values())
    assert [p["name"] for p in item["parameters"]] == ["name", "namespace", "pretty"]
    cluster = core_doc["paths"]["/api/v1/nodes/{name}"]
    assert [p["name"] for p in cluster["parameters"] if p["in"] == "path"] == ["name"]


def test_list_and_watch_operations_carry_list_query_params(core_doc: Node) -> None:
    listing = all_params(core_doc, "/api/v1/namespaces/{namespace}/pods", "get")
    for name in (
        "watch",
        "labelSelector",
        "fieldSelector",
        "resourceVersion",
        "resourceVersionMatch",
        "limit",
        "continue",
        "timeoutSeconds",
        "allowWatchBookmarks",
        "sendInitialEvents",
    ):
        assert (name, "query") in listing, name
    watch = core_doc["paths"]["/api/v1/watch/namespaces/{namespace}/pods/{name}"]
    assert {p["name"] for p in watch["parameters"]} >= {"name", "namespace", "watch", "resourceVersion"}
    delete = all_params(core_doc, "/api/v1/namespaces/{namespace}/pods/{name}", "delete")
    assert {("gracePeriodSeconds", "query"), ("propagationPolicy", "query"), ("dryRun", "query")} <= set(
        delete
    )
    deletecollection = all_params(core_doc, "/api/v1/namespaces/{namespace}/pods", "delete")
    assert ("labelSelector", "query") in deletecollection and ("watch", "query") not in deletecollection


def test_responses_reference_the_kind_list_and_status(core_doc: Node) -> None:
    base = "/api/v1/namespaces/{namespace}/configmaps"
    listing = core_doc["paths"][base]["get"]["responses"]["200"]["content"]
    assert listing["application/json"]["schema"] == {"$ref": CORE + "io.k8s.api.core.v1.ConfigMapList"}
    assert "application/json;stream=watch" in listing
    created = core_doc["paths"][base]["post"]["responses"]
    assert set(created) == {"200", "201", "202", "401"}
    assert created["401"] == {"description": "Unauthorized"}
    deleted = core_doc["paths"][base + "/{name}"]["delete"]["responses"]["200"]["content"]
    assert deleted["application/json"]["schema"] == {"$ref": CORE + openapi.STATUS}
    pod_deleted = core_doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["delete"]["responses"]
    assert pod_deleted["200"]["content"]["application/json"]["schema"] == {
        "$ref": CORE + "io.k8s.api.core.v1.Pod"
    }


def test_resources_without_a_verb_get_no_operation_for_it(core_doc: Node) -> None:
    cs = core_doc["paths"]["/api/v1/componentstatuses"]
    assert set(cs) == {"get", "parameters"}
    assert cs["get"]["description"] == "list objects of kind ComponentStatus"
    assert "/api/v1/watch/componentstatuses" not in core_doc["paths"]
    bindings = core_doc["paths"]["/api/v1/namespaces/{namespace}/bindings"]
    assert set(bindings) == {"post", "parameters"}
    assert "/api/v1/namespaces/{namespace}/bindings/{name}" not in core_doc["paths"]


def test_every_reference_resolves_inside_the_document(
    core_doc: Node, apps_doc: Node, widget_doc: Node
) -> None:
    for doc in (core_doc, apps_doc, widget_doc):
        missing = refs_in(doc) - set(doc["components"]["schemas"])
        assert not missing


def test_meta_types_are_always_included(widget_doc: Node, apps_doc: Node) -> None:
    for doc in (widget_doc, apps_doc):
        names = set(doc["components"]["schemas"])
        assert {
            openapi.OBJECT_META,
            openapi.LIST_META,
            openapi.STATUS,
            openapi.DELETE_OPTIONS,
            openapi.PATCH,
        } <= names
    assert openapi.WATCH_EVENT in apps_doc["components"]["schemas"]
    assert openapi.API_RESOURCE_LIST in apps_doc["components"]["schemas"]


def test_components_hold_only_what_the_group_version_reaches(apps_doc: Node) -> None:
    names = set(apps_doc["components"]["schemas"])
    assert "io.k8s.api.apps.v1.Deployment" in names and "io.k8s.api.core.v1.PodSpec" in names
    assert "io.k8s.api.batch.v1.Job" not in names
    assert "io.k8s.api.core.v1.Node" not in names


# -- kubectl explain and apply read the schemas ------------------------------------------------


def test_explain_finds_the_kind_schema_through_the_operation_gvk(core_doc: Node, apps_doc: Node) -> None:
    for doc, path, expected in (
        (core_doc, "/api/v1/namespaces/{namespace}/pods", "io.k8s.api.core.v1.Pod"),
        (apps_doc, "/apis/apps/v1/namespaces/{namespace}/deployments", "io.k8s.api.apps.v1.Deployment"),
    ):
        gvk = doc["paths"][path]["get"]["x-kubernetes-group-version-kind"]
        found = schema_for_gvk(doc, gvk)
        assert found is not None and found[0] == expected


def test_strategic_merge_metadata_is_reachable_from_the_kind(core_doc: Node) -> None:
    pod = core_doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"]
    spec = resolve(core_doc, pod["properties"]["spec"])
    containers = spec["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-type"] == "map"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    container = resolve(core_doc, containers["items"])
    assert container["properties"]["ports"]["x-kubernetes-patch-merge-key"] == "containerPort"
    assert spec["properties"]["nodeSelector"]["x-kubernetes-map-type"] == "atomic"


def test_apps_document_serves_scale_with_the_autoscaling_scale_schema(apps_doc: Node) -> None:
    scale = apps_doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert set(scale) == {"get", "put", "patch", "parameters"}
    for method in ("get", "put", "patch"):
        assert scale[method]["x-kubernetes-group-version-kind"] == {
            "group": "autoscaling",
            "kind": "Scale",
            "version": "v1",
        }
    assert scale["patch"]["operationId"] == "patchAppsV1NamespacedDeploymentScale"
    ok = scale["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": CORE + openapi.SCALE}
    components = apps_doc["components"]["schemas"]
    assert openapi.SCALE in components and "io.k8s.api.autoscaling.v1.ScaleSpec" in components
    status = apps_doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"]
    assert status["patch"]["x-kubernetes-group-version-kind"]["kind"] == "Deployment"


# -- conversion to OpenAPI 3.0 ---------------------------------------------------------------


def test_nullable_type_lists_become_single_types() -> None:
    node = {
        "type": ["object", "null"],
        "properties": {"a": {"type": ["string", "null"], "format": "byte"}},
        "additionalProperties": {"type": ["integer", "null"]},
        "items": {"type": "string"},
    }
    assert openapi.convert_node(node) == {
        "type": "object",
        "properties": {"a": {"type": "string", "format": "byte"}},
        "additionalProperties": {"type": "integer"},
        "items": {"type": "string"},
    }


def test_references_point_at_components_and_are_wrapped_when_they_have_siblings() -> None:
    refs: set[str] = set()
    node = {
        "properties": {
            "bare": {"$ref": "#/$defs/a.B"},
            "described": {"$ref": "#/$defs/a.C", "description": "x"},
            "list": {"type": "array", "items": {"$ref": "#/$defs/a.D"}},
        }
    }
    out = openapi.convert_node(node, refs)
    assert out["properties"]["bare"] == {"$ref": "#/components/schemas/a.B"}
    assert out["properties"]["described"] == {
        "allOf": [{"$ref": "#/components/schemas/a.C"}],
        "description": "x",
    }
    assert out["properties"]["list"]["items"] == {"$ref": "#/components/schemas/a.D"}
    assert refs == {"a.B", "a.C", "a.D"}


def test_converted_pod_has_no_json_schema_leftovers(core_doc: Node) -> None:
    text = orjson.dumps(core_doc["components"]).decode()
    assert "#/$defs/" not in text
    assert '"null"' not in text
    pod = core_doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"]
    assert pod["type"] == "object"
    assert pod["properties"]["apiVersion"] == {
        "description": pod["properties"]["apiVersion"]["description"],
        "type": "string",
    }
    assert pod["properties"]["metadata"]["allOf"] == [{"$ref": CORE + openapi.OBJECT_META}]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]


def test_int_or_string_and_quantity_are_served_like_kube(core_doc: Node) -> None:
    components = core_doc["components"]["schemas"]
    ios = components[openapi.INT_OR_STRING]
    assert ios["format"] == "int-or-string"
    assert ios["oneOf"] == [{"type": "integer"}, {"type": "string"}]
    assert ios["description"].startswith("IntOrString is a type")
    assert components[openapi.QUANTITY]["oneOf"] == [{"type": "string"}, {"type": "number"}]


def test_list_type_unions_and_required_are_kept(schemas: schema.Schemas) -> None:
    conv = openapi.convert_definition(
        "io.k8s.api.core.v1.PodSpec", schemas.defs["io.k8s.api.core.v1.PodSpec"]
    )
    assert conv["required"] == ["containers"]
    assert conv["properties"]["volumes"]["x-kubernetes-patch-strategy"] == "merge,retainKeys"
    unions = [n for n, d in schemas.defs.items() if "x-kubernetes-unions" in d]
    assert unions
    assert "x-kubernetes-unions" in openapi.convert_definition(unions[0], schemas.defs[unions[0]])


# -- custom resources -------------------------------------------------------------------------


def test_custom_kind_is_named_by_reversed_group(widget_doc: Node) -> None:
    assert openapi.custom_definition_name("example.com", "v1", "Widget") == "com.example.v1.Widget"
    assert openapi.custom_definition_name("stable.example.co.uk", "v2", "A") == "uk.co.example.stable.v2.A"
    assert {"com.example.v1.Widget", "com.example.v1.WidgetList"} <= set(widget_doc["components"]["schemas"])
    assert widget_doc["info"] == {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"}


def test_custom_schema_gets_type_meta_object_meta_and_gvk(widget_doc: Node) -> None:
    node = widget_doc["components"]["schemas"]["com.example.v1.Widget"]
    props = node["properties"]
    assert props["metadata"]["allOf"] == [{"$ref": CORE + openapi.OBJECT_META}]
    assert props["apiVersion"]["type"] == "string" and props["kind"]["type"] == "string"
    assert props["spec"]["properties"]["size"] == {"type": "integer", "description": "Size of the widget."}
    assert node["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "kind": "Widget", "version": "v1"}
    ]
    lst = widget_doc["components"]["schemas"]["com.example.v1.WidgetList"]
    assert lst["required"] == ["items"]
    assert lst["properties"]["items"]["items"] == {"$ref": CORE + "com.example.v1.Widget"}
    assert lst["properties"]["metadata"]["allOf"] == [{"$ref": CORE + openapi.LIST_META}]
    assert lst["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "kind": "WidgetList", "version": "v1"}
    ]


def test_custom_schema_unfolds_int_or_string_and_completes_embedded_resources(widget_doc: Node) -> None:
    spec = widget_doc["components"]["schemas"]["com.example.v1.Widget"]["properties"]["spec"]["properties"]
    assert spec["port"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    template = spec["template"]
    assert set(template["properties"]) == {"apiVersion", "kind", "metadata"}
    assert template["properties"]["metadata"]["allOf"] == [{"$ref": CORE + openapi.OBJECT_META}]
    assert template["required"] == ["kind", "apiVersion"]
    assert spec["ids"]["x-kubernetes-list-type"] == "set"


def test_custom_schema_building_leaves_the_crd_schema_untouched(schemas: schema.Schemas) -> None:
    info = widget()
    before = copy.deepcopy(info.crd_schema)
    openapi.group_version_document(schemas, [info], "example.com", "v1")
    assert info.crd_schema == before


def test_custom_resource_paths_patch_without_strategic_merge(widget_doc: Node) -> None:
    paths = widget_doc["paths"]
    base = "/apis/example.com/v1/namespaces/{namespace}/widgets"
    assert set(paths) == {
        "/apis/example.com/v1/widgets",
        base,
        base + "/{name}",
        base + "/{name}/status",
        base + "/{name}/scale",
    }
    gvk = {"group": "example.com", "kind": "Widget", "version": "v1"}
    patch = paths[base + "/{name}"]["patch"]
    assert patch["operationId"] == "patchExampleComV1NamespacedWidget"
    assert patch["x-kubernetes-group-version-kind"] == gvk
    assert ("fieldValidation", "query") in {(p["name"], p["in"]) for p in patch["parameters"]}
    assert set(patch["requestBody"]["content"]) == {
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/apply-patch+yaml",
    }
    scale = paths[base + "/{name}/scale"]
    assert scale["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": CORE + openapi.SCALE
    }
    assert scale["patch"]["x-kubernetes-group-version-kind"] == gvk
    assert openapi.SCALE in widget_doc["components"]["schemas"]
    found = schema_for_gvk(widget_doc, paths[base]["get"]["x-kubernetes-group-version-kind"])
    assert found is not None and found[0] == "com.example.v1.Widget"


def test_cluster_scoped_custom_resource_has_no_namespace_paths(schemas: schema.Schemas) -> None:
    doc = openapi.group_version_document(
        schemas, [widget(namespaced=False, subresources=())], "example.com", "v1"
    )
    assert set(doc["paths"]) == {"/apis/example.com/v1/widgets", "/apis/example.com/v1/widgets/{name}"}
    item = doc["paths"]["/apis/example.com/v1/widgets/{name}"]
    assert [p["name"] for p in item["parameters"] if p["in"] == "path"] == ["name"]


def test_custom_resource_without_schema_is_a_bare_object(schemas: schema.Schemas) -> None:
    doc = openapi.group_version_document(schemas, [widget(crd_schema={})], "example.com", "v1")
    assert doc["components"]["schemas"]["com.example.v1.Widget"] == {
        "type": "object",
        "x-kubernetes-group-version-kind": [{"group": "example.com", "kind": "Widget", "version": "v1"}],
    }


def test_custom_document_without_schemas_uses_default_meta_types() -> None:
    doc = openapi.group_version_document(None, [widget()], "example.com", "v1")
    assert openapi.OBJECT_META in doc["components"]["schemas"]
    assert not refs_in(doc) - set(doc["components"]["schemas"])


def test_other_group_versions_are_left_out(schemas: schema.Schemas, surface: resources.ApiSurface) -> None:
    doc = openapi.group_version_document(schemas, [*surface.resources, widget()], "example.com", "v1")
    assert all(p.startswith("/apis/example.com/v1/") for p in doc["paths"])
    core = openapi.group_version_document(schemas, [*surface.resources, widget()], "", "v1")
    assert not any("example.com" in p for p in core["paths"])


# -- versions and speed ----------------------------------------------------------------------


def test_older_versions_omit_parameters_they_did_not_have() -> None:
    old = schema.load("1.25")
    doc = openapi.group_version_document(old, resources.surface("1.25").resources, "", "v1")
    assert doc["info"]["version"] == "v1.25.0"
    listing = all_params(doc, "/api/v1/namespaces/{namespace}/pods", "get")
    assert ("sendInitialEvents", "query") not in listing
    delete = all_params(doc, "/api/v1/namespaces/{namespace}/pods/{name}", "delete")
    assert ("ignoreStoreReadErrorWithClusterBreakingPotential", "query") not in delete


def test_api_v1_document_is_produced_for_every_served_group_version(
    schemas: schema.Schemas, surface: resources.ApiSurface
) -> None:
    start = time.perf_counter()
    doc = openapi.group_version_document(schemas, surface.resources, "", "v1")
    data, _ = openapi.document_bytes_and_hash(doc)
    elapsed_ms = (time.perf_counter() - start) * 1000
    print(f"api/v1 document: {len(data)} bytes in {elapsed_ms:.1f} ms")
    assert len(doc["paths"]) > 50 and len(doc["components"]["schemas"]) > 100
    for group, versions in surface.groups().items():
        for version in versions:
            gv_doc = openapi.group_version_document(schemas, surface.resources, group, version)
            assert gv_doc["paths"], (group, version)
            assert not refs_in(gv_doc) - set(gv_doc["components"]["schemas"]), (group, version)


def test_operation_descriptions_follow_kube_wording(core_doc: Node) -> None:
    paths = core_doc["paths"]
    assert paths["/api/v1/namespaces/{namespace}/pods"]["post"]["description"] == "create a Pod"
    assert paths["/api/v1/namespaces/{namespace}/endpoints"]["post"]["description"] == "create Endpoints"
    assert (
        paths["/api/v1/namespaces/{namespace}/pods"]["get"]["description"]
        == "list or watch objects of kind Pod"
    )
    status = paths["/api/v1/namespaces/{namespace}/pods/{name}/status"]
    assert status["patch"]["description"] == "partially update status of the specified Pod"
    assert status["patch"]["operationId"] == "patchCoreV1NamespacedPodStatus"


def test_post_only_subresources_take_their_own_kind(core_doc: Node) -> None:
    eviction = core_doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]
    assert set(eviction) == {"post", "parameters"}
    assert eviction["post"]["x-kubernetes-group-version-kind"] == {
        "group": "policy",
        "kind": "Eviction",
        "version": "v1",
    }
    body = eviction["post"]["requestBody"]["content"]["*/*"]["schema"]
    assert body == {"$ref": CORE + "io.k8s.api.policy.v1.Eviction"}
    assert "io.k8s.api.policy.v1.Eviction" in core_doc["components"]["schemas"]
