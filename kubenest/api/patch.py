"""PATCH bodies applied as kube-apiserver applies them.

Three patch types reach the generic PATCH handler:

- `application/json-patch+json`: RFC 6902, with the behaviour of `gopkg.in/evanphx/json-patch.v4`, the
  library the apiserver uses (negative array indices, `replace` of a missing object key adds it, `copy`
  from a missing key copies null, any failure answered as a bare 422).
- `application/merge-patch+json`: RFC 7386, as the same library merges (nulls pruned from new values).
- `application/strategic-merge-patch+json`: apimachinery's `strategicpatch` as the server applies it
  (`StrategicMergeMapPatch`: parallel lists merged, unmatched nulls ignored), driven by the
  `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` extensions of the schema.

Every function returns a new object and leaves its arguments untouched. Errors are `PatchError`s that
carry the HTTP code, reason and message kube answers with. The strategic merge result is the merged map
*before* kube decodes it into a typed object: like upstream, it can still hold nulls and `$` directive keys
inside list items or subtrees the patch added; the caller's decode/prune step drops them as kube's
converter does.
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from kubenest.api.schema import EMPTY, Node, Resolver, node_types

__all__ = ["PatchError", "json_patch", "merge_patch", "strategic_merge_patch"]

# The apiserver refuses JSON patches with more operations than this (handlers/patch.go).
MAX_JSON_PATCH_OPERATIONS = 10000
# --json-patch-max-copy-bytes default: how much `copy` operations may add to a document, all together.
JSON_PATCH_MAX_COPY_BYTES = 3 * 1024 * 1024

# NewGenericServerResponse(422, ...) drops the library's text and answers with this fixed sentence.
_INVALID_MESSAGE = "the server rejected our request due to an error in our request"
_PANIC_MESSAGE = "This request caused apiserver to panic. Look in the logs for details."


class PatchError(Exception):
    """A patch the server refuses, with the code, reason and message of kube's `Status` answer.

    `details` is the Status `details` object kube sends (None: no details). For JSON patch failures the
    library's own explanation, which kube does not send, is kept as `__cause__` for logs and tests.
    """

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details


def _bad_request(message: str) -> PatchError:
    return PatchError(400, "BadRequest", message)


def _invalid() -> PatchError:
    # errors.NewGenericServerResponse(422, "", GroupResource{}, "", msg, 0, false): empty details object.
    return PatchError(422, "Invalid", _INVALID_MESSAGE, {})


def _not_an_object(value: Any) -> PatchError:
    """What kube answers when a patch turns the object into an array: decoding it fails, reported as an
    invalid value of the field "patch" (handlers/patch.go, jsonPatcher.applyPatchToCurrentObject)."""
    detail = (
        "couldn't get version/kind; json parse error: json: cannot unmarshal array into Go value of type "
        'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
    )
    body = f"Invalid value: {orjson.dumps(orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()).decode()}: {detail}"
    return PatchError(
        422,
        "Invalid",
        f' "" is invalid: patch: {body}',
        {"causes": [{"reason": "FieldValueInvalid", "message": body, "field": "patch"}]},
    )


def _internal(message: str) -> PatchError:
    # A plain Go error reaching the handler: ErrorToAPIStatus answers 500 with an empty reason.
    return PatchError(500, "", message)


# ---------------------------------------------------------------------------------------------------------
# Go value formatting, so error messages read as kube's do.


def _go_type(v: Any) -> str:
    """reflect.TypeOf(v).String() of a value decoded the way the apiserver decodes patches."""
    if v is None:
        return "%!s(<nil>)"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list):
        return "[]interface {}"
    return type(v).__name__


def _go_float(f: float) -> str:
    """fmt's %v of a float64: strconv 'g' with the shortest digits and exponent threshold 6."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    if f == 0:
        return sign + "0"
    # repr holds the shortest digits that round-trip, as Go's shortest formatting does.
    dec = decimal.Decimal(repr(abs(f))).normalize()
    _, digit_tuple, exponent = dec.as_tuple()
    digits = "".join(map(str, digit_tuple))
    exp = len(digits) + int(exponent) - 1
    if exp < -4 or exp >= 6:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{digits}"
    if len(digits) <= exp + 1:
        return f"{sign}{digits}{'0' * (exp + 1 - len(digits))}"
    return f"{sign}{digits[: exp + 1]}.{digits[exp + 1 :]}"


def _go_fmt(v: Any) -> str:
    """fmt's %v of a JSON value held in interface{}: maps sorted, slices space separated."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_float(v)
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go_fmt(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_go_fmt(x) for x in v) + "]"
    return str(v)


def _go_fmt_s(v: Any) -> str:
    """fmt's %s of an interface{} value (non-strings print as %!s(type=value))."""
    if isinstance(v, str):
        return v
    if v is None:
        return "%!s(<nil>)"
    if isinstance(v, bool | int | float):
        return f"%!s({_go_type(v)}={_go_fmt(v)})"
    return _go_fmt(v)


def _json_kind(v: Any) -> str:
    """The JSON type word encoding/json uses in "cannot unmarshal X into ..." errors."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return "null"


def _same(a: Any, b: Any) -> bool:
    """Go's == on two interface{} values: equal dynamic type and value (1 != 1.0, 1 != true)."""
    return type(a) is type(b) and a == b


def _copy(v: Any) -> Any:
    """Deep copy of a JSON value (dicts and lists only; scalars are immutable)."""
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


# ---------------------------------------------------------------------------------------------------------
# RFC 6902 JSON patch, as evanphx/json-patch v4 applies it.


class _OpFailed(Exception):
    """The library's reason for a failed operation; kube hides it behind a generic 422."""


_GO_INT = re.compile(r"[+-]?[0-9]+\Z")
_POINTER_ESCAPE = re.compile(r"~[01]")


def _unescape(token: str) -> str:
    # One pass, so "~01" decodes to "~1" and not "/" (RFC 6901 section 4).
    return _POINTER_ESCAPE.sub(lambda m: "/" if m.group(0) == "~1" else "~", token)


def _atoi(key: str) -> int:
    """strconv.Atoi: optional sign and decimal digits, 64-bit range."""
    if not _GO_INT.match(key):
        raise _OpFailed(f'strconv.Atoi: parsing "{key}": invalid syntax')
    n = int(key)
    if not -(2**63) <= n < 2**63:
        raise _OpFailed(f'strconv.Atoi: parsing "{key}": value out of range')
    return n


def _array_index(ary: list[Any], key: str) -> int:
    """An existing element's index; negative indices count from the end (the library's extension)."""
    idx = _atoi(key)
    if idx < 0:
        if idx < -len(ary):
            raise _OpFailed(f"Unable to access invalid index: {idx}: invalid index referenced")
        idx += len(ary)
    if idx >= len(ary):
        raise _OpFailed(f"Unable to access invalid index: {idx}: invalid index referenced")
    return idx


def _find(root: Any, path: str) -> tuple[Any, str] | None:
    """The container holding the last token of `path`, and that token; None when the path is missing.

    Like the library, only the part before the first "/" is ignored, so "a/b" is read as "/b".
    """
    parts = path.split("/")
    if len(parts) < 2:
        return None
    doc = root
    for raw in parts[1:-1]:
        try:
            nxt = _get(doc, _unescape(raw))
        except _OpFailed:
            return None
        if not isinstance(nxt, dict | list):
            return None
        doc = nxt
    return doc, _unescape(parts[-1])


def _get(con: Any, key: str) -> Any:
    if isinstance(con, dict):
        return con.get(key)
    return con[_array_index(con, key)]


def _add(con: Any, key: str, val: Any) -> None:
    if isinstance(con, dict):
        con[key] = val
        return
    if key == "-":
        con.append(val)
        return
    try:
        idx = _atoi(key)
    except _OpFailed as e:
        raise _OpFailed(f"value was not a proper array index: '{key}': {e}") from None
    size = len(con) + 1
    if idx >= size:
        raise _OpFailed(f"Unable to access invalid index: {idx}: invalid index referenced")
    if idx < 0:
        if idx < -size:
            raise _OpFailed(f"Unable to access invalid index: {idx}: invalid index referenced")
        idx += size
    con.insert(idx, val)


def _remove(con: Any, key: str) -> None:
    if isinstance(con, dict):
        if key not in con:
            raise _OpFailed(f"Unable to remove nonexistent key: {key}: missing value")
        del con[key]
        return
    del con[_array_index(con, key)]


def _pointer(op: dict[str, Any], field: str) -> str:
    """Operation.Path() / Operation.From(): the field as a string."""
    v = op.get(field)
    if v is None:
        what = "operation missing path field" if field == "path" else "operation, missing from field"
        raise _OpFailed(f"{what}: missing value")
    if not isinstance(v, str):
        raise _OpFailed(f"json: cannot unmarshal {_json_kind(v)} into Go value of type string")
    return v


def _decoded(op: dict[str, Any], field: str, kind: str, keep_reason: bool = True) -> str:
    """The pointer in `field`, failing with the library's "<kind> operation failed to decode" wording."""
    try:
        return _pointer(op, field)
    except _OpFailed as e:
        # Some operations report the decoding error, others only ErrMissing.
        reason = str(e) if keep_reason else "missing value"
        raise _OpFailed(f"{kind} operation failed to decode {field}: {reason}") from None


def _wrapped(prefix: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call `fn`, prefixing a failure's text as the library wraps container errors."""
    try:
        return fn(*args)
    except _OpFailed as e:
        raise _OpFailed(f"{prefix}: {e}") from None


def _json_equal(a: Any, b: Any) -> bool:
    """The library's node comparison: structural for objects/arrays, textual (so typed) for scalars."""
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and len(a) == len(b)
            and all(k in b and _json_equal(v, b[k]) for k, v in a.items())
        )
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_json_equal, a, b))
    return _same(a, b)


class _Doc:
    """The document being patched; `replace` at "" swaps the whole root."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.copied_bytes = 0


def _apply_op(doc: _Doc, op: dict[str, Any]) -> None:
    kind = op.get("op")
    if not isinstance(kind, str):
        kind = "unknown"
    handler = _OPERATIONS.get(kind)
    if handler is None:
        raise _OpFailed(f"Unexpected kind: {kind}")
    handler(doc, op)


def _add_op(doc: _Doc, op: dict[str, Any]) -> None:
    path = _decoded(op, "path", "add", keep_reason=False)
    found = _find(doc.root, path)
    if found is None:
        raise _OpFailed(f'add operation does not apply: doc is missing path: "{path}": missing value')
    _wrapped(f"error in add for path: '{path}'", _add, found[0], found[1], _copy(op.get("value")))


def _remove_op(doc: _Doc, op: dict[str, Any]) -> None:
    path = _decoded(op, "path", "remove", keep_reason=False)
    found = _find(doc.root, path)
    if found is None:
        raise _OpFailed(f'remove operation does not apply: doc is missing path: "{path}": missing value')
    _wrapped(f"error in remove for path: '{path}'", _remove, *found)


def _replace_op(doc: _Doc, op: dict[str, Any]) -> None:
    path = _decoded(op, "path", "replace")
    value = op.get("value")
    if path == "":
        if not isinstance(value, dict | list):
            raise _OpFailed("replace operation value must be object or array")
        doc.root = _copy(value)
        return
    found = _find(doc.root, path)
    if found is None:
        raise _OpFailed(f"replace operation does not apply: doc is missing path: {path}: missing value")
    con, key = found
    if isinstance(con, dict):
        # v4 looks the key up without requiring it: replacing a missing key adds it.
        con[key] = _copy(value)
        return
    try:
        idx = _array_index(con, key)
    except _OpFailed:
        raise _OpFailed(
            f"replace operation does not apply: doc is missing key: {path}: missing value"
        ) from None
    con[idx] = _copy(value)


def _move_op(doc: _Doc, op: dict[str, Any]) -> None:
    src = _decoded(op, "from", "move")
    found = _find(doc.root, src)
    if found is None:
        raise _OpFailed(f"move operation does not apply: doc is missing from path: {src}: missing value")
    con, key = found
    val = _wrapped(f"error in move for path: '{key}'", _get, con, key)
    _wrapped(f"error in move for path: '{key}'", _remove, con, key)
    path = _decoded(op, "path", "move")
    dest = _find(doc.root, path)
    if dest is None:
        raise _OpFailed(
            f"move operation does not apply: doc is missing destination path: {path}: missing value"
        )
    _wrapped(f"error in move for path: '{path}'", _add, dest[0], dest[1], val)


def _test_op(doc: _Doc, op: dict[str, Any]) -> None:
    path = _decoded(op, "path", "test")
    if path == "":
        if "value" in op and _json_equal(doc.root, op["value"]):
            return
        raise _OpFailed(f"testing value {path} failed: test failed")
    found = _find(doc.root, path)
    if found is None:
        raise _OpFailed(f"test operation does not apply: is missing path: {path}: missing value")
    val = _wrapped(f"error in test for path: '{path}'", _get, *found)
    if val is None:
        # A missing key and a null value read the same; both pass against an absent or null value.
        if op.get("value") is None:
            return
        raise _OpFailed(f"testing value {path} failed: test failed")
    if "value" not in op or not _json_equal(val, op["value"]):
        raise _OpFailed(f"testing value {path} failed: test failed")


def _copy_op(doc: _Doc, op: dict[str, Any]) -> None:
    src = _decoded(op, "from", "copy")
    found = _find(doc.root, src)
    if found is None:
        raise _OpFailed(f"copy operation does not apply: doc is missing from path: {src}: missing value")
    # A missing object key reads as nil, so copying it writes null (the library's behaviour).
    val = _wrapped(f"error in copy for from: '{src}'", _get, *found)
    path = _decoded(op, "path", "copy", keep_reason=False)
    dest = _find(doc.root, path)
    if dest is None:
        raise _OpFailed(
            f"copy operation does not apply: doc is missing destination path: {path}: missing value"
        )
    # The library counts the copied value's JSON size against a per-patch budget.
    doc.copied_bytes += len(orjson.dumps(val))
    if doc.copied_bytes > JSON_PATCH_MAX_COPY_BYTES:
        raise _OpFailed(
            "Unable to complete the copy, the accumulated size increase of copy is "
            f"{doc.copied_bytes}, exceeding the limit {JSON_PATCH_MAX_COPY_BYTES}"
        )
    _wrapped("error while adding value during copy", _add, dest[0], dest[1], _copy(val))


_OPERATIONS: dict[str, Callable[[_Doc, dict[str, Any]], None]] = {
    "add": _add_op,
    "remove": _remove_op,
    "replace": _replace_op,
    "move": _move_op,
    "test": _test_op,
    "copy": _copy_op,
}


def json_patch(doc: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """Apply an RFC 6902 JSON patch (the decoded request body) to `doc`, as kube-apiserver does.

    A body that is not a list of objects is a 400; more than 10000 operations a 413; any failing
    operation (a `test` that does not match, a missing path, a bad index) a 422 "Invalid" whose message
    is kube's fixed sentence. Semantics follow evanphx/json-patch v4, the library kube uses.
    """
    if ops is None:
        return _copy(doc)
    if not isinstance(ops, list):
        raise _bad_request(f"json: cannot unmarshal {_json_kind(ops)} into Go value of type jsonpatch.Patch")
    for op in ops:
        if op is not None and not isinstance(op, dict):
            raise _bad_request(
                f"json: cannot unmarshal {_json_kind(op)} into Go value of type jsonpatch.Operation"
            )
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise PatchError(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}",
        )
    state = _Doc(_copy(doc))
    for op in ops:
        try:
            _apply_op(state, op or {})
        except _OpFailed as e:
            raise _invalid() from e
    if not isinstance(state.root, dict):
        raise _not_an_object(state.root)
    return state.root


# ---------------------------------------------------------------------------------------------------------
# RFC 7386 JSON merge patch, as evanphx/json-patch v4 merges.


def _pruned(v: Any) -> Any:
    """A copy of a new value with null object members removed, at every depth (nulls in arrays stay)."""
    if isinstance(v, dict):
        return {k: _pruned(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_pruned(x) for x in v]
    return v


def _merge_docs(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    for k, v in patch.items():
        if v is None:
            doc.pop(k, None)
            continue
        cur = doc.get(k)
        if cur is None:
            doc[k] = _pruned(v)
        elif not isinstance(cur, dict):
            doc[k] = _pruned(v)
        elif not isinstance(v, dict):
            # The library returns a non-object patch value as it is, nulls inside arrays included.
            doc[k] = _copy(v)
        else:
            _merge_docs(cur, v)


def merge_patch(doc: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Apply an RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces.

    A patch that is null or a scalar is kube's 400 "Invalid JSON Patch".
    """
    if isinstance(patch, list):
        # The library returns the array itself (nulls pruned) as the document, which kube cannot decode.
        raise _not_an_object(_pruned(patch))
    if not isinstance(patch, dict):
        raise _bad_request("Invalid JSON Patch")
    result: dict[str, Any] = _copy(doc)
    _merge_docs(result, patch)
    return result


# ---------------------------------------------------------------------------------------------------------
# Strategic merge patch, as apimachinery's strategicpatch applies it on the server.

_DIRECTIVE = "$patch"
_DELETE = "delete"
_REPLACE = "replace"
_MERGE = "merge"
_RETAIN_KEYS = "$retainKeys"
_DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
_SET_ELEMENT_ORDER = "$setElementOrder"

# The mergepatch sentinel errors the handler turns into 400s (interpretStrategicMergePatchError).
_ERR_PRIMITIVE_LIST = "invalid patch format of primitive list"
_ERR_RETAIN_KEYS = "invalid patch format of retainKeys"
_ERR_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"


class _SmpError(Exception):
    """An error of the strategicpatch package, with the status the handler gives it."""

    def __init__(self, message: str, code: int = 500) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _bad_format(message: str) -> _SmpError:
    return _SmpError(message, 400)


def _no_merge_key(m: Any, key: str) -> _SmpError:
    return _SmpError(f"map: {_go_fmt(m)} does not contain declared merge key: {key}")


def _bad_arg_type(expected: str, actual: Any) -> _SmpError:
    return _SmpError(f"expected a {expected}, but received a {_go_type(actual)}")


_MAP_T = "map[string]interface {}"
_SLICE_T = "[]interface {}"


@dataclass(frozen=True, slots=True)
class _Type:
    """The schema of one value: what LookupPatchMeta is to the Go code (a Go type, here a schema node)."""

    node: Node
    name: str
    resolve: Resolver

    def kind(self) -> str:
        """reflect.Kind().String() of the Go type this node stands for."""
        node = self.node
        if "properties" in node:
            return "struct"
        types = node_types(node)
        if isinstance(node.get("additionalProperties"), dict) or "object" in types:
            return "map"
        if "array" in types:
            return "slice"
        if "string" in types:
            return "string"
        if "integer" in types:
            return "int32" if node.get("format") == "int32" else "int64"
        if "number" in types:
            return "float64"
        if "boolean" in types:
            return "bool"
        return "struct"

    def field(self, key: str) -> tuple[_Type, list[str], str]:
        """LookupPatchMetadataForStruct: the field's type, patch strategies and merge key."""
        node = self.node
        props = node.get("properties")
        raw: Node | None = None
        if isinstance(props, dict):
            raw = props.get(key)
            if raw is None and not node.get("x-kubernetes-preserve-unknown-fields"):
                raise _SmpError(f'unable to find api field in struct {self.name} for the json field "{key}"')
        elif isinstance(node.get("additionalProperties"), dict):
            # Go looks fields up only in structs; a map of objects or lists cannot be merged.
            raise _SmpError("merging an object in json but data type is not struct, instead is: map")
        if raw is None:
            # No schema here (opaque or unknown): plain JSON merge semantics.
            return _Type(EMPTY, "", self.resolve), [""], ""
        resolved = self.resolve(raw)
        # The extensions sit on the property, beside its `$ref`; inline (CRD) nodes carry them directly.
        strategy = _extension(raw, resolved, "x-kubernetes-patch-strategy")
        merge_key = _extension(raw, resolved, "x-kubernetes-patch-merge-key")
        return _Type(resolved, _ref_name(raw), self.resolve), strategy.split(","), merge_key

    def slice_field(self, key: str) -> tuple[_Type, list[str], str]:
        """LookupPatchMetadataForSlice: like `field`, but the type returned is the element's."""
        sub, strategies, merge_key = self.field(key)
        if sub.node is EMPTY:
            return sub, strategies, merge_key
        if "array" not in node_types(sub.node):
            if sub.kind() in ("struct", "map"):
                # A Go pointer field is accepted as a list of its pointee, and the schema cannot tell
                # a pointer from a plain struct: read it the permissive way.
                return sub, strategies, merge_key
            raise _SmpError(f"expected slice or array type, but got: {self.kind()}")
        items = sub.node.get("items")
        if not isinstance(items, dict):
            return _Type(EMPTY, "", self.resolve), strategies, merge_key
        elem = _Type(self.resolve(items), _ref_name(items), self.resolve)
        if "array" in node_types(elem.node):
            raise _SmpError("unexpected slice of slice")
        return elem, strategies, merge_key


def _extension(raw: Node, resolved: Node, name: str) -> str:
    value = raw.get(name)
    if value is None:
        value = resolved.get(name)
    return value if isinstance(value, str) else ""


def _ref_name(node: Node) -> str:
    """The Go type name a `$ref` points to ("#/$defs/io.k8s.api.core.v1.PodSpec" -> "PodSpec")."""
    ref = node.get("$ref")
    if ref is None:
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            ref = all_of[0].get("$ref")
    if not isinstance(ref, str):
        return ""
    return ref.rsplit("/", 1)[-1].rsplit(".", 1)[-1]


def _other_strategy(strategies: list[str]) -> str:
    """extractRetainKeysPatchStrategy: the strategy besides retainKeys ("merge", "replace" or "")."""
    if len(strategies) == 1:
        return "" if strategies[0] == "retainKeys" else strategies[0]
    if len(strategies) == 2:
        if strategies[0] == "retainKeys":
            return strategies[1]
        if strategies[1] == "retainKeys":
            return strategies[0]
    if not strategies:
        return ""
    raise _SmpError(f"unexpected patch strategy: {_go_fmt(strategies)}")


def _remove_directives(obj: Any) -> tuple[Any, bool]:
    """A copy of a new value without `$patch` maps (a map holding one is dropped from its parent)."""
    if isinstance(obj, dict):
        if _DIRECTIVE in obj:
            return None, False
        out: dict[str, Any] = {}
        for k, v in obj.items():
            nv, keep = _remove_directives(v)
            if keep:
                out[k] = nv
        return out, True
    if isinstance(obj, list):
        kept = []
        for v in obj:
            nv, keep = _remove_directives(v)
            if keep:
                kept.append(nv)
        return kept, True
    return obj, True


def _discard_nulls(v: Any) -> None:
    """Drop null map values at every depth (list elements that are null stay), in place."""
    if isinstance(v, dict):
        for k in [k for k, x in v.items() if x is None]:
            del v[k]
        for x in v.values():
            _discard_nulls(x)
    elif isinstance(v, list):
        for x in v:
            _discard_nulls(x)


def _value_kind(v: Any) -> str:
    """reflect.TypeOf of a decoded value, coarse enough to compare two of them."""
    if v is None:
        return "nil"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list):
        return "slice"
    return _go_type(v)


def _element_kind(*lists: list[Any]) -> str:
    """sliceElementType: the one element type shared by every list ("map" or a scalar type)."""
    prev: str | None = None
    for lst in lists:
        for v in lst:
            cur = _value_kind(v)
            if prev is None:
                if cur == "nil":
                    # reflect.TypeOf(nil).Kind() panics in upstream; the apiserver recovers with a 500.
                    raise _SmpError(_PANIC_MESSAGE)
                if cur == "slice":
                    raise _SmpError("lists of lists are not supported", 422)
                prev = cur
            elif cur != prev:
                raise _SmpError(f"list element types are not identical: {_go_fmt(list(lists))}")
    if prev is None:
        raise _SmpError("no elements in any of the given slices")
    return prev


def _hashable(v: Any) -> Any:
    """A dict key standing for a scalar as Go's map[interface{}] would (type and value)."""
    if isinstance(v, dict | list):
        raise _SmpError(_PANIC_MESSAGE)
    return (type(v), v)


def _merge_key_value(item: Any, merge_key: str) -> Any:
    return item.get(merge_key) if isinstance(item, dict) else None


def _index(order: list[Any], value: Any, merge_key: str, is_map: bool) -> int:
    """Position of `value` in `order`, by merge key for maps; -1 when absent."""
    if is_map:
        want = _merge_key_value(value, merge_key)
        for i, v in enumerate(order):
            if _same(_merge_key_value(v, merge_key), want):
                return i
        return -1
    for i, v in enumerate(order):
        if _same(v, value):
            return i
    return -1


def _go_stable_sort(items: list[Any], less: Callable[[Any, Any], bool]) -> None:
    """sort.SliceStable, step for step: the comparator upstream passes is not a strict order when an
    item is missing from the order list, so only Go's own algorithm gives Go's result."""

    def insertion(a: int, b: int) -> None:
        for i in range(a + 1, b):
            j = i
            while j > a and less(items[j], items[j - 1]):
                items[j], items[j - 1] = items[j - 1], items[j]
                j -= 1

    def swap_range(a: int, b: int, n: int) -> None:
        for i in range(n):
            items[a + i], items[b + i] = items[b + i], items[a + i]

    def rotate(a: int, m: int, b: int) -> None:
        i, j = m - a, b - m
        while i != j:
            if i > j:
                swap_range(m - i, m, j)
                i -= j
            else:
                swap_range(m - i, m + j - i, i)
                j -= i
        swap_range(m - i, m, i)

    def sym_merge(a: int, m: int, b: int) -> None:
        if m - a == 1:
            i, j = m, b
            while i < j:
                h = (i + j) >> 1
                if less(items[h], items[a]):
                    i = h + 1
                else:
                    j = h
            for k in range(a, i - 1):
                items[k], items[k + 1] = items[k + 1], items[k]
            return
        if b - m == 1:
            i, j = a, m
            while i < j:
                h = (i + j) >> 1
                if not less(items[m], items[h]):
                    i = h + 1
                else:
                    j = h
            for k in range(m, i, -1):
                items[k], items[k - 1] = items[k - 1], items[k]
            return
        mid = (a + b) >> 1
        n = mid + m
        if m > mid:
            start, r = n - b, mid
        else:
            start, r = a, m
        p = n - 1
        while start < r:
            c = (start + r) >> 1
            if not less(items[p - c], items[c]):
                start = c + 1
            else:
                r = c
        end = n - start
        if start < m < end:
            rotate(start, m, end)
        if a < start < mid:
            sym_merge(a, start, mid)
        if mid < end < b:
            sym_merge(mid, end, b)

    n = len(items)
    block = 20
    a, b = 0, block
    while b <= n:
        insertion(a, b)
        a, b = b, b + block
    insertion(a, n)
    while block < n:
        a, b = 0, 2 * block
        while b <= n:
            sym_merge(a, a + block, b)
            a, b = b, b + 2 * block
        m = a + block
        if m < n:
            sym_merge(a, m, n)
        block *= 2


def _check_merge_keys(merge_key: str, *lists: list[Any]) -> None:
    for lst in lists:
        for item in lst:
            if not isinstance(item, dict):
                raise _bad_arg_type(_MAP_T, item)
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)


def _sort_by_order(to_sort: list[Any], order: list[Any], merge_key: str, is_map: bool) -> list[Any]:
    """normalizeSliceOrder: sort `to_sort` by position in `order`; `$patch: delete` items go last."""
    to_delete: list[Any] = []
    if is_map:
        _check_merge_keys(merge_key, to_sort, order)
        keep: list[Any] = []
        for v in to_sort:
            (to_delete if v.get(_DIRECTIVE) == _DELETE else keep).append(v)
        to_sort = keep
    pairs = [(_index(order, v, merge_key, is_map), v) for v in to_sort]

    def less(x: tuple[int, Any], y: tuple[int, Any]) -> bool:
        if x[0] >= 0 and y[0] >= 0:
            return x[0] < y[0]
        return True

    _go_stable_sort(pairs, less)
    return [v for _, v in pairs] + to_delete


def _normalize_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    is_map: bool,
) -> list[Any]:
    """normalizeElementOrder: patch items in patch order, server-only items slotted in by live order."""
    right = _sort_by_order(patch_items, patch_order, merge_key, is_map)
    left = _sort_by_order(server_only, server_order, merge_key, is_map)
    li = [_index(server_order, v, merge_key, is_map) for v in left]
    ri = [_index(server_order, v, merge_key, is_map) for v in right]
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        elif li[i] >= 0 and ri[j] >= 0 and li[i] < ri[j]:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    return out


def _partition_primitives(merged: list[Any], by: list[Any]) -> tuple[list[Any], list[Any]]:
    present = {_hashable(v) for v in by}
    in_patch = [v for v in merged if _hashable(v) in present]
    server_only = [v for v in merged if _hashable(v) not in present]
    return in_patch, server_only


def _find_by_key(items: list[Any], merge_key: str, value: Any) -> int:
    """findMapInSliceBasedOnKeyValue: index of the map whose merge key equals `value`, or -1."""
    for i, v in enumerate(items):
        if not isinstance(v, dict):
            raise _SmpError(f"value for key {i} is not a map")
        if merge_key in v and _same(v[merge_key], value):
            return i
    return -1


def _partition_maps(merged: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    in_patch: list[Any] = []
    server_only: list[Any] = []
    for v in merged:
        if not isinstance(v, dict):
            raise _bad_arg_type(_MAP_T, v)
        if merge_key not in v:
            raise _no_merge_key(v, merge_key)
        (in_patch if _find_by_key(by, merge_key, v[merge_key]) >= 0 else server_only).append(v)
    return in_patch, server_only


def _merge_slice(
    original: list[Any], patch: list[Any], elem: _Type, merge_key: str, is_delete_list: bool
) -> tuple[list[Any], list[Any]]:
    """mergeSlice: merge a list with merge strategy (or apply a deletion list).

    Returns the merged list and what the caller's view of `original` holds afterwards (see
    `_merge_map_items`); `$setElementOrder` orders by that view.
    """
    if not original and not patch:
        return original, original
    kind = _element_kind(original, patch)
    is_map = kind == "map"
    view = original
    if not is_map:
        if is_delete_list:
            gone = {_hashable(v) for v in patch}
            return [v for v in original if _hashable(v) not in gone], view
        merged: list[Any] = []
        seen: set[Any] = set()
        for v in original + patch:
            h = _hashable(v)
            if h not in seen:
                seen.add(h)
                merged.append(v)
        server_order = original
    else:
        if not merge_key:
            raise _SmpError(f"cannot merge lists without merge key for {elem.kind()}")
        merged, server_order, patch, view = _merge_map_items(original, patch, elem, merge_key)
    if not merge_key:
        patch_items, server_only = _partition_primitives(merged, patch)
    else:
        patch_items, server_only = _partition_maps(merged, patch, merge_key)
    return _normalize_order(patch_items, server_only, patch, server_order, merge_key, is_map), view


def _merge_map_items(
    original: list[Any], patch: list[Any], elem: _Type, merge_key: str
) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """mergeSliceWithSpecialElements then mergeSliceWithoutSpecialElements, on a list of maps.

    Upstream deletes entries in place (`append(s[:i], s[i+1:]...)`) and appends into the freed slots of
    the same array, which the `$setElementOrder` code still reads as the live list. `backing` replays
    those writes, so the order comes out as upstream's. Returns the merged list, the live list after
    deletions, the patch items without directives, and the caller's view of the live list.
    """
    backing = list(original)
    visible = len(backing)
    length = visible
    plain: list[Any] = []
    replace = False
    for item in patch:
        if _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if _same(directive, _DELETE):
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            while (i := _find_by_key(backing[:length], merge_key, item[merge_key])) >= 0:
                backing[i : length - 1] = backing[i + 1 : length]
                length -= 1
        elif _same(directive, _REPLACE):
            # Keep going: the other `$patch` items are still checked and dropped.
            replace = True
        elif _same(directive, _MERGE):
            raise _SmpError("merging lists cannot yet be specified in the patch")
        else:
            raise _SmpError(f"unknown patch type: {_go_fmt_s(directive)} in map: {_go_fmt(item)}")
    if replace:
        return plain, plain, [], backing
    merged = backing[:length]
    for item in plain:
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        # Items appended earlier are searched too: a key repeated in the patch merges into the first.
        at = _find_by_key(merged, merge_key, item[merge_key])
        if at >= 0:
            merged[at] = _merge_map(merged[at], item, elem)
        else:
            at = len(merged)
            merged.append(item)
        if at < visible:
            backing[at] = merged[at]
    return merged, merged[:length], plain, backing


def _merge_slice_field(
    original: Any, patch: Any, elem: _Type, strategy: str, merge_key: str, is_delete_list: bool
) -> tuple[list[Any], list[Any]]:
    """mergeSliceHandler: merge strategy (and deletion lists) merge; anything else replaces.

    Returns the new list and the caller's view of `original` afterwards.
    """
    if not isinstance(original, list):
        raise _bad_arg_type(_SLICE_T, original)
    if not isinstance(patch, list):
        raise _bad_arg_type(_SLICE_T, patch)
    if strategy == _MERGE or is_delete_list:
        return _merge_slice(original, patch, elem, merge_key, is_delete_list)
    return patch, original


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    """`$retainKeys`: drop live keys not listed; every key the patch sets must be listed."""
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise _bad_format(_ERR_RETAIN_KEYS)
    keys = {k for k in retain if isinstance(k, str)}
    for k, v in patch.items():
        if v is None or k.startswith(_DELETE_FROM_PRIMITIVE_LIST) or k.startswith(_SET_ELEMENT_ORDER):
            continue
        if k not in keys:
            raise _bad_format(_ERR_RETAIN_KEYS)
    for k in [k for k in original if k not in keys]:
        del original[k]


def _extract_key(key: str, prefix: str, error: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise _bad_format(error)
    return rest


def _check_set_element_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """validatePatchWithSetOrderList: the patch's items must appear in `$setElementOrder`, in order."""
    if not order or not patch_list:
        return
    items = patch_list
    if merge_key:
        for v in patch_list:
            if not isinstance(v, dict):
                raise _bad_arg_type(_MAP_T, v)
        items = [v for v in patch_list if v.get(_DIRECTIVE) != _DELETE]
    pi = oi = 0
    while pi < len(items) and oi < len(order):
        item = items[pi]
        if isinstance(item, dict) and _DIRECTIVE in item:
            pi += 1
            continue
        if _key_equal(item, order[oi], merge_key):
            pi += 1
        oi += 1
    if pi < len(items) and oi >= len(order):
        raise _SmpError(
            f"The order in patch list:\n{_go_fmt(patch_list)}\n doesn't match {_SET_ELEMENT_ORDER} "
            f"list:\n{_go_fmt(order)}\n"
        )


def _key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _same(left, right)
    for v in (left, right):
        if not isinstance(v, dict):
            raise _bad_arg_type(_MAP_T, v)
        if merge_key not in v:
            raise _no_merge_key(v, merge_key)
    return _same(left[merge_key], right[merge_key])


def _apply_set_element_order(original: dict[str, Any], patch: dict[str, Any], typ: _Type) -> None:
    """mergePatchIntoOriginal: merge each list that has a `$setElementOrder`, then impose that order.

    Precedence: the `$setElementOrder` list, then the patch list's order, then the live order. The merged
    list and its directive leave the patch so the main loop does not see them again.
    """
    for key in [k for k in patch if k.startswith(_SET_ELEMENT_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise _bad_arg_type(_SLICE_T, order)
        field = _extract_key(key, _SET_ELEMENT_ORDER, _ERR_SET_ELEMENT_ORDER)
        found_original = field in original
        found_patch = field in patch
        original_list: list[Any] = []
        patch_list: list[Any] = []
        if found_original:
            if not isinstance(original[field], list):
                raise _bad_arg_type(_SLICE_T, original[field])
            original_list = original[field]
        if found_patch:
            if not isinstance(patch[field], list):
                raise _bad_arg_type(_SLICE_T, patch[field])
            patch_list = patch[field]
        elem, strategies, merge_key = typ.slice_field(field)
        strategy = _other_strategy(strategies)
        _check_set_element_order(patch_list, order, merge_key)
        if found_original and not found_patch:
            merged = original_list
        elif found_patch and not found_original:
            merged = _remove_directives(patch_list)[0]
        elif found_original and found_patch:
            merged, original_list = _merge_slice_field(
                original_list, patch_list, elem, strategy, merge_key, False
            )
        else:
            continue
        if not merge_key:
            patch_items, server_only = _partition_primitives(merged, order)
        else:
            patch_items, server_only = _partition_maps(merged, order, merge_key)
        is_map = _element_kind(original_list, patch_list) == "map"
        original[field] = _normalize_order(patch_items, server_only, order, original_list, merge_key, is_map)
        patch.pop(field, None)


def _merge_map(original: dict[str, Any] | None, patch: dict[str, Any], typ: _Type) -> dict[str, Any]:
    """mergeMap with the server's options: parallel lists applied, nulls without a match ignored.

    Works in place on `original` and `patch`, which the caller owns (copies of the request's values).
    """
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if _same(directive, _REPLACE):
            del patch[_DIRECTIVE]
            return patch
        if _same(directive, _DELETE):
            return {}
        raise _SmpError(f"unknown patch type: {_go_fmt_s(directive)} in map: {_go_fmt(patch)}")
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _apply_set_element_order(original, patch, typ)
    for key, patch_v in patch.items():
        k = key
        is_delete_list = False
        if key.startswith(_DELETE_FROM_PRIMITIVE_LIST):
            k = _extract_key(key, _DELETE_FROM_PRIMITIVE_LIST, _ERR_PRIMITIVE_LIST)
            is_delete_list = True
        if patch_v is None:
            # Null deletes the field; for a deletion list it deletes the list itself, as upstream does.
            original.pop(k, None)
            continue
        if k not in original or _value_kind(original[k]) != _value_kind(patch_v):
            if not is_delete_list:
                _discard_nulls(patch_v)
                value, keep = _remove_directives(patch_v)
                if keep:
                    original[k] = value
                else:
                    original.pop(k, None)
            continue
        current = original[k]
        if isinstance(current, dict):
            sub, strategies, _ = typ.field(k)
            if _other_strategy(strategies) == _REPLACE:
                original[k] = patch_v
            else:
                original[k] = _merge_map(current, patch_v, sub)
        elif isinstance(current, list):
            elem, strategies, merge_key = typ.slice_field(k)
            strategy = _other_strategy(strategies)
            original[k] = _merge_slice_field(current, patch_v, elem, strategy, merge_key, is_delete_list)[0]
        else:
            value, keep = _remove_directives(patch_v)
            if keep:
                original[k] = value
            else:
                original.pop(k, None)
    return original


def _top_type(node: Node, resolve: Resolver) -> _Type:
    node = resolve(node)
    gvks = node.get("x-kubernetes-group-version-kind") or ()
    name = gvks[0].get("kind", "") if gvks and isinstance(gvks[0], dict) else ""
    return _Type(node, name, resolve)


def strategic_merge_patch(
    doc: dict[str, Any], patch: dict[str, Any], node: Node, resolve: Resolver
) -> dict[str, Any]:
    """Apply a strategic merge patch to `doc`, as kube-apiserver does for built-in kinds.

    `node` is the schema of the top-level object and `resolve` follows its `$ref`s. Lists whose field
    has `x-kubernetes-patch-strategy: merge` merge by `x-kubernetes-patch-merge-key` (lists of scalars
    are unioned); other lists and `replace` fields are replaced. Directives: `$patch`
    (replace/delete on maps, delete/replace on list items), `$retainKeys`,
    `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`; null deletes a key.

    Errors carry kube's answer: malformed directives 400, lists of lists 422, other merge failures
    (unknown `$patch` value, missing merge key, mismatched `$setElementOrder`) 500 with the library's text.
    """
    if patch is None:
        return _copy(doc)
    if not isinstance(patch, dict):
        raise _bad_request(
            f"json: cannot unmarshal {_json_kind(patch)} into Go value of type map[string]interface {{}}"
        )
    try:
        return _merge_map(_copy(doc), _copy(patch), _top_type(node, resolve))
    except _SmpError as e:
        if e.code == 400:
            raise _bad_request(e.message) from e
        if e.code == 422:
            raise _invalid() from e
        raise _internal(e.message) from e
