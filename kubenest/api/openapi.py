"""OpenAPI v3 documents, shaped like the ones kube-apiserver serves under `/openapi/v3`.

`/openapi/v3` is an index of group-version documents (`api/v1`, `apis/apps/v1`, ...), each reached
through a `serverRelativeURL` carrying the document's hash. One group-version document holds the
paths of that group-version's resources and, under `components.schemas`, every definition those
paths reach.

Real clients read these documents closely, so their shape follows upstream:
- `kubectl explain` finds a resource's path, takes the `x-kubernetes-group-version-kind` of one of
  its operations and looks for the component schema whose GVK list contains it.
- kubectl's `QueryParamVerifierV3` decides whether the server validates fields by finding the
  `fieldValidation` query parameter among the operation parameters of a PATCH for the GVK.
- `kubectl apply` computes strategic merge patches from the component schemas (following `allOf[0]`
  and `$ref`) when the GVK's PATCH accepts `application/strategic-merge-patch+json`.

Built-in definitions come from the kubernetes-validate JSON schemas and are converted to
OpenAPI 3.0 form once per `Schemas` object; documents share the converted definitions, so callers
must treat documents as read-only. Custom resources carry their CRD version's openAPIV3Schema,
completed the way apiextensions-apiserver completes it (type meta, ObjectMeta, embedded resources,
int-or-string unfolding).
"""

from __future__ import annotations

import copy
import hashlib
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from kubenest.api import schema
from kubenest.api.resources import ResourceInfo

Node = dict[str, Any]

OPENAPI_V3_ROOT = "/openapi/v3"

_COMPONENTS = "#/components/schemas/"
_DEFS = "#/$defs/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = _META + "ObjectMeta"
LIST_META = _META + "ListMeta"
STATUS = _META + "Status"
DELETE_OPTIONS = _META + "DeleteOptions"
PATCH = _META + "Patch"
WATCH_EVENT = _META + "WatchEvent"
API_RESOURCE_LIST = _META + "APIResourceList"
SCALE = "io.k8s.api.autoscaling.v1.Scale"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

_SCALE_GVK = {"group": "autoscaling", "kind": "Scale", "version": "v1"}

# Descriptions apiextensions-apiserver gives the properties it adds to custom resource schemas.
_METADATA_DESCRIPTION = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_LIST_METADATA_DESCRIPTION = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_EMBEDDED_API_VERSION_DESCRIPTION = (
    "apiVersion defines the versioned schema of this representation of an object. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
_EMBEDDED_KIND_DESCRIPTION = (
    "kind is a string value representing the type of this object. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)
# kubernetes-validate drops this definition's description; kubectl explain prints it for such fields.
_INT_OR_STRING_DESCRIPTION = (
    "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling "
    "and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, "
    "a JSON field that can accept a name or number."
)

# Media types of built-in responses and request bodies, as kube-apiserver lists them.
_PRODUCES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_PRODUCES_STREAM = _PRODUCES + (
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf;stream=watch",
)
_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
# Custom resources: apiextensions-apiserver produces/consumes only JSON and YAML, and has no
# strategic merge patch (kubectl apply falls back to a JSON merge patch on seeing that).
_CR_MEDIA = ("application/json", "application/yaml")
_CR_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
)

# Kinds whose registry returns the deleted object (not a Status) from DELETE.
_DELETE_RETURNS_OBJECT = {
    ("", "PersistentVolume"),
    ("", "PersistentVolumeClaim"),
    ("", "Pod"),
    ("", "PodTemplate"),
    ("", "ResourceQuota"),
    ("", "Service"),
    ("", "ServiceAccount"),
}

# Subresources that read and write the parent kind (get/put/patch), besides status.
_SAME_KIND_SUBRESOURCES = ("ephemeralcontainers", "resize", "approval")
# Subresources that only accept a POST of another kind.
_POST_SUBRESOURCES: dict[str, tuple[str, str, str]] = {
    "binding": ("", "v1", "Binding"),
    "eviction": ("policy", "v1", "Eviction"),
    "token": ("authentication.k8s.io", "v1", "TokenRequest"),
}


# ---------------------------------------------------------------------------------------------
# Index and serialization


def gv_path(group: str, version: str) -> str:
    """The index key of a group-version: "api/v1" for the core group, "apis/<group>/<version>" else."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def index(group_versions: dict[str, str]) -> dict:
    """The `/openapi/v3` discovery document.

    `group_versions` maps each index key ("api/v1", "apis/apps/v1") to its document's hash. The
    URLs carry no cluster prefix: client-go joins a URL rooted at /openapi/v3 onto the client's own
    base path (https://host/clusters/<name>).
    """
    return {
        "paths": {
            key: {"serverRelativeURL": f"{OPENAPI_V3_ROOT}/{key}?hash={group_versions[key]}"}
            for key in sorted(group_versions)
        }
    }


def document_bytes_and_hash(doc: dict) -> tuple[bytes, str]:
    """The JSON bytes of a document and its hash (uppercase hex SHA-512 of the bytes, as kube's ETag)."""
    # Sorted keys, like Go's encoding of maps: the bytes, and so the hash, depend only on content.
    data = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    return data, hashlib.sha512(data).hexdigest().upper()


# ---------------------------------------------------------------------------------------------
# Built-in definitions: JSON schema ($defs) to OpenAPI 3.0 (components/schemas)


def convert_node(node: Node, refs: set[str] | None = None) -> Node:
    """One kubernetes-validate JSON-schema node in the OpenAPI 3.0 form kube serves.

    Nullable type lists become a single type, `#/$defs/X` becomes `#/components/schemas/X`, and a
    reference with siblings (description, ...) is wrapped in `allOf`, as kube-openapi does. Names of
    referenced definitions are added to `refs`.
    """
    out: Node = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if len(types) == 1:
                out[key] = types[0]
            elif types:
                out[key] = types
        elif key == "$ref":
            name = value[len(_DEFS) :] if value.startswith(_DEFS) else value.rsplit("/", 1)[-1]
            if refs is not None:
                refs.add(name)
            out[key] = _COMPONENTS + name
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: convert_node(sub, refs) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = convert_node(value, refs)
        elif key in ("allOf", "oneOf", "anyOf") and isinstance(value, list):
            out[key] = [convert_node(sub, refs) if isinstance(sub, dict) else sub for sub in value]
        else:
            out[key] = value
    if "$ref" in out and len(out) > 1:
        out["allOf"] = [{"$ref": out.pop("$ref")}]
    return out


def convert_definition(name: str, node: Node, refs: set[str] | None = None) -> Node:
    """A whole built-in definition in kube's OpenAPI v3 form."""
    if name == INT_OR_STRING:
        # kube serves IntOrString as a formatted oneOf, integer first.
        return {
            "description": node.get("description", _INT_OR_STRING_DESCRIPTION),
            "format": "int-or-string",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
        }
    out = convert_node(node, refs)
    props = out.get("properties")
    if props and "x-kubernetes-group-version-kind" in out:
        # kubernetes-validate pins apiVersion/kind of top-level kinds with an enum; kube does not.
        for field in ("apiVersion", "kind"):
            sub = props.get(field)
            if sub is not None and "enum" in sub:
                props[field] = {k: v for k, v in sub.items() if k != "enum"}
    return out


class _ConvertedDefinitions:
    """Converted definitions of one `Schemas`, and the definitions each one references."""

    def __init__(self, schemas: schema.Schemas) -> None:
        self.schemas = schemas
        self.defs: dict[str, Node] = {}
        self.refs: dict[str, frozenset[str]] = {}

    def get(self, name: str) -> Node | None:
        node = self.defs.get(name)
        if node is None:
            source = self.schemas.defs.get(name)
            if source is None:
                return None
            refs: set[str] = set()
            node = convert_definition(name, source, refs)
            self.refs[name] = frozenset(refs)
            self.defs[name] = node
        return node

    def closure(self, roots: Iterable[str], into: dict[str, Node]) -> None:
        """Add `roots` and every definition they reach to `into`."""
        pending = [r for r in roots if r not in into]
        while pending:
            name = pending.pop()
            if name in into:
                continue
            node = self.get(name)
            if node is None:
                continue
            into[name] = node
            pending.extend(r for r in self.refs[name] if r not in into)


_CONVERTED: weakref.WeakKeyDictionary[schema.Schemas, _ConvertedDefinitions] = weakref.WeakKeyDictionary()


def builtin_definitions(schemas: schema.Schemas, roots: Iterable[str]) -> dict[str, Node]:
    """The built-in definitions named in `roots` and every definition they reference, in v3 form.

    The nodes are shared with the v3 documents: treat them as read-only.
    """
    out: dict[str, Node] = {}
    _converted(schemas).closure(roots, out)
    return out


def _converted(schemas: schema.Schemas) -> _ConvertedDefinitions:
    conv = _CONVERTED.get(schemas)
    if conv is None:
        conv = _CONVERTED[schemas] = _ConvertedDefinitions(schemas)
    return conv


# ---------------------------------------------------------------------------------------------
# Custom resource definitions


def custom_definition_name(group: str, version: str, kind: str) -> str:
    """The component name kube gives a custom kind: the group reversed, e.g. `com.example.v1.Widget`."""
    reversed_group = ".".join(reversed(group.split("."))) if "." in group else group
    return f"{reversed_group}.{version}.{kind}"


def _ref(name: str, description: str) -> Node:
    return {"allOf": [{"$ref": _COMPONENTS + name}], "description": description}


def _type_meta(schemas: schema.Schemas) -> tuple[Node, Node]:
    """The apiVersion and kind properties of metav1.TypeMeta."""
    props = schemas.defs.get(STATUS, {}).get("properties", {})
    out = []
    for field in ("apiVersion", "kind"):
        sub = props.get(field, {})
        node: Node = {"type": "string"}
        if "description" in sub:
            node = {"description": sub["description"], "type": "string"}
        out.append(node)
    return out[0], out[1]


def _is_int_or_string_pair(nodes: Any) -> bool:
    return nodes == [{"type": "integer"}, {"type": "string"}]


def _complete_custom_node(node: Node) -> None:
    """Unfold int-or-string and complete embedded resources, in place, children first."""
    props = node.get("properties")
    if isinstance(props, dict):
        for sub in props.values():
            if isinstance(sub, dict):
                _complete_custom_node(sub)
    for key in ("items", "additionalProperties"):
        sub = node.get(key)
        if isinstance(sub, dict):
            _complete_custom_node(sub)
    if node.get("x-kubernetes-int-or-string") is True:
        all_of = node.get("allOf")
        already = _is_int_or_string_pair(node.get("anyOf")) or (
            isinstance(all_of, list) and all_of and _is_int_or_string_pair(all_of[0].get("anyOf"))
        )
        if not already:
            pair = [{"type": "integer"}, {"type": "string"}]
            if "anyOf" not in node:
                node["anyOf"] = pair
            else:
                node["allOf"] = [{"anyOf": pair}] + list(all_of or [])
    if node.get("x-kubernetes-embedded-resource") is True:
        props = node.setdefault("properties", {})
        props["apiVersion"] = {"description": _EMBEDDED_API_VERSION_DESCRIPTION, "type": "string"}
        props["kind"] = {"description": _EMBEDDED_KIND_DESCRIPTION, "type": "string"}
        props["metadata"] = _ref(OBJECT_META, _METADATA_DESCRIPTION)
        required = list(node.get("required") or [])
        for field in ("kind", "apiVersion"):
            if field not in required:
                required.append(field)
        node["required"] = required


def custom_resource_schema(info: ResourceInfo, schemas: schema.Schemas) -> Node:
    """The component schema of a custom kind, built from its CRD version's openAPIV3Schema."""
    gvk = [{"group": info.group, "kind": info.kind, "version": info.version}]
    source = info.crd_schema or {}
    if not source:
        # No schema: kube publishes a bare object, adding nothing kubectl would then enforce.
        return {"type": "object", "x-kubernetes-group-version-kind": gvk}
    node: Node = copy.deepcopy(source)
    api_version, kind = _type_meta(schemas)
    props = node.setdefault("properties", {})
    props["metadata"] = _ref(OBJECT_META, _METADATA_DESCRIPTION)
    props["apiVersion"] = api_version
    props["kind"] = kind
    _complete_custom_node(node)
    node["x-kubernetes-group-version-kind"] = gvk
    return node


def custom_list_schema(info: ResourceInfo, schemas: schema.Schemas) -> Node:
    """The component schema of a custom kind's list."""
    api_version, kind = _type_meta(schemas)
    list_kind = info.kind + "List"
    item = custom_definition_name(info.group, info.version, info.kind)
    return {
        "description": f"{list_kind} is a list of {info.kind}",
        "properties": {
            "apiVersion": api_version,
            "items": {
                "description": (
                    f"List of {info.plural}. More info: "
                    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
                ),
                "items": {"$ref": _COMPONENTS + item},
                "type": "array",
            },
            "kind": kind,
            "metadata": _ref(LIST_META, _LIST_METADATA_DESCRIPTION),
        },
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": [
            {"group": info.group, "kind": list_kind, "version": info.version}
        ],
    }


# ---------------------------------------------------------------------------------------------
# Paths and operations


def _param(name: str, type_: str, where: str = "query", description: str | None = None) -> Node:
    p: Node = {"in": where, "name": name, "schema": {"type": type_, "uniqueItems": True}}
    if where == "path":
        p["required"] = True
    if description:
        p["description"] = description
    return p


_PRETTY = _param(
    "pretty",
    "string",
    description="If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent "
    "indicates a browser or command-line HTTP tool (curl and wget).",
)
_NAMESPACE = _param(
    "namespace", "string", "path", "object name and auth scope, such as for teams and projects"
)
_Q = {
    name: _param(name, type_)
    for name, type_ in (
        ("allowWatchBookmarks", "boolean"),
        ("continue", "string"),
        ("dryRun", "string"),
        ("fieldManager", "string"),
        ("fieldSelector", "string"),
        ("fieldValidation", "string"),
        ("force", "boolean"),
        ("gracePeriodSeconds", "integer"),
        ("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean"),
        ("labelSelector", "string"),
        ("limit", "integer"),
        ("orphanDependents", "boolean"),
        ("propagationPolicy", "string"),
        ("resourceVersion", "string"),
        ("resourceVersionMatch", "string"),
        ("sendInitialEvents", "boolean"),
        ("timeoutSeconds", "integer"),
        ("watch", "boolean"),
    )
}


class _Params:
    """The query parameters of each action, for one Kubernetes version."""

    def __init__(self, schemas: schema.Schemas) -> None:
        minor = int(schemas.version.split(".")[1]) if "." in schemas.version else 99
        list_names = [
            "allowWatchBookmarks",
            "continue",
            "fieldSelector",
            "labelSelector",
            "limit",
            "resourceVersion",
            "resourceVersionMatch",
            "timeoutSeconds",
            "watch",
        ]
        if minor >= 27:
            list_names.append("sendInitialEvents")
        # DeleteOptions fields become query parameters; the definition says which this version has.
        delete_opts = schemas.defs.get(DELETE_OPTIONS, {}).get("properties", {})
        delete_names = ["dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy"]
        if "ignoreStoreReadErrorWithClusterBreakingPotential" in delete_opts:
            delete_names.append("ignoreStoreReadErrorWithClusterBreakingPotential")
        self.list = [_Q[n] for n in list_names]
        self.delete = [_Q[n] for n in delete_names]
        # Built-in deletecollection: list options without watching, plus delete options.
        self.deletecollection = [
            _Q[n] for n in sorted(set(list_names) - {"watch", "allowWatchBookmarks"} | set(delete_names))
        ]
        self.write = [_Q["dryRun"], _Q["fieldManager"], _Q["fieldValidation"]]
        self.patch = self.write + [_Q["force"]]


def _content(schema_name: str, media: Iterable[str]) -> Node:
    ref = {"$ref": _COMPONENTS + schema_name}
    return {m: {"schema": ref} for m in media}


def _responses(schema_name: str, codes: Iterable[str], media: Iterable[str]) -> Node:
    text = {"200": "OK", "201": "Created", "202": "Accepted"}
    content = _content(schema_name, media)
    out: Node = {code: {"content": content, "description": text[code]} for code in codes}
    out["401"] = {"description": "Unauthorized"}
    return out


def to_valid_operation_id(s: str, capitalize_first: bool) -> str:
    """Camel-case a path segment the way kube builds operation IDs ("rbac.authorization" -> "RbacAuthorization")."""
    out = []
    capitalize = capitalize_first
    for i, ch in enumerate(s):
        if ch.isalpha() or ch == "_" or (i != 0 and ch.isdigit()):
            out.append(ch.upper() if capitalize else ch)
            capitalize = False
        else:
            capitalize = True
    return "".join(out)


class _GroupVersion:
    """Naming shared by every operation of one group-version."""

    def __init__(self, group: str, version: str) -> None:
        self.group = group
        self.version = version
        self.prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
        trimmed = (group or "core").removesuffix(".k8s.io")
        self.op_infix = to_valid_operation_id(trimmed, True) + to_valid_operation_id(version, True)
        self.tags = [to_valid_operation_id(trimmed, False) + "_" + to_valid_operation_id(version, False)]

    def op_id(self, verb: str, rest: str) -> str:
        return verb + self.op_infix + rest


def _article(kind: str) -> str:
    """The padded article kube puts before a kind ("create a Pod"); plural-looking kinds get none."""
    if kind.endswith("s") and not kind.endswith("ss"):
        return " "
    return " an " if kind[:1].lower() in "aeiou" else " a "


def _path_item(ops: dict[str, Node]) -> Node:
    """A path item; parameters every operation shares move to the path, as kube-openapi does."""
    keys = [{_param_key(p) for p in op["parameters"]} for op in ops.values()]
    common = set.intersection(*keys) if keys else set()
    item: Node = {}
    shared: dict[tuple[str, str], Node] = {}
    for method, op in ops.items():
        own = [p for p in op["parameters"] if _param_key(p) not in common]
        shared.update((_param_key(p), p) for p in op["parameters"] if _param_key(p) in common)
        op = {k: v for k, v in op.items() if k != "parameters"}
        if own:
            op["parameters"] = sorted(own, key=_param_key)
        item[method] = op
    if shared:
        item["parameters"] = sorted(shared.values(), key=_param_key)
    return item


def _param_key(p: Node) -> tuple[str, str]:
    return p["name"], p["in"]


@dataclass(frozen=True)
class _Style:
    """What differs between kube-apiserver's built-in endpoints and apiextensions-apiserver's."""

    produces: tuple[str, ...]
    list_produces: tuple[str, ...]
    consumes: tuple[str, ...]
    patch_types: tuple[str, ...]
    patch_codes: tuple[str, ...]
    # Built-in list operations of watchable kinds are described as "list or watch".
    list_or_watch: bool
    # The deprecated /watch/ paths exist for built-in kinds only.
    watch_paths: bool
    # apiextensions documents GetOptions (resourceVersion) on its GET operations.
    get_resource_version: bool
    # Built-in /scale operations carry autoscaling/v1 Scale's GVK; custom ones the custom kind's.
    scale_gvk: bool
    # Built-in deletecollection takes DeleteOptions (query and body); custom takes list options only.
    delete_options_on_collection: bool


_BUILTIN = _Style(
    produces=_PRODUCES,
    list_produces=_PRODUCES_STREAM,
    consumes=("*/*",),
    patch_types=_PATCH_TYPES,
    patch_codes=("200", "201"),
    list_or_watch=True,
    watch_paths=True,
    get_resource_version=False,
    scale_gvk=True,
    delete_options_on_collection=True,
)
_CUSTOM = _Style(
    produces=_CR_MEDIA,
    list_produces=_CR_MEDIA,
    consumes=_CR_MEDIA,
    patch_types=_CR_PATCH_TYPES,
    patch_codes=("200",),
    list_or_watch=False,
    watch_paths=False,
    get_resource_version=True,
    scale_gvk=False,
    delete_options_on_collection=False,
)


class _Endpoints:
    """The paths of one resource: collection, item, all-namespaces list, watches, subresources."""

    def __init__(
        self,
        doc: _DocumentBuilder,
        info: ResourceInfo,
        name: str,
        list_name: str | None,
        style: _Style,
    ) -> None:
        self.doc = doc
        self.gv = doc.gv
        self.p = doc.params
        self.info = info
        self.name = name
        self.list_name = list_name
        self.style = style
        self.kind = info.kind
        self.gvk: Node = {"group": info.group, "kind": info.kind, "version": info.version}
        self.verbs = set(info.verbs)
        self.op_kind = ("Namespaced" if info.namespaced else "") + info.kind
        self.scope = [_NAMESPACE] if info.namespaced else []
        if info.namespaced:
            self.base = f"{self.gv.prefix}/namespaces/{{namespace}}/{info.plural}"
        else:
            self.base = f"{self.gv.prefix}/{info.plural}"

    def op(
        self,
        verb: str,
        rest: str,
        description: str,
        action: str,
        params: list[Node],
        responses: Node,
        body: Node | None = None,
        gvk: Node | None = None,
    ) -> Node:
        op: Node = {
            "description": description,
            "operationId": self.gv.op_id(verb, rest),
            "parameters": params,
            "responses": responses,
            "tags": self.gv.tags,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk or self.gvk,
        }
        if body is not None:
            op["requestBody"] = {"content": body}
        return op

    def item_params(self, kind: str) -> list[Node]:
        return [_param("name", "string", "path", f"name of the {kind}"), *self.scope, _PRETTY]

    def build(self) -> None:
        self.collection()
        self.item()
        if self.style.watch_paths and "watch" in self.verbs:
            self.watches()
        for sub in self.info.subresources:
            self.subresource(sub)

    def add(self, path: str, ops: dict[str, Node]) -> None:
        if ops:
            self.doc.paths[path] = _path_item(ops)

    def collection(self) -> None:
        kind, s, p = self.kind, self.style, self.p
        params = [*self.scope, _PRETTY]
        ops: dict[str, Node] = {}
        watching = "or watch " if s.list_or_watch and "watch" in self.verbs else ""
        list_description = f"list {watching}objects of kind {kind}"
        if "list" in self.verbs and self.list_name:
            listed = _responses(self.list_name, ("200",), s.list_produces)
            ops["get"] = self.op("list", self.op_kind, list_description, "list", params + p.list, listed)
            if self.info.namespaced:
                everywhere = self.op(
                    "list", kind + "ForAllNamespaces", list_description, "list", [_PRETTY] + p.list, listed
                )
                self.add(f"{self.gv.prefix}/{self.info.plural}", {"get": everywhere})
        if "create" in self.verbs:
            ops["post"] = self.op(
                "create",
                self.op_kind,
                f"create{_article(kind)}{kind}",
                "post",
                params + p.write,
                _responses(self.name, ("200", "201", "202"), s.produces),
                _content(self.name, s.consumes),
            )
        if "deletecollection" in self.verbs:
            with_options = s.delete_options_on_collection
            ops["delete"] = self.op(
                "delete",
                "Collection" + self.op_kind,
                f"delete collection of {kind}",
                "deletecollection",
                params + (p.deletecollection if with_options else p.list),
                _responses(STATUS, ("200",), s.produces),
                _content(DELETE_OPTIONS, s.consumes) if with_options else None,
            )
        self.add(self.base, ops)

    def item(self) -> None:
        kind, s, p = self.kind, self.style, self.p
        params = self.item_params(kind)
        ops: dict[str, Node] = {}
        if "get" in self.verbs:
            ops["get"] = self.read("", self.name, params)
        self.writes(ops, "", self.name, params, self.verbs)
        if "delete" in self.verbs:
            returned = self.name if (self.info.group, kind) in _DELETE_RETURNS_OBJECT else STATUS
            ops["delete"] = self.op(
                "delete",
                self.op_kind,
                f"delete{_article(kind)}{kind}",
                "delete",
                params + p.delete,
                _responses(returned, ("200", "202"), s.produces),
                _content(DELETE_OPTIONS, s.consumes),
            )
        self.add(self.base + "/{name}", ops)

    def read(self, sub: str, target: str, params: list[Node], gvk: Node | None = None) -> Node:
        of = f"{sub} of " if sub else ""
        extra = [_Q["resourceVersion"]] if self.style.get_resource_version else []
        return self.op(
            "read",
            self.op_kind + sub.capitalize(),
            f"read {of}the specified {self.kind}",
            "get",
            params + extra,
            _responses(target, ("200",), self.style.produces),
            gvk=gvk,
        )

    def writes(
        self,
        ops: dict[str, Node],
        sub: str,
        target: str,
        params: list[Node],
        verbs: set[str],
        gvk: Node | None = None,
    ) -> None:
        """PUT and PATCH of the object or one of its subresources."""
        s, of, rest = self.style, f"{sub} of " if sub else "", self.op_kind + sub.capitalize()
        if "update" in verbs:
            ops["put"] = self.op(
                "replace",
                rest,
                f"replace {of}the specified {self.kind}",
                "put",
                params + self.p.write,
                _responses(target, ("200", "201"), s.produces),
                _content(target, s.consumes),
                gvk,
            )
        if "patch" in verbs:
            ops["patch"] = self.op(
                "patch",
                rest,
                f"partially update {of}the specified {self.kind}",
                "patch",
                params + self.p.patch,
                _responses(target, s.patch_codes, s.produces),
                _content(PATCH, s.patch_types),
                gvk,
            )

    def watches(self) -> None:
        kind, plural = self.kind, self.info.plural
        self.doc.roots.append(WATCH_EVENT)
        watch = f"{self.gv.prefix}/watch"
        coll = f"{watch}/namespaces/{{namespace}}/{plural}" if self.info.namespaced else f"{watch}/{plural}"
        events = _responses(WATCH_EVENT, ("200",), self.style.list_produces)
        deprecated = "deprecated: use the 'watch' parameter with a list operation instead"
        list_text = f"watch individual changes to a list of {kind}. {deprecated}."
        one_text = (
            f"watch changes to an object of kind {kind}. {deprecated}, filtered to a single item with the "
            "'fieldSelector' parameter."
        )
        params = self.p.list
        self.add(
            coll,
            {
                "get": self.op(
                    "watch",
                    self.op_kind + "List",
                    list_text,
                    "watchlist",
                    [*self.scope, _PRETTY] + params,
                    events,
                )
            },
        )
        self.add(
            coll + "/{name}",
            {
                "get": self.op(
                    "watch", self.op_kind, one_text, "watch", self.item_params(kind) + params, events
                )
            },
        )
        if self.info.namespaced:
            everywhere = self.op(
                "watch", kind + "ListForAllNamespaces", list_text, "watchlist", [_PRETTY] + params, events
            )
            self.add(f"{watch}/{plural}", {"get": everywhere})

    def subresource(self, sub: str) -> None:
        path = f"{self.base}/{{name}}/{sub}"
        ops: dict[str, Node] = {}
        if sub == "status" or sub in _SAME_KIND_SUBRESOURCES:
            params = self.item_params(self.kind)
            ops["get"] = self.read(sub, self.name, params)
            self.writes(ops, sub, self.name, params, {"update", "patch"})
        elif sub == "scale":
            self.doc.roots.append(SCALE)
            gvk = _SCALE_GVK if self.style.scale_gvk else None
            params = self.item_params("Scale" if self.style.scale_gvk else self.kind)
            ops["get"] = self.read(sub, SCALE, params, gvk)
            self.writes(ops, sub, SCALE, params, {"update", "patch"}, gvk)
        elif sub == "finalize":
            self.writes(ops, sub, self.name, self.item_params(self.kind), {"update"})
        elif sub in _POST_SUBRESOURCES:
            group, version, kind = _POST_SUBRESOURCES[sub]
            body = self.doc.schemas.definition_name(group, version, kind)
            if body:
                self.doc.roots.append(body)
                ops["post"] = self.op(
                    "create",
                    self.op_kind + sub.capitalize(),
                    f"create {sub} of{_article(self.kind)}{self.kind}",
                    "post",
                    self.item_params(kind) + self.p.write,
                    _responses(body, ("200", "201", "202"), self.style.produces),
                    _content(body, self.style.consumes),
                    {"group": group, "kind": kind, "version": version},
                )
        self.add(path, ops)


class _DocumentBuilder:
    """Accumulates the paths and component schemas of one group-version document."""

    def __init__(self, schemas: schema.Schemas, group: str, version: str) -> None:
        self.schemas = schemas
        self.gv = _GroupVersion(group, version)
        self.params = _Params(schemas)
        self.paths: dict[str, Node] = {}
        # Built-in definitions to include with everything they reference.
        self.roots: list[str] = [OBJECT_META, LIST_META, STATUS, DELETE_OPTIONS, PATCH]
        self.custom: dict[str, Node] = {}
        self.has_builtin = False

    def add_builtin(self, info: ResourceInfo) -> None:
        name = info.definition or self.schemas.definition_name(info.group, info.version, info.kind)
        if not name or name not in self.schemas.defs:
            return
        self.has_builtin = True
        list_name = self.schemas.definition_name(info.group, info.version, info.kind + "List")
        self.roots.extend(n for n in (name, list_name) if n)
        _Endpoints(self, info, name, list_name, _BUILTIN).build()

    def add_custom(self, info: ResourceInfo) -> None:
        name = custom_definition_name(info.group, info.version, info.kind)
        list_name = custom_definition_name(info.group, info.version, info.kind + "List")
        self.custom[name] = custom_resource_schema(info, self.schemas)
        self.custom[list_name] = custom_list_schema(info, self.schemas)
        _Endpoints(self, info, name, list_name, _CUSTOM).build()

    def add_resource_list(self) -> None:
        """The group-version root path, listing its resources (built-in groups only)."""
        self.roots.append(API_RESOURCE_LIST)
        self.paths[self.gv.prefix + "/"] = {
            "get": {
                "description": "get available resources",
                "operationId": self.gv.op_id("get", "APIResources"),
                "responses": _responses(API_RESOURCE_LIST, ("200",), _PRODUCES),
                "tags": self.gv.tags,
            }
        }

    def components(self) -> dict[str, Node]:
        out: dict[str, Node] = {}
        _converted(self.schemas).closure(self.roots, out)
        out.update(self.custom)
        return dict(sorted(out.items()))


def group_version_document(
    schemas: schema.Schemas | None, resources: list[ResourceInfo], group: str, version: str
) -> dict:
    """The OpenAPI v3 document of one group-version, as served at /openapi/v3/<api/v1 | apis/G/V>.

    `resources` may list any served resources; those of other group-versions are ignored. Custom
    resources (`is_custom`) use their CRD schema. `schemas` supplies built-in and meta definitions;
    when None, the default version's schemas supply the meta types (ObjectMeta, Status, Scale, ...).
    The result shares converted definitions with other documents: treat it as read-only.
    """
    if schemas is None:
        schemas = schema.load(schema.DEFAULT_VERSION)
    builder = _DocumentBuilder(schemas, group, version)
    mine = [r for r in resources if r.group == group and r.version == version]
    for info in mine:
        if info.is_custom:
            builder.add_custom(info)
        else:
            builder.add_builtin(info)
    if builder.has_builtin:
        builder.add_resource_list()
    if mine and all(r.is_custom for r in mine):
        # apiextensions-apiserver publishes custom group-versions under its own title.
        title = {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"}
    else:
        title = {"title": "Kubernetes", "version": f"v{schemas.version}.0"}
    return {
        "openapi": "3.0.0",
        "info": title,
        "paths": dict(sorted(builder.paths.items())),
        "components": {"schemas": builder.components()},
    }
