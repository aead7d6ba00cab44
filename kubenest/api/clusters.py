"""Logical clusters: a name, a Kubernetes version, and (optionally) its custom resources.

A logical cluster holds no task, thread or connection. Its built-in API surface is shared with every
other cluster of the same version; only the CRDs it defines make it differ, and those are kept in a
small per-cluster dict created on the first CRD.

The list of clusters is itself stored in the store (cluster "_system"), so it is durable and
revisioned like everything else.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from kubenest.api import resources, schema
from kubenest.api.resources import ApiSurface, ResourceInfo
from kubenest.store.store import Store, StoreError

SYSTEM = "_system"
CLUSTERS = "logicalclusters"
ROOT = "root"
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class LogicalCluster:
    __slots__ = ("name", "version", "surface", "custom", "uid", "platform")

    def __init__(self, name: str, version: str, uid: str) -> None:
        self.name = name
        self.version = version
        self.uid = uid
        self.surface: ApiSurface = resources.surface(version)
        # (group, version, plural) -> ResourceInfo for served custom resources; None until the first CRD.
        self.custom: dict[tuple[str, str, str], ResourceInfo] | None = None
        # Resources the platform serves in this cluster besides CRDs (the root cluster's kubenest.io
        # kinds); merged into `custom` whenever it is rebuilt.
        self.platform: dict[tuple[str, str, str], ResourceInfo] | None = None

    def resource(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        r = self.surface.by_gvr.get((group, version, plural))
        if r is None and self.custom:
            r = self.custom.get((group, version, plural))
        return r

    def all_resources(self) -> list[ResourceInfo]:
        if not self.custom:
            return self.surface.resources
        return self.surface.resources + list(self.custom.values())

    def groups(self) -> dict[str, list[str]]:
        """group -> served versions, preferred first (built-ins, then CRD groups)."""
        out = self.surface.groups()
        if self.custom:
            out = {g: list(vs) for g, vs in out.items()}
            for r in self.custom.values():
                vs = out.setdefault(r.group, [])
                if r.version not in vs:
                    vs.append(r.version)
            for vs in out.values():
                vs.sort(key=resources.version_priority)
        return out

    def by_group_resource(self, group_resource: str) -> ResourceInfo | None:
        """The served resource stored under `plural.group` (the store's resource key)."""
        r = self.surface.by_key.get(group_resource)
        if r is None and self.custom:
            for c in self.custom.values():
                if c.group_resource == group_resource:
                    return c
        return r

    def resources_in(self, group: str, version: str) -> list[ResourceInfo]:
        return [r for r in self.all_resources() if r.group == group and r.version == version]

    @property
    def schemas(self) -> schema.Schemas:
        return self.surface.schemas


_now: tuple[int, str] = (0, "")


def now_rfc3339() -> str:
    """The current second as kube writes timestamps; formatted once per second (every write asks)."""
    global _now
    second = int(time.time())
    if second != _now[0]:
        _now = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _now[1]


class ClusterError(Exception):
    pass


class Clusters:
    """The registry of logical clusters of one server."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_name: dict[str, LogicalCluster] = {}
        for e in store.entries(SYSTEM, CLUSTERS):
            spec = e.obj["spec"]
            self.by_name[e.obj["metadata"]["name"]] = LogicalCluster(
                e.obj["metadata"]["name"], spec["kubernetesVersion"], e.obj["metadata"]["uid"]
            )

    def get(self, name: str) -> LogicalCluster | None:
        return self.by_name.get(name)

    async def create(self, name: str, version: str = schema.DEFAULT_VERSION) -> LogicalCluster:
        """Create a logical cluster with kube's default namespaces. Raises ClusterError."""
        if version not in schema.SUPPORTED_VERSIONS:
            raise ClusterError(
                f"unsupported Kubernetes version {version!r}: supported are "
                f"{schema.SUPPORTED_VERSIONS[0]} to {schema.SUPPORTED_VERSIONS[-1]}"
            )
        if name in self.by_name:
            raise ClusterError(f'logical cluster "{name}" already exists')
        uid = str(uuid.uuid4())
        record: dict[str, Any] = {
            "metadata": {"name": name, "uid": uid, "creationTimestamp": now_rfc3339()},
            "spec": {"kubernetesVersion": version},
        }
        cluster = LogicalCluster(name, version, uid)
        self.by_name[name] = cluster
        # The record and the default namespaces are one durable commit: creation is one fsync.
        items = [(SYSTEM, CLUSTERS, "", name, record)]
        items += [(name, "namespaces", "", ns, default_namespace(ns)) for ns in DEFAULT_NAMESPACES]
        try:
            await self.store.create_many(items)
        except StoreError as e:
            del self.by_name[name]
            raise ClusterError(f'logical cluster "{name}" already exists') from e
        return cluster

    async def delete(self, name: str) -> None:
        """Remove a logical cluster and every object in it, durably (the root cluster stays)."""
        if name == ROOT or name not in self.by_name:
            raise ClusterError(f'logical cluster "{name}" cannot be deleted' if name == ROOT
                               else f'logical cluster "{name}" not found')
        del self.by_name[name]
        await self.store.delete_cluster(name)
        try:
            await self.store.delete(SYSTEM, CLUSTERS, "", name)
        except StoreError:
            pass

    async def ensure(self, name: str, version: str = schema.DEFAULT_VERSION) -> LogicalCluster:
        existing = self.by_name.get(name)
        if existing is not None:
            return existing
        return await self.create(name, version)


def default_namespace(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "uid": str(uuid.uuid4()),
            "creationTimestamp": now_rfc3339(),
            "labels": {"kubernetes.io/metadata.name": name},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
