"""The controller runtime: shared watches, a de-duplicating work queue, retries.

A `Controller` names the resources it watches and maps each event to keys (cluster, namespace,
name) of its primary objects; `reconcile(key)` then brings that object's world in line. The manager
opens one store watcher per watched resource for all clusters together, so the cost of controllers
does not grow with the number of idle clusters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from kubenest.api.errors import ApiError
from kubenest.api.selectors import LabelSelector
from kubenest.controllers.client import Client
from kubenest.store.store import Event, Store, Watcher

log = logging.getLogger("kubenest.controllers")

Key = tuple[str, str, str]  # cluster, namespace, name
Obj = dict[str, Any]


class Controller:
    """Base class: set `name`, `primary`, `kind` and `watches`; implement `reconcile`."""

    name = "controller"
    primary = ""  # the group-resource this controller reconciles, e.g. "replicasets.apps"
    kind = ""  # the primary's kind, as dependents name it in their ownerReferences
    component = "kube-controller-manager"  # the source of the Events it records, as kube names it
    watches: tuple[str, ...] = ()  # further group-resources whose events map to primary keys

    def __init__(self, client: Client) -> None:
        self.client = client
        self.manager: Manager | None = None

    def relevant(self, ev: Event) -> bool:
        """Whether an event of a watched resource may concern this controller at all. Where every
        controller of a watch says no, the store drops the event before queueing it (a cheap test
        saves a queue round per write nobody acts on). Default: every event."""
        return True

    def keys_for(self, ev: Event) -> Iterable[Key]:
        """Primary keys an event concerns: the object itself, the controller owning a dependent,
        or (for an unowned dependent) the primaries that may adopt it (`orphan_keys`)."""
        if ev.resource == self.primary:
            yield (ev.cluster, ev.namespace, ev.name)
            return
        owned = False
        for key in owner_keys(ev, self.primary_kind()):
            owned = True
            yield key
        if not owned and ev.type != "DELETED" and ev.obj is not None:
            yield from self.orphan_keys(ev)

    def orphan_keys(self, ev: Event) -> Iterable[Key]:
        """Primaries that may adopt the event's unowned object; none unless a controller adopts."""
        return ()

    def selector_keys(self, ev: Event, selector_of: Callable[[Obj], LabelSelector | None]) -> Iterable[Key]:
        """Primaries in the object's namespace whose (non-empty) selector matches its labels."""
        labels = ev.obj["metadata"].get("labels") or {}
        for owner in self.client.list(ev.cluster, self.primary, ev.namespace):
            sel = selector_of(owner)
            if sel is not None and not sel.empty() and sel.matches(labels):
                yield (ev.cluster, ev.namespace, owner["metadata"]["name"])

    def primary_kind(self) -> str:
        return self.kind

    async def event(self, cluster: str, obj: Obj, type_: str, reason: str, message: str) -> None:
        """Record an Event about `obj` from this controller."""
        await self.client.event(cluster, obj, type_, reason, message, component=self.component)

    def minor(self, cluster: str) -> int:
        """The Kubernetes minor version of `cluster` (behaviour that changed across releases)."""
        return minor_of(self.client.clusters.get(cluster))

    async def reconcile(self, key: Key) -> None:
        raise NotImplementedError

    def requeue_after(self, key: Key, seconds: float) -> None:
        if self.manager is not None:
            self.manager.requeue_after(self, key, seconds)


def minor_of(cluster: Any) -> int:
    """Minor version of a LogicalCluster (37 when unknown)."""
    try:
        return int(str(cluster.version).split(".")[1]) if cluster is not None else 37
    except (IndexError, ValueError):
        return 37


def owner_keys(ev: Event, kind: str) -> Iterable[Key]:
    """Keys of the controllers (ownerReferences with controller=true) of `kind` of the event's object."""
    seen = set()
    for obj in (ev.obj, ev.prev):
        if obj is None:
            continue
        for ref in obj["metadata"].get("ownerReferences") or ():
            if ref.get("kind") == kind and ref.get("controller"):
                key = (ev.cluster, ev.namespace, ref["name"])
                if key not in seen:
                    seen.add(key)
                    yield key


def _relevance_filter(ctrls: list[Controller]) -> Callable[[Event], Event | None] | None:
    """The store-side filter of a watch shared by `ctrls`: none unless each of them says which events
    are relevant to it."""
    if any(type(c).relevant is Controller.relevant for c in ctrls):
        return None

    def relevant(ev: Event) -> Event | None:
        return ev if any(c.relevant(ev) for c in ctrls) else None

    return relevant


class Manager:
    """Runs controllers: one watcher per resource across clusters, N workers over one queue."""

    def __init__(self, store: Store, workers: int = 16) -> None:
        self.store = store
        self.controllers: list[Controller] = []
        self.workers = workers
        self._queue: asyncio.Queue[tuple[Controller, Key]] = asyncio.Queue()
        self._pending: set[tuple[str, Key]] = set()
        self._active: set[tuple[str, Key]] = set()
        self._dirty: set[tuple[str, Key]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._watchers: list[tuple[str, Watcher]] = []
        self._failures: dict[tuple[str, Key], int] = {}

    def add(self, controller: Controller) -> None:
        controller.manager = self
        self.controllers.append(controller)

    def start(self, resync: bool = True) -> None:
        """Open the watches and workers; `resync`: one reconcile of every stored primary object.
        Controllers with no primary resource are fed only by `enqueue`."""
        by_resource: dict[str, list[Controller]] = {}
        for c in self.controllers:
            for r in (c.primary, *c.watches):
                if r:
                    by_resource.setdefault(r, []).append(c)
        for resource, ctrls in by_resource.items():
            w = self.store.watch("*", resource, None, None, _relevance_filter(ctrls))
            self._watchers.append((resource, w))
            self._tasks.append(asyncio.ensure_future(self._pump(w, ctrls)))
        for _ in range(self.workers):
            self._tasks.append(asyncio.ensure_future(self._work()))
        # Objects stored before this start (a restart) get one reconcile each.
        for c in self.controllers if resync else ():
            if not c.primary:
                continue
            for cluster in self.store.clusters_with(c.primary):
                for e in self.store.entries(cluster, c.primary):
                    self.enqueue(c, (cluster, e.obj["metadata"].get("namespace", ""), e.obj["metadata"]["name"]))

    def stop(self) -> None:
        for resource, w in self._watchers:
            self.store.unwatch("*", resource, w)
        for t in self._tasks:
            t.cancel()

    async def _pump(self, w: Watcher, ctrls: list[Controller]) -> None:
        while True:
            ev = await w.queue.get()
            if ev is None:
                return
            for c in ctrls:
                try:
                    for key in c.keys_for(ev):
                        self.enqueue(c, key)
                except Exception:  # noqa: BLE001 - one bad mapping must not stop the pump
                    log.exception("%s: mapping event failed", c.name)

    def enqueue(self, c: Controller, key: Key) -> None:
        token = (c.name, key)
        if token in self._active:
            self._dirty.add(token)  # reconcile again after the running one
            return
        if token in self._pending:
            return
        self._pending.add(token)
        self._queue.put_nowait((c, key))

    def requeue_after(self, c: Controller, key: Key, seconds: float) -> None:
        asyncio.get_running_loop().call_later(seconds, self.enqueue, c, key)

    async def _work(self) -> None:
        while True:
            c, key = await self._queue.get()
            token = (c.name, key)
            self._pending.discard(token)
            self._active.add(token)
            try:
                await c.reconcile(key)
                self._failures.pop(token, None)
            except ApiError as e:
                self._retry(c, key, token, f"{e.code} {e.message}")
            except Exception as e:  # noqa: BLE001 - logged and retried with backoff
                log.exception("%s: reconcile %s failed", c.name, key)
                self._retry(c, key, token, str(e))
            finally:
                self._active.discard(token)
                if token in self._dirty:
                    self._dirty.discard(token)
                    self.enqueue(c, key)

    def _retry(self, c: Controller, key: Key, token: tuple[str, Key], why: str) -> None:
        n = self._failures.get(token, 0) + 1
        self._failures[token] = n
        delay = min(0.005 * (2 ** n), 30.0)
        log.debug("%s: retry %s in %.3fs: %s", c.name, key, delay, why)
        self.requeue_after(c, key, delay)

    async def idle(self, timeout: float = 10.0) -> bool:
        """Wait until no work is queued or running (tests and benchmarks)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if not self._pending and not self._active and self._queue.empty():
                await asyncio.sleep(0.01)
                if not self._pending and not self._active:
                    return True
            await asyncio.sleep(0.005)
        return False
