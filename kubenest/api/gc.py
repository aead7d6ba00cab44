"""Garbage collection by ownerReferences, and the deletion propagation policies.

- Background: once an owner is gone, its dependents are deleted.
- Foreground: the owner carries the `foregroundDeletion` finalizer; its dependents are deleted, and
  when none is left the finalizer goes and with it the owner.
- Orphan: the owner carries the `orphan` finalizer; its dependents lose their reference to it, then
  the finalizer goes.

Driven by registry write hooks (no polling): an idle cluster costs nothing. Dependents are found by
scanning the owner's cluster, which is small per cluster; an index can replace the scan later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import orjson

from kubenest.api.errors import ApiError
from kubenest.api.registry import Registry, handles
from kubenest.api.request import Request
from kubenest.store.store import Entry, Store

log = logging.getLogger("kubenest.gc")

Obj = dict[str, Any]
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


class GarbageCollector:
    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self.registry.after_write.append(self.on_write)

    @handles(operations=("update", "delete"))  # a create cannot delete or be deleted
    def on_write(self, req: Request, old: Obj | None, new: Obj | None) -> None:
        if new is None and old is not None:
            self._spawn(self._owner_gone(req, old))
            return
        if new is None:
            return
        meta = new["metadata"]
        finalizers = meta.get("finalizers") or ()
        if meta.get("deletionTimestamp") and (FOREGROUND in finalizers or ORPHAN in finalizers):
            self._spawn(self._process_owner(req, new))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def dependents(self, cluster: str, uid: str) -> list[tuple[str, Entry]]:
        return list(self.store.dependents(cluster, uid))

    def _request(self, req: Request, resource_key: str, obj: Obj, query: dict[str, str]) -> Request | None:
        r = req.cluster.by_group_resource(resource_key)
        if r is None:
            return None
        meta = obj["metadata"]
        return Request("DELETE", "delete", req.cluster, r, meta.get("namespace", ""), meta["name"], "", query,
                       {}, req.user)

    async def _delete(self, req: Request, resource_key: str, obj: Obj, policy: str) -> None:
        sub = self._request(req, resource_key, obj, {"propagationPolicy": policy})
        if sub is None:
            return
        try:
            await self.registry.delete(sub)
        except ApiError as e:
            if e.code not in (404, 409):
                log.warning("garbage collector could not delete %s %s: %s", resource_key, sub.name, e.message)

    async def _owner_gone(self, req: Request, owner: Obj) -> None:
        """Background propagation, and owners waiting on this dependent in foreground deletion."""
        uid = owner["metadata"].get("uid", "")
        cluster = req.cluster.name
        for resource_key, e in self.dependents(cluster, uid):
            # A dependent with other live owners stays; it only loses this reference.
            refs = e.obj["metadata"].get("ownerReferences") or []
            others = [r for r in refs if r.get("uid") != uid and self._owner_exists(cluster, r)]
            if others:
                await self._drop_refs(req, resource_key, e, uid)
            else:
                await self._delete(req, resource_key, e.obj, "Background")
        for ref in owner["metadata"].get("ownerReferences") or ():
            await self._maybe_finish_foreground(req, ref)

    def _owner_exists(self, cluster: str, ref: dict[str, Any]) -> bool:
        for resource in self.store.resources_of(cluster):
            for e in self.store.entries(cluster, resource):
                if e.obj["metadata"].get("uid") == ref.get("uid"):
                    return True
        return False

    async def _maybe_finish_foreground(self, req: Request, ref: dict[str, Any]) -> None:
        cluster = req.cluster.name
        for resource in self.store.resources_of(cluster):
            for e in self.store.entries(cluster, resource):
                meta = e.obj["metadata"]
                if meta.get("uid") == ref.get("uid") and FOREGROUND in (meta.get("finalizers") or ()):
                    await self._process_owner_entry(req, resource, e)
                    return

    async def _process_owner(self, req: Request, owner: Obj) -> None:
        meta = owner["metadata"]
        e = self.store.get(req.cluster.name, req.key, meta.get("namespace", ""), meta["name"])
        if e is not None:
            await self._process_owner_entry(req, req.key, e)

    async def _process_owner_entry(self, req: Request, resource_key: str, e: Entry) -> None:
        meta = e.obj["metadata"]
        uid = meta.get("uid", "")
        finalizers = list(meta.get("finalizers") or ())
        deps = self.dependents(req.cluster.name, uid)
        if ORPHAN in finalizers:
            for dep_key, dep in deps:
                await self._drop_refs(req, dep_key, dep, uid)
            finalizers.remove(ORPHAN)
        elif FOREGROUND in finalizers:
            for dep_key, dep in deps:
                if not dep.obj["metadata"].get("deletionTimestamp"):
                    await self._delete(req, dep_key, dep.obj, "Foreground")
            if any(self.store.get(req.cluster.name, k, d.obj["metadata"].get("namespace", ""),
                                  d.obj["metadata"]["name"]) is not None for k, d in deps):
                return  # finished when the last dependent goes (its deletion calls back here)
            finalizers.remove(FOREGROUND)
        else:
            return
        await self._set_finalizers(req, resource_key, e, finalizers)

    async def _set_finalizers(self, req: Request, resource_key: str, e: Entry, finalizers: list[str]) -> None:
        cur = self.store.get(req.cluster.name, resource_key, e.obj["metadata"].get("namespace", ""),
                             e.obj["metadata"]["name"])
        if cur is not None:
            await self._rewrite_list(req, resource_key, cur, "finalizers", lambda f: f in finalizers)

    async def _drop_refs(self, req: Request, resource_key: str, e: Entry, uid: str) -> None:
        await self._rewrite_list(req, resource_key, e, "ownerReferences", lambda ref: ref.get("uid") != uid)

    async def _rewrite_list(self, req: Request, resource_key: str, e: Entry, field: str,
                            keep: Callable[[Any], bool]) -> None:
        """Update the object keeping only the items of metadata.<field> that `keep` accepts."""
        obj = orjson.loads(e.raw)
        items = [x for x in obj["metadata"].get(field) or () if keep(x)]
        if items:
            obj["metadata"][field] = items
        else:
            obj["metadata"].pop(field, None)
        sub = self._request(req, resource_key, obj, {})
        if sub is None:
            return
        sub.verb, sub.method = "update", "PUT"
        try:
            await self.registry.update(sub, obj)
        except ApiError as err:
            log.warning("garbage collector could not update %s of %s %s: %s", field, resource_key, sub.name,
                        err.message)
