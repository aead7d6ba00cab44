"""Per-version Kubernetes schemas, read from the `kubernetes-validate` package.

The package ships one JSON-schema document per Kubernetes version (`_definitions.json`, keys under
`$defs`, references written `#/$defs/<name>`, nullable types written as `["string", "null"]`).
A `Schemas` object wraps one version; it is loaded once per version and shared by every logical
cluster of that version, so a cluster costs nothing here.

Schema nodes are plain dicts. The same helpers work on CRD `openAPIV3Schema` nodes (no `$ref`,
`type` a plain string), so patching, validation and defaulting code takes a `resolve` callable rather
than a `Schemas` object.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Callable
from typing import Any

import orjson

SUPPORTED_VERSIONS = tuple(f"1.{minor}" for minor in range(25, 38))
DEFAULT_VERSION = "1.37"

Node = dict[str, Any]
Resolver = Callable[[Node], Node]

EMPTY: Node = {}


def node_types(node: Node) -> set[str]:
    """The JSON types a schema node allows, without "null"."""
    t = node.get("type")
    if t is None:
        if "properties" in node:
            return {"object"}
        return set()
    if isinstance(t, str):
        return {t}
    return {x for x in t if x != "null"}


def identity(node: Node) -> Node:
    return node


class Schemas:
    """The schema definitions of one Kubernetes version."""

    def __init__(self, version: str, defs: dict[str, Node]) -> None:
        self.version = version
        self.defs = defs
        # (group, version, kind) -> definition name, for top-level kinds
        self.gvk_index: dict[tuple[str, str, str], str] = {}
        for name, node in defs.items():
            for gvk in node.get("x-kubernetes-group-version-kind", ()):
                self.gvk_index[(gvk["group"], gvk["version"], gvk["kind"])] = name

    def resolve(self, node: Node) -> Node:
        """Follow `$ref` (and a single-element `allOf`) to the node it names."""
        while True:
            ref = node.get("$ref")
            if ref is None:
                all_of = node.get("allOf")
                if all_of and len(all_of) == 1 and "$ref" in all_of[0]:
                    node = all_of[0]
                    continue
                return node
            node = self.defs.get(ref.rsplit("/", 1)[-1], EMPTY)

    def definition_name(self, group: str, version: str, kind: str) -> str | None:
        return self.gvk_index.get((group, version, kind))

    def for_kind(self, group: str, version: str, kind: str) -> Node | None:
        name = self.gvk_index.get((group, version, kind))
        return self.defs[name] if name else None


def _schema_dir() -> Any:
    return importlib.resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")


@functools.cache
def load(version: str) -> Schemas:
    """Load (once per process) the schemas of Kubernetes `version` ("1.25" ... "1.37")."""
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported Kubernetes version {version!r}")
    data = _schema_dir().joinpath(f"v{version}.0-local").joinpath("_definitions.json").read_bytes()
    return Schemas(version, orjson.loads(data)["$defs"])


def child(node: Node, key: str | int, resolve: Resolver) -> Node:
    """The (resolved) schema of a child: a property, a map value, or a list item."""
    node = resolve(node)
    if isinstance(key, int):
        items = node.get("items")
        return resolve(items) if isinstance(items, dict) else EMPTY
    props = node.get("properties")
    if props and key in props:
        return resolve(props[key])
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        return resolve(extra)
    return EMPTY


def list_type(node: Node) -> tuple[str, tuple[str, ...]]:
    """How a list merges: ("map", keys), ("set", ()) or ("atomic", ()).

    `x-kubernetes-list-type` wins; otherwise the strategic-merge-patch extensions decide, as they do
    for built-in kinds in the upstream apiserver.
    """
    lt = node.get("x-kubernetes-list-type")
    if lt == "map":
        return "map", tuple(node.get("x-kubernetes-list-map-keys") or ())
    if lt == "set":
        return "set", ()
    if lt == "atomic":
        return "atomic", ()
    strategy = node.get("x-kubernetes-patch-strategy", "")
    if "merge" in strategy.split(","):
        key = node.get("x-kubernetes-patch-merge-key")
        if key:
            return "map", (key,)
        return "set", ()
    return "atomic", ()


def patch_strategy(node: Node) -> tuple[set[str], str | None]:
    """Strategic-merge-patch strategies ({"merge", "retainKeys"}, ...) and merge key of a field."""
    strategy = node.get("x-kubernetes-patch-strategy", "")
    return {s for s in strategy.split(",") if s}, node.get("x-kubernetes-patch-merge-key")


def map_is_atomic(node: Node) -> bool:
    return node.get("x-kubernetes-map-type") == "atomic"
