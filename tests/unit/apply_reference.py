"""Managed-fields tracking of updates as it was before the fast paths (the reference they are tested against).

Verbatim from kubenest/api/apply.py before "Managed fields of updates: skip equal subtrees in compare,
reuse decoded FieldsV1 when encoding, cache decoded entries": the field sets (no reuse of decoded JSON,
operations always build new sets), the full typed comparison (every value walked), decoding of every
entry, and `track_update`'s algorithm with the full comparison on creates as well. The helpers that did
not change (types, path elements, encoding, capping) are the package's own.
"""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from kubenest.api.apply import (
    _CURRENT,
    _F,
    MISSING,
    Path,
    PathElement,
    _cap_update_managers,
    _child,
    _empty_object,
    _equal,
    _Id,
    _is_empty,
    _item,
    _item_pe,
    _list_kind,
    _Managed,
    _manager_id,
    _map_atomic,
    _pair_kind,
    _pe_json,
    _pe_parse,
    _PEError,
    _root_type,
    _set_managed_fields,
    _T,
    _VersionedSet,
    _without_managed_fields,
)
from kubenest.api.schema import Node, Resolver


class _FieldSet:
    """A fieldpath.Set: members owned at this level, and child sets below path elements.

    Sets returned by the operations share subtrees, so only freshly built sets are inserted into.
    """

    __slots__ = ("members", "children")

    def __init__(
        self, members: set[PathElement] | None = None, children: dict[PathElement, _FieldSet] | None = None
    ):
        self.members: set[PathElement] = members if members is not None else set()
        self.children: dict[PathElement, _FieldSet] = children if children is not None else {}

    def insert(self, path: Sequence[PathElement]) -> None:
        # The empty path is the whole object, which nobody owns.
        if not path:
            return
        node = self
        for pe in path[:-1]:
            child = node.children.get(pe)
            if child is None:
                child = node.children[pe] = _FieldSet()
            node = child
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
        children = dict(self.children)
        for pe, child in other.children.items():
            mine = children.get(pe)
            children[pe] = child if mine is None else mine.union(child)
        return _FieldSet(self.members | other.members, children)

    def intersection(self, other: _FieldSet) -> _FieldSet:
        children = {}
        for pe, child in self.children.items():
            theirs = other.children.get(pe)
            if theirs is not None:
                both = child.intersection(theirs)
                if not both.empty():
                    children[pe] = both
        return _FieldSet(self.members & other.members, children)

    def difference(self, other: _FieldSet) -> _FieldSet:
        """Leaf difference: a parent minus its child stays; members go only when other has them."""
        children = {}
        for pe, child in self.children.items():
            theirs = other.children.get(pe)
            if theirs is None:
                children[pe] = child
            else:
                rest = child.difference(theirs)
                if not rest.empty():
                    children[pe] = rest
        return _FieldSet(self.members - other.members, children)

    def recursive_difference(self, other: _FieldSet) -> _FieldSet:
        """Difference that also drops everything below a member of other."""
        children = {}
        for pe, child in self.children.items():
            if pe in other.members:
                continue
            theirs = other.children.get(pe)
            if theirs is None:
                children[pe] = child
            else:
                rest = child.recursive_difference(theirs)
                if not rest.empty():
                    children[pe] = rest
        return _FieldSet(self.members - other.members, children)

    def paths(self, prefix: Path = ()) -> Iterator[Path]:
        """Every member path, in upstream's order: this level's members, then each child's subtree."""
        for pe in sorted(self.members):
            yield prefix + (pe,)
        for pe in sorted(self.children):
            yield from self.children[pe].paths(prefix + (pe,))

    def to_json(self) -> dict[str, Any]:
        """FieldsV1, keys in structured-merge-diff's order, "." first where a parent is also owned."""
        out: dict[str, Any] = {}
        children = self.children
        for pe in sorted(self.members | children.keys() if children else self.members):
            key = "f:" + pe[1] if pe[0] == _F else _pe_json(pe)
            child = children.get(pe)
            if child is None:
                out[key] = {}
                continue
            inner: dict[str, Any] = {".": {}} if pe in self.members else {}
            inner.update(child.to_json())
            out[key] = inner
        return out

    @staticmethod
    def from_json(obj: Any) -> _FieldSet:
        found, _ = _read_fields(obj)
        return found if found is not None else _FieldSet()


def _read_fields(obj: Any) -> tuple[_FieldSet | None, bool]:
    if not isinstance(obj, dict):
        raise ValueError("fieldsV1 must be a JSON object")
    children: _FieldSet | None = None
    is_member = False
    for key, value in obj.items():
        if key == ".":
            is_member = True
            continue
        pe = _pe_parse(key)
        if pe is None:
            continue
        grandchildren, child_is_member = _read_fields(value)
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
        is_member = True
    return children, is_member


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
        elif not _equal(left, right):
            c.modified.insert(path)
        return
    # A granular container that appears or disappears is itself added or removed.
    if left is MISSING:
        c.added.insert(path)
    elif right is MISSING:
        c.removed.insert(path)


def _compare_list(left: Any, right: Any, t: _T, resolve: Resolver, path: Path, c: _Comparison) -> None:
    _, keys = _list_kind(t)
    item_t = _item(t, resolve)
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
            _FieldSet.from_json(fields if fields is not None else {}), api_version, operation == "Apply"
        )
        managed.times[mid] = entry.get("time")
    return managed


def _decode_or_empty(entries: Any) -> _Managed:
    try:
        return _decode(entries)
    except (ValueError, TypeError):
        return _Managed()


class _Context:
    def __init__(self, node: Node, resolve: Resolver, api_version: str, reset: _FieldSet | None) -> None:
        self.root = _root_type(node, resolve)
        self.resolve = resolve
        self.version = api_version
        self.reset = reset

    def changed(self, left: Any, right: Any) -> _FieldSet:
        c = self.compare(left, right)
        return c.modified.union(c.added)

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


def _reset_set(reset_fields: Iterable[Sequence[str]]) -> _FieldSet | None:
    paths = [tuple(p) for p in reset_fields]
    return _set_of(*paths) if paths else None


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
    ctx = _Context(node, resolve, api_version, _reset_set(reset_fields))
    meta = new.get("metadata")
    if not isinstance(meta, dict):
        meta = new["metadata"] = {}
    live_entries = ((old or {}).get("metadata") or {}).get("managedFields")
    sent = meta.get("managedFields", MISSING)
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
