"""`Syncer`: one for all virtual clusters, event driven, reaching the host only through its API.

When: virtual side, one store watch per resource for all clusters (the controller `Manager`), keys
(cluster, namespace, name) filtered to virtual clusters that are Ready; host side, one list+watch per
resource selected by `kubenest.io/managed-by=kubenest` keeps a small cache (uid, resourceVersion, hash
and origin of each host object) and drives up-sync. What: `translate.py`. Docs: docs/hosts.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from kubenest.api import binding, errors
from kubenest.api.clusters import ROOT
from kubenest.api.errors import ApiError
from kubenest.api.registry import handles
from kubenest.api.request import Request
from kubenest.controllers.client import Client
from kubenest.controllers.runtime import Controller, Key, Manager
from kubenest.platform import virtualclusters
from kubenest.podstreams import PodStreams
from kubenest.store.store import Event
from kubenest.syncer import translate as tr
from kubenest.syncer.hostclient import HostClient, HostError, retry_on_conflict

if TYPE_CHECKING:
    from kubenest.server.runtime import Server

log = logging.getLogger("kubenest.syncer")

Obj = dict[str, Any]
VC = virtualclusters.RESOURCE
SA_GROUPS = ("system:serviceaccounts", "system:authenticated")


@dataclass(slots=True)
class HostRef:
    """What the syncer keeps of one host object: enough to decide whether to write, and to map back."""

    uid: str
    rv: str
    hash: str
    cluster: str
    namespace: str  # the virtual object's
    name: str
    origin_uid: str
    terminating: bool = False  # the host object has a deletionTimestamp
    extra: str = ""  # pods: node name; services: host ClusterIP
    deleting: bool = False  # the syncer asked the host to delete it

    @classmethod
    def of(cls, obj: Obj, origin: tr.Origin) -> HostRef:
        meta = obj["metadata"]
        spec = obj.get("spec") or {}
        extra = spec.get("nodeName") or spec.get("clusterIP") or ""
        return cls(meta.get("uid", ""), meta.get("resourceVersion", ""), tr.hash_of(obj), origin.cluster,
                   origin.namespace, origin.name, origin.uid, bool(meta.get("deletionTimestamp")), extra)


class HostCache:
    """host namespace -> host name -> HostRef, for one resource."""

    def __init__(self) -> None:
        self.by_ns: dict[str, dict[str, HostRef]] = {}

    def get(self, ns: str, name: str) -> HostRef | None:
        d = self.by_ns.get(ns)
        return d.get(name) if d else None

    def put(self, obj: Obj) -> HostRef | None:
        origin = tr.origin_of(obj)
        if origin is None or not tr.hash_of(obj):
            return None  # not written by the syncer (e.g. Endpoints the host made, copying a Service's labels)
        meta = obj["metadata"]
        ref = HostRef.of(obj, origin)
        old = self.get(meta["namespace"], meta["name"])
        if old is not None and old.uid == ref.uid:
            if _rv(old.rv) > _rv(ref.rv):
                return old  # an older state than one we already wrote
            ref.deleting = old.deleting
        self.by_ns.setdefault(meta["namespace"], {})[meta["name"]] = ref
        return ref

    def pop(self, ns: str, name: str) -> HostRef | None:
        d = self.by_ns.get(ns)
        if not d:
            return None
        ref = d.pop(name, None)
        if not d:
            self.by_ns.pop(ns, None)
        return ref

    def in_namespace(self, ns: str) -> list[tuple[str, HostRef]]:
        return list((self.by_ns.get(ns) or {}).items())

    def __len__(self) -> int:
        return sum(len(d) for d in self.by_ns.values())

    def items(self) -> list[tuple[str, str, HostRef]]:
        return [(ns, name, ref) for ns, d in self.by_ns.items() for name, ref in d.items()]


def ref_stub(hns: str, hname: str, ref: HostRef) -> Obj:
    """A host object as far as the cache knows it: enough to handle its deletion."""
    return {"metadata": {"name": hname, "namespace": hns, "uid": ref.uid,
                         "labels": tr.origin_labels(ref.cluster, ref.namespace),
                         "annotations": {tr.NAME_ANNOTATION: ref.name, tr.NAMESPACE_ANNOTATION: ref.namespace,
                                         tr.UID_ANNOTATION: ref.origin_uid}}}


def _virtual_error(e: HostError, host_name: str, name: str) -> ApiError:
    """A host's refusal as the virtual cluster's answer: its code, reason and message, about the virtual name."""
    if not e.code:
        return ApiError(503, "ServiceUnavailable", f"the host cluster cannot be reached: {e.message}")
    details = orjson.loads(orjson.dumps(e.status.get("details") or {}).replace(host_name.encode(), name.encode()))
    return ApiError(e.code, e.reason, e.message.replace(host_name, name), details or None)


def _rv(rv: str) -> int:
    try:
        return int(rv)
    except ValueError:
        return 0


@dataclass(frozen=True)
class Kind:
    """A kind synced down: its virtual store resource and its host API."""

    resource: str  # virtual store group-resource
    api_version: str
    plural: str


PODS = Kind("pods", "v1", "pods")
SERVICES = Kind("services", "v1", "services")
ENDPOINTS = Kind("endpoints", "v1", "endpoints")
CONFIGMAPS = Kind("configmaps", "v1", "configmaps")
SECRETS = Kind("secrets", "v1", "secrets")
PVCS = Kind("persistentvolumeclaims", "v1", "persistentvolumeclaims")
INGRESSES = Kind("ingresses.networking.k8s.io", "networking.k8s.io/v1", "ingresses")
NETPOLS = Kind("networkpolicies.networking.k8s.io", "networking.k8s.io/v1", "networkpolicies")
DOWN_KINDS = (PODS, SERVICES, ENDPOINTS, CONFIGMAPS, SECRETS, PVCS, INGRESSES, NETPOLS)


class SyncClient(Client):
    """The in-process client plus what the syncer writes that controllers do not: bindings and
    immediate deletions."""

    def _pods(self, cluster: str) -> Any:
        return binding.pods_resource(self._cluster(cluster))

    async def bind(self, cluster: str, namespace: str, name: str, uid: str, node: str) -> None:
        """Set a virtual pod's node through pods/binding (spec.nodeName cannot change by update)."""
        c = self._cluster(cluster)
        req = Request("POST", "create", c, self._pods(cluster), namespace, name, "binding", {}, {}, self.user)
        await binding.assign(req, self.registry, name, node, {"uid": uid})

    async def delete_now(self, cluster: str, obj: Obj) -> None:
        """Delete with grace 0 (the host pod is gone): kube's kubelet finishing a pod's deletion."""
        c = self._cluster(cluster)
        r = self._resource(c, obj)
        meta = obj["metadata"]
        req = self._request(c, r, "delete", "DELETE", meta.get("namespace", ""), meta["name"])
        req.body = orjson.dumps({"gracePeriodSeconds": 0, "preconditions": {"uid": meta.get("uid")}})
        req.headers = {b"content-type": b"application/json"}
        try:
            await self.registry.delete(req)
        except ApiError as e:
            if e.code not in (404, 409):
                raise


class Refs:
    """Which pods (and ingresses) of a virtual namespace use which ConfigMaps and Secrets: only used ones
    are synced. Sets of users, so replaying an event is harmless."""

    def __init__(self) -> None:
        self.users: dict[tuple[str, str, str, str], set[str]] = {}  # (cluster, ns, kind, name) -> users
        self.of: dict[tuple[str, str, str], set[tuple[str, str]]] = {}  # (cluster, ns, user) -> (kind, name)

    def set(self, cluster: str, ns: str, user: str, refs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record `user`'s references; returns every (kind, name) whose users changed."""
        key = (cluster, ns, user)
        old = self.of.get(key, set())
        if refs:
            self.of[key] = refs
        else:
            self.of.pop(key, None)
        for kind, name in old - refs:
            users = self.users.get((cluster, ns, kind, name))
            if users is not None:
                users.discard(user)
                if not users:
                    del self.users[(cluster, ns, kind, name)]
        for kind, name in refs - old:
            self.users.setdefault((cluster, ns, kind, name), set()).add(user)
        return old ^ refs

    def used(self, cluster: str, ns: str, kind: str, name: str) -> bool:
        return bool(self.users.get((cluster, ns, kind, name)))

    def forget(self, cluster: str) -> None:
        for key in [k for k in self.of if k[0] == cluster]:
            self.set(key[0], key[1], key[2], set())


def pod_ref_set(pod: Obj | None) -> set[tuple[str, str]]:
    if pod is None or pod["metadata"].get("deletionTimestamp") and not (pod.get("spec") or {}).get("nodeName"):
        return set()
    cms, secrets = tr.pod_refs(pod)
    return {("configmap", n) for n in cms} | {("secret", n) for n in secrets}


# -- controllers --------------------------------------------------------------------------------------------


class SyncController(Controller):
    """Base: events of clusters that are Ready virtual clusters only."""

    component = "kubenest-syncer"

    def __init__(self, syncer: Syncer) -> None:
        super().__init__(syncer.client)
        self.syncer = syncer
        self.client: SyncClient = syncer.client

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.cluster in self.syncer.ready and ev.resource == self.primary:
            yield (ev.cluster, ev.namespace, ev.name)

    @property
    def host(self) -> HostClient:
        assert self.syncer.host is not None
        return self.syncer.host


class DownController(SyncController):
    """Keeps the host copy of one kind equal to the translation of the virtual object."""

    kind_: Kind = PODS
    update_keys: tuple[str, ...] = ("spec",)

    def relevant(self, ev: Event) -> bool:
        # Only virtual objects have host copies; a cluster that becomes Ready is resynced whole, so
        # its earlier events are not needed either.
        return ev.cluster in self.syncer.ready

    @property
    def cache(self) -> HostCache:
        return self.syncer.caches[self.kind_.plural]

    def wanted(self, cluster: str, obj: Obj) -> bool:
        return True

    def translate(self, cluster: str, obj: Obj) -> Obj:
        raise NotImplementedError

    def update(self, current: Obj, desired: Obj) -> Obj:
        return tr.replace_spec(current, desired, self.update_keys)

    def for_create(self, obj: Obj, desired: Obj) -> Obj:
        """What creating the host object sends: `desired` plus what only matters at creation."""
        return desired

    async def reconcile(self, key: Key) -> None:
        try:
            await self.sync(key)
        except HostError as e:
            # The host refused (quota, limits, admission, validation): say so on the virtual object, as
            # vcluster's SyncError events do, then retry with back-off like any failed reconcile.
            if 400 <= e.code < 500 and e.code not in (404, 409):
                cluster, ns, name = key
                obj = self.client.get(cluster, self.kind_.resource, ns, name)
                if obj is not None:
                    message = e.message.replace(tr.host_name(name, ns, cluster), name)
                    await self.event(cluster, obj, "Warning", "SyncError", f"Error syncing to the host: {message}")
            raise

    async def sync(self, key: Key) -> None:
        """Make the host copy of the object at `key` what its translation says."""
        cluster, ns, name = key
        if cluster not in self.syncer.ready:
            return
        k = self.kind_
        hns, hname = tr.host_namespace(cluster), tr.host_name(name, ns, cluster)
        obj = self.client.get(cluster, k.resource, ns, name)
        ref = self.cache.get(hns, hname)
        if obj is None or not self.wanted(cluster, obj):
            if ref is not None and not ref.deleting and not ref.terminating:
                ref.deleting = True
                await self.host.delete(k.api_version, k.plural, hns, hname, uid=ref.uid)
            return
        desired = tr.with_hash(self.translate(cluster, obj))
        if ref is None:
            await self._create(self.for_create(obj, desired))
        elif ref.hash != tr.hash_of(desired) or ref.origin_uid != obj["metadata"].get("uid"):
            await self._update(hns, hname, desired)

    async def _create(self, desired: Obj) -> Obj:
        k = self.kind_
        try:
            created = await self.host.create(k.api_version, k.plural, desired)
        except HostError as e:
            if not e.already_exists:
                raise
            # Written before a restart that lost the watch event, or by an earlier try: adopt it.
            meta = desired["metadata"]
            return await self._update(meta["namespace"], meta["name"], desired)
        self.cache.put(created)
        return created

    async def _update(self, hns: str, hname: str, desired: Obj) -> Obj:
        k = self.kind_

        async def once() -> Obj:
            current = await self.host.get(k.api_version, k.plural, hns, hname)
            return await self.host.update(k.api_version, k.plural, self.update(current, desired))

        updated = await retry_on_conflict(once)
        self.cache.put(updated)
        return updated


class ConfigMapController(DownController):
    name = "sync-configmaps"
    primary = CONFIGMAPS.resource
    watches: tuple[str, ...] = ("pods",)
    kind_ = CONFIGMAPS
    ref_kind = "configmap"
    update_keys = ("data", "binaryData", "immutable")

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.cluster not in self.syncer.ready:
            return
        if ev.resource == self.primary:
            yield (ev.cluster, ev.namespace, ev.name)
            return
        for kind, name in self.syncer.ref_changes.get((ev.cluster, ev.namespace, ev.resource, ev.name), ()):
            if kind == self.ref_kind:
                yield (ev.cluster, ev.namespace, name)

    def wanted(self, cluster: str, obj: Obj) -> bool:
        return self.syncer.refs.used(cluster, obj["metadata"]["namespace"], self.ref_kind, obj["metadata"]["name"])

    def translate(self, cluster: str, obj: Obj) -> Obj:
        return tr.translate_configmap(obj, cluster)


class SecretController(ConfigMapController):
    name = "sync-secrets"
    primary = SECRETS.resource
    watches = ("pods", INGRESSES.resource)
    kind_ = SECRETS
    ref_kind = "secret"
    update_keys = ("data", "type", "immutable")

    def translate(self, cluster: str, obj: Obj) -> Obj:
        return tr.translate_secret(obj, cluster)


class ServiceController(DownController):
    """Services down; up, the host Service's ClusterIP (a virtual Service's address is the host's, as in
    vcluster) and status. A Service created in a synced cluster gets its host Service during the create
    request (`Syncer.allocate_service`); this covers the rest: Services made while the host was out of
    reach, type changes, host Services deleted or changed by others, restarts."""

    name = "sync-services"
    primary = SERVICES.resource
    kind_ = SERVICES

    def translate(self, cluster: str, obj: Obj) -> Obj:
        return tr.translate_service(obj, cluster)

    def update(self, current: Obj, desired: Obj) -> Obj:
        return tr.update_service(current, desired)

    def for_create(self, obj: Obj, desired: Obj) -> Obj:
        return tr.with_cluster_ips(desired, obj)

    async def sync(self, key: Key) -> None:
        if key in self.syncer.allocating:
            return  # its create request is making the host Service; the virtual one's event comes next
        await super().sync(key)
        await self._up(key)

    async def _create(self, desired: Obj) -> Obj:
        try:
            return await super()._create(desired)
        except HostError as e:
            if e.code != 422 or not desired["spec"].get("clusterIP"):
                raise
            # The host will not take the virtual address (taken there, or out of its range): it picks
            # one, and `_up` gives it to the virtual Service.
            log.warning("syncer: host refused ClusterIP %s for %s/%s (%s); letting the host allocate",
                        desired["spec"]["clusterIP"], desired["metadata"]["namespace"],
                        desired["metadata"]["name"], e.message)
            return await super()._create(tr.without_cluster_ips(desired))

    async def create_for(self, cluster: str, obj: Obj) -> Obj:
        """The host Service of `obj`, a virtual Service being created: made now, with the ClusterIP `obj`
        asks for if any (the host must grant it). A leftover host Service of an earlier Service of this
        name is taken over when its address fits, else replaced."""
        k = self.kind_
        desired = tr.with_cluster_ips(tr.with_hash(self.translate(cluster, obj)), obj)
        meta = desired["metadata"]
        hns, hname = meta["namespace"], meta["name"]
        if self.cache.get(hns, hname) is None:
            try:
                created = await self.host.create(k.api_version, k.plural, desired)
                self.cache.put(created)
                return created
            except HostError as e:
                if not e.already_exists:
                    raise
        # A host Service of an earlier virtual one of this name is there. (The host allocates the address
        # before it finds the name taken, so only a leftover the cache knows avoids its 422.)
        current = await self.host.get_or_none(k.api_version, k.plural, hns, hname)
        wanted_ip = desired["spec"].get("clusterIP")
        if current is not None and not current["metadata"].get("deletionTimestamp") and (
                (current.get("spec") or {}).get("type", "ClusterIP") == desired["spec"].get("type", "ClusterIP")
                and (not wanted_ip or (current.get("spec") or {}).get("clusterIP") == wanted_ip)):
            return await self._update(hns, hname, desired)
        if current is not None:
            await self.host.delete(k.api_version, k.plural, hns, hname, uid=current["metadata"].get("uid"))
        created = await self.host.create(k.api_version, k.plural, desired)
        self.cache.put(created)
        return created

    async def _up(self, key: Key) -> None:
        """The host Service's ClusterIP and status on the virtual Service."""
        cluster, ns, name = key
        obj = self.client.get(cluster, SERVICES.resource, ns, name)
        if obj is None or obj["metadata"].get("deletionTimestamp") or cluster not in self.syncer.ready:
            return
        hns, hname = tr.host_namespace(cluster), tr.host_name(name, ns, cluster)
        ref = self.cache.get(hns, hname)
        if ref is None or ref.deleting or ref.origin_uid != obj["metadata"].get("uid"):
            return
        spec = obj.get("spec") or {}
        host_ip = ref.extra
        if tr.has_cluster_ip(obj) and host_ip and host_ip != "None" and spec.get("clusterIP") != host_ip:
            host_obj = await self.host.get(SERVICES.api_version, SERVICES.plural, hns, hname)
            if not spec.get("clusterIP"):  # e.g. it was an ExternalName Service until now
                upd = self.client.copy(obj)
                tr.cluster_ips_up(upd, host_obj)
                await self.client.update(cluster, upd)
            else:
                await self._recreate(cluster, obj, host_obj)
            return
        status = tr.service_status_up(self.syncer.service_status.get((hns, hname)))
        if tr.service_status_up(obj.get("status")) != status:
            upd = self.client.copy(obj)
            upd["status"] = dict(upd.get("status") or {}, **status)
            if "conditions" not in status:
                upd["status"].pop("conditions", None)
            await self.client.update_status(cluster, upd)

    async def _recreate(self, cluster: str, obj: Obj, host_obj: Obj) -> None:
        """A virtual Service whose address is not its host Service's (made before kubenest kept them equal,
        or while the host was out of reach and the host refused that address): spec.clusterIP cannot
        change, so it is made again with the host's, as vcluster does."""
        meta = obj["metadata"]
        log.info("syncer: recreating Service %s/%s of %s with the host's ClusterIP %s (it had %s)", meta["namespace"],
                 meta["name"], cluster, host_obj["spec"].get("clusterIP"), obj["spec"].get("clusterIP"))
        new = self.client.copy(obj)
        new["metadata"] = {k: v for k, v in meta.items() if k in ("name", "namespace", "labels", "annotations",
                                                                  "finalizers", "ownerReferences")}
        tr.cluster_ips_up(new, host_obj)
        new.pop("status", None)
        await self.client.delete(cluster, obj)
        await self.client.create(cluster, new)


class EndpointsController(DownController):
    """Endpoints of selector-less services (the host makes those of the others from its pods)."""

    name = "sync-endpoints"
    primary = ENDPOINTS.resource
    watches = (SERVICES.resource,)
    kind_ = ENDPOINTS
    update_keys = ("subsets",)

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.cluster in self.syncer.ready:
            yield (ev.cluster, ev.namespace, ev.name)

    def wanted(self, cluster: str, obj: Obj) -> bool:
        svc = self.client.get(cluster, "services", obj["metadata"]["namespace"], obj["metadata"]["name"])
        return svc is not None and not (svc.get("spec") or {}).get("selector")

    def translate(self, cluster: str, obj: Obj) -> Obj:
        return tr.translate_endpoints(obj, cluster)


class PvcController(DownController):
    name = "sync-pvcs"
    primary = PVCS.resource
    kind_ = PVCS

    def translate(self, cluster: str, obj: Obj) -> Obj:
        return tr.translate_pvc(obj, cluster)

    def update(self, current: Obj, desired: Obj) -> Obj:
        return tr.update_pvc(current, desired)


class IngressController(DownController):
    name = "sync-ingresses"
    primary = INGRESSES.resource
    kind_ = INGRESSES

    def translate(self, cluster: str, obj: Obj) -> Obj:
        return tr.translate_ingress(obj, cluster)


class NetworkPolicyController(DownController):
    name = "sync-networkpolicies"
    primary = NETPOLS.resource
    watches = ("namespaces",)
    kind_ = NETPOLS

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.cluster not in self.syncer.ready:
            return
        if ev.resource == self.primary:
            yield (ev.cluster, ev.namespace, ev.name)
            return
        # A namespace's labels decide which namespaces a policy's namespaceSelector picks.
        for p in self.client.list(ev.cluster, NETPOLS.resource):
            yield (ev.cluster, p["metadata"]["namespace"], p["metadata"]["name"])

    def translate(self, cluster: str, obj: Obj) -> Obj:
        namespaces = {n["metadata"]["name"]: n["metadata"].get("labels") or {}
                      for n in self.client.list(cluster, "namespaces")}
        return tr.translate_network_policy(obj, cluster, namespaces)


class PodController(DownController):
    """Pods down, graceful deletion both ways."""

    name = "sync-pods"
    primary = PODS.resource
    kind_ = PODS

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.cluster not in self.syncer.ready or ev.resource != self.primary:
            return
        self.syncer.track_refs(ev.cluster, ev.namespace, ev.resource, ev.name,
                               pod_ref_set(ev.obj if ev.type != "DELETED" else None))
        yield (ev.cluster, ev.namespace, ev.name)

    def translate(self, cluster: str, obj: Obj) -> Obj:
        return tr.translate_pod(obj, self.syncer.pod_context(cluster, obj["metadata"]["namespace"]))

    def update(self, current: Obj, desired: Obj) -> Obj:
        return tr.update_pod(current, desired)

    async def sync(self, key: Key) -> None:
        cluster, ns, name = key
        if cluster not in self.syncer.ready:
            return
        hns, hname = tr.host_namespace(cluster), tr.host_name(name, ns, cluster)
        pod = self.client.get(cluster, "pods", ns, name)
        ref = self.cache.get(hns, hname)
        tokens = self.syncer.caches["tokens"]
        tname = tr.token_secret_name(name, ns, cluster)
        # A host pod of an earlier pod of this name is replaced.
        stale = ref is not None and pod is not None and ref.origin_uid != pod["metadata"].get("uid")
        if pod is None or stale:
            if ref is not None and not ref.deleting:
                ref.deleting = True
                await self.host.delete("v1", "pods", hns, hname, uid=ref.uid,
                                       grace_period_seconds=None if pod is None else 0)
            tref = tokens.get(hns, tname)
            if tref is not None and ref is None and not tref.deleting:
                tref.deleting = True
                await self.host.delete("v1", "secrets", hns, tname, uid=tref.uid)
            return
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            if ref is None:
                await self.client.delete_now(cluster, pod)  # nothing (more) runs it on the host
            elif not ref.deleting and not ref.terminating:
                ref.deleting = True
                await self.host.delete("v1", "pods", hns, hname, uid=ref.uid,
                                       grace_period_seconds=meta.get("deletionGracePeriodSeconds"))
            return
        desired = tr.with_hash(self.translate(cluster, pod))
        if ref is None:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") and (
                    pod.get("spec") or {}).get("nodeName"):
                return  # it ran and ended; its host pod was removed: do not run it again
            writes: list[Awaitable[Any]] = [self._create(desired)]
            if tr.needs_token(pod) and tokens.get(hns, tname) is None:
                writes.append(self._token(cluster, pod))
            await asyncio.gather(*writes)
        elif ref.hash != tr.hash_of(desired):
            await self._update(hns, hname, desired)

    async def _token(self, cluster: str, pod: Obj) -> None:
        meta = pod["metadata"]
        ns = meta["namespace"]
        sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        sa_obj = self.client.get(cluster, "serviceaccounts", ns, sa)
        sa_uid = sa_obj["metadata"].get("uid", "") if sa_obj else ""
        token, _ = self.syncer.server.tokens.issue(
            cluster, f"system:serviceaccount:{ns}:{sa}", (*SA_GROUPS[:1], f"system:serviceaccounts:{ns}",
                                                          SA_GROUPS[1]), uid=sa_uid,
            extra={"kubernetes.io": {"namespace": ns, "pod": {"name": meta["name"], "uid": meta.get("uid", "")},
                                     "serviceaccount": {"name": sa, "uid": sa_uid}}})
        secret = tr.token_secret(pod, cluster, token, self.syncer.ca_pem)
        try:
            created = await self.host.create("v1", "secrets", secret)
        except HostError as e:
            if not e.already_exists:
                raise
            return
        self.syncer.caches["tokens"].put(created)


class PodStatusController(SyncController):
    """Host pod status up to the virtual pod; the virtual pod's node through pods/binding; a host pod
    deleted by someone else deletes its virtual pod (as vcluster does)."""

    name = "sync-pods-up"
    primary = ""

    async def reconcile(self, key: Key) -> None:
        cluster, ns, name = key
        item = self.syncer.pending_pods.get(key)
        if item is None or cluster not in self.syncer.ready:
            self.syncer.pending_pods.pop(key, None)
            return
        await self._apply(cluster, ns, name, item)
        if self.syncer.pending_pods.get(key) is item:
            del self.syncer.pending_pods[key]

    async def _apply(self, cluster: str, ns: str, name: str, item: Obj) -> None:
        pod = self.client.get(cluster, "pods", ns, name)
        if pod is None:
            return
        origin = tr.origin_of(item)
        if origin is None or origin.uid != pod["metadata"].get("uid"):
            return
        if item.get("gone"):
            await self.client.delete_now(cluster, pod)
            return
        node = (item.get("spec") or {}).get("nodeName")
        if node and not (pod.get("spec") or {}).get("nodeName") and not pod["metadata"].get("deletionTimestamp"):
            try:
                await self.client.bind(cluster, ns, name, pod["metadata"]["uid"], node)
            except ApiError as e:
                if e.code != 409:
                    raise
            pod = self.client.get(cluster, "pods", ns, name)
            if pod is None:
                return
        status = tr.pod_status_up(pod, item)
        current = pod.get("status") or {}
        if all(current.get(k) == v for k, v in status.items()):
            return
        upd = self.client.copy(pod)
        upd["status"] = dict(current, **status)
        await self.client.update_status(cluster, upd)


class NodeController(SyncController):
    """Virtual Node objects for the host nodes that run a cluster's pods."""

    name = "sync-nodes-up"
    primary = ""

    async def reconcile(self, key: Key) -> None:
        cluster, _, node = key
        used = cluster in self.syncer.ready and bool(self.syncer.node_pods.get((cluster, node)))
        host_node = self.syncer.host_nodes.get(node)
        current = self.client.get(cluster, "nodes", "", node)
        if not used or host_node is None:
            if current is not None:
                await self.client.delete(cluster, current)
            return
        desired = tr.virtual_node(host_node)
        if current is None:
            try:
                current = await self.client.create(cluster, desired)
            except ApiError as e:
                if e.code != 409:
                    raise
                current = self.client.get(cluster, "nodes", "", node)
                if current is None:
                    return
        if (current["metadata"].get("labels") or {}) != desired["metadata"]["labels"] or (
                current.get("spec") or {}).get("taints") != desired["spec"].get("taints"):
            upd = self.client.copy(current)
            upd["metadata"]["labels"] = desired["metadata"]["labels"]
            upd["spec"] = dict(upd.get("spec") or {}, **desired["spec"])
            if "taints" not in desired["spec"]:
                upd["spec"].pop("taints", None)
            current = await self.client.update(cluster, upd)
        if tr.node_status_differs(current.get("status") or {}, desired["status"]):
            upd = self.client.copy(current)
            upd["status"] = desired["status"]
            await self.client.update_status(cluster, upd)


class EventController(SyncController):
    """Host Events about synced objects, recreated in the virtual cluster about the virtual object."""

    name = "sync-events-up"
    primary = ""

    async def reconcile(self, key: Key) -> None:
        cluster, ns, uid = key
        item = self.syncer.pending_events.pop(key, None)
        if item is None or cluster not in self.syncer.ready:
            return
        host_event, resource, vname = item
        involved = self.client.get(cluster, resource, ns, vname)
        if involved is None:
            return
        ev = tr.virtual_event(host_event, involved)
        existing = self.client.get(cluster, "events", ev["metadata"]["namespace"], ev["metadata"]["name"])
        if existing is None:
            try:
                await self.client.create(cluster, ev)
            except ApiError as e:
                if e.code not in (403, 404, 409):
                    raise
            return
        if existing.get("count") != ev.get("count") or existing.get("lastTimestamp") != ev.get("lastTimestamp"):
            upd = self.client.copy(existing)
            for k in ("count", "lastTimestamp", "message", "series"):
                if k in ev:
                    upd[k] = ev[k]
            await self.client.update(cluster, upd)


class StorageClassController(SyncController):
    """Host storage classes, copied into every virtual cluster."""

    name = "sync-storageclasses-up"
    primary = ""

    async def reconcile(self, key: Key) -> None:
        cluster, _, name = key
        if cluster not in self.syncer.ready:
            return
        host_sc = self.syncer.host_storage_classes.get(name)
        current = self.client.get(cluster, "storageclasses.storage.k8s.io", "", name)
        if host_sc is None:
            if current is not None and (current["metadata"].get("labels") or {}).get(tr.MANAGED_BY):
                await self.client.delete(cluster, current)
            return
        desired = tr.virtual_storage_class(host_sc)
        desired["metadata"]["labels"][tr.MANAGED_BY] = tr.MANAGED_BY_VALUE
        if current is None:
            try:
                await self.client.create(cluster, desired)
            except ApiError as e:
                if e.code != 409:
                    raise
        elif current["metadata"].get("labels") != desired["metadata"]["labels"] or current.get(
                "parameters") != desired.get("parameters"):
            upd = self.client.copy(current)
            upd["metadata"]["labels"] = desired["metadata"]["labels"]
            await self.client.update(cluster, upd)


class PvcStatusController(SyncController):
    """A claim bound on the host: the virtual claim is Bound to a virtual PersistentVolume."""

    name = "sync-pvcs-up"
    primary = ""

    async def reconcile(self, key: Key) -> None:
        cluster, ns, name = key
        host_pvc = self.syncer.pending_pvcs.get(key)
        if host_pvc is None or cluster not in self.syncer.ready:
            self.syncer.pending_pvcs.pop(key, None)
            return
        pvc = self.client.get(cluster, "persistentvolumeclaims", ns, name)
        origin = tr.origin_of(host_pvc)
        hstatus = host_pvc.get("status") or {}
        volume = (host_pvc.get("spec") or {}).get("volumeName")
        if pvc is None or origin is None or origin.uid != pvc["metadata"].get("uid") or not volume or \
                hstatus.get("phase") != "Bound":
            self.syncer.pending_pvcs.pop(key, None)
            return
        pv = self.client.get(cluster, "persistentvolumes", "", volume)
        if pv is None:
            with contextlib.suppress(ApiError):
                pv = await self.client.create(cluster, tr.virtual_pv(pvc, host_pvc))
        if pv is not None and (pv.get("status") or {}).get("phase") != "Bound":
            upd = self.client.copy(pv)
            upd["status"] = {"phase": "Bound"}
            await self.client.update_status(cluster, upd)
        if (pvc.get("spec") or {}).get("volumeName") != volume:
            upd = self.client.copy(pvc)
            upd["spec"]["volumeName"] = volume
            ann = upd["metadata"].setdefault("annotations", {})
            ann["pv.kubernetes.io/bind-completed"] = "yes"
            pvc = await self.client.update(cluster, upd)
        status = {"phase": "Bound", "accessModes": hstatus.get("accessModes") or [],
                  "capacity": hstatus.get("capacity") or {}}
        if any((pvc.get("status") or {}).get(k) != v for k, v in status.items()):
            upd = self.client.copy(pvc)
            upd["status"] = dict(upd.get("status") or {}, **status)
            await self.client.update_status(cluster, upd)
        if self.syncer.pending_pvcs.get(key) is host_pvc:
            del self.syncer.pending_pvcs[key]


class VirtualClusterSync(SyncController):
    """The host namespace of each Ready VirtualCluster (quota, limits, isolation); removed with it."""

    name = "sync-virtualclusters"
    primary = VC

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.cluster == ROOT and ev.resource == VC:
            yield (ROOT, "", ev.name)

    async def reconcile(self, key: Key) -> None:
        name = key[2]
        vc = self.client.get(ROOT, VC, "", name)
        if vc is None or vc["metadata"].get("deletionTimestamp"):
            await self.syncer.remove_cluster(name)
            return
        if (vc.get("status") or {}).get("phase") != "Ready" or self.client.clusters.get(name) is None:
            return
        await self.syncer.ensure_namespace(name, vc.get("spec") or {})
        if name not in self.syncer.ready:
            self.syncer.ready.add(name)
            await self.syncer.resync(name)


# -- the syncer --------------------------------------------------------------------------------------------


class Syncer:
    """Syncs every Ready virtual cluster with the host (docs/hosts.md)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.client = SyncClient(server.store, server.clusters, server.registry, manager="kubenest-syncer")
        self.host: HostClient | None = None
        self.synced = asyncio.Event()
        self.ca_pem = open(server.ca_path).read()
        self.manager: Manager | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._init_state()
        self.pods = PodController(self)
        self.services = ServiceController(self)
        self.controllers: list[SyncController] = [
            VirtualClusterSync(self), self.pods, self.services, EndpointsController(self),
            ConfigMapController(self), SecretController(self), PvcController(self), IngressController(self),
            NetworkPolicyController(self)]
        self.pods_up = PodStatusController(self)
        self.nodes_up = NodeController(self)
        self.events_up = EventController(self)
        self.storage_up = StorageClassController(self)
        self.pvcs_up = PvcStatusController(self)
        self.controllers += [self.pods_up, self.nodes_up, self.events_up, self.storage_up, self.pvcs_up]

    def _init_state(self) -> None:
        """Everything learnt from the host and the virtual clusters (each start begins from nothing)."""
        self.ready: set[str] = set()
        self.caches: dict[str, HostCache] = {k.plural: HostCache() for k in DOWN_KINDS}
        self.caches["tokens"] = HostCache()
        self.refs = Refs()
        self.ref_changes: dict[tuple[str, str, str, str], set[tuple[str, str]]] = {}
        self.pending_pods: dict[Key, Obj] = {}
        self.pending_pvcs: dict[Key, Obj] = {}
        self.pending_events: dict[Key, tuple[Obj, str, str]] = {}
        self.node_pods: dict[tuple[str, str], set[str]] = {}  # (cluster, node) -> host pod names
        self.pod_node: dict[tuple[str, str], str] = {}  # (host ns, host pod) -> node
        self.host_nodes: dict[str, Obj] = {}
        self.host_storage_classes: dict[str, Obj] = {}
        self.ns_hash: dict[str, str] = {}  # cluster -> hash of its host namespace objects
        self.service_status: dict[tuple[str, str], Obj] = {}  # (host ns, host name) -> non-empty host status
        self.allocating: set[Key] = set()  # virtual Services whose create request is making the host one
        self._proxies: dict[str, PodStreams] = {}

    # -- wiring ----------------------------------------------------------------------------------------

    def streams_for(self, cluster: str) -> PodStreams | None:
        """The proxy to the host for pods of virtual cluster `cluster` (None for other clusters)."""
        if cluster not in self.ready or self.host is None:
            return None
        proxy = self._proxies.get(cluster)
        if proxy is None:
            try:
                from kubenest.syncer.proxy import HostProxy  # the streams engineer's module
            except ImportError:
                return None

            def locate(pod: Obj, container: str) -> tuple[str, str, str]:
                meta = pod["metadata"]
                return (tr.host_namespace(cluster), tr.host_name(meta["name"], meta.get("namespace", ""), cluster),
                        container)

            proxy = HostProxy(self.host, locate)
            self._proxies[cluster] = proxy
        return proxy

    def host_kubeconfig(self) -> tuple[str, str | None]:
        cfg = self.server.config
        if cfg.host_kubeconfig:
            return cfg.host_kubeconfig, cfg.host_context
        return os.path.join(cfg.data_dir, "host.kubeconfig"), None

    def api_endpoint(self) -> tuple[str, int]:
        """Where pods reach this API server (KUBERNETES_SERVICE_HOST/PORT)."""
        addr = self.server.config.pod_api_address
        if addr:
            host, sep, port = addr.rpartition(":")
            if sep and port.isdigit() and not host.endswith(":"):
                return host.strip("[]"), int(port)
            return addr.strip("[]"), self.server.port
        embedded = self.server.embedded
        if embedded is not None and hasattr(embedded, "pod_api_endpoint"):
            endpoint = embedded.pod_api_endpoint()
            if endpoint:
                return str(endpoint[0]), int(endpoint[1])
        return "127.0.0.1", self.server.port

    def pod_context(self, cluster: str, ns: str) -> tr.PodContext:
        host, port = self.api_endpoint()
        services = self.client.list(cluster, "services", ns)
        cache = self.caches["services"]
        hns = tr.host_namespace(cluster)
        ips = {}
        for s in services:
            ref = cache.get(hns, tr.host_name(s["metadata"]["name"], ns, cluster))
            if ref is not None and ref.extra:
                ips[s["metadata"]["name"]] = ref.extra
        return tr.PodContext(cluster, host, port, services, ips)

    @handles(resources=(SERVICES.resource,))
    async def allocate_service(self, req: Request, obj: Obj) -> Callable[[bool], Awaitable[None]] | None:
        """Registry `begin_create` hook: a Service created in a synced virtual cluster gets its host Service
        first, and with it the host's ClusterIP, or the one it asks for if the host grants it (the host's
        refusal is the answer). So `spec.clusterIP` is the host's from the start and reaches the Service."""
        cluster = req.cluster.name
        if req.key != SERVICES.resource or cluster not in self.ready or self.host is None or \
                not tr.has_cluster_ip(obj):
            return None  # headless and ExternalName Services have no address: the controller syncs them
        meta = obj["metadata"]
        key = (cluster, meta["namespace"], meta["name"])
        if key in self.allocating or self.client.get(cluster, SERVICES.resource, key[1], key[2]) is not None:
            return None  # the registry answers AlreadyExists
        self.allocating.add(key)
        try:
            created = await self.services.create_for(cluster, obj)
        except HostError as e:
            self.allocating.discard(key)
            raise _virtual_error(e, tr.host_name(key[2], key[1], cluster), key[2]) from None
        except BaseException:
            self.allocating.discard(key)
            raise
        tr.cluster_ips_up(obj, created)
        hns, hname, uid = created["metadata"]["namespace"], created["metadata"]["name"], created["metadata"]["uid"]

        async def finish(ok: bool) -> None:
            self.allocating.discard(key)
            if ok:
                return
            ref = self.services.cache.get(hns, hname)
            if ref is not None and ref.uid == uid:
                ref.deleting = True
            with contextlib.suppress(HostError):
                await self.services.host.delete(SERVICES.api_version, SERVICES.plural, hns, hname, uid=uid)

        return finish

    def track_refs(self, cluster: str, ns: str, resource: str, name: str, refs: set[tuple[str, str]]) -> None:
        changed = self.refs.set(cluster, ns, f"{resource}/{name}", refs)
        key = (cluster, ns, resource, name)
        if changed:
            self.ref_changes[key] = changed
        else:
            self.ref_changes.pop(key, None)

    def enqueue(self, c: Controller, key: Key) -> None:
        if self.manager is not None:
            self.manager.enqueue(c, key)

    # -- start and stop ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to the host (the server is listening now), list+watch, resync."""
        path, context = self.host_kubeconfig()  # the embedded host wrote its own in prepare()
        self._tasks.append(asyncio.ensure_future(self._run(path, context)))

    async def _run(self, path: str, context: str | None) -> None:
        try:
            self.host = HostClient.from_kubeconfig(path, context)
        except (OSError, ValueError) as e:
            log.error("syncer: cannot use host kubeconfig %s: %s; virtual clusters' pods will not run", path, e)
            return
        host = self.host
        firsts = []
        for k in DOWN_KINDS:
            firsts.append(self._inform(k.api_version, k.plural, tr.MANAGED_SELECTOR, self._on_managed))
        firsts.append(self._inform("v1", "nodes", None, self._on_node))
        firsts.append(self._inform("storage.k8s.io/v1", "storageclasses", None, self._on_storage_class))
        firsts.append(self._inform("v1", "events", None, self._on_event))
        await asyncio.gather(*firsts)
        while True:
            try:
                namespaces = await host.list("v1", "namespaces", label_selector=tr.MANAGED_SELECTOR)
                break
            except HostError as e:
                log.warning("syncer: listing host namespaces failed (%s); retrying", e)
                await asyncio.sleep(1)
        for ns in namespaces["items"]:
            cluster = (ns["metadata"].get("labels") or {}).get(tr.CLUSTER_LABEL)
            if cluster:
                self.ns_hash[cluster] = tr.hash_of(ns)
        # Each reconcile waits for durable writes (host and virtual), so throughput is workers / commit
        # latency: 64 concurrent reconciles keep a burst of pods moving (8 made a burst of 1,000 ten times
        # slower); idle workers cost nothing.
        self.manager = Manager(self.server.store, workers=64)
        for c in self.controllers:
            self.manager.add(c)
        self.manager.start(resync=False)
        if self.allocate_service not in self.server.registry.begin_create:
            self.server.registry.begin_create.append(self.allocate_service)
        vcs = {e.obj["metadata"]["name"] for e in self.server.store.entries(ROOT, VC)}
        for name in vcs:
            self.manager.enqueue(self.controllers[0], (ROOT, "", name))
        for cluster in list(self.ns_hash):
            if cluster not in vcs:  # deleted while the syncer was down
                await self.remove_cluster(cluster)
        self.synced.set()

    async def _inform(self, api_version: str, plural: str, selector: str | None,
                      handler: Callable[[str, str, Obj], None]) -> None:
        """Start a list+watch of a host resource; returns after its first list is handled. The handler
        gets ("SYNC", list) after each (re)list and works out deletions it missed from its own state."""
        first = asyncio.get_running_loop().create_future()
        host = self.host
        assert host is not None

        async def run() -> None:
            async for type_, obj in host.informer(api_version, plural, None, selector):
                try:
                    handler(plural, type_, obj)
                except Exception:  # noqa: BLE001 - one bad event must not stop the informer
                    log.exception("syncer: handling host %s event failed", plural)
                if type_ == "SYNC" and not first.done():
                    first.set_result(None)

        self._tasks.append(asyncio.ensure_future(run()))
        await first

    def _unhook(self) -> None:
        with contextlib.suppress(ValueError):
            self.server.registry.begin_create.remove(self.allocate_service)

    def halt(self) -> None:
        """Stop watching now (the server is shutting down: its own watches must not hold it up)."""
        self._unhook()
        if self.manager is not None:
            self.manager.stop()
            self.manager = None
        for t in self._tasks:
            t.cancel()

    async def stop(self) -> None:
        """Stop watches and close host connections."""
        self._unhook()
        if self.manager is not None:
            self.manager.stop()
            self.manager = None
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        if self.host is not None:
            await self.host.close()
            self.host = None
        self.synced.clear()
        self._init_state()

    async def idle(self, timeout: float = 10.0) -> bool:
        """Wait until the syncer has no work queued (tests)."""
        await asyncio.wait_for(self.synced.wait(), timeout)
        assert self.manager is not None
        return await self.manager.idle(timeout)

    def state_bytes(self) -> int:
        """Bytes of what the syncer itself keeps (host caches, references, node tracking, pending work),
        counted object by object; the virtual and host objects live in the store and are not counted."""
        seen: set[int] = set()
        todo: list[Any] = [self.caches, self.refs.users, self.refs.of, self.ref_changes, self.node_pods,
                           self.pod_node, self.pending_pods]
        total = 0
        while todo:
            o = todo.pop()
            if id(o) in seen or isinstance(o, type):
                continue
            seen.add(id(o))
            total += sys.getsizeof(o)
            if isinstance(o, dict):
                todo += [*o.keys(), *o.values()]
            elif isinstance(o, list | tuple | set | frozenset):
                todo += list(o)
            elif hasattr(o, "__slots__"):
                todo += [getattr(o, s) for s in o.__slots__ if hasattr(o, s)]
            elif hasattr(o, "__dict__"):
                todo.append(o.__dict__)
        return total

    # -- host events ---------------------------------------------------------------------------------------

    def _on_managed(self, plural: str, type_: str, obj: Obj) -> None:
        if type_ != "SYNC":
            self._managed_event(plural, type_, obj)
            return
        seen = set()
        for o in obj["items"]:
            seen.add((o["metadata"].get("namespace", ""), o["metadata"]["name"]))
            self._managed_event(plural, "SYNC", o)
        for cache_name in (plural, "tokens") if plural == "secrets" else (plural,):
            for hns, hname, ref in self.caches[cache_name].items():
                if (hns, hname) not in seen:  # deleted while the watch was down
                    stub = ref_stub(hns, hname, ref)
                    if cache_name == "tokens":
                        stub["metadata"]["annotations"][tr.TOKEN_FOR_ANNOTATION] = ref.name
                    self._managed_event(plural, "DELETED", stub)

    def _managed_event(self, plural: str, type_: str, obj: Obj) -> None:
        meta = obj["metadata"]
        ann = meta.get("annotations") or {}
        cache_name = "tokens" if plural == "secrets" and tr.TOKEN_FOR_ANNOTATION in ann else plural
        cache = self.caches[cache_name]
        hns, hname = meta.get("namespace", ""), meta["name"]
        if type_ == "DELETED":
            ref = cache.pop(hns, hname)
        else:
            ref = cache.put(obj)
        if plural == "services":
            status = obj.get("status") or {}
            if type_ != "DELETED" and ref is not None and (status.get("conditions") or (status.get("loadBalancer") or {}).get("ingress")):
                self.service_status[(hns, hname)] = status
            else:
                self.service_status.pop((hns, hname), None)
        origin = tr.origin_of(obj)
        if origin is None or origin.cluster not in self.ready or ref is None and type_ != "DELETED":
            return
        key = (origin.cluster, origin.namespace, origin.name)
        if plural == "pods":
            self._pod_node(origin.cluster, hns, hname, None if type_ == "DELETED" else obj)
            if type_ == "DELETED":
                if ref is not None and not ref.deleting:
                    self.pending_pods[key] = {"metadata": meta, "gone": True}
                    self.enqueue(self.pods_up, key)
            else:
                self.pending_pods[key] = obj
                self.enqueue(self.pods_up, key)
        elif plural == "persistentvolumeclaims" and type_ != "DELETED":
            if (obj.get("status") or {}).get("phase") == "Bound":
                self.pending_pvcs[key] = obj
                self.enqueue(self.pvcs_up, key)
        if plural == "services" and type_ != "DELETED":
            self.enqueue(self.services, key)  # address and status up (nothing to write when equal)
        if type_ == "DELETED" or type_ == "SYNC":
            # Recreate what should exist, finish deletions that waited for the host, drop leftovers.
            c = self._down(cache_name)
            if c is not None:
                self.enqueue(c, key)

    def _down(self, cache_name: str) -> DownController | None:
        plural = "pods" if cache_name == "tokens" else cache_name
        for c in self.controllers:
            if isinstance(c, DownController) and c.kind_.plural == plural and c.primary:
                return c
        return None

    def _pod_node(self, cluster: str, hns: str, hname: str, obj: Obj | None) -> None:
        node = (obj.get("spec") or {}).get("nodeName", "") if obj is not None else ""
        old = self.pod_node.get((hns, hname), "")
        if node == old:
            return
        if old:
            pods = self.node_pods.get((cluster, old))
            if pods is not None:
                pods.discard(hname)
                if not pods:
                    del self.node_pods[(cluster, old)]
                    self.enqueue(self.nodes_up, (cluster, "", old))
            del self.pod_node[(hns, hname)]
        if node:
            self.pod_node[(hns, hname)] = node
            pods = self.node_pods.setdefault((cluster, node), set())
            if not pods:
                self.enqueue(self.nodes_up, (cluster, "", node))
            pods.add(hname)

    @staticmethod
    def _relisted(plural: str, items: list[Obj], known: dict[str, Obj],
                  handle: Callable[[str, str, Obj], None]) -> None:
        """A (re)list of a cluster-scoped host resource: what is gone was DELETED, the rest MODIFIED."""
        names = {o["metadata"]["name"] for o in items}
        for name in [n for n in known if n not in names]:
            handle(plural, "DELETED", known[name])
        for o in items:
            handle(plural, "MODIFIED", o)

    def _on_node(self, plural: str, type_: str, obj: Obj) -> None:
        if type_ == "SYNC":
            self._relisted(plural, obj["items"], self.host_nodes, self._on_node)
            return
        name = obj["metadata"]["name"]
        if type_ == "DELETED":
            self.host_nodes.pop(name, None)
        else:
            old = self.host_nodes.get(name)
            self.host_nodes[name] = obj
            if old is not None and not tr.node_status_differs(old.get("status") or {}, obj.get("status") or {}) \
                    and old["metadata"].get("labels") == obj["metadata"].get("labels") and \
                    (old.get("spec") or {}).get("taints") == (obj.get("spec") or {}).get("taints"):
                return  # a heartbeat
        for (cluster, node) in list(self.node_pods):
            if node == name:
                self.enqueue(self.nodes_up, (cluster, "", node))

    def _on_storage_class(self, plural: str, type_: str, obj: Obj) -> None:
        if type_ == "SYNC":
            self._relisted(plural, obj["items"], self.host_storage_classes, self._on_storage_class)
            return
        name = obj["metadata"]["name"]
        if type_ == "DELETED":
            self.host_storage_classes.pop(name, None)
        else:
            self.host_storage_classes[name] = obj
        for cluster in self.ready:
            self.enqueue(self.storage_up, (cluster, "", name))

    _EVENT_KINDS = {"Pod": "pods", "Service": "services", "PersistentVolumeClaim": "persistentvolumeclaims",
                    "ConfigMap": "configmaps", "Secret": "secrets", "Ingress": INGRESSES.resource}
    _CACHE_OF = {"pods": "pods", "services": "services", "persistentvolumeclaims": "persistentvolumeclaims",
                 "configmaps": "configmaps", "secrets": "secrets", INGRESSES.resource: "ingresses"}

    def _on_event(self, plural: str, type_: str, obj: Obj) -> None:
        if type_ not in ("ADDED", "MODIFIED"):
            return
        io = obj.get("involvedObject") or {}
        resource = self._EVENT_KINDS.get(io.get("kind", ""))
        if resource is None:
            return
        ref = self.caches[self._CACHE_OF[resource]].get(io.get("namespace", ""), io.get("name", ""))
        if ref is None or ref.cluster not in self.ready:
            return
        key = (ref.cluster, ref.namespace, str(obj["metadata"].get("uid", "")))
        self.pending_events[key] = (obj, resource, ref.name)
        self.enqueue(self.events_up, key)

    # -- virtual clusters ------------------------------------------------------------------------------------

    async def ensure_namespace(self, cluster: str, spec: Obj) -> None:
        """The host namespace of `cluster` with its isolation policy, quota and limits, as `spec` says.
        The namespace carries the hash of all of it, so an unchanged cluster costs no request."""
        assert self.host is not None
        host = self.host
        objs = tr.namespace_objects(cluster, spec)
        digest = tr.with_hash({"metadata": {"annotations": {}}, "objs": objs})["metadata"]["annotations"][
            tr.HASH_ANNOTATION]
        if self.ns_hash.get(cluster) == digest:
            return
        hns = tr.host_namespace(cluster)
        ns_obj = objs[0][2]
        current_ns = await host.get_or_none("v1", "namespaces", None, hns)
        if current_ns is not None and current_ns["metadata"].get("deletionTimestamp"):
            # A cluster of the same name was deleted a moment ago: retried (with backoff) until it is gone.
            raise HostError(409, "Conflict", f"host namespace {hns} is still being deleted")
        # A namespace created here holds nothing yet: its objects are created without looking first, nothing
        # is deleted, and the stamp starts from the created namespace (a new virtual cluster with a quota: five
        # requests to the host instead of nine).
        created: Obj | None = None
        if current_ns is None:
            try:
                created = await host.create("v1", "namespaces", ns_obj)
            except HostError as e:
                if not e.already_exists:
                    raise
        wanted = set()
        for api_version, plural, obj in objs[1:]:
            wanted.add(plural)
            current = None if created else await host.get_or_none(api_version, plural, hns, obj["metadata"]["name"])
            if current is None:
                await host.create(api_version, plural, obj)
            else:
                upd = tr.replace_spec(current, obj, ("spec",))
                if upd != current:
                    await host.update(api_version, plural, upd)
        for plural, name in (("resourcequotas", "kubenest-quota"), ("limitranges", "kubenest-limits")):
            if plural not in wanted and not created:
                await host.delete("v1", plural, hns, name)

        async def stamp() -> None:
            nonlocal created
            current = created or await host.get("v1", "namespaces", None, hns)
            created = None  # a conflict means it changed meanwhile: read it again
            upd = self._copy(current)
            upd["metadata"].setdefault("annotations", {})[tr.HASH_ANNOTATION] = digest
            upd["metadata"]["labels"] = dict(upd["metadata"].get("labels") or {}, **ns_obj["metadata"]["labels"])
            await host.update("v1", "namespaces", upd)

        await retry_on_conflict(stamp)
        self.ns_hash[cluster] = digest

    @staticmethod
    def _copy(obj: Obj) -> Obj:
        result: Obj = orjson.loads(orjson.dumps(obj))
        return result

    async def remove_cluster(self, cluster: str) -> None:
        """Stop syncing `cluster` and delete its host namespace (and so everything in it)."""
        self.ready.discard(cluster)
        self._proxies.pop(cluster, None)
        self.refs.forget(cluster)
        for key in [k for k in self.node_pods if k[0] == cluster]:
            del self.node_pods[key]
        hns = tr.host_namespace(cluster)
        for key in [k for k in self.pod_node if k[0] == hns]:
            del self.pod_node[key]
        self.ns_hash.pop(cluster, None)
        if self.host is not None:
            await self.host.delete("v1", "namespaces", None, hns)

    async def resync(self, cluster: str) -> None:
        """A cluster became Ready (or the syncer started): reconcile every virtual object and every host
        object of it; host objects without a virtual object are deleted by those reconciles."""
        assert self.manager is not None and self.host is not None
        hns = tr.host_namespace(cluster)
        store = self.server.store
        for e in store.entries(cluster, "pods"):
            meta = e.obj["metadata"]
            self.track_refs(cluster, meta["namespace"], "pods", meta["name"], pod_ref_set(e.obj))
        for e in store.entries(cluster, INGRESSES.resource):
            meta = e.obj["metadata"]
            self.track_refs(cluster, meta["namespace"], INGRESSES.resource, meta["name"],
                            {("secret", n) for n in tr.ingress_refs(e.obj)})
        for c in self.controllers:
            if not isinstance(c, DownController):
                continue
            for e in store.entries(cluster, c.primary):
                meta = e.obj["metadata"]
                self.manager.enqueue(c, (cluster, meta.get("namespace", ""), meta["name"]))
            for _, ref in c.cache.in_namespace(hns):
                self.manager.enqueue(c, (cluster, ref.namespace, ref.name))
        for _, ref in self.caches["tokens"].in_namespace(hns):
            self.manager.enqueue(self.pods, (cluster, ref.namespace, ref.name))  # origin: the pod
        for name in self.host_storage_classes:
            self.manager.enqueue(self.storage_up, (cluster, "", name))
        # Status that changed while the syncer was away: the host pods' and claims' current state.
        for plural, pending, ctrl in (("pods", self.pending_pods, self.pods_up),
                                      ("persistentvolumeclaims", self.pending_pvcs, self.pvcs_up)):
            try:
                lst = await self.host.list("v1", plural, hns, label_selector=tr.MANAGED_SELECTOR)
            except HostError as err:
                log.warning("syncer: listing host %s of %s failed: %s", plural, cluster, err)
                continue
            for obj in lst["items"]:
                origin = tr.origin_of(obj)
                if origin is None:
                    continue
                key = (origin.cluster, origin.namespace, origin.name)
                if plural == "pods":
                    self._pod_node(cluster, hns, obj["metadata"]["name"], obj)
                elif (obj.get("status") or {}).get("phase") != "Bound":
                    continue
                pending[key] = obj
                self.manager.enqueue(ctrl, key)
        for (used_by, node), _pods in list(self.node_pods.items()):
            if used_by == cluster:
                self.manager.enqueue(self.nodes_up, (cluster, "", node))
        for e in store.entries(cluster, "nodes"):
            self.manager.enqueue(self.nodes_up, (cluster, "", e.obj["metadata"]["name"]))


__all__ = ["Syncer", "HostRef", "HostCache", "errors"]
