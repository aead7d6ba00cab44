"""The embedded host's kubelet: one controller for every node runtime of this process.

For each runtime (`kubenest.host.runtime.NodeRuntime`) it registers the Node object (conditions,
addresses, nodeInfo, capacity from the runtime), renews the node's Lease in `kube-node-lease`, and
hands the pods bound to that node to the runtime: `sync_pod` on every change, `kill_pod` then a delete
with grace 0 once a pod has a deletionTimestamp (kube's kubelet finishes graceful deletion that way),
`forget_pod` when the object is gone. Statuses the runtime reports are written to pods/status, retried
on conflicts and dropped when the pod's uid no longer matches. After a restart every stored pod is
reconciled once, and `sync_pod` (idempotent) adopts what already runs.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import random
from collections.abc import Iterable
from typing import Any

import orjson

from kubenest.api import binding
from kubenest.api.clusters import now_rfc3339
from kubenest.api.errors import ApiError
from kubenest.api.request import Request
from kubenest.controllers.client import Client
from kubenest.controllers.runtime import Controller, Key
from kubenest.host import HOST_CLUSTER
from kubenest.host.runtime import NodeRuntime
from kubenest.store.store import Event

log = logging.getLogger("kubenest.host.kubelet")

Obj = dict[str, Any]

LEASE_SECONDS = 40
RENEW_SECONDS = 20.0  # lease renewal, jittered
NODE_STATUS_SECONDS = 300.0  # unchanged node status is re-posted this often (kube's nodeStatusReportFrequency)
STATUS_RETRIES = 8


def _micro_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node_conditions(now: str, since: dict[str, str] | None = None) -> list[Obj]:
    """A healthy kubelet's node conditions (since: lastTransitionTime per type to keep)."""
    since = since or {}
    rows = (("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"))
    return [{"type": t, "status": s, "lastHeartbeatTime": now, "lastTransitionTime": since.get(t, now),
             "reason": r, "message": m} for t, s, r, m in rows]


class Kubelet(Controller):
    name = "kubelet"
    primary = "pods"
    component = "kubelet"

    def __init__(self, client: Client, runtimes: Iterable[NodeRuntime]) -> None:
        super().__init__(client)
        self.runtimes: dict[str, NodeRuntime] = {}
        self.pods: dict[tuple[str, str], Obj] = {}  # (namespace, name) -> the pod object handed to a runtime
        self.killing: dict[str, asyncio.Task[None]] = {}  # uid -> graceful termination under way
        self._heartbeat: asyncio.Task[None] | None = None
        for rt in runtimes:
            self.add_runtime(rt)

    def add_runtime(self, rt: NodeRuntime) -> None:
        self.runtimes[rt.node_name] = rt
        rt.set_reporter(self.report)

    # -- nodes --------------------------------------------------------------------------------------

    async def register_nodes(self) -> None:
        """Create or update every runtime's Node and Lease (before the controllers start)."""
        for rt in self.runtimes.values():
            await self.register(rt)
            await self.renew_lease(rt.node_name)

    async def register(self, rt: NodeRuntime) -> Obj:
        want = rt.node()
        name = want["metadata"]["name"]
        version = self._kubelet_version()
        info = want.setdefault("status", {}).setdefault("nodeInfo", {})
        info["kubeletVersion"] = version  # the host cluster's version, whatever the runtime says
        info.setdefault("kubeProxyVersion", "")
        info.setdefault("operatingSystem", "linux")
        have = self.client.get(HOST_CLUSTER, "nodes", "", name)
        if have is None:
            body = {k: v for k, v in want.items() if k != "status"}
            have = await self.client.create(HOST_CLUSTER, body)
        else:
            upd = self.client.copy(have)
            meta = upd["metadata"]
            meta["labels"] = dict(meta.get("labels") or {}, **(want["metadata"].get("labels") or {}))
            if want["metadata"].get("annotations"):
                meta["annotations"] = dict(meta.get("annotations") or {}, **want["metadata"]["annotations"])
            spec = upd.setdefault("spec", {})
            for k, v in (want.get("spec") or {}).items():
                if k == "taints":
                    # the runtime's taints are added; taints others set (kubectl taint) stay
                    keys = {(t.get("key"), t.get("effect")) for t in v}
                    spec["taints"] = list(v) + [t for t in spec.get("taints") or ()
                                                if (t.get("key"), t.get("effect")) not in keys]
                elif k not in spec:
                    spec[k] = v
            if upd != have:
                have = await self.client.update(HOST_CLUSTER, upd)
        return await self.post_status(have, want["status"])

    async def post_status(self, node: Obj, want: Obj) -> Obj:
        now = now_rfc3339()
        old = node.get("status") or {}
        since = {c["type"]: c.get("lastTransitionTime", now) for c in old.get("conditions") or ()
                 if c.get("type") and c.get("status") == ("True" if c["type"] == "Ready" else "False")}
        status = dict(old)
        status.update(want)
        status["conditions"] = node_conditions(now, since)
        upd = {"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": node["metadata"]["name"], "resourceVersion": node["metadata"].get("resourceVersion")},
            "status": status}
        result: Obj = await self.client.update_status(HOST_CLUSTER, upd)
        return result

    async def renew_lease(self, node_name: str) -> None:
        now = _micro_now()
        lease = self.client.get(HOST_CLUSTER, "leases.coordination.k8s.io", "kube-node-lease", node_name)
        if lease is None:
            node = self.client.get(HOST_CLUSTER, "nodes", "", node_name)
            meta: Obj = {"name": node_name, "namespace": "kube-node-lease"}
            if node is not None:
                meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node_name,
                                            "uid": node["metadata"]["uid"]}]
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                    "spec": {"holderIdentity": node_name, "leaseDurationSeconds": LEASE_SECONDS,
                             "renewTime": now}}
            try:
                await self.client.create(HOST_CLUSTER, body)
            except ApiError as e:
                if e.code != 409:
                    raise
            return
        upd = self.client.copy(lease)
        upd["spec"]["renewTime"] = now
        upd["spec"]["holderIdentity"] = node_name
        upd["spec"]["leaseDurationSeconds"] = LEASE_SECONDS
        try:
            await self.client.update(HOST_CLUSTER, upd)
        except ApiError as e:
            if e.code not in (404, 409):
                raise

    def start_heartbeat(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = asyncio.ensure_future(self._heartbeat_loop())

    async def _heartbeat_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_status = loop.time()
        while True:
            await asyncio.sleep(RENEW_SECONDS * random.uniform(0.8, 1.2))
            post = loop.time() - last_status >= NODE_STATUS_SECONDS
            for rt in list(self.runtimes.values()):
                try:
                    node = self.client.get(HOST_CLUSTER, "nodes", "", rt.node_name)
                    if node is None or post:
                        await self.register(rt)  # deleted by someone: register again, as a kubelet does
                    await self.renew_lease(rt.node_name)
                except ApiError as e:
                    log.warning("heartbeat of node %s: %s", rt.node_name, e)
                except Exception:  # noqa: BLE001 - the heartbeat must go on
                    log.exception("heartbeat of node %s failed", rt.node_name)
            if post:
                last_status = loop.time()

    def _kubelet_version(self) -> str:
        cluster = self.client.clusters.get(HOST_CLUSTER)
        return f"v{cluster.version}.0" if cluster is not None else "v1.37.0"

    # -- pods ---------------------------------------------------------------------------------------

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.cluster != HOST_CLUSTER:
            return ()
        for obj in (ev.obj, ev.prev):
            if obj is not None and (obj.get("spec") or {}).get("nodeName") in self.runtimes:
                return ((ev.cluster, ev.namespace, ev.name),)
        return ()

    async def reconcile(self, key: Key) -> None:
        cluster, ns, name = key
        if cluster != HOST_CLUSTER:
            return
        pod = self.client.get(cluster, "pods", ns, name)
        known = self.pods.get((ns, name))
        if known is not None and (pod is None or pod["metadata"].get("uid") != known["metadata"].get("uid")):
            # the object we ran is gone (or replaced by a new pod of the same name)
            await self._forget(known)
        if pod is None:
            return
        rt = self.runtimes.get((pod.get("spec") or {}).get("nodeName", ""))
        if rt is None:
            return
        uid = pod["metadata"].get("uid", "")
        self.pods[(ns, name)] = pod
        if pod["metadata"].get("deletionTimestamp"):
            if uid not in self.killing:
                task = asyncio.ensure_future(self._terminate(rt, pod))
                self.killing[uid] = task
            return
        await rt.sync_pod(pod)

    async def _forget(self, pod: Obj) -> None:
        meta = pod["metadata"]
        self.pods.pop((meta.get("namespace", ""), meta["name"]), None)
        uid = meta.get("uid", "")
        task = self.killing.pop(uid, None)
        rt = self.runtimes.get((pod.get("spec") or {}).get("nodeName", ""))
        if rt is None:
            return
        try:
            if task is None or not task.done():
                # removed without a graceful termination (e.g. --force --grace-period=0): stop it now
                if task is not None:
                    task.cancel()
                await rt.kill_pod(pod, 0)
        finally:
            await rt.forget_pod(uid)

    async def _terminate(self, rt: NodeRuntime, pod: Obj) -> None:
        """Stop the pod's containers within its grace period, then remove the object (grace 0)."""
        meta = pod["metadata"]
        grace = meta.get("deletionGracePeriodSeconds")
        if not isinstance(grace, int):
            grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds") or 0
        try:
            await rt.kill_pod(pod, max(int(grace), 0))
        except Exception:  # noqa: BLE001 - the object is removed even if the runtime stumbled
            log.exception("killing pod %s/%s", meta.get("namespace"), meta["name"])
        for attempt in range(STATUS_RETRIES):
            try:
                await self._delete_now(pod)
                return
            except ApiError as e:
                if e.code == 404:
                    return
                log.debug("deleting pod %s/%s: %s", meta.get("namespace"), meta["name"], e)
                await asyncio.sleep(0.05 * (2 ** attempt))

    async def _delete_now(self, pod: Obj) -> None:
        cluster = self.client.clusters.get(HOST_CLUSTER)
        if cluster is None:
            return
        meta = pod["metadata"]
        req = Request("DELETE", "delete", cluster, binding.pods_resource(cluster), meta.get("namespace", ""), meta["name"], "",
                      {"gracePeriodSeconds": "0"}, {b"content-type": b"application/json"}, self.client.user,
                      orjson.dumps({"preconditions": {"uid": meta.get("uid")}}))
        await self.client.registry.delete(req)

    async def report(self, namespace: str, name: str, uid: str, status: Obj) -> None:
        """StatusReporter: write a runtime's pod status (kube's status manager)."""
        for attempt in range(STATUS_RETRIES):
            pod = self.client.get(HOST_CLUSTER, "pods", namespace, name)
            if pod is None or pod["metadata"].get("uid") != uid:
                return
            old = pod.get("status") or {}
            new = dict(status)
            # Conditions the runtime does not own (PodScheduled, DisruptionTarget, readiness gates) stay.
            mine = {c.get("type") for c in new.get("conditions") or ()}
            kept = [c for c in old.get("conditions") or () if c.get("type") not in mine]
            if kept:
                new["conditions"] = [*(new.get("conditions") or ()), *kept]
            for k in ("qosClass", "nominatedNodeName"):
                if k in old and k not in new:
                    new[k] = old[k]
            if _same_status(new, old):
                return
            upd = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name, "namespace": namespace, "uid": uid,
                                "resourceVersion": pod["metadata"].get("resourceVersion")},
                   "status": new}
            try:
                await self.client.update_status(HOST_CLUSTER, upd)
                return
            except ApiError as e:
                if e.code == 404:
                    return
                if e.code != 409:
                    raise
                await asyncio.sleep(0.01 * (2 ** attempt))
        log.warning("status of pod %s/%s not written: conflicts", namespace, name)

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        for task in self.killing.values():
            task.cancel()


def _same_status(new: Obj, old: Obj) -> bool:
    """Equal apart from condition order (runtimes may list them differently)."""
    if set(new) != set(old):
        return False
    for k, v in new.items():
        if k == "conditions":
            a = sorted((v or []), key=lambda c: str(c.get("type")))
            b = sorted((old.get(k) or []), key=lambda c: str(c.get("type")))
            if a != b:
                return False
        elif old.get(k) != v:
            return False
    return True
