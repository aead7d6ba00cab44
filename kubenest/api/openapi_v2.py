"""The OpenAPI v2 document of a logical cluster, as kube-apiserver serves it at `/openapi/v2`.

kubectl still reads OpenAPI v2 for client-side schema validation where server-side field validation
cannot help: a `kind: List` file (what `kubectl get -o yaml` writes for several objects) is validated
item by item against the definitions whose `x-kubernetes-group-version-kind` names each item's kind
(kubectl/pkg/validation, k8s.io/kube-openapi/pkg/util/proto). That parser is strict: a definition with
several types, a `$ref` next to a type or properties, or an array without items fails the whole
document, so every definition here keeps to the v2 forms kube publishes.

Definitions come from the same data as the v3 documents (`openapi.py`): built-ins converted from
kubernetes-validate, custom resources completed from their CRD schemas. They are turned into v2 form
the way kube does it: `$ref`s point at `#/definitions/`, IntOrString and Quantity become formatted
strings, and CRD schemas lose what apiextensions-apiserver's `ToStructuralOpenAPIV2` removes (junctors,
the types of nullable and preserve-unknown-fields nodes). Paths are empty: kubectl reads none of them
(without paths its patch-type lookup falls back to what it would have chosen from v2 paths anyway).

Each cluster's document is served as JSON and as gnostic protobuf (`gnostic.py`), with the uppercase
SHA-512 of the JSON bytes as ETag. The built-in part is built and encoded once per Kubernetes version;
a cluster with CRDs adds its custom definitions, re-encoded only when its CRDs change.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from kubenest.api import gnostic, openapi, schema
from kubenest.api.clusters import LogicalCluster
from kubenest.api.resources import ResourceInfo

Node = dict[str, Any]

JSON = "application/json"
_V3_REF = "#/components/schemas/"
_V2_REF = "#/definitions/"
_PRIMITIVES = {"string", "integer", "number", "boolean"}
_JUNCTORS = ("allOf", "anyOf", "oneOf", "not")

# Definitions a v2 document always carries besides the served kinds and their lists.
_META_ROOTS = (
    openapi.OBJECT_META,
    openapi.LIST_META,
    openapi.STATUS,
    openapi.DELETE_OPTIONS,
    openapi.PATCH,
    openapi.WATCH_EVENT,
    openapi.API_RESOURCE_LIST,
    openapi.SCALE,
)
# Kinds POSTed to subresources (pods/binding, pods/eviction, serviceaccounts/token).
_SUBRESOURCE_KINDS = (
    ("", "v1", "Binding"),
    ("policy", "v1", "Eviction"),
    ("authentication.k8s.io", "v1", "TokenRequest"),
)


# ---------------------------------------------------------------------------------------------
# v3 nodes to v2


def _unwrap_ref(node: Node) -> str | None:
    """The v3 reference a node stands for: `$ref`, or a one-element `allOf` holding only a `$ref`."""
    ref = node.get("$ref")
    if ref is None:
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and set(all_of[0]) == {"$ref"}:
            ref = all_of[0]["$ref"]
    return ref if isinstance(ref, str) else None


def builtin_node(node: Node) -> Node:
    """A built-in definition node (v3 form, from `openapi.convert_definition`) in kube's v2 form."""
    out: Node = {}
    ref = _unwrap_ref(node)
    if ref is not None:
        out["$ref"] = _V2_REF + ref.removeprefix(_V3_REF)
    for key, value in node.items():
        if key in ("$ref", "allOf", "anyOf", "not"):
            continue
        if key == "oneOf":
            # IntOrString and Quantity: several primitive types; v2 has one, and kube says string.
            if "type" not in node and all(
                isinstance(v, dict) and v.get("type") in _PRIMITIVES for v in value
            ):
                out["type"] = "string"
        elif key == "properties":
            out[key] = {name: builtin_node(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = builtin_node(value)
        else:
            out[key] = value
    return out


def custom_node(node: Node) -> Node:
    """A completed CRD schema node (v3 form) in the v2 form apiextensions-apiserver publishes.

    As `ToStructuralOpenAPIV2`: junctors go; a nullable node loses its type, items and properties; a
    preserve-unknown-fields node loses items and properties, and an object type; an array left without
    items loses its type; nullable properties are no longer required.
    """
    ref = _unwrap_ref(node)
    if ref is not None:
        out: Node = {"$ref": _V2_REF + ref.removeprefix(_V3_REF)}
        out.update((k, v) for k, v in node.items() if k not in ("$ref", *_JUNCTORS))
        return out
    out = {k: v for k, v in node.items() if k not in _JUNCTORS and k != "nullable"}
    props = node.get("properties")
    if isinstance(props, dict):
        out["properties"] = {name: custom_node(sub) for name, sub in props.items()}
        nullable = {name for name, sub in props.items() if isinstance(sub, dict) and sub.get("nullable")}
        if nullable and "required" in out:
            out["required"] = [r for r in out["required"] if r not in nullable]
    for key in ("items", "additionalProperties"):
        sub = node.get(key)
        if isinstance(sub, dict):
            out[key] = custom_node(sub)
            if key == "additionalProperties" and sub.get("nullable"):
                out.pop("required", None)
    if node.get("nullable"):
        for key in ("type", "items", "properties"):
            out.pop(key, None)
    if node.get("x-kubernetes-preserve-unknown-fields") is True:
        out.pop("items", None)
        out.pop("properties", None)
        if out.get("type") == "object":
            del out["type"]
    if out.get("type") == "array" and "items" not in out:
        del out["type"]
    if not out.get("required", True):
        del out["required"]
    return out


def custom_resource_definition(info: ResourceInfo, schemas: schema.Schemas) -> Node:
    """The v2 definition of a custom kind."""
    gvk = [{"group": info.group, "kind": info.kind, "version": info.version}]
    source = info.crd_schema or {}
    if info.preserve_unknown or source.get("x-kubernetes-preserve-unknown-fields") is True:
        # apiextensions publishes a bare object: any property kubectl knew of would make it refuse the rest.
        return {"type": "object", "x-kubernetes-group-version-kind": gvk}
    return custom_node(openapi.custom_resource_schema(info, schemas))


# ---------------------------------------------------------------------------------------------
# Documents


def builtin_roots(schemas: schema.Schemas, resources: Iterable[ResourceInfo]) -> list[str]:
    """The definitions a document starts from: served built-in kinds, their lists, and the meta types."""
    roots = list(_META_ROOTS)
    for group, version, kind in _SUBRESOURCE_KINDS:
        name = schemas.definition_name(group, version, kind)
        if name:
            roots.append(name)
    for info in resources:
        if info.is_custom:
            continue
        name = info.definition or schemas.definition_name(info.group, info.version, info.kind)
        list_name = schemas.definition_name(info.group, info.version, info.kind + "List")
        roots.extend(n for n in (name, list_name) if n)
    return roots


def builtin_definitions(schemas: schema.Schemas, resources: Iterable[ResourceInfo]) -> dict[str, Node]:
    """The v2 built-in definitions of a document serving `resources`."""
    v3 = openapi.builtin_definitions(schemas, builtin_roots(schemas, resources))
    return {name: builtin_node(node) for name, node in v3.items()}


def custom_definitions(schemas: schema.Schemas, resources: Iterable[ResourceInfo]) -> dict[str, Node]:
    """The v2 definitions of the custom kinds among `resources`, and of their lists."""
    out: dict[str, Node] = {}
    for info in resources:
        if not info.is_custom:
            continue
        name = openapi.custom_definition_name(info.group, info.version, info.kind)
        list_name = openapi.custom_definition_name(info.group, info.version, info.kind + "List")
        out[name] = custom_resource_definition(info, schemas)
        out[list_name] = custom_node(openapi.custom_list_schema(info, schemas))
    return out


def document(schemas: schema.Schemas, resources: list[ResourceInfo]) -> dict:
    """The OpenAPI v2 document of a cluster serving `resources` (built-in and custom)."""
    definitions = builtin_definitions(schemas, resources)
    definitions.update(custom_definitions(schemas, resources))
    return _swagger(schemas, dict(sorted(definitions.items())))


def _swagger(schemas: schema.Schemas, definitions: dict[str, Node]) -> dict:
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": f"v{schemas.version}.0"},
        "paths": {},
        "definitions": definitions,
    }


@dataclass(frozen=True)
class Served:
    """One document in both media types, and its ETag (uppercase hex SHA-512 of the JSON bytes)."""

    json: bytes
    protobuf: bytes
    etag: str


@dataclass(frozen=True)
class _Part:
    definitions: dict[str, Node]
    entries: dict[str, bytes]  # name -> encoded NamedSchema entry


def _part(definitions: dict[str, Node]) -> _Part:
    return _Part(definitions, {name: gnostic.named_schema(name, node) for name, node in definitions.items()})


def _serve(schemas: schema.Schemas, parts: Iterable[_Part]) -> Served:
    definitions: dict[str, Node] = {}
    entries: dict[str, bytes] = {}
    for part in parts:
        definitions.update(part.definitions)
        entries.update(part.entries)
    doc = _swagger(schemas, definitions)
    data = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    pb = gnostic.document(doc, b"".join(entries[name] for name in sorted(entries)))
    return Served(data, pb, hashlib.sha512(data).hexdigest().upper())


class DocumentCache:
    """Each cluster's served `/openapi/v2` document.

    Clusters without CRDs share their version's document. A cluster with CRDs gets its own, rebuilt
    when its custom resource table is replaced (`LogicalCluster.custom` is a new dict on every change);
    only the most recently used `max_custom` of those are kept.
    """

    def __init__(self, max_custom: int = 64) -> None:
        self.max_custom = max_custom
        self._builtin: dict[str, tuple[_Part, Served]] = {}
        self._custom: OrderedDict[str, tuple[object, Served]] = OrderedDict()

    def _builtin_part(self, cluster: LogicalCluster) -> tuple[_Part, Served]:
        got = self._builtin.get(cluster.version)
        if got is None:
            schemas = cluster.schemas
            part = _part(builtin_definitions(schemas, cluster.surface.resources))
            got = self._builtin[cluster.version] = (part, _serve(schemas, [part]))
        return got

    def get(self, cluster: LogicalCluster) -> Served:
        builtin, served = self._builtin_part(cluster)
        custom = cluster.custom
        if not custom:
            return served
        cached = self._custom.get(cluster.name)
        if cached is not None and cached[0] is custom:
            self._custom.move_to_end(cluster.name)
            return cached[1]
        own = _part(custom_definitions(cluster.schemas, custom.values()))
        served = _serve(cluster.schemas, [builtin, own])
        self._custom[cluster.name] = (custom, served)
        self._custom.move_to_end(cluster.name)
        while len(self._custom) > self.max_custom:
            self._custom.popitem(last=False)
        return served


# ---------------------------------------------------------------------------------------------
# Negotiation

_OFFERS = (
    ("application", "json", JSON),
    ("application", "com.github.proto-openapi.spec.v2@v1.0+protobuf", gnostic.CONTENT_TYPE),
    ("application", "com.github.proto-openapi.spec.v2.v1.0+protobuf", gnostic.CONTENT_TYPE),
)


def negotiate(accept: str) -> str | None:
    """The content type to answer an Accept header with, or None (406), as kube-openapi's handler does.

    Clauses are taken by falling quality, the first one that matches an offer (JSON, then protobuf
    under its current and its deprecated name) wins; no Accept header means JSON.
    """
    clauses: list[tuple[float, int, str, str]] = []
    for i, raw in enumerate((accept or "*/*").split(",")):
        media, *params = [p.strip() for p in raw.split(";")]
        if not media:
            continue
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        type_, _, subtype = media.partition("/")
        clauses.append((-q, i, type_, subtype or "*"))
    for _, _, type_, subtype in sorted(clauses):
        for offer_type, offer_subtype, content_type in _OFFERS:
            if type_ in (offer_type, "*") and subtype in (offer_subtype, "*"):
                return content_type
    return None
