"""Encode an OpenAPI v2 (Swagger 2.0) document as the protobuf message client-go reads.

client-go's `OpenAPISchema()` asks `/openapi/v2` for `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
and unmarshals the body into gnostic's `openapi_v2.Document` (github.com/google/gnostic-models,
openapiv2/OpenAPIv2.proto). kube-apiserver makes those bytes by parsing its JSON document with gnostic and
marshalling the result; this module writes the same message straight from the JSON-shaped dict.

Only what a Kubernetes document uses is encoded: swagger, info, paths (as an empty message when given),
definitions and their schemas. Schema keys gnostic has no field for are dropped, as gnostic drops them;
`x-` keys become vendor extensions. Values gnostic keeps as `Any` (defaults, enums, examples, extensions)
carry their YAML text; JSON text is YAML, so that is what is written. Proto3 rules apply: zero scalars
(empty strings, false, 0) are not written.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import orjson

CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

_DOUBLE = struct.Struct("<d")

# Schema field numbers (message Schema in OpenAPIv2.proto).
_SCHEMA_STRINGS = {"$ref": 1, "format": 2, "title": 3, "description": 4, "pattern": 13, "discriminator": 26}
_SCHEMA_DOUBLES = {"multipleOf": 6, "maximum": 7, "minimum": 9}
_SCHEMA_BOOLS = {"exclusiveMaximum": 8, "exclusiveMinimum": 10, "uniqueItems": 16, "readOnly": 27}
_SCHEMA_INTS = {
    "maxLength": 11, "minLength": 12, "maxItems": 14, "minItems": 15, "maxProperties": 17, "minProperties": 18,
}  # fmt: skip
_DEFAULT, _REQUIRED, _ENUM, _ADDITIONAL, _TYPE, _ITEMS, _ALL_OF, _PROPERTIES, _EXAMPLE, _EXTENSION = (
    5, 19, 20, 21, 22, 23, 24, 25, 30, 31,
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Wire format


def varint(n: int) -> bytes:
    """A base-128 varint; negative numbers as their 64-bit two's complement, as Go writes int64."""
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def length_delimited(num: int, data: bytes) -> bytes:
    """Field `num` with wire type 2 (string, bytes or embedded message)."""
    return varint(num << 3 | 2) + varint(len(data)) + data


def string_field(num: int, value: str) -> bytes:
    return length_delimited(num, value.encode()) if value else b""


def _varint_field(num: int, value: int) -> bytes:
    return varint(num << 3) + varint(value) if value else b""


def _double_field(num: int, value: float) -> bytes:
    return varint(num << 3 | 1) + _DOUBLE.pack(value) if value else b""


# ---------------------------------------------------------------------------------------------
# Messages


def _any(value: Any) -> bytes:
    """An `Any` message: field 2 holds the value's YAML (here JSON, which YAML reads)."""
    return string_field(2, orjson.dumps(value).decode())


def _named_any(name: str, value: Any) -> bytes:
    return string_field(1, name) + length_delimited(2, _any(value))


def _extensions(num: int, node: dict[str, Any]) -> bytes:
    return b"".join(length_delimited(num, _named_any(k, v)) for k, v in node.items() if k.startswith("x-"))


def schema(node: dict[str, Any]) -> bytes:
    """One `Schema` message; fields in field-number order, as Go's marshaller writes them."""
    parts: list[tuple[int, bytes]] = []
    for key, value in node.items():
        if key in _SCHEMA_STRINGS:
            parts.append((_SCHEMA_STRINGS[key], string_field(_SCHEMA_STRINGS[key], value)))
        elif key in _SCHEMA_DOUBLES:
            parts.append((_SCHEMA_DOUBLES[key], _double_field(_SCHEMA_DOUBLES[key], float(value))))
        elif key in _SCHEMA_BOOLS:
            parts.append((_SCHEMA_BOOLS[key], _varint_field(_SCHEMA_BOOLS[key], int(bool(value)))))
        elif key in _SCHEMA_INTS:
            parts.append((_SCHEMA_INTS[key], _varint_field(_SCHEMA_INTS[key], int(value))))
        elif key == "default":
            parts.append((_DEFAULT, length_delimited(_DEFAULT, _any(value))))
        elif key == "example":
            parts.append((_EXAMPLE, length_delimited(_EXAMPLE, _any(value))))
        elif key == "required":
            parts.append((_REQUIRED, b"".join(string_field(_REQUIRED, r) for r in value)))
        elif key == "enum":
            parts.append((_ENUM, b"".join(length_delimited(_ENUM, _any(v)) for v in value)))
        elif key == "additionalProperties":
            # AdditionalPropertiesItem: oneof schema (1) or boolean (2).
            item = length_delimited(1, schema(value)) if isinstance(value, dict) else _bool_oneof(2, value)
            parts.append((_ADDITIONAL, length_delimited(_ADDITIONAL, item)))
        elif key == "type":
            types = [value] if isinstance(value, str) else list(value)
            parts.append((_TYPE, length_delimited(_TYPE, b"".join(string_field(1, t) for t in types))))
        elif key == "items":
            items = value if isinstance(value, list) else [value]
            parts.append(
                (_ITEMS, length_delimited(_ITEMS, b"".join(length_delimited(1, schema(s)) for s in items)))
            )
        elif key == "allOf":
            parts.append((_ALL_OF, b"".join(length_delimited(_ALL_OF, schema(s)) for s in value)))
        elif key == "properties":
            parts.append((_PROPERTIES, length_delimited(_PROPERTIES, named_schemas(value.items()))))
    extensions = _extensions(_EXTENSION, node)
    if extensions:
        parts.append((_EXTENSION, extensions))
    parts.sort(key=lambda p: p[0])
    return b"".join(p[1] for p in parts)


def _bool_oneof(num: int, value: bool) -> bytes:
    # A oneof member is written even when false: it records which member is set.
    return varint(num << 3) + varint(int(value))


def named_schema(name: str, node: dict[str, Any]) -> bytes:
    """A `NamedSchema` entry (name 1, value 2) of `Definitions` or `Properties`, as field 1 of those."""
    return length_delimited(1, string_field(1, name) + length_delimited(2, schema(node)))


def named_schemas(entries: Iterable[tuple[str, dict[str, Any]]]) -> bytes:
    return b"".join(named_schema(name, node) for name, node in entries)


def document(doc: dict[str, Any], definition_entries: bytes | None = None) -> bytes:
    """A `Document` message for a swagger dict.

    `definition_entries`, when given, replaces the encoding of `doc["definitions"]`: the concatenated
    `named_schema` entries, which callers may cache per definition and join.
    """
    out = [string_field(1, doc.get("swagger", ""))]
    info = doc.get("info")
    if info is not None:
        out.append(
            length_delimited(
                2, string_field(1, info.get("title", "")) + string_field(2, info.get("version", ""))
            )
        )
    if "paths" in doc:
        # Paths (vendor extensions 1, path items 2): kubenest publishes none; kubectl reads definitions only.
        out.append(length_delimited(8, b""))
    if definition_entries is None:
        definition_entries = named_schemas(sorted(doc.get("definitions", {}).items()))
    out.append(length_delimited(9, definition_entries))
    return b"".join(out)
