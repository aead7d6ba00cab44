"""Namespace lifecycle: a deleted namespace turns Terminating, loses its content, then goes.

kube's namespace controller in miniature, driven by registry write hooks: when a namespace gets a
deletionTimestamp, every namespaced object in it is deleted; each later deletion inside it checks
whether it is empty yet; once empty, the `kubernetes` finalizer is removed and the namespace deleted.
Status conditions say what is left, as kube reports them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from kubenest.api.clusters import LogicalCluster, now_rfc3339
from kubenest.api.errors import ApiError
from kubenest.api.registry import Registry, handles
from kubenest.api.request import Request
from kubenest.store.store import Store, StoreError

log = logging.getLogger("kubenest.namespaces")

Obj = dict[str, Any]


class NamespaceController:
    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: set[tuple[str, str]] = set()

    def start(self) -> None:
        self.registry.after_write.append(self.on_write)

    @handles(operations=("update", "delete"))  # a create cannot start a namespace's deletion
    def on_write(self, req: Request, old: Obj | None, new: Obj | None) -> None:
        r = req.resource
        if r.group == "" and r.kind == "Namespace":
            if new is not None and new["metadata"].get("deletionTimestamp"):
                self._spawn(req.cluster, req.user, new["metadata"]["name"])
            return
        if new is None and r.namespaced and req.namespace:
            ns = self.store.get(req.cluster.name, "namespaces", "", req.namespace)
            if ns is not None and ns.obj["metadata"].get("deletionTimestamp"):
                self._spawn(req.cluster, req.user, req.namespace)

    def _spawn(self, cluster: LogicalCluster, user: Any, namespace: str) -> None:
        key = (cluster.name, namespace)
        if key in self._running:
            return
        self._running.add(key)
        task = asyncio.ensure_future(self._sweep(cluster, user, namespace))
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            self._running.discard(key)

        task.add_done_callback(done)

    def _content(self, cluster: LogicalCluster, namespace: str) -> list[tuple[str, Obj]]:
        out = []
        for resource in self.store.resources_of(cluster.name):
            if resource == "namespaces":
                continue
            for e in self.store.entries(cluster.name, resource, namespace):
                out.append((resource, e.obj))
        return out

    async def _sweep(self, cluster: LogicalCluster, user: Any, namespace: str) -> None:
        content = self._content(cluster, namespace)
        for resource, obj in content:
            if obj["metadata"].get("deletionTimestamp"):
                continue
            r = cluster.by_group_resource(resource)
            if r is None:
                continue
            req = Request("DELETE", "delete", cluster, r, namespace, obj["metadata"]["name"], "",
                          {"propagationPolicy": "Background"}, {}, user)
            try:
                await self.registry.delete(req)
            except ApiError as e:
                if e.code != 404:
                    log.warning("namespace %s: could not delete %s %s: %s", namespace, resource,
                                obj["metadata"]["name"], e.message)
        remaining = self._content(cluster, namespace)
        await self._report(cluster, namespace, remaining)
        if not remaining:
            await self._finalize(cluster, namespace)

    async def _report(self, cluster: LogicalCluster, namespace: str, remaining: list[tuple[str, Obj]]) -> None:
        e = self.store.get(cluster.name, "namespaces", "", namespace)
        if e is None:
            return
        obj = orjson.loads(e.raw)
        now = now_rfc3339()
        finalizers = sorted({f for _, o in remaining for f in o["metadata"].get("finalizers") or ()})
        counts: dict[str, int] = {}
        for resource, _ in remaining:
            counts[resource] = counts.get(resource, 0) + 1
        conditions = [
            _condition("NamespaceDeletionDiscoveryFailure", False, "ResourcesDiscovered",
                       "All resources successfully discovered", now),
            _condition("NamespaceDeletionGroupVersionParsingFailure", False, "ParsedGroupVersions",
                       "All legacy kube types successfully parsed", now),
            _condition("NamespaceDeletionContentFailure", False, "ContentDeleted",
                       "All content successfully deleted, may be waiting on finalization", now),
            _condition("NamespaceContentRemaining", bool(remaining),
                       "SomeResourcesRemain" if remaining else "ContentRemoved",
                       "Some resources are remaining: " + ", ".join(f"{k} has {v} resource instances"
                                                                    for k, v in sorted(counts.items()))
                       if remaining else "All content successfully removed", now),
            _condition("NamespaceFinalizersRemaining", bool(finalizers),
                       "SomeFinalizersRemain" if finalizers else "ContentHasNoFinalizers",
                       "Some content in the namespace has finalizers remaining: " + ", ".join(finalizers)
                       if finalizers else "All content-preserving finalizers finished", now),
        ]
        old_types = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or ()}
        for c in conditions:
            prev = old_types.get(c["type"])
            if prev and prev.get("status") == c["status"]:
                c["lastTransitionTime"] = prev.get("lastTransitionTime", now)
        obj["status"] = {"phase": "Terminating", "conditions": conditions}
        if obj == e.obj:
            return
        try:
            await self.store.update(cluster.name, "namespaces", "", namespace, obj, e.rv)
        except StoreError:
            pass

    async def _finalize(self, cluster: LogicalCluster, namespace: str) -> None:
        e = self.store.get(cluster.name, "namespaces", "", namespace)
        if e is None:
            return
        obj = orjson.loads(e.raw)
        obj.setdefault("spec", {})["finalizers"] = [
            f for f in obj["spec"].get("finalizers") or () if f != "kubernetes"]
        try:
            if obj["spec"]["finalizers"] or obj["metadata"].get("finalizers"):
                await self.store.update(cluster.name, "namespaces", "", namespace, obj, e.rv)
            else:
                await self.store.delete(cluster.name, "namespaces", "", namespace, e.rv)
        except StoreError:
            # Changed meanwhile: the write that changed it runs the hook again.
            pass


def _condition(type_: str, status: bool, reason: str, message: str, now: str) -> dict[str, str]:
    return {"type": type_, "status": "True" if status else "False", "lastTransitionTime": now,
            "reason": reason, "message": message}
