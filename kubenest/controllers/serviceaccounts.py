"""The objects every namespace gets: the `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap.

As kube's serviceaccounts controller (pkg/controller/serviceaccount) and root CA publisher
(pkg/controller/certificates/rootcacertpublisher): each active namespace, the default ones of a new
cluster included, gets a `default` ServiceAccount, created again when deleted; and a
`kube-root-ca.crt` ConfigMap whose `ca.crt` is the API server's CA bundle, created again when
deleted and put back when changed.

In the four namespaces every cluster starts with, those eight objects are `SharedDefaults`: served
by the store without being stored, so an idle cluster pays nothing for them.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from kubenest.api.clusters import DEFAULT_NAMESPACES, Clusters
from kubenest.api.errors import ApiError
from kubenest.controllers.client import Client
from kubenest.controllers.runtime import Controller, Key
from kubenest.store.store import TOMBSTONES, Entry, Event, Store, encode, tombstone_name

Obj = dict[str, Any]

DEFAULT_SERVICE_ACCOUNTS = ("default",)
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
               "distributions of Kubernetes clusters.")


def _gone_or_terminating(e: ApiError) -> bool:
    """A create that fails because the namespace is gone or terminating is not retried."""
    if e.code == 404:
        return True
    causes = (e.details or {}).get("causes") or ()
    return e.code == 403 and any(c.get("reason") == "NamespaceTerminating" for c in causes)


def _namespace_key(ev: Event) -> Key:
    return (ev.cluster, "", ev.namespace)


class ServiceAccountsController(Controller):
    """Creates the `default` ServiceAccount in every active namespace, and again when it is deleted."""

    name = "serviceaccount"
    primary = "namespaces"
    watches = ("serviceaccounts",)

    def __init__(self, client: Client, shared: SharedDefaults | None = None) -> None:
        super().__init__(client)
        self.shared = shared

    def _served(self, cluster: str, namespace: str) -> bool:
        return self.shared is not None and all(
            self.shared.serves(cluster, "serviceaccounts", namespace, n) for n in DEFAULT_SERVICE_ACCOUNTS)

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.resource == self.primary:
            # A new cluster's namespaces have theirs already, as shared defaults.
            if ev.type == "MODIFIED" or (ev.type == "ADDED" and not self._served(ev.cluster, ev.name)):
                yield (ev.cluster, "", ev.name)
        elif ev.type == "DELETED" and ev.name in DEFAULT_SERVICE_ACCOUNTS:
            yield _namespace_key(ev)

    async def reconcile(self, key: Key) -> None:
        cluster, _, namespace = key
        ns = self.client.get(cluster, "namespaces", "", namespace)
        if ns is None or (ns.get("status") or {}).get("phase", "Active") != "Active":
            return
        for name in DEFAULT_SERVICE_ACCOUNTS:
            if (self.shared is not None and self.shared.serves(cluster, "serviceaccounts", namespace, name)) or (
                    self.client.get(cluster, "serviceaccounts", namespace, name) is not None):
                continue
            sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}
            try:
                await self.client.create(cluster, sa)
            except ApiError as e:
                if e.code == 409:
                    continue
                if _gone_or_terminating(e):
                    return
                raise


class RootCACertPublisher(Controller):
    """Keeps `kube-root-ca.crt` with the server's CA bundle in every namespace."""

    name = "root-ca-cert-publisher"
    primary = "namespaces"
    watches = ("configmaps",)

    def __init__(self, client: Client, root_ca: str, shared: SharedDefaults | None = None) -> None:
        super().__init__(client)
        self.root_ca = root_ca
        self.shared = shared

    def _served(self, cluster: str, namespace: str) -> bool:
        return self.shared is not None and self.shared.serves(cluster, "configmaps", namespace, ROOT_CA_CONFIGMAP)

    def relevant(self, ev: Event) -> bool:
        return ev.resource == self.primary or ev.name == ROOT_CA_CONFIGMAP  # of config maps, only its own

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.resource == self.primary:
            added = ev.type == "ADDED" and not self._served(ev.cluster, ev.name)
            if added or (ev.type == "MODIFIED" and (ev.obj.get("status") or {}).get("phase") == "Active"):
                yield (ev.cluster, "", ev.name)
        elif ev.type != "ADDED" and ev.name == ROOT_CA_CONFIGMAP:
            yield _namespace_key(ev)

    def desired(self, namespace: str) -> Obj:
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": ROOT_CA_CONFIGMAP, "namespace": namespace,
                             "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
                "data": {"ca.crt": self.root_ca}}

    async def reconcile(self, key: Key) -> None:
        cluster, _, namespace = key
        if self._served(cluster, namespace):
            return  # shared, and right by construction
        cm = self.client.get(cluster, "configmaps", namespace, ROOT_CA_CONFIGMAP)
        if cm is None:
            if self.client.get(cluster, "namespaces", "", namespace) is None:
                return
            try:
                await self.client.create(cluster, self.desired(namespace))
            except ApiError as e:
                if e.code != 409 and not _gone_or_terminating(e):
                    raise
            return
        data = {"ca.crt": self.root_ca}
        if cm.get("data") == data and ((cm["metadata"].get("annotations") or {}).get(DESCRIPTION_ANNOTATION)):
            return
        upd = self.client.copy(cm)
        upd["data"] = data
        upd["metadata"].setdefault("annotations", {})[DESCRIPTION_ANNOTATION] = DESCRIPTION
        await self.client.update(cluster, upd)


_UID_NAMESPACE = uuid.UUID("3b7f0e8e-2f43-4c1e-9a4f-6d2b8f0c5a71")
SharedEntries = dict[tuple[str, str], Entry]


class SharedDefaults:
    """The `default` ServiceAccount and `kube-root-ca.crt` of a cluster's initial namespaces, as the
    controllers above would write them, served through `Store.register_defaults` instead of stored.

    The objects are derived from the cluster (a uid per cluster) and its namespaces (their creation
    time) when read, and kept only for the clusters read most recently. Writing one stores the
    cluster's private copy, deleting one a tombstone, after which the controllers treat it like any
    object they own: recreated when deleted, restored when changed.
    """

    def __init__(self, store: Store, clusters: Clusters, root_ca: str, cache_size: int = 64) -> None:
        self.store = store
        self.clusters = clusters
        self.root_ca = root_ca
        self.cache_size = cache_size
        self._cache: collections.OrderedDict[str, tuple[Any, dict[str, SharedEntries]]] = collections.OrderedDict()

    def serves(self, cluster: str, resource: str, namespace: str, name: str) -> bool:
        """Whether the store serves this object from here (not deleted, no private copy), without
        building the cluster's entries."""
        if namespace not in DEFAULT_NAMESPACES or (resource == "configmaps" and not self.root_ca):
            return False
        if self.store.get(cluster, resource, namespace, name, shared=False) is not None:
            return False
        if self.store.get(cluster, TOMBSTONES, resource, tombstone_name(namespace, name), shared=False) is not None:
            return False
        return self.clusters.get(cluster) is not None and self.store.get(cluster, "namespaces", "", namespace) is not None

    def install(self) -> None:
        """Register with the store: ServiceAccounts always, ConfigMaps when there is a CA to publish."""
        self.store.register_defaults("serviceaccounts", self._source("serviceaccounts"), DEFAULT_SERVICE_ACCOUNTS)
        if self.root_ca:
            self.store.register_defaults("configmaps", self._source("configmaps"), [ROOT_CA_CONFIGMAP])

    def _source(self, resource: str) -> Callable[[str], SharedEntries]:
        def source(cluster: str) -> SharedEntries:
            return self.entries(cluster).get(resource, {})

        return source

    def entries(self, cluster: str) -> dict[str, SharedEntries]:
        """resource -> {(namespace, name): entry} for one cluster."""
        c = self.clusters.get(cluster)
        if c is None:
            return {}
        created = []
        for ns in DEFAULT_NAMESPACES:
            e = self.store.get(cluster, "namespaces", "", ns)
            if e is not None:
                created.append((ns, e.obj["metadata"].get("creationTimestamp", "")))
        key = (c.uid, tuple(created))
        hit = self._cache.get(cluster)
        if hit is not None and hit[0] == key:
            self._cache.move_to_end(cluster)
            return hit[1]
        built = self._build(c.uid, created)
        self._cache[cluster] = (key, built)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return built

    def _build(self, cluster_uid: str, created: list[tuple[str, str]]) -> dict[str, SharedEntries]:
        out: dict[str, SharedEntries] = {"serviceaccounts": {}, "configmaps": {}}
        for ns, when in created:
            for name in DEFAULT_SERVICE_ACCOUNTS:
                sa = {"apiVersion": "v1", "kind": "ServiceAccount",
                      "metadata": self._meta(cluster_uid, "serviceaccounts", ns, name, when)}
                out["serviceaccounts"][(ns, name)] = _entry(sa)
            if self.root_ca:
                meta = self._meta(cluster_uid, "configmaps", ns, ROOT_CA_CONFIGMAP, when)
                meta["managedFields"] = [{
                    "manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": when,
                    "fieldsType": "FieldsV1", "fieldsV1": {
                        "f:data": {".": {}, "f:ca.crt": {}},
                        "f:metadata": {"f:annotations": {".": {}, f"f:{DESCRIPTION_ANNOTATION}": {}}}}}]
                cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"ca.crt": self.root_ca}}
                out["configmaps"][(ns, ROOT_CA_CONFIGMAP)] = _entry(cm)
        return out

    @staticmethod
    def _meta(cluster_uid: str, resource: str, ns: str, name: str, when: str) -> Obj:
        meta: Obj = {"name": name, "namespace": ns}
        if resource == "configmaps":
            meta["annotations"] = {DESCRIPTION_ANNOTATION: DESCRIPTION}
        meta["uid"] = str(uuid.uuid5(_UID_NAMESPACE, f"{cluster_uid}/{resource}/{ns}/{name}"))
        meta["creationTimestamp"] = when
        meta["resourceVersion"] = "1"
        return meta


def _entry(obj: Obj) -> Entry:
    # Shared entries have revision 1 and no storage id (0), as Store.register_defaults expects.
    return Entry(obj, encode(obj), 1, 0)
