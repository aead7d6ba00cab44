"""The in-process client controllers use: reads from the store's cache, writes through the registry.

Reads return the cached dicts (read-only: copy before changing). Writes go through the same
registry code as HTTP requests (defaults, validation, admission, managed fields, watch events),
as the `system:kube-controller-manager` user.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from kubenest.api import errors
from kubenest.api.clusters import Clusters, LogicalCluster, now_rfc3339
from kubenest.api.errors import ApiError
from kubenest.api.registry import Registry
from kubenest.api.request import Request, User
from kubenest.api.resources import ResourceInfo
from kubenest.api.selectors import LabelSelector
from kubenest.store.store import Store

Obj = dict[str, Any]

CONTROLLER_USER = User("system:kube-controller-manager", ("system:masters", "system:authenticated"))


class NotFound(Exception):
    pass


class Client:
    def __init__(self, store: Store, clusters: Clusters, registry: Registry, manager: str = "kube-controller-manager",
                 user: User = CONTROLLER_USER) -> None:
        self.store = store
        self.clusters = clusters
        self.registry = registry
        self.manager = manager
        self.user = user

    # -- reads (cache) ------------------------------------------------------------------------------

    def get(self, cluster: str, resource: str, namespace: str, name: str) -> Obj | None:
        e = self.store.get(cluster, resource, namespace, name)
        return e.obj if e is not None else None

    def list(self, cluster: str, resource: str, namespace: str | None = None,
             selector: LabelSelector | None = None) -> list[Obj]:
        out = []
        for e in self.store.entries(cluster, resource, namespace):
            if selector is not None and not selector.matches(e.obj["metadata"].get("labels")):
                continue
            out.append(e.obj)
        return out

    @staticmethod
    def copy(obj: Obj) -> Obj:
        """A deep copy to change and write back."""
        result: Obj = orjson.loads(orjson.dumps(obj))
        return result

    # -- writes (registry) --------------------------------------------------------------------------

    def _cluster(self, name: str) -> LogicalCluster:
        c = self.clusters.get(name)
        if c is None:
            raise NotFound(f"cluster {name} not found")
        return c

    def _resource(self, cluster: LogicalCluster, obj: Obj) -> ResourceInfo:
        api_version = obj.get("apiVersion", "")
        group = api_version.rpartition("/")[0]
        r = cluster.surface.by_gk.get((group, obj.get("kind", "")))
        if r is None and cluster.custom:
            r = next((c for c in cluster.custom.values() if c.group == group and c.kind == obj.get("kind")), None)
        if r is None:
            raise NotFound(f"no resource for {api_version} {obj.get('kind')}")
        return r

    def _request(self, cluster: LogicalCluster, r: ResourceInfo, verb: str, method: str, namespace: str,
                 name: str, subresource: str = "", query: dict[str, str] | None = None) -> Request:
        q = {"fieldManager": self.manager}
        q.update(query or {})
        return Request(method, verb, cluster, r, namespace, name, subresource, q, {}, self.user)

    async def create(self, cluster_name: str, obj: Obj) -> Obj:
        cluster = self._cluster(cluster_name)
        r = self._resource(cluster, obj)
        ns = obj["metadata"].get("namespace", "") if r.namespaced else ""
        req = self._request(cluster, r, "create", "POST", ns, obj["metadata"].get("name", ""))
        return await self.registry.create(req, obj)

    async def update(self, cluster_name: str, obj: Obj, subresource: str = "") -> Obj:
        """Write `obj` (a copy); its resourceVersion is the precondition (409 when stale)."""
        cluster = self._cluster(cluster_name)
        r = self._resource(cluster, obj)
        meta = obj["metadata"]
        req = self._request(cluster, r, "update", "PUT", meta.get("namespace", "") if r.namespaced else "",
                            meta["name"], subresource)
        return await self.registry.update(req, obj)

    async def update_status(self, cluster_name: str, obj: Obj) -> Obj:
        return await self.update(cluster_name, obj, "status")

    async def delete(self, cluster_name: str, obj: Obj, propagation: str = "Background",
                     uid_precondition: bool = True) -> None:
        cluster = self._cluster(cluster_name)
        r = self._resource(cluster, obj)
        meta = obj["metadata"]
        req = self._request(cluster, r, "delete", "DELETE", meta.get("namespace", "") if r.namespaced else "",
                            meta["name"], query={"propagationPolicy": propagation})
        if uid_precondition and meta.get("uid"):
            req.body = orjson.dumps({"preconditions": {"uid": meta["uid"]}})
            req.headers = {b"content-type": b"application/json"}
        try:
            await self.registry.delete(req)
        except ApiError as e:
            if e.code != 404:
                raise

    async def event(self, cluster_name: str, involved: Obj, type_: str, reason: str, message: str,
                    component: str = "kube-controller-manager", instance: str = "",
                    count_repeats: bool = True) -> None:
        """Record a core/v1 Event about `involved`, as kube's event recorder does (repeats count up;
        `count_repeats=False` skips the scan for an earlier one, for events that are never repeats)."""
        meta = involved["metadata"]
        ns = meta.get("namespace") or "default"
        now = now_rfc3339()
        for e in self.store.entries(cluster_name, "events", ns) if count_repeats else ():
            ev = e.obj
            io = ev.get("involvedObject", {})
            if io.get("uid") == meta.get("uid") and ev.get("reason") == reason and ev.get("message") == message:
                upd = self.copy(ev)
                upd["count"] = int(upd.get("count", 1)) + 1
                upd["lastTimestamp"] = now
                try:
                    await self.update(cluster_name, upd)
                except ApiError:
                    pass
                return
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": ns},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion"), "kind": involved.get("kind"), "name": meta["name"],
                "namespace": meta.get("namespace", ""), "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": type_,
            "reportingComponent": component,
            "reportingInstance": instance,
        }
        try:
            await self.create(cluster_name, event)
        except ApiError as e:
            if e.code not in (403, 404, 409):
                raise


def is_conflict(e: Exception) -> bool:
    return isinstance(e, ApiError) and e.code == 409


__all__ = ["Client", "NotFound", "is_conflict", "errors"]
