"""The revisioned object store: an in-memory cache over a durable backend, plus watch fan-out.

Objects are addressed by (cluster, group-resource, namespace, name). One global revision counts
every write of every cluster in this store; it becomes each object's `resourceVersion`.

Write path: check preconditions against the cache, take the next revision, update the cache,
queue the write to the backend, and answer the caller only when the backend reports it durable.
Watch events are published in revision order from that durability callback, so no watcher ever sees
a write that could still be lost.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from kubenest.store.backend import Backend, Op

Obj = dict[str, Any]


@dataclass(slots=True)
class Entry:
    """A stored object: the parsed dict (never mutated once stored) and its JSON encoding."""

    obj: Obj
    raw: bytes
    rv: int
    oid: int = 0  # the backend's row id: assigned at creation, kept by updates


@dataclass(slots=True)
class Event:
    type: str  # ADDED, MODIFIED, DELETED
    cluster: str
    resource: str
    namespace: str
    name: str
    rv: int
    obj: Obj
    raw: bytes
    prev: Obj | None
    line: bytes | None = None  # the watch line, encoded once for all watchers
    oid: int = 0


class StoreError(Exception):
    """A precondition failed: `reason` is "exists", "missing" or "conflict"."""

    def __init__(self, reason: str, current: Entry | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.current = current


def encode(obj: Obj) -> bytes:
    """JSON bytes sized to fit: orjson's result keeps a ~4 KiB buffer, which the cache would hold forever."""
    return bytes(memoryview(orjson.dumps(obj)))


Bucket = dict[str, dict[str, Entry]]  # namespace -> name -> entry


class Watcher:
    """One watch: an unbounded queue of events, filled by the store, drained by the HTTP stream."""

    __slots__ = ("queue", "namespace", "filter", "closed")

    def __init__(self, namespace: str | None, filt: Callable[[Event], Event | None] | None) -> None:
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.namespace = namespace
        self.filter = filt
        self.closed = False


class Store:
    """Cache + backend + watch hub for every logical cluster of one server."""

    def __init__(self, backend: Backend, history: int = 20000) -> None:
        self.backend = backend
        self.rv = 0  # last revision handed out
        self.committed_rv = 0  # last revision known durable and published
        # (cluster, resource) -> namespace -> name -> Entry
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._history: collections.deque[Event] = collections.deque(maxlen=history)
        self._history_start = 0  # history holds no event at or before this revision (set on load)
        self._watchers: dict[tuple[str, str], set[Watcher]] = {}
        self._defaults: dict[str, DefaultsSource] = {}
        self._default_names: dict[str, frozenset[str] | None] = {}
        self._load()

    # -- start-up -----------------------------------------------------------------------------------

    def _load(self) -> None:
        rv, rows = self.backend.load()
        top, top_oid = rv, 0
        for oid, key, obj_rv, raw in rows:
            cluster, resource, namespace, name = split_key(key)
            obj = orjson.loads(raw)
            entry = Entry(obj, raw, obj_rv, oid)
            self._buckets.setdefault((cluster, resource), {}).setdefault(namespace, {})[name] = entry
            top, top_oid = max(top, obj_rv), max(top_oid, oid)
        self.rv = self.committed_rv = self._history_start = top
        self._next_oid = top_oid + 1

    def _bucket(self, cluster: str, resource: str) -> Bucket:
        return self._buckets.setdefault((cluster, resource), {})

    # -- shared defaults ------------------------------------------------------------------------------

    def register_defaults(self, resource: str, source: DefaultsSource, names: Collection[str] | None = None) -> None:
        """Serve `source(cluster)` as objects of `resource` in every cluster without storing them.

        Objects identical in every cluster of a version (kube's bootstrap RBAC) are shared entries;
        writing one stores a private copy for that cluster, deleting one stores a tombstone, so an
        idle cluster pays nothing for its defaults. `names`, when given, are the only names the
        source's objects have: creating an object of another name does not ask the source.
        """
        self._defaults[resource] = source
        self._default_names[resource] = frozenset(names) if names is not None else None

    def _shared(self, cluster: str, resource: str) -> dict[tuple[str, str], Entry]:
        source = self._defaults.get(resource)
        if source is None:
            return {}
        shared = source(cluster)
        if shared and self.count(cluster, TOMBSTONES):
            shared = {k: e for k, e in shared.items() if not self._tombstoned(cluster, resource, *k)}
        return shared

    def _may_be_default(self, resource: str, name: str) -> bool:
        names = self._default_names.get(resource)
        return names is None or name in names

    def _tombstoned(self, cluster: str, resource: str, namespace: str, name: str) -> bool:
        return self.get(cluster, TOMBSTONES, resource, tombstone_name(namespace, name), shared=False) is not None

    # -- reads --------------------------------------------------------------------------------------

    def get(self, cluster: str, resource: str, namespace: str, name: str, shared: bool = True) -> Entry | None:
        b = self._buckets.get((cluster, resource))
        ns = b.get(namespace) if b else None
        e = ns.get(name) if ns else None
        if e is None and shared and resource in self._defaults:
            e = self._shared(cluster, resource).get((namespace, name))
        return e

    def entries(self, cluster: str, resource: str, namespace: str | None = None) -> Iterator[Entry]:
        """Entries of one resource in one cluster (one namespace, or all), ordered by namespace/name."""
        shared = self._shared(cluster, resource) if resource in self._defaults else None
        if shared and namespace is None:
            merged = dict(shared)
            for e in self._stored(cluster, resource, None):
                meta = e.obj["metadata"]
                merged[(meta.get("namespace", ""), meta["name"])] = e
            for k in sorted(merged):
                yield merged[k]
            return
        if shared and namespace is not None:
            # One namespace: slot its few defaults into the sorted names (a private copy hides its
            # default), and where it has none, list as if there were no defaults at all.
            mine = {name: e for (ns, name), e in shared.items() if ns == namespace}
            if mine:
                b = self._buckets.get((cluster, resource))
                stored = (b.get(namespace) if b else None) or {}
                names = sorted(stored)
                for name in mine:
                    if name not in stored:
                        bisect.insort(names, name)
                for name in names:
                    found = stored.get(name)
                    yield found if found is not None else mine[name]
                return
        yield from self._stored(cluster, resource, namespace)

    def _stored(self, cluster: str, resource: str, namespace: str | None) -> Iterator[Entry]:
        b = self._buckets.get((cluster, resource))
        if not b:
            return
        if namespace is not None:
            ns = b.get(namespace)
            if ns:
                for name in sorted(ns):
                    yield ns[name]
            return
        for nsname in sorted(b):
            ns = b[nsname]
            for name in sorted(ns):
                yield ns[name]

    def count(self, cluster: str, resource: str, namespace: str | None = None) -> int:
        if resource in self._defaults:
            return sum(1 for _ in self.entries(cluster, resource, namespace))
        b = self._buckets.get((cluster, resource))
        if not b:
            return 0
        if namespace is not None:
            return len(b.get(namespace, ()))
        return sum(len(ns) for ns in b.values())

    def dependents(self, cluster: str, owner_uid: str) -> Iterator[tuple[str, Entry]]:
        """(resource, entry) of every object in `cluster` with an ownerReference to `owner_uid`."""
        for resource in self.resources_of(cluster):
            for e in self._stored(cluster, resource, None):
                if any(ref.get("uid") == owner_uid for ref in e.obj["metadata"].get("ownerReferences") or ()):
                    yield resource, e

    def clusters_with(self, resource: str) -> list[str]:
        """Clusters holding at least one object of `resource`."""
        return [c for (c, r), b in self._buckets.items() if r == resource and any(b.values())]

    def resources_of(self, cluster: str) -> list[str]:
        return [r for (c, r), b in self._buckets.items() if c == cluster and any(b.values())]

    # -- writes -------------------------------------------------------------------------------------

    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    async def create(self, cluster: str, resource: str, namespace: str, name: str, obj: Obj) -> Entry:
        """Store a new object; sets metadata.resourceVersion. Raises StoreError("exists")."""
        ns = self._bucket(cluster, resource).setdefault(namespace, {})
        if name in ns:
            raise StoreError("exists", ns[name])
        if resource in self._defaults and self._may_be_default(resource, name):
            shared = self._shared(cluster, resource).get((namespace, name))
            if shared is not None:
                raise StoreError("exists", shared)
        rv = self._next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        # New rows get increasing ids, so the backend appends instead of inserting at random.
        entry = Entry(obj, encode(obj), rv, self._next_oid)
        self._next_oid += 1
        ns[name] = entry
        await self._commit(Event("ADDED", cluster, resource, namespace, name, rv, obj, entry.raw, None, oid=entry.oid))
        return entry

    async def create_many(self, items: list[tuple[str, str, str, str, Obj]]) -> list[Entry]:
        """Create several new objects (cluster, resource, namespace, name, obj) in one durable commit.

        All-or-nothing for the existence check; their events are published in order once durable.
        """
        for cluster, resource, namespace, name, _ in items:
            if self.get(cluster, resource, namespace, name) is not None:
                raise StoreError("exists", self.get(cluster, resource, namespace, name))
        entries: list[Entry] = []
        events: list[Event] = []
        ops: list[Op] = []
        for cluster, resource, namespace, name, obj in items:
            rv = self._next_rv()
            obj["metadata"]["resourceVersion"] = str(rv)
            entry = Entry(obj, encode(obj), rv, self._next_oid)
            self._next_oid += 1
            self._bucket(cluster, resource).setdefault(namespace, {})[name] = entry
            entries.append(entry)
            events.append(Event("ADDED", cluster, resource, namespace, name, rv, obj, entry.raw, None, oid=entry.oid))
            ops.append((entry.oid, make_key(cluster, resource, namespace, name), entry.raw))
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def done(err: BaseException | None) -> None:
            if err is None:
                for ev in events:
                    self._publish(ev)
                if not fut.done():
                    fut.set_result(None)
            elif not fut.done():
                fut.set_exception(err)

        self.backend.write(ops, self.rv, done)
        await fut
        return entries

    def _current(
        self, cluster: str, resource: str, namespace: str, name: str, expect_rv: int | None
    ) -> tuple[dict[str, Entry], Entry]:
        """The namespace bucket and entry of an existing object, checking the expected revision."""
        ns = self._bucket(cluster, resource).setdefault(namespace, {})
        old = ns.get(name)
        if old is None and resource in self._defaults:
            old = self._shared(cluster, resource).get((namespace, name))
        if old is None:
            raise StoreError("missing")
        if expect_rv is not None and expect_rv != old.rv:
            raise StoreError("conflict", old)
        return ns, old

    async def update(
        self, cluster: str, resource: str, namespace: str, name: str, obj: Obj, expect_rv: int | None = None
    ) -> Entry:
        """Replace an existing object. `expect_rv` (if given) must match the stored revision."""
        ns, old = self._current(cluster, resource, namespace, name, expect_rv)
        rv = self._next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        oid = old.oid
        if not oid:  # a shared default: this write makes the cluster's private copy
            oid, self._next_oid = self._next_oid, self._next_oid + 1
        entry = Entry(obj, encode(obj), rv, oid)
        ns[name] = entry
        await self._commit(Event("MODIFIED", cluster, resource, namespace, name, rv, obj, entry.raw, old.obj,
                                 oid=oid))
        return entry

    async def delete(
        self, cluster: str, resource: str, namespace: str, name: str, expect_rv: int | None = None
    ) -> Entry:
        """Remove an object; the returned entry carries the deletion revision."""
        ns, old = self._current(cluster, resource, namespace, name, expect_rv)
        rv = self._next_rv()
        ns.pop(name, None)
        obj = dict(old.obj)
        obj["metadata"] = dict(obj["metadata"], resourceVersion=str(rv))
        entry = Entry(obj, encode(obj), rv, old.oid)
        extra: list[Op] = []
        if resource in self._defaults and self._defaults[resource](cluster).get((namespace, name)) is not None:
            # A default stays deleted in this cluster: record a tombstone in the same commit.
            extra.append(self._put_tombstone(cluster, resource, namespace, name, rv))
        ops: list[Op] = [(old.oid, make_key(cluster, resource, namespace, name), None)] if old.oid else []
        await self._commit(Event("DELETED", cluster, resource, namespace, name, rv, obj, entry.raw, old.obj,
                                 oid=old.oid), ops + extra)
        return entry

    def _put_tombstone(self, cluster: str, resource: str, namespace: str, name: str, rv: int) -> Op:
        tname = tombstone_name(namespace, name)
        if self.get(cluster, TOMBSTONES, resource, tname, shared=False) is not None:
            existing = self._buckets[(cluster, TOMBSTONES)][resource][tname]
            return (existing.oid, make_key(cluster, TOMBSTONES, resource, tname), existing.raw)
        record = {"metadata": {"name": tname, "namespace": resource, "resourceVersion": str(rv)},
                  "groupResource": resource}
        entry = Entry(record, encode(record), rv, self._next_oid)
        self._next_oid += 1
        self._bucket(cluster, TOMBSTONES).setdefault(resource, {})[tname] = entry
        return (entry.oid, make_key(cluster, TOMBSTONES, resource, tname), entry.raw)

    async def _commit(self, event: Event, ops: list[Op] | None = None) -> None:
        """Make the event's write durable (or `ops`, when given), then publish it."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        if ops is None:
            key = make_key(event.cluster, event.resource, event.namespace, event.name)
            ops = [(event.oid, key, None if event.type == "DELETED" else event.raw)]

        def done(err: BaseException | None) -> None:
            if err is None:
                self._publish(event)
                if not fut.done():
                    fut.set_result(None)
            elif not fut.done():
                fut.set_exception(err)

        self.backend.write(ops, event.rv, done)
        await fut

    async def delete_cluster(self, cluster: str) -> int:
        """Durably delete every object of `cluster` in one commit; returns how many.

        Its watchers end (their clients see the stream close), and no per-object events are sent:
        nothing can watch a cluster that no longer exists.
        """
        ops: list[Op] = []
        for key in [k for k in self._buckets if k[0] == cluster]:
            for nsname, ns in self._buckets.pop(key).items():
                for name, e in ns.items():
                    ops.append((e.oid, make_key(cluster, key[1], nsname, name), None))
        for key in [k for k in self._watchers if k[0] == cluster]:
            for w in self._watchers.pop(key):
                w.closed = True
                w.queue.put_nowait(None)
        if not ops:
            return 0
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        rv = self._next_rv()

        def done(err: BaseException | None) -> None:
            self.committed_rv = max(self.committed_rv, rv)
            if fut.done():
                return
            if err is None:
                fut.set_result(None)
            else:
                fut.set_exception(err)

        self.backend.write(ops, rv, done)
        await fut
        return len(ops)

    # -- watch --------------------------------------------------------------------------------------

    def _publish(self, event: Event) -> None:
        self.committed_rv = max(self.committed_rv, event.rv)
        self._history.append(event)
        for key in ((event.cluster, event.resource), ("*", event.resource)):
            watchers = self._watchers.get(key)
            if not watchers:
                continue
            for w in watchers:
                if w.namespace is not None and w.namespace != event.namespace:
                    continue
                ev: Event | None = event
                if w.filter is not None:
                    ev = w.filter(event)
                if ev is not None:
                    w.queue.put_nowait(ev)

    def oldest_history_rv(self) -> int:
        """Revisions strictly older than this (and than the current one) are outside the window."""
        if self._history and len(self._history) == self._history.maxlen:
            return self._history[0].rv
        # After a restart the history starts at the loaded revision, like a fresh watch cache.
        return self._history_start + 1 if self._history_start else 0

    def entries_at(self, cluster: str, resource: str, namespace: str | None, rv: int) -> Iterator[Entry] | None:
        """Entries as they were at revision `rv`, ordered as `entries`; None when the history window
        no longer reaches back to `rv` (paged lists read one snapshot, as etcd serves them)."""
        oldest = self.oldest_history_rv()
        if oldest and rv < oldest - 1:
            return None
        at_rv: dict[tuple[str, str], Obj | None] = {}
        for ev in reversed(self._history):
            if ev.rv <= rv:
                break
            if ev.cluster == cluster and ev.resource == resource and namespace in (None, ev.namespace):
                # Walking back, the earliest change after rv is the last one seen: its prev is the state at rv.
                at_rv[(ev.namespace, ev.name)] = ev.prev
        if not at_rv:
            return self.entries(cluster, resource, namespace)
        view = {(e.obj["metadata"].get("namespace", ""), e.obj["metadata"]["name"]): e
                for e in self.entries(cluster, resource, namespace)}
        for key, prev in at_rv.items():
            if prev is None:
                view.pop(key, None)
            else:
                view[key] = Entry(prev, encode(prev), int(prev["metadata"]["resourceVersion"]))
        return iter([view[k] for k in sorted(view)])

    def watch(
        self,
        cluster: str,
        resource: str,
        namespace: str | None,
        since_rv: int | None,
        filt: Callable[[Event], Event | None] | None = None,
    ) -> Watcher:
        """Register a watcher; with `since_rv`, first queue the history events after it.

        Raises StoreError("expired") when `since_rv` is older than the history window.
        """
        w = Watcher(namespace, filt)
        if since_rv is not None and since_rv < self.committed_rv:
            oldest = self.oldest_history_rv()
            if oldest and since_rv < oldest - 1:
                raise StoreError("expired")
            for ev in self._history:
                if ev.rv <= since_rv:
                    continue
                if (cluster != "*" and ev.cluster != cluster) or ev.resource != resource:
                    continue
                if namespace is not None and ev.namespace != namespace:
                    continue
                out = filt(ev) if filt is not None else ev
                if out is not None:
                    w.queue.put_nowait(out)
        self._watchers.setdefault((cluster, resource), set()).add(w)
        return w

    def unwatch(self, cluster: str, resource: str, w: Watcher) -> None:
        w.closed = True
        ws = self._watchers.get((cluster, resource))
        if ws is not None:
            ws.discard(w)
            if not ws:
                del self._watchers[(cluster, resource)]

    def close_watches(self) -> None:
        """End every open watch (their streams finish cleanly)."""
        for ws in self._watchers.values():
            for w in ws:
                w.queue.put_nowait(None)

    def close(self) -> None:
        self.close_watches()
        self.backend.close()


# Tombstones of deleted shared defaults: stored at (cluster, TOMBSTONES, resource, tombstone_name).
TOMBSTONES = "defaulttombstones.kubenest.io"

# cluster -> {(namespace, name): Entry}; the same entries for every cluster of a version.
DefaultsSource = Callable[[str], dict[tuple[str, str], Entry]]


def tombstone_name(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def make_key(cluster: str, resource: str, namespace: str, name: str) -> str:
    return f"/{cluster}/{resource}/{namespace}/{name}"


def split_key(key: str) -> tuple[str, str, str, str]:
    _, cluster, resource, namespace, name = key.split("/", 4)
    return cluster, resource, namespace, name
