"""CustomResourceDefinitions: serve what a cluster's CRDs define, per cluster.

The controller reacts to CRD writes (a registry hook, no polling): it rebuilds the cluster's
custom resource table, marks the CRD `NamesAccepted` and `Established`, and, when a CRD is
deleted, deletes its objects before letting the CRD go (kube's `customresourcecleanup` finalizer).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubenest.api.clusters import Clusters, LogicalCluster, now_rfc3339
from kubenest.api.registry import Registry, handles
from kubenest.api.request import Request
from kubenest.api.resources import ResourceInfo, ScaleInfo
from kubenest.store.store import Store, StoreError

log = logging.getLogger("kubenest.crds")

CRDS = "customresourcedefinitions.apiextensions.k8s.io"
CLEANUP = "customresourcecleanup.apiextensions.k8s.io"

Obj = dict[str, Any]


def resources_of_crd(crd: Obj) -> list[ResourceInfo]:
    """One ResourceInfo per served version of a CRD."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    out = []
    for v in spec.get("versions") or ():
        if not v.get("served", True):
            continue
        subs = v.get("subresources") or {}
        subresources: tuple[str, ...] = ()
        scale = None
        if "status" in subs:
            subresources += ("status",)
        if "scale" in subs:
            subresources += ("scale",)
            sc = subs["scale"] or {}
            scale = ScaleInfo(sc.get("specReplicasPath", ".spec.replicas"),
                              sc.get("statusReplicasPath", ".status.replicas"), sc.get("labelSelectorPath"))
        schema = ((v.get("schema") or {}).get("openAPIV3Schema")) or {"type": "object",
                                                                       "x-kubernetes-preserve-unknown-fields": True}
        out.append(
            ResourceInfo(
                group=group,
                version=v["name"],
                kind=names.get("kind", ""),
                plural=names.get("plural", ""),
                singular=names.get("singular") or names.get("kind", "").lower(),
                namespaced=spec.get("scope") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subresources,
                scale=scale,
                crd_schema=schema,
                preserve_unknown=bool(schema.get("x-kubernetes-preserve-unknown-fields")),
                printer_columns=list(v.get("additionalPrinterColumns") or ()),
            )
        )
    return out


class CrdController:
    def __init__(self, store: Store, clusters: Clusters, registry: Registry) -> None:
        self.store = store
        self.clusters = clusters
        self.registry = registry
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Serve the CRDs already stored, and follow CRD writes from now on."""
        for cname in self.store.clusters_with(CRDS):
            cluster = self.clusters.get(cname)
            if cluster is not None:
                self.rebuild(cluster)
        self.registry.after_write.append(self.on_write)

    def rebuild(self, cluster: LogicalCluster) -> None:
        table: dict[tuple[str, str, str], ResourceInfo] = dict(cluster.platform or {})
        for e in self.store.entries(cluster.name, CRDS):
            # Served from creation until the cleanup after deletion has removed the CRD.
            for r in resources_of_crd(e.obj):
                if cluster.surface.by_gvr.get((r.group, r.version, r.plural)) is None:
                    table[(r.group, r.version, r.plural)] = r
        cluster.custom = table or None

    @handles(resources=(CRDS,))
    async def on_write(self, req: Request, old: Obj | None, new: Obj | None) -> None:
        if req.resource.group_resource != CRDS:
            return
        cluster = req.cluster
        self.rebuild(cluster)
        if new is None:
            return
        if new["metadata"].get("deletionTimestamp"):
            if CLEANUP in (new["metadata"].get("finalizers") or ()):
                self._spawn(self._cleanup(cluster, new))
            return
        if not _established(new):
            await self._establish(cluster, new["metadata"]["name"])

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _establish(self, cluster: LogicalCluster, name: str) -> None:
        e = self.store.get(cluster.name, CRDS, "", name)
        if e is None:
            return
        import orjson

        obj = orjson.loads(e.raw)
        now = now_rfc3339()
        spec = obj.get("spec") or {}
        names = dict(spec.get("names") or {})
        names.setdefault("singular", names.get("kind", "").lower())
        names.setdefault("listKind", names.get("kind", "") + "List")
        status = obj.setdefault("status", {})
        status["conditions"] = [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts",
             "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted"},
        ]
        status["acceptedNames"] = names
        stored = [v["name"] for v in spec.get("versions") or () if v.get("storage")]
        status["storedVersions"] = sorted(set(status.get("storedVersions") or []) | set(stored))
        try:
            await self.store.update(cluster.name, CRDS, "", name, obj, e.rv)
        except StoreError:
            return
        self.rebuild(cluster)

    async def _cleanup(self, cluster: LogicalCluster, crd: Obj) -> None:
        """Delete every object of the CRD, then drop the cleanup finalizer so the CRD goes."""
        spec = crd.get("spec") or {}
        gr = f"{spec.get('names', {}).get('plural', '')}.{spec.get('group', '')}"
        for e in list(self.store.entries(cluster.name, gr)):
            meta = e.obj["metadata"]
            try:
                await self.store.delete(cluster.name, gr, meta.get("namespace", ""), meta["name"])
            except StoreError:
                pass
        name = crd["metadata"]["name"]
        cur = self.store.get(cluster.name, CRDS, "", name)
        if cur is None:
            return
        finalizers = [f for f in cur.obj["metadata"].get("finalizers") or () if f != CLEANUP]
        try:
            if finalizers:
                import orjson

                obj = orjson.loads(cur.raw)
                obj["metadata"]["finalizers"] = finalizers
                await self.store.update(cluster.name, CRDS, "", name, obj, cur.rv)
            else:
                await self.store.delete(cluster.name, CRDS, "", name, cur.rv)
        except StoreError:
            log.warning("CRD %s changed during cleanup; will finish on its next write", name)
        self.rebuild(cluster)


def _established(crd: Obj) -> bool:
    for c in (crd.get("status") or {}).get("conditions") or ():
        if c.get("type") == "Established" and c.get("status") == "True":
            return True
    return False
