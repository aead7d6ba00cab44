"""OpenAPI v2 documents (/openapi/v2) and their gnostic protobuf encoding, as kubectl reads them."""

from __future__ import annotations

import copy
import hashlib
import struct
from typing import Any

import orjson
import pytest
import yaml

from kubenest.api import gnostic, openapi_v2, resources, schema
from kubenest.api.clusters import LogicalCluster
from kubenest.api.resources import ResourceInfo

Node = dict[str, Any]
REF = "#/definitions/"

# -- a protobuf wire reader, independent of the encoder -----------------------------------------


def read_fields(buf: bytes) -> list[tuple[int, Any]]:
    """(field number, value) pairs: ints for varints, bytes for length-delimited, floats for fixed64."""
    out: list[tuple[int, Any]] = []
    pos = 0

    def varint() -> int:
        nonlocal pos
        shift = value = 0
        while True:
            b = buf[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value

    while pos < len(buf):
        key = varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            out.append((num, varint()))
        elif wire == 1:
            out.append((num, struct.unpack_from("<d", buf, pos)[0]))
            pos += 8
        elif wire == 2:
            n = varint()
            out.append((num, buf[pos : pos + n]))
            pos += n
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


STRINGS = {1: "$ref", 2: "format", 3: "title", 4: "description", 13: "pattern", 26: "discriminator"}
INTS = {
    11: "maxLength",
    12: "minLength",
    14: "maxItems",
    15: "minItems",
    17: "maxProperties",
    18: "minProperties",
}
BOOLS = {8: "exclusiveMaximum", 10: "exclusiveMinimum", 16: "uniqueItems", 27: "readOnly"}
DOUBLES = {6: "multipleOf", 7: "maximum", 9: "minimum"}


def any_value(buf: bytes) -> Any:
    (num, text), *_ = read_fields(buf)
    assert num == 2
    return yaml.safe_load(text.decode())


def decode_schema(buf: bytes) -> Node:
    """A gnostic Schema message back into its JSON form (by openapiv2/OpenAPIv2.proto field numbers)."""
    out: Node = {}
    for num, value in read_fields(buf):
        if num in STRINGS:
            out[STRINGS[num]] = value.decode()
        elif num in INTS or num in BOOLS:
            out[(INTS | BOOLS)[num]] = value if num in INTS else bool(value)
        elif num in DOUBLES:
            out[DOUBLES[num]] = value
        elif num == 5:
            out["default"] = any_value(value)
        elif num == 19:
            out.setdefault("required", []).append(value.decode())
        elif num == 20:
            out.setdefault("enum", []).append(any_value(value))
        elif num == 21:
            ((which, inner),) = read_fields(value)
            out["additionalProperties"] = decode_schema(inner) if which == 1 else bool(inner)
        elif num == 22:
            types = [v.decode() for _, v in read_fields(value)]
            out["type"] = types[0] if len(types) == 1 else types
        elif num == 23:
            (items,) = [decode_schema(v) for _, v in read_fields(value)]
            out["items"] = items
        elif num == 25:
            out["properties"] = dict(decode_named(value))
        elif num == 31:
            name, val = read_fields(value)
            out[name[1].decode()] = any_value(val[1])
        else:
            raise AssertionError(f"unexpected Schema field {num}")
    return out


def decode_named(buf: bytes) -> list[tuple[str, Node]]:
    entries = []
    for num, entry in read_fields(buf):
        assert num == 1
        (n1, name), (n2, value) = read_fields(entry)
        assert (n1, n2) == (1, 2)
        entries.append((name.decode(), decode_schema(value)))
    return entries


def decode_document(buf: bytes) -> Node:
    doc: Node = {}
    for num, value in read_fields(buf):
        if num == 1:
            doc["swagger"] = value.decode()
        elif num == 2:
            info = dict(read_fields(value))
            doc["info"] = {"title": info[1].decode(), "version": info[2].decode()}
        elif num == 8:
            assert value == b""
            doc["paths"] = {}
        elif num == 9:
            doc["definitions"] = dict(decode_named(value))
        else:
            raise AssertionError(f"unexpected Document field {num}")
    return doc


# -- kube-openapi's parser rules (k8s.io/kube-openapi/pkg/util/proto/document.go) -----------------


def check_parseable(doc: Node) -> None:
    """Fail where kubectl's OpenAPI v2 parser would reject the document (it rejects it whole)."""
    names = set(doc["definitions"])

    def walk(node: Node, path: str) -> None:
        types = node.get("type")
        if "$ref" in node:
            assert "properties" not in node and not types, f"{path}: $ref with a type or properties"
            assert node["$ref"].startswith(REF) and node["$ref"][len(REF) :] in names, (
                f"{path}: dangling $ref"
            )
            return
        assert not isinstance(types, list), f"{path}: several types"
        if types == "array":
            assert isinstance(node.get("items"), dict), f"{path}: array without items"
            walk(node["items"], path + "[]")
        elif types in ("string", "integer", "number", "boolean", "object", None):
            pass
        else:
            raise AssertionError(f"{path}: unknown type {types!r}")
        for key, sub in node.get("properties", {}).items():
            walk(sub, f"{path}.{key}")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], path + "{}")

    for name, node in doc["definitions"].items():
        walk(node, name)


WIDGET_SCHEMA: Node = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size", "note"],
            "properties": {
                "size": {"type": "integer", "minimum": 1, "default": 3},
                "port": {"x-kubernetes-int-or-string": True},
                "note": {"type": "string", "nullable": True},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                },
                "pod": {"type": "object", "x-kubernetes-embedded-resource": True, "properties": {}},
                "extra": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"a": {}},
                },
                "any": {
                    "type": "array",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "items": {"type": "string"},
                },
                "choice": {
                    "type": "object",
                    "oneOf": [{"required": ["x"]}],
                    "properties": {"x": {"type": "string"}},
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "closed": {"type": "object", "additionalProperties": False},
            },
        },
    },
}


def widget(**overrides: Any) -> ResourceInfo:
    fields: dict[str, Any] = dict(
        group="example.com",
        version="v1",
        kind="Widget",
        plural="widgets",
        namespaced=True,
        crd_schema=copy.deepcopy(WIDGET_SCHEMA),
    )
    fields.update(overrides)
    return ResourceInfo(**fields)


@pytest.fixture(scope="module")
def schemas() -> schema.Schemas:
    return schema.load("1.37")


@pytest.fixture(scope="module")
def doc(schemas: schema.Schemas) -> Node:
    return openapi_v2.document(schemas, resources.surface("1.37").resources + [widget()])


# -- wire format --------------------------------------------------------------------------------


def test_varints_are_base128_and_negative_numbers_take_ten_bytes() -> None:
    assert gnostic.varint(0) == b"\x00"
    assert gnostic.varint(300) == b"\xac\x02"
    assert gnostic.varint(-1) == b"\xff" * 9 + b"\x01"


def test_schema_fields_use_openapiv2_proto_numbers() -> None:
    # type (22) is a TypeItem whose field 1 holds the type name.
    assert gnostic.schema({"type": "string"}) == b"\xb2\x01\x08\x0a\x06string"
    # $ref is field 1, description 4; fields come out in number order whatever the dict order.
    assert gnostic.schema({"description": "d", "$ref": "#/definitions/X"}) == (
        b"\x0a\x0f#/definitions/X" + b"\x22\x01d"
    )
    # Zero scalars are not written (proto3); a false additionalProperties is (oneof member).
    assert gnostic.schema({"minLength": 0, "uniqueItems": False, "format": ""}) == b""
    assert gnostic.schema({"additionalProperties": False}) == b"\xaa\x01\x02\x10\x00"
    assert gnostic.schema({"maximum": 2.5}) == b"\x39" + struct.pack("<d", 2.5)


def test_vendor_extensions_carry_yaml_that_kubectl_parses_into_gvk_lists() -> None:
    ext = [{"group": "", "kind": "ConfigMap", "version": "v1"}]
    fields = read_fields(gnostic.schema({"x-kubernetes-group-version-kind": ext}))
    assert [num for num, _ in fields] == [31]
    name, value = read_fields(fields[0][1])
    assert name == (1, b"x-kubernetes-group-version-kind")
    assert yaml.safe_load(dict(read_fields(value[1]))[2].decode()) == ext


@pytest.fixture(scope="module")
def served() -> openapi_v2.Served:
    cluster = LogicalCluster("w", "1.37", "u")
    cluster.custom = {("example.com", "v1", "widgets"): widget()}
    return openapi_v2.DocumentCache().get(cluster)


def test_protobuf_document_decodes_back_to_the_json_document(served: openapi_v2.Served, doc: Node) -> None:
    back = decode_document(served.protobuf)
    assert back == orjson.loads(served.json)
    assert back["definitions"] == doc["definitions"]
    assert list(back["definitions"]) == sorted(back["definitions"])
    assert back["info"] == {"title": "Kubernetes", "version": "v1.37.0"}


def test_document_hash_is_uppercase_sha512_of_the_json_bytes(served: openapi_v2.Served) -> None:
    assert served.etag == hashlib.sha512(served.json).hexdigest().upper()


# -- definitions --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.25", "1.37"])
def test_every_definition_is_one_kubectls_parser_accepts(version: str) -> None:
    d = openapi_v2.document(schema.load(version), resources.surface(version).resources + [widget()])
    check_parseable(d)


def test_builtin_definitions_take_kubes_v2_forms(doc: Node) -> None:
    defs = doc["definitions"]
    assert defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] == "string"
    assert defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    assert defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] == {"type": "string"}
    cm = defs["io.k8s.api.core.v1.ConfigMap"]
    assert cm["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "ConfigMap", "version": "v1"}]
    assert cm["properties"]["apiVersion"] == {
        k: v for k, v in cm["properties"]["apiVersion"].items() if k != "enum"
    }
    assert cm["properties"]["metadata"]["$ref"] == REF + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    assert "description" in cm["properties"]["metadata"]
    for name in (
        "io.k8s.api.apps.v1.DeploymentList",
        "io.k8s.api.core.v1.Binding",
        "io.k8s.api.autoscaling.v1.Scale",
    ):
        assert name in defs


def test_custom_definitions_follow_apiextensions_v2_conversion(doc: Node) -> None:
    w = doc["definitions"]["com.example.v1.Widget"]
    assert w["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "kind": "Widget", "version": "v1"}
    ]
    assert w["properties"]["metadata"]["$ref"] == REF + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    assert w["properties"]["kind"]["type"] == "string"
    spec = w["properties"]["spec"]
    props = spec["properties"]
    # Nullable: no type (and no longer required); int-or-string: no type, no anyOf.
    assert props["note"] == {}
    assert spec["required"] == ["size"]
    assert props["port"] == {"x-kubernetes-int-or-string": True}
    assert props["size"] == {"type": "integer", "minimum": 1, "default": 3}
    # Preserve-unknown-fields: no properties or items, and no object or array type.
    assert props["extra"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert props["any"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert "properties" not in props["template"] and "type" not in props["template"]
    # Embedded resources get type meta and metadata; junctors go.
    assert set(props["pod"]["properties"]) == {"apiVersion", "kind", "metadata"}
    assert props["pod"]["required"] == ["kind", "apiVersion"]
    assert "oneOf" not in props["choice"] and props["choice"]["type"] == "object"
    assert props["closed"]["additionalProperties"] is False
    wl = doc["definitions"]["com.example.v1.WidgetList"]
    assert wl["properties"]["items"]["items"] == {"$ref": REF + "com.example.v1.Widget"}


def test_custom_kind_preserving_unknown_fields_at_its_root_is_a_bare_object(schemas: schema.Schemas) -> None:
    info = widget(
        crd_schema={"type": "object", "x-kubernetes-preserve-unknown-fields": True}, preserve_unknown=True
    )
    d = openapi_v2.custom_definitions(schemas, [info])
    assert d["com.example.v1.Widget"] == {
        "type": "object",
        "x-kubernetes-group-version-kind": [{"group": "example.com", "kind": "Widget", "version": "v1"}],
    }


# -- serving ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf", gnostic.CONTENT_TYPE),
        ("application/com.github.proto-openapi.spec.v2.v1.0+protobuf", gnostic.CONTENT_TYPE),
        ("application/json", "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        (
            "application/json;q=0.5, application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            gnostic.CONTENT_TYPE,
        ),
        ("text/html", None),
    ],
)
def test_negotiation_follows_kube_openapis_handler(accept: str, expected: str | None) -> None:
    assert openapi_v2.negotiate(accept) == expected


def test_clusters_without_crds_share_their_versions_document_and_crds_make_their_own() -> None:
    cache = openapi_v2.DocumentCache()
    a, b = LogicalCluster("a", "1.37", "u1"), LogicalCluster("b", "1.37", "u2")
    assert cache.get(a) is cache.get(b)
    b.custom = {("example.com", "v1", "widgets"): widget()}
    own = cache.get(b)
    assert own is not cache.get(a) and own is cache.get(b)
    assert b'"com.example.v1.Widget"' in own.json and b"com.example.v1.Widget" in own.protobuf
    # A changed CRD table (a new dict) rebuilds the document.
    b.custom = {("example.com", "v1", "widgets"): widget(kind="Gadget", plural="gadgets")}
    assert b"com.example.v1.Gadget" in cache.get(b).json and cache.get(b).etag != own.etag
