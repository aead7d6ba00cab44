"""Server-side apply and `metadata.managedFields` tracking, as the upstream API server does them.

This follows sigs.k8s.io/structured-merge-diff (typed merge, compare, field sets, prune of fields a
manager stopped applying) and the apiserver's field-manager chain (manager identifiers, stripped
metadata fields, "before-first-apply", capping of update managers, kubectl's last-applied handling),
written for plain-dict objects and the JSON-schema nodes of `kubenest.api.schema`.

Objects are walked together with a schema node and a `resolve` callable, so the same code serves
built-in kinds (resolve = Schemas.resolve) and CRD `openAPIV3Schema` nodes (resolve = identity).
Only one API version per resource is served here, so the version conversions upstream performs
between managers of different versions are identities.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import orjson

from kubenest.api.schema import EMPTY, Node, Resolver, list_type, node_types
from kubenest.api.shapes import ShapeCache, shape

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

# Update managers beyond this many are folded into "ancient-changes", oldest first (upstream default).
MAX_UPDATE_MANAGERS = 10


class _Missing:
    """Marks an absent value, which upstream distinguishes from an explicit null."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


# ---------------------------------------------------------------------------------------------
# Errors


class ApplyConflict(Exception):
    """An apply that would change fields other managers own (HTTP 409, reason Conflict)."""

    code = 409
    reason = "Conflict"

    def __init__(self, items: list[tuple[tuple[str, str, str, str], str]]) -> None:
        # items: (manager identifier, path as kube prints it), grouped by sorted identifier
        self.conflicts: list[tuple[str, str]] = [(mid[0], path) for mid, path in items]
        self.causes: list[dict[str, str]] = [
            {"type": "FieldManagerConflict", "message": f"conflict with {_print_manager(mid)}", "field": path}
            for mid, path in items
        ]
        self._text = _conflict_message(items)
        super().__init__(self._text)

    def message(self) -> str:
        """kube's text, e.g. 'Apply failed with 1 conflict: conflict with "x" using apps/v1: .spec.replicas'."""
        return self._text


class ApplyError(Exception):
    """An apply configuration the server refuses; `code`, `reason` and `message` as kube answers them."""

    def __init__(self, message: str, code: int = 400, reason: str = "BadRequest") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason


class _Conflicts(Exception):
    def __init__(self, by_manager: dict[tuple[str, str, str, str], _FieldSet]) -> None:
        super().__init__("conflicts")
        self.by_manager = by_manager

    def items(self) -> list[tuple[tuple[str, str, str, str], tuple[Any, ...]]]:
        out: list[tuple[_Id, Path]] = []
        for mid in sorted(self.by_manager, key=_id_json):
            out.extend((mid, path) for path in self.by_manager[mid].paths())
        return out


def _print_manager(mid: tuple[str, str, str, str]) -> str:
    manager, operation, api_version, subresource = mid
    text = _go_quote(manager)
    if subresource:
        text = f"{text} with subresource {_go_quote(subresource)}"
    if operation == "Update":
        text = f"{text} using {api_version}"
    return text


def _conflict_message(items: list[tuple[tuple[str, str, str, str], str]]) -> str:
    if len(items) == 1:
        mid, path = items[0]
        return f"Apply failed with 1 conflict: conflict with {_print_manager(mid)}: {path}"
    lines: list[str] = []
    last: tuple[str, str, str, str] | None = None
    for mid, path in items:
        if mid != last:
            lines.append(f"conflicts with {_print_manager(mid)}:")
            last = mid
        lines.append(f"- {path}")
    return f"Apply failed with {len(items)} conflicts: " + "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Values: equality, total order, and Go's renderings of them


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list):
        return "list"
    return "scalar"


def _equal(a: Any, b: Any) -> bool:
    """value.Equals: numbers compare numerically (1 == 1.0), booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) or isinstance(b, int | float):
        return isinstance(a, int | float) and isinstance(b, int | float) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, list):
        return (
            isinstance(b, list) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, dict):
        return (
            isinstance(b, dict) and len(a) == len(b) and all(k in b and _equal(x, b[k]) for k, x in a.items())
        )
    return a is None and b is None


_SORT_KEYS = orjson.OPT_SORT_KEYS


def _same_value(a: Any, b: Any) -> bool:
    """Whether a and b are the same JSON value up to map key order (so comparing them finds nothing).

    A cheap test before walking two values: `==` runs in C but holds True == 1, so equal containers
    are confirmed by their encodings. False means "walk them", not "they differ". A NaN is not equal
    to itself for `_equal`, but JSON cannot carry one, so it is not looked for here.
    """
    kind = type(a)
    if kind is float:
        return False  # left to `_equal`
    if a is b:
        return True
    if kind is not type(b) or a != b:
        return False
    if kind is not dict and kind is not list:
        return True  # equal strings, ints, booleans
    try:
        return orjson.dumps(a) == orjson.dumps(b) or (
            orjson.dumps(a, option=_SORT_KEYS) == orjson.dumps(b, option=_SORT_KEYS)
        )
    except TypeError:  # integers past 64 bits, non-string keys: walk them
        return False


def _vkey(v: Any) -> tuple[Any, ...]:
    """A hashable key whose tuple order is value.Compare's: numbers < strings < bools < lists < maps < null."""
    if v is None:
        return (5,)
    if isinstance(v, bool):
        return (2, v)
    if isinstance(v, int | float):
        return (0, v)
    if isinstance(v, str):
        return (1, v)
    if isinstance(v, list):
        return (3, tuple(_vkey(x) for x in v))
    if isinstance(v, dict):
        return (4, tuple(sorted((k, _vkey(x)) for k, x in v.items())))
    return (1, str(v))


def _vvalue(key: tuple[Any, ...]) -> Any:
    tag = key[0]
    if tag == 5:
        return None
    if tag == 3:
        return [_vvalue(x) for x in key[1]]
    if tag == 4:
        return {k: _vvalue(x) for k, x in key[1]}
    return key[1]


def _go_json_float(f: float) -> str:
    # encoding/json: shortest digits, exponent form outside [1e-6, 1e21), "e-07" written "e-7"
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        text = repr(f)
        return re.sub(r"e([+-])0(\d)$", r"e\1\2", text)
    return format(Decimal(repr(f)).normalize(), "f")


def _go_json(v: Any) -> str:
    """JSON as Go's encoding/json writes it: compact, sorted map keys, HTML-safe escapes."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_json_float(v)
    if isinstance(v, str):
        text = json.dumps(v, ensure_ascii=False)
        for raw, esc in (
            ("<", "\\u003c"),
            (">", "\\u003e"),
            ("&", "\\u0026"),
            ("\u2028", "\\u2028"),
            ("\u2029", "\\u2029"),
        ):
            text = text.replace(raw, esc)
        return text
    if isinstance(v, list):
        return "[" + ",".join(_go_json(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(_go_json(k) + ":" + _go_json(v[k]) for k in sorted(v)) + "}"
    return _go_json(str(v))


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _go_quote(s: str) -> str:
    """strconv.Quote (Go's %q)."""
    out = ['"']
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif ch != " " and unicodedata.category(ch)[0] in "CZ":
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _go_float_v(f: float) -> str:
    """fmt's %v of a float64: shortest digits, exponent form when exp < -4 or exp >= max(digits, 6)."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "0"
    sign, digit_tuple, exponent = Decimal(repr(f)).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    nd = len(digits)
    dp = nd + exponent
    eprec = 6
    if eprec > nd and nd >= dp:
        eprec = nd
    exp10 = dp - 1
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= eprec:
        mantissa = digits[0] + ("." + digits[1:] if nd > 1 else "")
        return f"{prefix}{mantissa}e{'+' if exp10 >= 0 else '-'}{abs(exp10):02d}"
    if dp <= 0:
        return f"{prefix}0.{'0' * -dp}{digits}"
    if dp >= nd:
        return prefix + digits + "0" * (dp - nd)
    return f"{prefix}{digits[:dp]}.{digits[dp:]}"


def _to_string(v: Any) -> str:
    """value.ToString, used in printed field paths."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return _go_float_v(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _go_quote(v)
    if isinstance(v, list):
        return "[" + ",".join(_to_string(x) for x in v) + "]"
    if isinstance(v, dict):
        return "".join(f"{k}={_to_string(v[k])}" for k in sorted(v))
    return str(v)


# ---------------------------------------------------------------------------------------------
# Path elements, written (rank, payload) so that tuple order is structured-merge-diff's order:
# field names < map-list keys < set values < indexes.

_F, _K, _V, _I = 0, 1, 2, 3
PathElement = tuple[int, Any]
Path = tuple[PathElement, ...]


def _pe_json(pe: PathElement) -> str:
    """A FieldsV1 key: f:<name>, k:<json keys>, v:<json value>, i:<index>."""
    rank, payload = pe
    if rank == _F:
        return "f:" + payload
    if rank == _K:
        return "k:{" + ",".join(_go_json(name) + ":" + _go_json(_vvalue(vk)) for name, vk in payload) + "}"
    if rank == _V:
        return "v:" + _go_json(_vvalue(payload))
    return f"i:{payload}"


def _pe_parse(key: str) -> PathElement | None:
    if len(key) < 2 or key[1] != ":":
        raise ValueError(f"invalid path element {key!r}")
    body = key[2:]
    if key[0] == "f":
        return (_F, body)
    if key[0] == "v":
        return (_V, _vkey(json.loads(body)))
    if key[0] == "k":
        obj = json.loads(body)
        if not isinstance(obj, dict):
            raise ValueError(f"invalid key {body!r}")
        return (_K, tuple(sorted(((k, _vkey(x)) for k, x in obj.items()), key=lambda f: f[0])))
    if key[0] == "i":
        return (_I, int(body))
    # Unknown element types are dropped, as a newer server may know them.
    return None


def _pe_str(pe: PathElement) -> str:
    rank, payload = pe
    if rank == _F:
        return "." + payload
    if rank == _K:
        return "[" + ",".join(f"{name}={_to_string(_vvalue(vk))}" for name, vk in payload) + "]"
    if rank == _V:
        return "[=" + _to_string(_vvalue(payload)) + "]"
    return f"[{payload}]"


def _path_str(path: Sequence[PathElement]) -> str:
    return "".join(_pe_str(pe) for pe in path)


# ---------------------------------------------------------------------------------------------
# Field sets


class _FieldSet:
    """A fieldpath.Set: members owned at this level, and child sets below path elements.

    Sets returned by the operations share subtrees, and an operation that changes nothing returns
    its operand itself, so only freshly built sets are inserted into. `src` is the FieldsV1 a set
    was decoded from when `to_json` writes exactly that (with "." first where the set is a member's
    child): encoding reuses it, so an update encodes only the entries, and the parts of them, it
    changed.
    """

    __slots__ = ("members", "children", "src")

    def __init__(
        self, members: set[PathElement] | None = None, children: dict[PathElement, _FieldSet] | None = None
    ):
        self.members: set[PathElement] = members if members is not None else set()
        self.children: dict[PathElement, _FieldSet] = children if children is not None else {}
        self.src: dict[str, Any] | None = None

    def insert(self, path: Sequence[PathElement]) -> None:
        # The empty path is the whole object, which nobody owns.
        if not path:
            return
        node = self
        for pe in path[:-1]:
            node.src = None
            child = node.children.get(pe)
            if child is None:
                child = node.children[pe] = _FieldSet()
            node = child
        node.src = None
        node.members.add(path[-1])

    def has(self, path: Sequence[PathElement]) -> bool:
        node: _FieldSet | None = self
        for pe in path[:-1]:
            assert node is not None
            node = node.children.get(pe)
            if node is None:
                return False
        return bool(path) and node is not None and path[-1] in node.members

    def empty(self) -> bool:
        return not self.members and not self.children

    def union(self, other: _FieldSet) -> _FieldSet:
        if other is self or other.empty():
            return self
        if self.empty():
            return other
        children = dict(self.children)
        mine = other.members <= self.members  # whether the union is self
        theirs = self.members <= other.members  # whether it is other
        for pe, child in other.children.items():
            own = children.get(pe)
            if own is None:
                children[pe] = child
                mine = False
                continue
            both = children[pe] = own.union(child)
            mine = mine and both is own
            theirs = theirs and both is child
        if mine:
            return self
        if theirs and len(children) == len(other.children):
            return other
        return _FieldSet(self.members | other.members, children)

    def intersection(self, other: _FieldSet) -> _FieldSet:
        small, large = (self, other) if len(self.children) <= len(other.children) else (other, self)
        children = {}
        for pe, child in small.children.items():
            theirs = large.children.get(pe)
            if theirs is not None:
                both = child.intersection(theirs)
                if not both.empty():
                    children[pe] = both
        return _FieldSet(self.members & other.members, children)

    def difference(self, other: _FieldSet) -> _FieldSet:
        """Leaf difference: a parent minus its child stays; members go only when other has them."""
        children: dict[PathElement, _FieldSet] | None = None  # copied at the first change
        for pe, theirs in other.children.items():
            child = self.children.get(pe)
            if child is None:
                continue
            rest = child.difference(theirs)
            if rest is child and not rest.empty():
                continue
            if children is None:
                children = dict(self.children)
            if rest.empty():
                del children[pe]
            else:
                children[pe] = rest
        return self._rebuilt(other.members, children)

    def recursive_difference(self, other: _FieldSet) -> _FieldSet:
        """Difference that also drops everything below a member of other."""
        children: dict[PathElement, _FieldSet] | None = None
        for pe in other.members:
            if pe in self.children:
                if children is None:
                    children = dict(self.children)
                del children[pe]
        for pe, theirs in other.children.items():
            child = self.children.get(pe)
            if child is None or pe in other.members:
                continue
            rest = child.recursive_difference(theirs)
            if rest is child and not rest.empty():
                continue
            if children is None:
                children = dict(self.children)
            if rest.empty():
                del children[pe]
            else:
                children[pe] = rest
        return self._rebuilt(other.members, children)

    def _rebuilt(self, drop: set[PathElement], children: dict[PathElement, _FieldSet] | None) -> _FieldSet:
        # self without the members in drop and with `children` (None: self's), or self if that is all.
        if self.members.isdisjoint(drop):
            if children is None:
                return self
            return _FieldSet(set(self.members), children)
        return _FieldSet(self.members - drop, dict(self.children) if children is None else children)

    def paths(self, prefix: Path = ()) -> Iterator[Path]:
        """Every member path, in upstream's order: this level's members, then each child's subtree."""
        for pe in sorted(self.members):
            yield prefix + (pe,)
        for pe in sorted(self.children):
            yield from self.children[pe].paths(prefix + (pe,))

    def to_json(self) -> dict[str, Any]:
        """FieldsV1, keys in structured-merge-diff's order, "." first where a parent is also owned."""
        src = self.src
        if src is not None and "." not in src:
            return src
        out: dict[str, Any] = {}
        members = self.members
        children = self.children
        for pe in sorted(members | children.keys() if children else members):
            key = "f:" + pe[1] if pe[0] == _F else _pe_key(pe)
            child = children.get(pe)
            if child is None:
                out[key] = {}
                continue
            member = pe in members
            src = child.src
            if src is not None and ("." in src) == member:
                out[key] = src
                continue
            inner: dict[str, Any] = {".": {}} if member else {}
            inner.update(child.to_json())
            out[key] = inner
        return out

    @staticmethod
    def from_json(obj: Any) -> _FieldSet:
        found, _, _ = _read_fields(obj)
        return found if found is not None else _FieldSet()


# FieldsV1 keys read before, most of them the same in every object of a kind (f:spec, k:{"name":"app"}):
# the path element each stands for, and whether `_pe_json` spells that element so.
_KEYS_READ: dict[str, tuple[PathElement | None, bool]] = {}


def _read_key(key: str) -> tuple[PathElement | None, bool]:
    hit = _KEYS_READ.get(key)
    if hit is None:
        pe = _pe_parse(key)
        hit = (pe, pe is not None and _pe_json(pe) == key)
        if len(_KEYS_READ) >= 32768:
            _KEYS_READ.clear()
        _KEYS_READ[key] = hit
    return hit


# The other way, for elements whose values are strings, integers, booleans or null: a float key
# equals an integer one (1.0 == 1) but may be spelled differently, so those are not kept.
_KEYS_WRITTEN: dict[PathElement, str] = {}


def _pe_key(pe: PathElement) -> str:
    rank, payload = pe
    if rank == _K:
        plain = all(vk[0] in (1, 2, 5) or (vk[0] == 0 and type(vk[1]) is int) for _, vk in payload)
    elif rank == _V:
        plain = payload[0] in (1, 2, 5) or (payload[0] == 0 and type(payload[1]) is int)
    else:
        return _pe_json(pe)
    if not plain:
        return _pe_json(pe)
    key = _KEYS_WRITTEN.get(pe)
    if key is None:
        key = _pe_json(pe)
        if len(_KEYS_WRITTEN) >= 32768:
            _KEYS_WRITTEN.clear()
        _KEYS_WRITTEN[pe] = key
    return key


def _read_fields(obj: Any) -> tuple[_FieldSet | None, bool, bool]:
    """The set below obj, whether obj's place is itself a member, and whether obj is exactly the JSON
    `to_json` writes for that (then kept as the set's `src`)."""
    if not isinstance(obj, dict):
        raise ValueError("fieldsV1 must be a JSON object")
    children: _FieldSet | None = None
    is_member = False
    exact = True
    last: PathElement | None = None
    for key, value in obj.items():
        if key == ".":
            is_member = True
            if last is not None or type(value) is not dict or value:
                exact = False  # written first, as {}
            continue
        pe, spelled = _read_key(key)
        if pe is None:
            exact = False
            continue
        if not spelled or (last is not None and not last < pe):
            exact = False  # spelled otherwise, out of order or repeated
        last = pe
        grandchildren, child_is_member, child_exact = _read_fields(value)
        exact = exact and child_exact
        if child_is_member or grandchildren is not None:
            children = children if children is not None else _FieldSet()
        if child_is_member:
            assert children is not None
            children.members.add(pe)
        if grandchildren is not None:
            assert children is not None
            mine = children.children.get(pe)
            children.children[pe] = grandchildren if mine is None else mine.union(grandchildren)
    if children is None:
        # A leaf, written {}.
        return None, True, exact and not obj
    if exact:
        children.src = obj
    return children, is_member, exact


def _set_of(*paths: Sequence[str]) -> _FieldSet:
    out = _FieldSet()
    for path in paths:
        out.insert(tuple((_F, name) for name in path))
    return out


# Fields the field manager never records (stripmeta.go). deletionTimestamp and
# deletionGracePeriodSeconds are added here because graceful deletion writes them without going
# through the field manager upstream, and a caller may still route that write through track_update.
_STRIP = _set_of(
    ("apiVersion",),
    ("kind",),
    ("metadata",),
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("metadata", "creationTimestamp"),
    ("metadata", "selfLink"),
    ("metadata", "uid"),
    ("metadata", "clusterName"),
    ("metadata", "generation"),
    ("metadata", "managedFields"),
    ("metadata", "resourceVersion"),
    ("metadata", "deletionTimestamp"),
    ("metadata", "deletionGracePeriodSeconds"),
)


# ---------------------------------------------------------------------------------------------
# Schema types, as structured-merge-diff sees the OpenAPI schema (kube-openapi schemaconv)

_SCHEMA, _DEDUCED, _UNTYPED_ATOMIC = 0, 1, 2


class _T:
    """A schema type: `node` resolved, `ext` the field-level node (its map-type overrides the def's).

    What the walks ask of a type (map or list kind, which JSON kinds it allows) is worked out once
    here, and the types of its children are kept as they are found: a root type (`_root_type`) is
    cached per schema, so a request walks types built by earlier requests instead of rebuilding them.
    """

    __slots__ = (
        "node", "ext", "mode", "preserve", "root", "map_atomic", "list_kind", "allows", "kids", "extra_t",
        "item_t", "key_defaults",
    )

    def __init__(
        self,
        node: Node,
        ext: Node | None = None,
        mode: int = _SCHEMA,
        preserve: bool = False,
        root: bool = False,
    ):
        self.node = node
        self.ext = ext if ext is not None else node
        self.mode = mode
        self.preserve = preserve
        self.root = root
        self.map_atomic = _compute_map_atomic(self)
        self.list_kind = _compute_list_kind(self)
        # The value kinds ("map", "list", "scalar") walked as such rather than as leaves.
        self.allows = frozenset(k for k in ("map", "list", "scalar") if _compute_allows(self, k))
        self.kids: dict[str, _T] = {}
        self.extra_t: _T | None = None
        self.item_t: _T | None = None
        self.key_defaults: dict[str, Any] = {}


_STR: Node = {"type": "string"}
_STR_MAP: Node = {"type": "object", "additionalProperties": _STR}
# ObjectMeta for custom resources, whose CRD schema rarely spells metadata out; upstream's CRD
# OpenAPI always references ObjectMeta there.
_OBJECT_META: Node = {
    "type": "object",
    "properties": {
        "name": _STR,
        "generateName": _STR,
        "namespace": _STR,
        "selfLink": _STR,
        "uid": _STR,
        "resourceVersion": _STR,
        "generation": {"type": "integer"},
        "creationTimestamp": _STR,
        "deletionTimestamp": _STR,
        "deletionGracePeriodSeconds": {"type": "integer"},
        "labels": _STR_MAP,
        "annotations": _STR_MAP,
        "ownerReferences": {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["uid"],
            "items": {
                "type": "object",
                "x-kubernetes-map-type": "atomic",
                "properties": {
                    "apiVersion": _STR,
                    "kind": _STR,
                    "name": _STR,
                    "uid": _STR,
                    "controller": {"type": "boolean"},
                    "blockOwnerDeletion": {"type": "boolean"},
                },
            },
        },
        "finalizers": {"type": "array", "x-kubernetes-list-type": "set", "items": _STR},
        "managedFields": {"type": "array", "x-kubernetes-list-type": "atomic", "items": {"type": "object"}},
    },
}

# A map-list key that is absent takes its schema default; built-in schemas here carry no defaults,
# and the only defaulted key fields upstream are the TCP protocols of container and service ports.
_TCP_DEFAULT = re.compile(r'Defaults? (?:is|to) "?TCP')


_ROOT_TYPES: dict[int, tuple[Node, Resolver, _T]] = {}


def _root_type(node: Node, resolve: Resolver) -> _T:
    """The type of a top-level schema node, shared by every walk over objects of that schema."""
    hit = _ROOT_TYPES.get(id(node))
    if hit is not None and hit[0] is node and hit[1] == resolve:
        return hit[2]
    resolved = resolve(node)
    t = _T(resolved, node, _SCHEMA, resolved.get("x-kubernetes-preserve-unknown-fields") is True, True)
    if len(_ROOT_TYPES) >= 1024:  # CRD schemas come and go; built-in ones are a few hundred per version
        _ROOT_TYPES.clear()
    _ROOT_TYPES[id(node)] = (node, resolve, t)
    return t


def _ref_name(raw: Node) -> str:
    ref = raw.get("$ref")
    if ref is None:
        all_of = raw.get("allOf")
        if all_of and len(all_of) == 1 and isinstance(all_of[0], dict):
            ref = all_of[0].get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else ""


def _field_type(raw: Node, resolve: Resolver, preserve: bool) -> _T:
    if _ref_name(raw).endswith("runtime.RawExtension"):
        return _ATOMIC_T
    node = resolve(raw)
    keep = preserve or node.get("x-kubernetes-preserve-unknown-fields") is True
    return _T(node, raw, _SCHEMA, keep)


def _child(t: _T, key: str, resolve: Resolver) -> _T:
    """The type of a map entry or struct field."""
    if t.mode == _DEDUCED:
        return _DEDUCED_T
    if t.mode == _UNTYPED_ATOMIC:
        return _ATOMIC_T
    found = t.kids.get(key)
    if found is not None:
        return found
    if t.root and key == "metadata":
        found = t.kids[key] = _metadata_type(t, resolve)
        return found
    props = t.node.get("properties")
    if props and key in props:
        found = t.kids[key] = _field_type(props[key], resolve, t.preserve)
        return found
    # Map keys are data (label names, ConfigMap keys), all of one type: kept once, not per key.
    if t.extra_t is None:
        extra = t.node.get("additionalProperties")
        # Free-form objects, preserved unknown fields, and (leniently) fields the schema lacks.
        t.extra_t = _field_type(extra, resolve, t.preserve) if isinstance(extra, dict) else _DEDUCED_T
    return t.extra_t


def _metadata_type(t: _T, resolve: Resolver) -> _T:
    raw = (t.node.get("properties") or {}).get("metadata")
    if raw is not None:
        meta = resolve(raw)
        if "managedFields" in (meta.get("properties") or {}):
            return _T(meta, raw)
    return _T(_OBJECT_META)


def _is_named(t: _T, key: str) -> bool:
    """Whether key is a struct field (upstream FindField) rather than a map key."""
    if t.mode != _SCHEMA:
        return False
    if t.root and key in ("apiVersion", "kind", "metadata"):
        return True
    return key in (t.node.get("properties") or {})


def _item(t: _T, resolve: Resolver) -> _T:
    if t.mode != _SCHEMA:
        return _ATOMIC_T
    if t.item_t is None:
        items = t.node.get("items")
        t.item_t = _field_type(items, resolve, t.preserve) if isinstance(items, dict) else _ATOMIC_T
    return t.item_t


def _map_atomic(t: _T) -> bool:
    return t.map_atomic


def _list_kind(t: _T) -> tuple[str, tuple[str, ...]]:
    return t.list_kind


def _allows(t: _T, kind: str) -> bool:
    return kind in t.allows


def _compute_map_atomic(t: _T) -> bool:
    if t.mode != _SCHEMA:
        return t.mode == _UNTYPED_ATOMIC
    if "x-kubernetes-map-type" in t.ext:
        return bool(t.ext["x-kubernetes-map-type"] == "atomic")
    return bool(t.node.get("x-kubernetes-map-type") == "atomic")


def _compute_list_kind(t: _T) -> tuple[str, tuple[str, ...]]:
    if t.mode != _SCHEMA:
        return "atomic", ()
    ext = t.ext
    if "x-kubernetes-list-type" in ext or "x-kubernetes-patch-strategy" in ext:
        return list_type(ext)
    return list_type(t.node)


def _compute_allows(t: _T, kind: str) -> bool:
    if t.mode != _SCHEMA:
        return True
    types = node_types(t.node)
    if "additionalProperties" in t.node:
        types = types | {"object"}
    if not types:
        return True
    if kind == "map":
        return "object" in types
    if kind == "list":
        return "array" in types
    return bool(types - {"object", "array"})


# Free-form values: maps granular with free-form values, lists atomic.
_DEDUCED_T = _T(EMPTY, mode=_DEDUCED)
# runtime.RawExtension: anything, owned as one piece.
_ATOMIC_T = _T(EMPTY, mode=_UNTYPED_ATOMIC)


def _pair_kind(t: _T, left: Any, right: Any) -> str:
    """How two values at one place are walked: "map", "list", or "leaf" (scalars, nulls, mismatches)."""
    kinds = set()
    for v in (left, right):
        if v is not MISSING and v is not None:
            kinds.add(_kind(v))
    if len(kinds) != 1:
        return "leaf"
    kind = kinds.pop()
    if kind == "scalar" or not _allows(t, kind):
        return "leaf"
    return kind


def _is_empty(v: Any) -> bool:
    return v is MISSING or v is None or (isinstance(v, dict | list) and not v)


def _key_default(item: _T, key: str, resolve: Resolver) -> Any:
    found = item.key_defaults.get(key, None)
    if found is None:
        found = item.key_defaults[key] = _find_key_default(item, key, resolve)
    return found


def _find_key_default(item: _T, key: str, resolve: Resolver) -> Any:
    raw = (item.node.get("properties") or {}).get(key)
    if raw is None:
        return MISSING
    if "default" in raw:
        return raw["default"]
    node = resolve(raw)
    if "default" in node:
        return node["default"]
    if key == "protocol" and _TCP_DEFAULT.search(node.get("description") or raw.get("description") or ""):
        return "TCP"
    return MISSING


class _PEError(Exception):
    pass


def _item_pe(item: Any, keys: tuple[str, ...], item_t: _T, resolve: Resolver) -> PathElement:
    """The path element of a list item: k:{keys} for map-lists, v:value for sets."""
    if keys:
        if item is None:
            raise _PEError("associative list with keys may not have a null element")
        if not isinstance(item, dict):
            raise _PEError("associative list with keys may not have non-map elements")
        fields = []
        for key in keys:
            if key in item:
                fields.append((key, _vkey(item[key])))
                continue
            default = _key_default(item_t, key, resolve)
            if default is not MISSING and default is not None:
                fields.append((key, _vkey(default)))
        if not fields:
            quoted = "[" + " ".join(_go_quote(k) for k in keys) + "]"
            raise _PEError(
                f"associative list with keys has an element that omits all key fields {quoted} "
                "(and doesn't have default values for any key fields)"
            )
        fields.sort(key=lambda f: f[0])
        return (_K, tuple(fields))
    if isinstance(item, dict):
        raise _PEError("associative list without keys has an element that's a map type")
    if isinstance(item, list):
        raise _PEError("not supported: associative list with lists as elements")
    if item is None:
        raise _PEError("associative list without keys has an element that's an explicit null")
    return (_V, _vkey(item))


def _item_pes(
    items: list[Any], keys: tuple[str, ...], item_t: _T, resolve: Resolver
) -> list[PathElement] | None:
    try:
        return [_item_pe(x, keys, item_t, resolve) for x in items]
    except _PEError:
        return None


# ---------------------------------------------------------------------------------------------
# Typed walks: field set, compare, merge, remove


def _field_set(v: Any, t: _T, resolve: Resolver) -> _FieldSet:
    """typed.ToFieldSet: leaves, list items, map keys, empty maps and nulls; not struct parents."""
    out = _FieldSet()
    if v is not MISSING and v is not None:
        _to_set(v, t, resolve, (), out)
    return out


def _to_set(v: Any, t: _T, resolve: Resolver, path: Path, out: _FieldSet) -> None:
    kind = _pair_kind(t, v, MISSING)
    if kind == "map":
        if _map_atomic(t):
            out.insert(path)
            return
        for key, child in v.items():
            child_path = path + ((_F, key),)
            _to_set(child, _child(t, key, resolve), resolve, child_path, out)
            if child is None or (isinstance(child, dict) and not child) or not _is_named(t, key):
                out.insert(child_path)
        return
    if kind == "list":
        list_kind, keys = _list_kind(t)
        if list_kind == "atomic":
            out.insert(path)
            return
        item_t = _item(t, resolve)
        pes: list[PathElement | None] = []
        seen: set[PathElement] = set()
        duplicates: list[PathElement] = []
        for item in v:
            try:
                pe: PathElement | None = _item_pe(item, keys, item_t, resolve)
            except _PEError:
                pe = None
            pes.append(pe)
            if pe is None:
                continue
            if pe in seen:
                if pe not in duplicates:
                    duplicates.append(pe)
            else:
                seen.add(pe)
        # Duplicated items are owned as a whole: their key, never their fields.
        for pe in duplicates:
            out.insert(path + (pe,))
        for item, pe in zip(v, pes, strict=True):
            if pe is None or pe in duplicates:
                continue
            _to_set(item, item_t, resolve, path + (pe,), out)
            out.insert(path + (pe,))
        return
    out.insert(path)


class _Comparison:
    __slots__ = ("added", "modified", "removed")

    def __init__(self) -> None:
        self.added = _FieldSet()
        self.modified = _FieldSet()
        self.removed = _FieldSet()

    def exclude(self, reset: _FieldSet | None) -> _Comparison:
        if reset is not None and not reset.empty():
            self.added = self.added.recursive_difference(reset)
            self.modified = self.modified.recursive_difference(reset)
            self.removed = self.removed.recursive_difference(reset)
        return self


def _compare(left: Any, right: Any, t: _T, resolve: Resolver, path: Path, c: _Comparison) -> None:
    """typed.Compare: what right added, modified and removed relative to left."""
    if _same_value(left, right):
        # Most of an updated object is what it was (all but status on a status write): nothing to
        # record there, so it is not walked.
        return
    kind = _pair_kind(t, left, right)
    both_empty = _is_empty(left) and _is_empty(right)
    if kind == "map" and not _map_atomic(t) and not both_empty:
        lm = left if isinstance(left, dict) else {}
        rm = right if isinstance(right, dict) else {}
        for key, lv in lm.items():
            _compare(lv, rm.get(key, MISSING), _child(t, key, resolve), resolve, path + ((_F, key),), c)
        for key, rv in rm.items():
            if key not in lm:
                _compare(MISSING, rv, _child(t, key, resolve), resolve, path + ((_F, key),), c)
    elif kind == "list" and _list_kind(t)[0] != "atomic" and not both_empty:
        _compare_list(left, right, t, resolve, path, c)
    else:
        if left is MISSING:
            c.added.insert(path)
        elif right is MISSING:
            c.removed.insert(path)
        elif left != right or not _equal(left, right):  # `!=` settles most in C; _equal is stricter
            c.modified.insert(path)
        return
    # A granular container that appears or disappears is itself added or removed.
    if left is MISSING:
        c.added.insert(path)
    elif right is MISSING:
        c.removed.insert(path)


def _items_by_path(left: Any, right: Any, keys: tuple[str, ...], item_t: _T, resolve: Resolver
                   ) -> tuple[list[PathElement], dict[PathElement, list[Any]], dict[PathElement, list[Any]]]:
    """The items of two versions of a list by path element (duplicates kept together), and every path
    element in order: the left's first, then those only the right has. Items without one are skipped."""
    order: list[PathElement] = []
    lvalues: dict[PathElement, list[Any]] = {}
    rvalues: dict[PathElement, list[Any]] = {}
    for items, values in ((left, lvalues), (right, rvalues)):
        for item in items if isinstance(items, list) else ():
            try:
                pe = _item_pe(item, keys, item_t, resolve)
            except _PEError:
                continue
            if pe in values:
                values[pe].append(item)
                continue
            values[pe] = [item]
            if values is lvalues or pe not in lvalues:
                order.append(pe)
    return order, lvalues, rvalues


def _compare_list(left: Any, right: Any, t: _T, resolve: Resolver, path: Path, c: _Comparison) -> None:
    _, keys = _list_kind(t)
    item_t = _item(t, resolve)
    order, lvalues, rvalues = _items_by_path(left, right, keys, item_t, resolve)
    for pe in order:
        lv = lvalues.get(pe, [])
        rv = rvalues.get(pe, [])
        item_path = path + (pe,)
        if len(lv) <= 1 and len(rv) <= 1:
            _compare(lv[0] if lv else MISSING, rv[0] if rv else MISSING, item_t, resolve, item_path, c)
        elif len(lv) >= 2 and len(rv) >= 2:
            if len(lv) != len(rv) or not all(_equal(a, b) for a, b in zip(lv, rv, strict=False)):
                c.modified.insert(item_path)
        elif len(lv) >= 2:
            if rv:
                _compare(MISSING, rv[0], item_t, resolve, item_path, c)
            c.removed.insert(item_path)
        else:
            if lv:
                _compare(lv[0], MISSING, item_t, resolve, item_path, c)
            c.added.insert(item_path)


def _changed(left: Any, right: Any, t: _T, resolve: Resolver) -> tuple[bool, _FieldSet | None]:
    """What `_compare` would record as added or modified, without the removals nobody asks for when
    no other manager owns anything (a create): whether this place itself is, and the set below it.

    Creates spend most of their managed-fields time here, so this builds the set directly instead of
    inserting path tuples, and walks values that are new in one pass (`_added_below`).
    """
    if left is MISSING:
        return True, _added_below(right, t, resolve)
    if right is MISSING:
        return False, None
    kind = _pair_kind(t, left, right)
    if kind == "leaf":
        return not _equal(left, right), None
    both_empty = _is_empty(left) and _is_empty(right)
    if kind == "map" and not t.map_atomic and not both_empty:
        lm = left if isinstance(left, dict) else {}
        rm = right if isinstance(right, dict) else {}
        out: _FieldSet | None = None
        for key, rv in rm.items():
            if key not in lm and isinstance(rv, _SCALARS):
                member, below = True, None  # a new leaf: no type to look up, nothing below
            else:
                member, below = _changed(lm.get(key, MISSING), rv, _child(t, key, resolve), resolve)
            out = _put(out, (_F, key), member, below)
        return False, out
    if kind == "list" and t.list_kind[0] != "atomic" and not both_empty:
        return False, _changed_list(left, right, t, resolve)
    return not _equal(left, right), None


# Values that are leaves whatever their schema says (null included).
_SCALARS = (str, int, float, type(None))


def _added_below(v: Any, t: _T, resolve: Resolver) -> _FieldSet | None:
    """`_compare(MISSING, v)` below v's own place: everything in v is added."""
    if isinstance(v, dict):
        if not v or t.map_atomic or "map" not in t.allows:
            return None
        out = _FieldSet()
        for key, child in v.items():
            pe = (_F, key)
            out.members.add(pe)
            if isinstance(child, _SCALARS):
                continue  # a leaf: no type to look up, nothing below
            below = _added_below(child, _child(t, key, resolve), resolve)
            if below is not None:
                out.children[pe] = below
        return out
    if isinstance(v, list) and v and t.list_kind[0] != "atomic" and "list" in t.allows:
        return _changed_list(MISSING, v, t, resolve)
    return None


def _changed_list(left: Any, right: Any, t: _T, resolve: Resolver) -> _FieldSet | None:
    """`_compare_list`'s additions and modifications."""
    keys = t.list_kind[1]
    item_t = _item(t, resolve)
    order, lvalues, rvalues = _items_by_path(left, right, keys, item_t, resolve)
    out: _FieldSet | None = None
    for pe in order:
        lv = lvalues.get(pe, [])
        rv = rvalues.get(pe, [])
        if len(lv) <= 1 and len(rv) <= 1:
            member, below = _changed(lv[0] if lv else MISSING, rv[0] if rv else MISSING, item_t, resolve)
        elif len(lv) >= 2 and len(rv) >= 2:
            member = len(lv) != len(rv) or not all(_equal(a, b) for a, b in zip(lv, rv, strict=False))
            below = None
        elif len(lv) >= 2:
            member, below = _changed(MISSING, rv[0], item_t, resolve) if rv else (False, None)
        else:
            member, below = True, None
        out = _put(out, pe, member, below)
    return out


def _put(out: _FieldSet | None, pe: PathElement, member: bool, below: _FieldSet | None) -> _FieldSet | None:
    if not member and below is None:
        return out
    if out is None:
        out = _FieldSet()
    if member:
        out.members.add(pe)
    if below is not None:
        out.children[pe] = below
    return out


def _merge(left: Any, right: Any, t: _T, resolve: Resolver) -> Any:
    """typed.Merge keeping the right-hand side: maps merged by key, map-lists by key, sets unioned."""
    kind = _pair_kind(t, left, right)
    both_empty = _is_empty(left) and _is_empty(right)
    if kind == "map" and not _map_atomic(t) and not both_empty:
        lm = left if isinstance(left, dict) else {}
        rm = right if isinstance(right, dict) else {}
        out: dict[str, Any] = {}
        for key, lv in lm.items():
            merged = _merge(lv, rm.get(key, MISSING), _child(t, key, resolve), resolve)
            if merged is not MISSING:
                out[key] = merged
        for key, rv in rm.items():
            if key not in lm:
                merged = _merge(MISSING, rv, _child(t, key, resolve), resolve)
                if merged is not MISSING:
                    out[key] = merged
        return out if out else MISSING
    if kind == "list" and _list_kind(t)[0] != "atomic" and not both_empty:
        return _merge_list(left, right, t, resolve)
    return right if right is not MISSING else left


def _merge_list(left: Any, right: Any, t: _T, resolve: Resolver) -> Any:
    _, keys = _list_kind(t)
    item_t = _item(t, resolve)
    litems: list[Any] = left if isinstance(left, list) else []
    ritems: list[Any] = right if isinstance(right, list) else []
    lpes = _item_pes(litems, keys, item_t, resolve)
    rpes_all = _item_pes(ritems, keys, item_t, resolve)
    if lpes is None or rpes_all is None:
        # Items without a usable key cannot be merged granularly: replace, as for atomic lists.
        return right if right is not MISSING else left
    robs: dict[PathElement, Any] = {}
    rpes: list[PathElement] = []
    for pe, item in zip(rpes_all, ritems, strict=True):
        if pe not in robs:
            robs[pe] = item
            rpes.append(pe)
    lobs: dict[PathElement, Any] = {}
    for pe, item in zip(lpes, litems, strict=True):
        # A duplicated live item is not merged with the applied one (it counts as null).
        lobs[pe] = None if pe in lobs else item
    shared = [pe for pe in rpes if pe in lobs]
    shared.reverse()
    next_shared = shared.pop() if shared else None
    merged_rhs: set[PathElement] = set()
    out: list[Any] = []
    li = ri = 0
    while li < len(lpes) or ri < len(rpes):
        if li < len(lpes) and ri < len(rpes):
            pe = lpes[li]
            if pe == rpes[ri]:
                merged_rhs.add(pe)
                out.append(_merge(lobs[pe], robs[pe], item_t, resolve))
                li += 1
                ri += 1
                next_shared = shared.pop() if shared else None
                continue
            if pe in robs and next_shared is not None and next_shared != pe:
                # A shared item, but not the next one in the applied order.
                li += 1
                continue
        if li < len(lpes):
            pe = lpes[li]
            if pe not in robs:
                out.append(_merge(litems[li], MISSING, item_t, resolve))
                li += 1
                continue
            if pe in merged_rhs:
                li += 1
        if ri < len(rpes):
            pe = rpes[ri]
            merged_rhs.add(pe)
            out.append(_merge(lobs.get(pe, MISSING), robs[pe], item_t, resolve))
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop() if shared else None
    out = [x for x in out if x is not MISSING]
    return out if out else MISSING


def _remove(v: Any, remove: _FieldSet, t: _T, resolve: Resolver) -> Any:
    """typed.RemoveItems: drop the members of `remove`; an emptied container becomes null."""
    kind = _pair_kind(t, v, MISSING)
    if kind == "map":
        if _map_atomic(t):
            return None
        out: dict[str, Any] = {}
        for key, child in v.items():
            pe = (_F, key)
            if pe in remove.members:
                continue
            sub = remove.children.get(pe)
            if sub is not None:
                child = _remove(child, sub, _child(t, key, resolve), resolve)
            out[key] = child
        return out if out else None
    if kind == "list":
        list_kind, keys = _list_kind(t)
        if list_kind == "atomic":
            return None
        item_t = _item(t, resolve)
        items: list[Any] = []
        for item in v:
            try:
                pe = _item_pe(item, keys, item_t, resolve)
            except _PEError:
                items.append(item)
                continue
            if pe in remove.members:
                continue
            sub = remove.children.get(pe)
            if sub is not None:
                item = _remove(item, sub, item_t, resolve)
            items.append(item)
        return items if items else None
    if isinstance(v, dict | list):
        return None
    return v


def _ensure_named(s: _FieldSet, t: _T | None, resolve: Resolver) -> _FieldSet:
    """Set.EnsureNamedFieldsAreMembers: struct fields with owned children count as owned too."""
    members = set(s.members)
    children: dict[PathElement, _FieldSet] = {}
    for pe, child in s.children.items():
        child_t: _T | None = None
        if t is not None and pe[0] == _F:
            if _is_named(t, pe[1]):
                members.add(pe)
            child_t = _child(t, pe[1], resolve)
        elif t is not None and pe[0] == _K:
            child_t = _item(t, resolve)
        children[pe] = _ensure_named(child, child_t, resolve)
    return _FieldSet(members, children)


def _validate(v: Any, t: _T, resolve: Resolver, prefix: str, errors: list[tuple[str, str]]) -> None:
    """The checks that make an apply configuration untypable: bad or duplicated list keys."""
    kind = _pair_kind(t, v, MISSING)
    if kind == "map" and not _map_atomic(t):
        for key, child in v.items():
            _validate(child, _child(t, key, resolve), resolve, f"{prefix}.{key}", errors)
    elif kind == "list":
        list_kind, keys = _list_kind(t)
        if list_kind == "atomic":
            return
        item_t = _item(t, resolve)
        seen: set[PathElement] = set()
        for i, item in enumerate(v):
            try:
                pe = _item_pe(item, keys, item_t, resolve)
            except _PEError as err:
                errors.append((prefix, f"element {i}: {err}"))
                continue
            if pe in seen:
                errors.append((prefix, f"duplicate entries for key {_pe_str(pe)}"))
                continue
            seen.add(pe)
            _validate(item, item_t, resolve, prefix + _pe_str(pe), errors)


# ---------------------------------------------------------------------------------------------
# The empty object a create starts from

# Go struct fields that are values, not pointers, so an empty typed object already has them
# ({}), and a create does not count them as added. Paths from the object root.
_VALUE_STRUCTS: tuple[tuple[str, ...], ...] = (
    ("metadata",),
    ("spec",),
    ("status",),
    ("spec", "template"),
    ("spec", "template", "metadata"),
    ("spec", "template", "spec"),
    ("spec", "strategy"),
    ("spec", "updateStrategy"),
    ("spec", "scaleTargetRef"),
    ("spec", "names"),
    ("spec", "jobTemplate"),
    ("spec", "jobTemplate", "metadata"),
    ("spec", "jobTemplate", "spec"),
    ("spec", "jobTemplate", "spec", "template"),
    ("spec", "jobTemplate", "spec", "template", "metadata"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
    ("template",),
    ("template", "metadata"),
    ("template", "spec"),
    ("roleRef",),
    ("involvedObject",),
    ("source",),
)
_KIND_VALUE_STRUCTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "PersistentVolumeClaim": (("spec", "resources"),),
}
_KIND_POINTER_STRUCTS: dict[str, tuple[str, ...]] = {
    "ReplicationController": ("spec", "template"),
}


_EMPTY_CACHE: dict[tuple[int, str], tuple[Node, bytes]] = {}


def _empty_object(node: Node, kind: str, resolve: Resolver) -> dict[str, Any]:
    """The object a create is compared against: upstream's empty typed object of the kind.

    Custom resources start from nothing; built-in kinds from their Go zero value, whose value
    structs are present and whose required pointers and slices are null. It depends only on the
    schema, so it is built once per (schema node, kind) and copied.
    """
    key = (id(node), kind)
    hit = _EMPTY_CACHE.get(key)
    if hit is not None and hit[0] is node:
        result: dict[str, Any] = orjson.loads(hit[1])
        return result
    obj = _build_empty_object(node, kind, resolve)
    _EMPTY_CACHE[key] = (node, orjson.dumps(obj))
    return obj


def _build_empty_object(node: Node, kind: str, resolve: Resolver) -> dict[str, Any]:
    root = resolve(node)
    if "x-kubernetes-group-version-kind" not in root:
        return {}
    paths = _VALUE_STRUCTS + _KIND_VALUE_STRUCTS.get(kind, ())
    pointer = _KIND_POINTER_STRUCTS.get(kind)
    obj: dict[str, Any] = {}
    for path in paths:
        if pointer is not None and path[: len(pointer)] == pointer:
            continue
        parent: Any = obj
        parent_node = root
        for name in path[:-1]:
            parent = parent.get(name) if isinstance(parent, dict) else None
            parent_node = resolve((parent_node.get("properties") or {}).get(name, EMPTY))
        raw = (parent_node.get("properties") or {}).get(path[-1])
        if not isinstance(parent, dict) or raw is None:
            continue
        struct = resolve(raw)
        props = struct.get("properties") or {}
        if not props:
            continue
        value: dict[str, Any] = {}
        for name in struct.get("required") or ():
            if name in props and path + (name,) not in paths:
                value[name] = None
        parent[path[-1]] = value
    return obj


# ---------------------------------------------------------------------------------------------
# Managed fields: decode, encode, and the updater's algorithm

_Id = tuple[str, str, str, str]  # manager, operation, apiVersion (Update only), subresource
_CURRENT: _Id = ("", "current-operation", "", "")


class _VersionedSet:
    __slots__ = ("set", "api_version", "applied")

    def __init__(self, fields: _FieldSet, api_version: str, applied: bool) -> None:
        self.set = fields
        self.api_version = api_version
        self.applied = applied


class _Managed:
    def __init__(self) -> None:
        self.fields: dict[_Id, _VersionedSet] = {}
        self.times: dict[_Id, str | None] = {}

    def copy(self) -> _Managed:
        out = _Managed()
        out.fields = {k: _VersionedSet(v.set, v.api_version, v.applied) for k, v in self.fields.items()}
        out.times = dict(self.times)
        return out


def _id_json(mid: _Id) -> str:
    # BuildManagerIdentifier: the entry without time and fields, as Go marshals it.
    entry: dict[str, str] = {}
    if mid[0]:
        entry["manager"] = mid[0]
    entry["operation"] = mid[1]
    if mid[2]:
        entry["apiVersion"] = mid[2]
    if mid[3]:
        entry["subresource"] = mid[3]
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False)


def _manager_id(manager: str, operation: str, api_version: str, subresource: str) -> _Id:
    # Apply entries of a manager are one, whatever version applied them; updates are per version.
    return (manager or "unknown", operation, api_version if operation == "Update" else "", subresource)


def _decode(entries: Any) -> _Managed:
    """DecodeManagedFields; raises ValueError on what upstream rejects."""
    managed = _Managed()
    if entries is None:
        return managed
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"invalid managed fields entry {i}")
        operation = entry.get("operation")
        if operation not in ("Apply", "Update"):
            raise ValueError("operation must be `Apply` or `Update`")
        api_version = entry.get("apiVersion") or ""
        if not api_version:
            raise ValueError("apiVersion must not be empty")
        fields_type = entry.get("fieldsType") or ""
        if fields_type == "":
            raise ValueError(f"missing fieldsType in managed fields entry {i}")
        if fields_type != "FieldsV1":
            raise ValueError(f'invalid fieldsType "{fields_type}" in managed fields entry {i}')
        mid = (
            entry.get("manager") or "",
            operation,
            api_version if operation == "Update" else "",
            entry.get("subresource") or "",
        )
        fields = entry.get("fieldsV1")
        managed.fields[mid] = _VersionedSet(
            _decoded_fields(fields if fields is not None else {}), api_version, operation == "Apply"
        )
        managed.times[mid] = entry.get("time")
    return managed


# Decoded FieldsV1 by their JSON: the entries of objects made from one template (the pods of a
# ReplicaSet, their scheduler and kubelet entries) are mostly the same, and sets are never changed
# in place, so one decoded set serves them all. Cleared when full.
_DECODED: dict[bytes, _FieldSet] = {}


def _decoded_fields(fields: Any) -> _FieldSet:
    try:
        text = orjson.dumps(fields)
    except TypeError:  # not JSON (non-string keys): decode raises what it raises
        return _FieldSet.from_json(fields)
    found = _DECODED.get(text)
    if found is None:
        found = _FieldSet.from_json(fields)
        if len(_DECODED) >= 256:
            _DECODED.clear()
        _DECODED[text] = found
    return found


def _decode_or_empty(entries: Any) -> _Managed:
    try:
        return _decode(entries)
    except (ValueError, TypeError):
        return _Managed()


def _encode(managed: _Managed) -> list[dict[str, Any]] | None:
    """encodeManagedFields: entries sorted by operation, time, manager, apiVersion, subresource."""
    if not managed.fields:
        return None
    entries: list[dict[str, Any]] = []
    for mid, vs in managed.fields.items():
        entry: dict[str, Any] = {}
        if mid[0]:
            entry["manager"] = mid[0]
        entry["operation"] = "Apply" if vs.applied else mid[1]
        entry["apiVersion"] = vs.api_version
        when = managed.times.get(mid)
        if when:
            entry["time"] = when
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = vs.set.to_json()
        if mid[3]:
            entry["subresource"] = mid[3]
        entries.append(entry)
    if len(entries) > 1:
        entries.sort(
            key=lambda e: (
                e["operation"],
                e.get("time") or "",
                e.get("manager", ""),
                e["apiVersion"],
                e.get("subresource", ""),
            )
        )
    return entries


def _strip_meta(managed: _Managed, mid: _Id) -> None:
    vs = managed.fields.get(mid)
    if vs is None:
        return
    rest = vs.set.difference(_STRIP)
    if rest.empty():
        del managed.fields[mid]
    else:
        vs.set = rest


def _cap_update_managers(managed: _Managed, limit: int = MAX_UPDATE_MANAGERS) -> None:
    """Fold the oldest Update managers of each version into "ancient-changes" past `limit`."""
    if len(managed.fields) <= limit:
        return
    updaters = [mid for mid, vs in managed.fields.items() if not vs.applied]
    if len(updaters) <= limit:
        return
    updaters.sort(key=lambda mid: (managed.times.get(mid) or "", _id_json(mid)))
    first_of_version: dict[str, _Id] = {}
    remaining = len(updaters)
    for mid in updaters:
        if remaining <= limit:
            break
        vs = managed.fields[mid]
        version = vs.api_version
        bucket: _Id = ("ancient-changes", "Update", version, "")
        if version not in first_of_version:
            first_of_version[version] = mid
            continue
        if bucket not in managed.fields:
            managed.fields[bucket] = managed.fields.pop(first_of_version[version])
        managed.fields[bucket] = _VersionedSet(vs.set.union(managed.fields[bucket].set), version, vs.applied)
        del managed.fields[mid]
        remaining -= 1
        managed.times[bucket] = managed.times.get(mid)


class _Context:
    """What one request's walks share: the root type, the resolver, the version, the reset fields."""

    def __init__(self, node: Node, resolve: Resolver, api_version: str, reset: _FieldSet | None) -> None:
        self.root = _root_type(node, resolve)
        self.resolve = resolve
        self.version = api_version
        self.reset = reset

    def field_set(self, v: Any) -> _FieldSet:
        return _field_set(v, self.root, self.resolve)

    def named(self, s: _FieldSet) -> _FieldSet:
        return _ensure_named(s, self.root, self.resolve)

    def remove(self, v: Any, s: _FieldSet) -> Any:
        out = _remove(v, s, self.root, self.resolve)
        return out if out is not None else {}

    def changed(self, left: Any, right: Any) -> _FieldSet:
        """The added and modified fields of compare(left, right)."""
        return _changed(left, right, self.root, self.resolve)[1] or _FieldSet()

    def compare(self, left: Any, right: Any) -> _Comparison:
        c = _Comparison()
        _compare(left, right, self.root, self.resolve, (), c)
        return c

    def filtered(self, s: _FieldSet) -> _FieldSet:
        return s.recursive_difference(self.reset) if self.reset is not None else s


def _update_managers(
    ctx: _Context, old: Any, new: Any, managed: _Managed, workflow: _Id, force: bool
) -> _Comparison:
    """Updater.update: take changed fields away from other managers, or report them as conflicts."""
    c = ctx.compare(old, new).exclude(ctx.reset)
    changed = c.modified.union(c.added)
    conflicts: dict[_Id, _FieldSet] = {}
    for mid, vs in managed.fields.items():
        if mid == workflow:
            continue
        overlap = vs.set.intersection(changed)
        if not overlap.empty():
            conflicts[mid] = overlap
    if conflicts and not force:
        raise _Conflicts(conflicts)
    for mid, overlap in conflicts.items():
        managed.fields[mid].set = managed.fields[mid].set.difference(overlap)
    if not c.removed.empty():
        for mid, vs in managed.fields.items():
            if mid != workflow:
                vs.set = vs.set.difference(c.removed)
    for mid in [mid for mid, vs in managed.fields.items() if vs.set.empty()]:
        del managed.fields[mid]
    return c


def _prune(ctx: _Context, merged: Any, managed: _Managed, last: _VersionedSet | None) -> Any:
    """Remove what the applier applied last time and not now, unless someone still owns it."""
    if last is None or last.set.empty():
        return merged
    last_named = ctx.named(last.set)
    pruned = ctx.remove(merged, last_named)
    # Add back what any manager (the applier's new configuration included) owns.
    owned = _FieldSet()
    for vs in managed.fields.values():
        owned = owned.union(vs.set)
    merged_set = ctx.named(ctx.field_set(merged))
    pruned_set = ctx.named(ctx.field_set(pruned))
    pruned = ctx.remove(merged, merged_set.difference(pruned_set.union(ctx.named(owned))))
    # Add back what the applier never owned (unowned, or owned by updaters).
    pruned_set = ctx.named(ctx.field_set(pruned))
    return ctx.remove(merged, merged_set.difference(pruned_set).intersection(last_named))


def _apply_once(
    ctx: _Context, live: Any, config: dict[str, Any], managed: _Managed, mid: _Id, force: bool
) -> Any:
    """Updater.Apply followed by the strip of ignored metadata fields; mutates `managed`."""
    merged = _merge(live, config, ctx.root, ctx.resolve)
    if merged is MISSING:
        merged = {}
    last = managed.fields.get(mid)
    managed.fields[mid] = _VersionedSet(ctx.filtered(ctx.field_set(config)), ctx.version, True)
    merged = _prune(ctx, merged, managed, last)
    _update_managers(ctx, live, merged, managed, mid, force)
    _strip_meta(managed, mid)
    return merged


def _record_update(ctx: _Context, old: Any, new: Any, managed: _Managed, mid: _Id, now: str) -> None:
    """An Update by `mid`: it takes the fields it changed, the others lose them."""
    if managed.fields:
        c = _update_managers(ctx, old, new, managed, _CURRENT, True)
        changed = c.modified.union(c.added)
    else:
        # Nobody owns anything yet (a create): no owner loses a field, only what changed counts.
        changed = ctx.changed(old, new)
    changed = ctx.filtered(changed).difference(_STRIP)
    if changed.empty():
        return
    previous = managed.fields.get(mid)
    if previous is not None:
        changed = changed.union(previous.set)
    managed.fields[mid] = _VersionedSet(changed, ctx.version, False)
    managed.times[mid] = now


def _without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return obj
    out = dict(obj)
    out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return out


def _drop_nulls(v: Any) -> Any:
    # Null fields vanish when upstream decodes the merged object into its Go type.
    if isinstance(v, dict):
        return {k: _drop_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_drop_nulls(x) for x in v]
    return v


def _order_like(v: Any, model: Any) -> Any:
    # A created object reads in the order its configuration was written, not the empty object's.
    if not isinstance(v, dict) or not isinstance(model, dict):
        return v
    out = {k: _order_like(v[k], model[k]) for k in model if k in v}
    out.update((k, x) for k, x in v.items() if k not in out)
    return out


def _set_managed_fields(obj: dict[str, Any], managed: _Managed) -> None:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    meta.pop("managedFields", None)
    encoded = _encode(managed)
    if encoded is not None:
        meta["managedFields"] = encoded


def _reset_set(reset_fields: Iterable[Sequence[str]]) -> _FieldSet | None:
    paths = [tuple(p) for p in reset_fields]
    return _set_of(*paths) if paths else None


def _gvk_string(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={kind}"


def _check_config(config: Any, ctx: _Context) -> None:
    if not isinstance(config, dict):
        raise ApplyError("error decoding YAML: apply configuration must be an object")
    api_version = config.get("apiVersion")
    if api_version != ctx.version:
        raise ApplyError(
            f"invalid object type: {_gvk_string(str(api_version or ''), str(config.get('kind') or ''))}"
        )
    meta = config.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("managedFields"), list):
        raise ApplyError("metadata.managedFields must be nil")
    errors: list[tuple[str, str]] = []
    _validate(config, ctx.root, ctx.resolve, "", errors)
    if errors:
        texts = [f"{path}: {msg}" if path else msg for path, msg in errors]
        detail = texts[0] if len(texts) == 1 else "errors:\n  " + "\n  ".join(texts)
        meta = meta if isinstance(meta, dict) else {}
        name = f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"
        gvk = _gvk_string(ctx.version, str(config.get("kind") or ""))
        # Upstream answers this as an untyped error: 500 with an empty reason.
        raise ApplyError(
            f"failed to create typed patch object ({name}; {gvk}): {detail}", code=500, reason=""
        )


def _allowed_by_last_applied(ctx: _Context, live: dict[str, Any] | None) -> _FieldSet | None:
    """Fields kubectl's last-applied annotation still describes: kubectl may take them over."""
    annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
    text = annotations.get(LAST_APPLIED_ANNOTATION)
    if not text:
        return None
    try:
        last = json.loads(text)
    except ValueError:
        return None
    if not isinstance(last, dict) or last.get("apiVersion") != ctx.version:
        return None
    c = ctx.compare(last, _without_managed_fields(live or {}))
    return ctx.field_set(last).difference(c.modified).difference(c.added).difference(c.removed)


def _last_applied_text(config: dict[str, Any]) -> str:
    obj = copy.deepcopy(config)
    meta = obj.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        meta["annotations"].pop(LAST_APPLIED_ANNOTATION, None)
    # json.Encoder output: compact, sorted keys, HTML-safe, newline-terminated.
    return _go_json(obj) + "\n"


# ---------------------------------------------------------------------------------------------
# Public API


def server_side_apply(
    live: dict[str, Any] | None,
    config: dict[str, Any],
    manager: str,
    force: bool,
    node: Node,
    resolve: Resolver,
    api_version: str,
    now: str,
    subresource: str = "",
    *,
    reset_fields: Iterable[Sequence[str]] = (),
) -> dict[str, Any]:
    """Apply `config` for `manager` onto `live` (None on create) and return the new object.

    The result is live merged with config by the schema's rules, minus fields this manager applied
    before and no longer applies (unless another manager owns them), with metadata.managedFields
    updated. Raises ApplyConflict when config changes fields other managers own, unless `force`
    (which takes them over), and ApplyError for configurations upstream refuses. `reset_fields` are
    field-name paths the endpoint resets (e.g. [("status",)] on a main resource with a status
    subresource): nobody gains or loses them here. An apply that changes nothing returns live with
    only managedFields updated.
    """
    ctx = _Context(node, resolve, api_version, _reset_set(reset_fields))
    _check_config(config, ctx)
    creating = live is None
    if live is None:
        live_obj = _empty_object(node, str(config.get("kind") or ""), resolve)
    else:
        live_obj = _without_managed_fields(live)
    try:
        managed = _decode(((live or {}).get("metadata") or {}).get("managedFields"))
    except (ValueError, TypeError) as err:
        raise ApplyError(f"failed to decode managed fields: {err}", code=500, reason="") from err
    if not managed.fields and not creating:
        # Fields that predate any tracking go to a placeholder updater so they can conflict.
        before = _manager_id("before-first-apply", "Update", api_version, subresource)
        empty = _empty_object(node, str(live_obj.get("kind") or config.get("kind") or ""), resolve)
        _record_update(ctx, empty, live_obj, managed, before, now)
        _cap_update_managers(managed)
    mid = _manager_id(manager, "Apply", api_version, subresource)
    attempt = managed.copy()
    try:
        merged = _apply_once(ctx, live_obj, config, attempt, mid, force)
    except _Conflicts as err:
        items = err.items()
        allowed = _allowed_by_last_applied(ctx, live) if manager == "kubectl" else None
        if allowed is not None:
            items = [(owner, path) for owner, path in items if not allowed.has(path)]
        if items:
            raise ApplyConflict([(owner, _path_str(path)) for owner, path in items]) from None
        # Every conflict is a field kubectl itself last applied client-side: take it over.
        attempt = managed.copy()
        merged = _apply_once(ctx, live_obj, config, attempt, mid, True)
    managed = attempt
    if _equal(merged, live_obj):
        result = copy.deepcopy(live) if live is not None else {}
    else:
        managed.times[mid] = now
        result = _drop_nulls(merged)
        if creating:
            result = _order_like(result, config)
    if manager == "kubectl":
        annotations = (result.get("metadata") or {}).get("annotations")
        if isinstance(annotations, dict) and annotations.get(LAST_APPLIED_ANNOTATION):
            annotations[LAST_APPLIED_ANNOTATION] = _last_applied_text(config)
    _set_managed_fields(result, managed)
    return result


def track_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    node: Node,
    resolve: Resolver,
    api_version: str,
    now: str,
    subresource: str = "",
    *,
    reset_fields: Iterable[Sequence[str]] = (),
) -> None:
    """Record a create, update or patch (operation "Update") in new["metadata"]["managedFields"].

    `manager` comes to own the fields it set or changed (all of them on create) and other managers
    lose them; managers left with nothing are dropped. managedFields sent in the request are
    honoured (an empty list resets them) except on subresources, where the stored ones rule. An
    update to an object that has no managedFields leaves it untracked, as upstream does.
    """
    meta = new.get("metadata")
    if not isinstance(meta, dict):
        meta = new["metadata"] = {}
    sent = meta.get("managedFields", MISSING)
    if old is None and sent is MISSING and not subresource:
        _track_create(new, meta, manager, node, resolve, api_version, now, reset_fields)
        return
    ctx = _Context(node, resolve, api_version, _reset_set(reset_fields))
    live_entries = ((old or {}).get("metadata") or {}).get("managedFields")
    if subresource:
        managed = _decode_or_empty(live_entries)
    elif isinstance(sent, list) and (not sent or (len(sent) == 1 and sent[0] == {})):
        managed = _Managed()
    else:
        try:
            managed = _decode(None if sent is MISSING else sent)
        except (ValueError, TypeError):
            managed = _Managed()
        if not managed.fields:
            managed = _decode_or_empty(live_entries)
    meta.pop("managedFields", None)
    if old is None:
        old_obj = _empty_object(node, str(new.get("kind") or ""), resolve)
    else:
        old_obj = _without_managed_fields(old)
        if not managed.fields and (old.get("metadata") or {}).get("uid"):
            return
    mid = _manager_id(manager, "Update", api_version, subresource)
    _record_update(ctx, old_obj, new, managed, mid, now)
    _cap_update_managers(managed)
    _set_managed_fields(new, managed)


# The FieldsV1 a create records, by (schema node, kind, reset fields, shape of the object): see `_track_create`.
_CREATED = ShapeCache()


def _track_create(new: dict[str, Any], meta: dict[str, Any], manager: str, node: Node, resolve: Resolver,
                  api_version: str, now: str, reset_fields: Iterable[Sequence[str]]) -> None:
    """track_update of a create that sent no managedFields: `manager` owns what differs from the empty object.

    That set depends on the object's shape only (kubenest.api.shapes: the empty typed object holds no
    scalar but nulls), so it is computed once per shape and reused by every create of that shape.
    """
    resets = tuple(tuple(p) for p in reset_fields)
    kind = str(new.get("kind") or "")
    key = (id(node), kind, resets, shape(new))
    hit = _CREATED.get(key)
    if hit is None or hit[0] is not node:
        ctx = _Context(node, resolve, api_version, _reset_set(resets))
        changed = ctx.filtered(ctx.changed(_empty_object(node, kind, resolve), new)).difference(_STRIP)
        hit = (node, None if changed.empty() else changed.to_json())
        _CREATED.put(key, hit)
    if hit[1] is None:
        return
    entry: dict[str, Any] = {"manager": manager} if manager else {}
    entry["operation"] = "Update"
    entry["apiVersion"] = api_version
    if now:
        entry["time"] = now
    entry["fieldsType"] = "FieldsV1"
    # Shared by every object of the shape, as FieldsV1 decoded from stored objects are shared by the
    # updates that keep them (`_FieldSet.src`): stored objects are never changed in place.
    entry["fieldsV1"] = hit[1]
    meta["managedFields"] = [entry]


def fields_v1(obj: dict[str, Any], node: Node, resolve: Resolver) -> dict[str, Any]:
    """The FieldsV1 an Apply of `obj` would own: its leaves, list items and map keys.

    Metadata fields the field manager never records (name, namespace, uid, ...) are left out.
    """
    ctx = _Context(node, resolve, "", None)
    return ctx.field_set(obj).difference(_STRIP).to_json()
