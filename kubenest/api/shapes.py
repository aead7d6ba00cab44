"""Object shapes: what schema walks that ignore most values depend on, as one hashable key.

Objects of one kind written by one client (a controller stamping pods from a template, an operator's
config maps, the events every component posts) differ in values, rarely in structure. Answers that
depend on structure only are computed once per shape and reused: the unknown fields strict decoding
reports (`validation.unknown_fields`), Go's decode errors (`validation.decode_errors`, which checks
again the few values outside lists it looked at) and the managed fields of a create (`apply.track_update`).

A shape keeps each map's keys in order with the shape of their values, a scalar by its JSON type,
and a list whole, as its JSON encoding, since list items carry the keys and values of associative
lists and sets. Two objects of one shape walk every schema the same way, as long as the walk reads
no scalar outside lists beyond its type.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import orjson


def shape(v: Any) -> Hashable:
    """The shape of a JSON value (see the module's documentation)."""
    t = type(v)
    if t is dict:
        # Most values are strings: their shape without a call.
        return tuple([(k, "s" if type(x) is str else shape(x)) for k, x in v.items()])
    if t is str:
        return "s"
    if t is list:
        try:
            return orjson.dumps(v)
        except TypeError:  # not JSON: keyed by its text, which is never a JSON encoding
            return repr(v)
    if t is int:
        return "i"
    if t is bool:
        return "b"
    if v is None:
        return None
    if t is float:
        return "d"
    return repr(v)  # not JSON (objects built in the server may hold tuples): compared by value


class ShapeCache:
    """A bounded map of answers by key; emptied when full, since a working set of shapes is small."""

    __slots__ = ("_items", "_limit")

    def __init__(self, limit: int = 4096) -> None:
        self._items: dict[Hashable, Any] = {}
        self._limit = limit

    def get(self, key: Hashable) -> Any:
        return self._items.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        if len(self._items) >= self._limit:
            self._items.clear()
        self._items[key] = value
