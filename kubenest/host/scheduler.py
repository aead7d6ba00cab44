"""The embedded host's scheduler: kube-scheduler's default filters and least-allocated scoring.

A controller on pods of the `host` cluster only (`schedulerName: default-scheduler`). Per-node accounting is
incremental: the watch events of pods and nodes keep a `Cache` of each node's requested resources and pods,
so a decision costs one pass over the nodes, never a scan of every pod. A chosen node is *assumed* (charged
in the cache) before the binding is written, as kube-scheduler does, so concurrent decisions never
overcommit a node.

Filters, in kube's plugin order, each stopping a node at its first failure: NodeUnschedulable,
TaintToleration (NoSchedule/NoExecute), NodeAffinity (nodeSelector and required node affinity),
NodeResourcesFit (pods, cpu, memory, ephemeral-storage, extended resources such as nvidia.com/gpu),
InterPodAffinity (required pod affinity and anti-affinity, both ways). A pod that fits nowhere gets
`PodScheduled=False` (reason Unschedulable) and a FailedScheduling event with kube's message, and is
tried again when a node changes or a bound pod goes away.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kubenest.api import binding, validation
from kubenest.api.clusters import now_rfc3339
from kubenest.api.errors import ApiError
from kubenest.api.request import Request
from kubenest.api.selectors import LabelSelector, SelectorError, from_label_selector_object
from kubenest.controllers.client import Client
from kubenest.controllers.runtime import Controller, Key
from kubenest.host import HOST_CLUSTER
from kubenest.store.store import Event

log = logging.getLogger("kubenest.host.scheduler")

Obj = dict[str, Any]

SCHEDULER_NAME = "default-scheduler"
HOSTNAME = "kubernetes.io/hostname"
# Scoring counts pods without requests as these (kube's non-zero defaults), so best-effort pods spread.
DEFAULT_MILLI_CPU = 100
DEFAULT_MEMORY = 200 * 1024 * 1024
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
RETRY_UNSCHEDULABLE_SECONDS = 60.0

# Filter failures: (reason, resolvable by preemption).
NODE_UNSCHEDULABLE = "node(s) were unschedulable"
UNTOLERATED_TAINT = "node(s) had untolerated taint(s)"
NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
POD_AFFINITY = "node(s) didn't match pod affinity rules"
POD_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
TOO_MANY_PODS = "Too many pods"
_BASIC = ("cpu", "memory", "ephemeral-storage")


# -- quantities and requests --------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _amount(resource: str, value: str) -> int:
    """A quantity in the unit kube-scheduler counts it in: millicores for cpu, else whole units."""
    try:
        q, _ = validation.parse_quantity(value)
    except ValueError:
        return 0
    return math.ceil(q * 1000) if resource == "cpu" else math.ceil(q)


def amount(resource: str, value: Any) -> int:
    return _amount(resource, str(value))


def _counted(name: str) -> bool:
    return name in ("cpu", "memory", "ephemeral-storage") or ("/" in name and not name.startswith("kubernetes.io/")) \
        or name.startswith("hugepages-")


def _container_requests(c: Obj) -> dict[str, int]:
    res = c.get("resources") or {}
    req = dict(res.get("requests") or {})
    for k, v in (res.get("limits") or {}).items():
        req.setdefault(k, v)  # a limit without a request is the request (kube's defaulting)
    return {k: amount(k, v) for k, v in req.items() if _counted(k)}


def pod_requests(pod: Obj) -> dict[str, int]:
    """The pod's effective requests as kube's resource.PodRequests computes them: the sum over containers
    and restartable init containers (sidecars), against the largest regular init container plus the
    sidecars started before it; pod-level resources win for cpu and memory; plus the pod overhead."""
    spec = pod.get("spec") or {}
    total: dict[str, int] = {}
    for c in spec.get("containers") or ():
        for k, v in _container_requests(c).items():
            total[k] = total.get(k, 0) + v
    init_max: dict[str, int] = {}
    sidecars: dict[str, int] = {}
    for c in spec.get("initContainers") or ():
        req = _container_requests(c)
        if c.get("restartPolicy") == "Always":
            for k, v in req.items():
                sidecars[k] = sidecars.get(k, 0) + v
                total[k] = total.get(k, 0) + v
            candidate = dict(sidecars)
        else:
            candidate = dict(sidecars)
            for k, v in req.items():
                candidate[k] = candidate.get(k, 0) + v
        for k, v in candidate.items():
            if v > init_max.get(k, 0):
                init_max[k] = v
    for k, v in init_max.items():
        if v > total.get(k, 0):
            total[k] = v
    pod_level = ((spec.get("resources") or {}).get("requests")) or {}
    for k in ("cpu", "memory"):
        if k in pod_level:
            total[k] = amount(k, pod_level[k])
    for k, v in (spec.get("overhead") or {}).items():
        if _counted(k):
            total[k] = total.get(k, 0) + amount(k, v)
    return {k: v for k, v in total.items() if v}


# -- matching -----------------------------------------------------------------------------------------


def tolerates(tolerations: Iterable[Obj], taint: Obj) -> bool:
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        key = t.get("key") or ""
        if op == "Exists":
            if not key or key == taint.get("key"):
                return True
        elif key == taint.get("key") and (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _expression_matches(expr: Obj, value: str | None) -> bool:
    op = expr.get("operator")
    values = expr.get("values") or []
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt"):
        try:
            have, want = int(value or ""), int(values[0])
        except (ValueError, IndexError):
            return False
        return have > want if op == "Gt" else have < want
    return False


def node_selector_term_matches(term: Obj, node: Obj) -> bool:
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False  # an empty term matches no node
    labels = node["metadata"].get("labels") or {}
    for e in exprs:
        if not _expression_matches(e, labels.get(e.get("key", ""))):
            return False
    for f in fields:
        value = node["metadata"]["name"] if f.get("key") == "metadata.name" else None
        if not _expression_matches(f, value):
            return False
    return True


def node_affinity_matches(pod: Obj, node: Obj) -> bool:
    spec = pod.get("spec") or {}
    labels = node["metadata"].get("labels") or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution")
    if required:
        return any(node_selector_term_matches(t, node) for t in required.get("nodeSelectorTerms") or ())
    return True


def _selector(sel: Obj | None) -> LabelSelector | None:
    if sel is None:
        return None
    try:
        return from_label_selector_object(sel)
    except SelectorError:
        return None


# -- the cache ----------------------------------------------------------------------------------------


@dataclass
class PodInfo:
    uid: str
    namespace: str
    name: str
    node: str
    labels: dict[str, str]
    requests: dict[str, int]
    anti_affinity: list[Obj]
    priority: int


@dataclass
class NodeInfo:
    name: str
    obj: Obj
    allocatable: dict[str, int]
    requested: dict[str, int] = field(default_factory=dict)
    nonzero: dict[str, int] = field(default_factory=dict)  # cpu and memory, request-less pods as defaults
    pods: dict[str, PodInfo] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[tuple[str, str, str], ...] = ()  # NoSchedule and NoExecute ones: (key, value, effect)
    unschedulable: bool = False

    def refresh(self, node: Obj) -> None:
        """Take what filters read from a (new version of the) Node object."""
        self.obj = node
        self.allocatable = _node_allocatable(node)
        self.labels = node["metadata"].get("labels") or {}
        spec = node.get("spec") or {}
        self.unschedulable = bool(spec.get("unschedulable"))
        self.taints = tuple((t.get("key") or "", t.get("value") or "", t.get("effect") or "")
                            for t in spec.get("taints") or () if t.get("effect") in ("NoSchedule", "NoExecute"))


def _node_allocatable(node: Obj) -> dict[str, int]:
    status = node.get("status") or {}
    alloc = status.get("allocatable") or status.get("capacity") or {}
    return {k: amount(k, v) for k, v in alloc.items()}


def _terms(pod: Obj, kind: str) -> list[Obj]:
    aff = ((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {}
    terms: list[Obj] = aff.get("requiredDuringSchedulingIgnoredDuringExecution") or []
    return terms


def _assigned(pod: Obj) -> bool:
    """Bound and still holding its node's resources (not finished)."""
    spec = pod.get("spec") or {}
    phase = (pod.get("status") or {}).get("phase")
    return bool(spec.get("nodeName")) and phase not in ("Succeeded", "Failed")


def _pod_info(pod: Obj) -> PodInfo:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    return PodInfo(meta.get("uid", ""), meta.get("namespace", ""), meta["name"], spec.get("nodeName", ""),
                   dict(meta.get("labels") or {}), pod_requests(pod), _terms(pod, "podAntiAffinity"),
                   int(spec.get("priority") or 0))


class Cache:
    """Nodes with what bound (or assumed) pods request of them, kept up to date from watch events."""

    def __init__(self) -> None:
        self.nodes: dict[str, NodeInfo] = {}
        self.pods: dict[str, PodInfo] = {}  # uid -> info, for pods charged to a node
        self.anti: dict[str, PodInfo] = {}  # bound pods with required anti-affinity terms

    def set_node(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        info = self.nodes.get(name)
        if info is None:
            info = self.nodes[name] = NodeInfo(name, node, {})
            info.refresh(node)
            for p in self.pods.values():
                if p.node == name:
                    self._charge(info, p, 1)
        else:
            info.refresh(node)

    def remove_node(self, name: str) -> None:
        self.nodes.pop(name, None)

    def add_pod(self, pod: PodInfo) -> None:
        old = self.pods.get(pod.uid)
        if old is not None:
            if old.node == pod.node and old.requests == pod.requests and old.labels == pod.labels \
                    and old.anti_affinity == pod.anti_affinity:
                return
            self.remove_pod(pod.uid)
        self.pods[pod.uid] = pod
        if pod.anti_affinity:
            self.anti[pod.uid] = pod
        info = self.nodes.get(pod.node)
        if info is not None:
            self._charge(info, pod, 1)

    def remove_pod(self, uid: str) -> PodInfo | None:
        pod = self.pods.pop(uid, None)
        if pod is None:
            return None
        self.anti.pop(uid, None)
        info = self.nodes.get(pod.node)
        if info is not None:
            self._charge(info, pod, -1)
        return pod

    @staticmethod
    def _charge(info: NodeInfo, pod: PodInfo, sign: int) -> None:
        for k, v in pod.requests.items():
            info.requested[k] = info.requested.get(k, 0) + sign * v
        for k, default in (("cpu", DEFAULT_MILLI_CPU), ("memory", DEFAULT_MEMORY)):
            info.nonzero[k] = info.nonzero.get(k, 0) + sign * (pod.requests.get(k) or default)
        if sign > 0:
            info.pods[pod.uid] = pod
        else:
            info.pods.pop(pod.uid, None)


# -- the scheduler ------------------------------------------------------------------------------------


@dataclass
class Fit:
    reasons: list[str]
    resolvable: bool  # whether preemption could help (kube: Unschedulable, not UnschedulableAndUnresolvable)


class Scheduler(Controller):
    name = "scheduler"
    primary = "pods"
    watches = ("nodes",)
    component = SCHEDULER_NAME

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self.cache = Cache()
        self.unschedulable: dict[Key, tuple[int, Obj, str]] = {}  # key -> (freed generation, spec, message)
        self.freed = 0  # goes up whenever room may have appeared (node change, pod gone)
        self._retry_scheduled = False
        self._rng = random.Random()
        self._primed = False

    def prime(self) -> None:
        """Fill the cache from the store (once): nodes and bound pods that exist before any event."""
        if self._primed:
            return
        self._primed = True
        for node in self.client.list(HOST_CLUSTER, "nodes"):
            self.cache.set_node(node)
        for pod in self.client.list(HOST_CLUSTER, "pods"):
            if _assigned(pod):
                self.cache.add_pod(_pod_info(pod))

    # -- events -> cache and keys -------------------------------------------------------------------

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.cluster != HOST_CLUSTER:
            return ()
        self.prime()
        if ev.resource == "nodes":
            if ev.type == "DELETED" or ev.obj is None:
                self.cache.remove_node(ev.name)
            else:
                self.cache.set_node(ev.obj)
            self._room_freed()
            return ()
        pod = ev.obj
        prev = self.cache.pods.get(ev.prev["metadata"].get("uid", "")) if ev.prev is not None else None
        if ev.type == "DELETED" or pod is None:
            if ev.prev is not None and self.cache.remove_pod(ev.prev["metadata"].get("uid", "")) is not None:
                self._room_freed()
            self.unschedulable.pop((ev.cluster, ev.namespace, ev.name), None)
            return ()
        uid = pod["metadata"].get("uid", "")
        if _assigned(pod):
            info = _pod_info(pod)
            if prev is not None and (prev.labels != info.labels or prev.node != info.node):
                self._room_freed()
            self.cache.add_pod(info)
            return ()
        if uid in self.cache.pods and (pod.get("spec") or {}).get("nodeName"):
            self.cache.remove_pod(uid)  # finished: its node has room again
            self._room_freed()
            return ()
        if self._wants(pod):
            return ((ev.cluster, ev.namespace, ev.name),)
        return ()

    @staticmethod
    def _wants(pod: Obj) -> bool:
        spec = pod.get("spec") or {}
        return (not spec.get("nodeName") and not pod["metadata"].get("deletionTimestamp")
                and (spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME
                and not spec.get("schedulingGates")
                and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))

    def _room_freed(self) -> None:
        self.freed += 1
        if self.unschedulable and not self._retry_scheduled and self.manager is not None:
            self._retry_scheduled = True
            try:
                asyncio.get_running_loop().call_later(0.05, self._retry_unschedulable)
            except RuntimeError:
                self._retry_scheduled = False

    def _retry_unschedulable(self) -> None:
        self._retry_scheduled = False
        if self.manager is None:
            return
        for key in list(self.unschedulable):
            self.manager.enqueue(self, key)

    # -- one decision -------------------------------------------------------------------------------

    async def reconcile(self, key: Key) -> None:
        cluster, ns, name = key
        if cluster != HOST_CLUSTER:
            return
        self.prime()
        pod = self.client.get(cluster, "pods", ns, name)
        if pod is None or not self._wants(pod):
            self.unschedulable.pop(key, None)
            return
        spec = pod.get("spec") or {}
        last = self.unschedulable.get(key)
        if last is not None and last[0] == self.freed and last[1] == spec:
            return  # nothing changed that could let it fit
        freed = self.freed
        node, fits = self.pick(pod)
        if node is None:
            message = self.fit_error(pod, fits)
            self.unschedulable[key] = (freed, spec, message)
            await self._unschedulable(cluster, pod, message, last[2] if last is not None else None)
            self.requeue_after(key, RETRY_UNSCHEDULABLE_SECONDS)
            return
        self.unschedulable.pop(key, None)
        info = _pod_info(pod)
        info.node = node
        self.cache.add_pod(info)  # assumed until the binding's own event confirms it
        try:
            await self._bind(cluster, pod, node)
        except ApiError as e:
            if self.cache.pods.get(info.uid) is info:
                self.cache.remove_pod(info.uid)
            if e.code in (404, 409):
                return  # deleted, or bound by someone else: its next event says which
            raise
        await self._record(cluster, pod, "Normal", "Scheduled", f"Successfully assigned {ns}/{name} to {node}")

    def pick(self, pod: Obj) -> tuple[str | None, dict[str, Fit]]:
        """The best node for `pod`, or None and why each node failed."""
        ctx = _PodContext(pod, self)
        fits: dict[str, Fit] = {}
        best: list[str] = []
        best_score = -1
        for info in self.cache.nodes.values():
            fit = ctx.filter(info)
            if fit is not None:
                fits[info.name] = fit
                continue
            score = ctx.score(info)
            if score > best_score:
                best, best_score = [info.name], score
            elif score == best_score:
                best.append(info.name)
        if not best:
            return None, fits
        return (best[0] if len(best) == 1 else self._rng.choice(best)), fits

    def fit_error(self, pod: Obj, fits: dict[str, Fit]) -> str:
        """kube's FitError message, with DefaultPreemption's (and DynamicResources') post-filter message."""
        n = len(self.cache.nodes)
        msg = f"0/{n} nodes are available:"
        counts: dict[str, int] = {}
        for fit in fits.values():
            for r in fit.reasons:
                counts[r] = counts.get(r, 0) + 1
        if counts:
            msg += " " + ", ".join(sorted(f"{v} {k}" for k, v in counts.items())) + "."
        if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
            post = "preemption: not eligible due to preemptionPolicy=Never."
        else:
            helpful = sum(1 for f in fits.values() if f.resolvable)
            hist = []
            if helpful:
                hist.append(f"{helpful} No preemption victims found for incoming pod")
            if n - helpful:
                hist.append(f"{n - helpful} Preemption is not helpful for scheduling")
            post = f"preemption: 0/{n} nodes are available: {', '.join(sorted(hist))}."
        return f"{msg} no new claims to deallocate, {post}"

    # -- writes -------------------------------------------------------------------------------------

    async def _bind(self, cluster_name: str, pod: Obj, node: str) -> None:
        cluster = self.client.clusters.get(cluster_name)
        if cluster is None:
            raise ApiError(404, "NotFound", f'cluster "{cluster_name}" not found')
        meta = pod["metadata"]
        req = Request("POST", "create", cluster, binding.pods_resource(cluster), meta["namespace"], meta["name"], "binding",
                      {"fieldManager": SCHEDULER_NAME}, {}, self.client.user)
        await binding.assign(req, self.client.registry, meta["name"], node, {"uid": meta.get("uid")})

    async def _unschedulable(self, cluster: str, pod: Obj, message: str, previous: str | None) -> None:
        cond = next((c for c in (pod.get("status") or {}).get("conditions") or () if c.get("type") == "PodScheduled"),
                    None)
        if cond is None or cond.get("status") != "False" or cond.get("message") != message:
            upd: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {
                "name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"],
                "uid": pod["metadata"].get("uid"), "resourceVersion": pod["metadata"].get("resourceVersion")},
                "status": self.client.copy(pod.get("status") or {})}
            conds = [c for c in upd["status"].get("conditions") or () if c.get("type") != "PodScheduled"]
            conds.append({"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                          "lastTransitionTime": now_rfc3339() if cond is None or cond.get("status") != "False"
                          else cond.get("lastTransitionTime"),
                          "reason": "Unschedulable", "message": message})
            upd["status"]["conditions"] = conds
            try:
                await self.client.update_status(cluster, upd)
            except ApiError as e:
                if e.code not in (404, 409):
                    raise
        if message != previous:
            await self._record(cluster, pod, "Warning", "FailedScheduling", message)

    async def _record(self, cluster: str, pod: Obj, type_: str, reason: str, message: str) -> None:
        """An Event from default-scheduler (each is new: no scan for repeats)."""
        await self.client.event(cluster, pod, type_, reason, message, component=SCHEDULER_NAME,
                                instance=SCHEDULER_NAME, count_repeats=False)


class _PodContext:
    """What one scheduling decision needs of the pod, computed once (kube's PreFilter state)."""

    def __init__(self, pod: Obj, scheduler: Scheduler) -> None:
        self.pod = pod
        spec = pod.get("spec") or {}
        self.ns = pod["metadata"].get("namespace", "")
        self.labels = pod["metadata"].get("labels") or {}
        self.tolerations = spec.get("tolerations") or []
        self.requests = pod_requests(pod)
        # kube's NodeResourcesFit reports cpu, memory, ephemeral-storage, then extended resources
        self.request_items = [(r, self.requests[r]) for r in sorted(
            self.requests, key=lambda r: (_BASIC.index(r) if r in _BASIC else len(_BASIC), r))]
        self.cache = scheduler.cache
        self.client = scheduler.client
        self.tolerates_unschedulable = tolerates(self.tolerations, UNSCHEDULABLE_TAINT)
        self._taints_ok: dict[tuple[tuple[str, str, str], ...], bool] = {}
        self.node_selector = list((spec.get("nodeSelector") or {}).items()) or None
        required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution")
        self.node_terms: list[Obj] | None = (required.get("nodeSelectorTerms") or []) if required else None
        self.affinity = [self._term(t) for t in _terms(pod, "podAffinity")]
        self.anti = [self._term(t) for t in _terms(pod, "podAntiAffinity")]
        # Topology values (per term) where existing pods match: computed once over the cache.
        self.affinity_domains = [self._domains(t) for t in self.affinity]
        self.anti_domains = [self._domains(t) for t in self.anti]
        self.existing_anti = self._existing_anti_domains()
        self.inter_pod = bool(self.affinity or self.anti or self.existing_anti)
        self.score_wants = [(k, self.requests.get(k) or default)
                            for k, default in (("cpu", DEFAULT_MILLI_CPU), ("memory", DEFAULT_MEMORY))]

    def _term(self, term: Obj) -> tuple[str, LabelSelector | None, set[str] | None, LabelSelector | None]:
        namespaces = set(term.get("namespaces") or ())
        ns_sel = _selector(term.get("namespaceSelector")) if term.get("namespaceSelector") is not None else None
        if not namespaces and ns_sel is None:
            namespaces = {self.ns}
        return (term.get("topologyKey") or HOSTNAME, _selector(term.get("labelSelector")),
                namespaces or None, ns_sel)

    def _in_namespaces(self, ns: str, namespaces: set[str] | None, ns_sel: LabelSelector | None) -> bool:
        if namespaces is not None and ns in namespaces:
            return True
        if ns_sel is None:
            return False
        if ns_sel.empty():
            return True
        obj = self.client.get(HOST_CLUSTER, "namespaces", "", ns)
        return obj is not None and ns_sel.matches(obj["metadata"].get("labels"))

    def _domains(self, term: tuple[str, LabelSelector | None, set[str] | None, LabelSelector | None]) -> set[str]:
        key, sel, namespaces, ns_sel = term
        out: set[str] = set()
        if sel is None:
            return out
        for info in self.cache.nodes.values():
            value = info.labels.get(key)
            if value is None or value in out:
                continue
            for p in info.pods.values():
                if sel.matches(p.labels) and self._in_namespaces(p.namespace, namespaces, ns_sel):
                    out.add(value)
                    break
        return out

    def _existing_anti_domains(self) -> list[tuple[str, str]]:
        """(topology key, value) pairs the incoming pod may not join: bound pods' anti-affinity matching it."""
        out = []
        for p in self.cache.anti.values():
            node = self.cache.nodes.get(p.node)
            if node is None:
                continue
            for t in p.anti_affinity:
                key = t.get("topologyKey") or HOSTNAME
                sel = _selector(t.get("labelSelector"))
                namespaces = set(t.get("namespaces") or ())
                ns_sel = _selector(t.get("namespaceSelector")) if t.get("namespaceSelector") is not None else None
                if not namespaces and ns_sel is None:
                    namespaces = {p.namespace}
                if sel is not None and sel.matches(self.labels) and \
                        self._in_namespaces(self.ns, namespaces or None, ns_sel) and key in node.labels:
                    out.append((key, node.labels[key]))
        return out

    def filter(self, info: NodeInfo) -> Fit | None:
        """None when the pod fits the node, else the first failing filter's reasons."""
        if info.unschedulable and not self.tolerates_unschedulable:
            return Fit([NODE_UNSCHEDULABLE], False)
        if info.taints:
            ok = self._taints_ok.get(info.taints)
            if ok is None:
                ok = self._taints_ok[info.taints] = all(
                    tolerates(self.tolerations, {"key": k, "value": v, "effect": e}) for k, v, e in info.taints)
            if not ok:
                return Fit([UNTOLERATED_TAINT], False)
        labels = info.labels
        if self.node_selector is not None:
            for k, v in self.node_selector:
                if labels.get(k) != v:
                    return Fit([NODE_AFFINITY], False)
        if self.node_terms is not None and not any(node_selector_term_matches(t, info.obj) for t in self.node_terms):
            return Fit([NODE_AFFINITY], False)
        fit = self._resources(info)
        if fit is not None:
            return fit
        if not self.inter_pod:
            return None
        for term, domains in zip(self.affinity, self.affinity_domains, strict=True):
            key, sel, namespaces, _ = term
            if labels.get(key) in domains:
                continue
            # The first pod of a group that selects itself may go anywhere its term's key exists.
            if not any(self.affinity_domains) and sel is not None and sel.matches(self.labels) \
                    and self.ns in (namespaces or {self.ns}) and key in labels:
                continue
            return Fit([POD_AFFINITY], False)
        for (key, _, _, _), domains in zip(self.anti, self.anti_domains, strict=True):
            if labels.get(key) in domains:
                return Fit([POD_ANTI_AFFINITY], True)
        for key, value in self.existing_anti:
            if labels.get(key) == value:
                return Fit([EXISTING_ANTI_AFFINITY], True)
        return None

    def _resources(self, info: NodeInfo) -> Fit | None:
        alloc, used = info.allocatable, info.requested
        reasons: list[str] | None = None
        if len(info.pods) >= alloc.get("pods", 110):
            reasons = [TOO_MANY_PODS]
        unresolvable = False
        for k, want in self.request_items:
            have = alloc.get(k, 0)
            if want > have - used.get(k, 0):
                reasons = reasons or []
                reasons.append(f"Insufficient {k}")
                unresolvable = unresolvable or want > have
        return Fit(reasons, not unresolvable) if reasons else None

    def score(self, info: NodeInfo) -> int:
        """LeastAllocated over cpu and memory (0..100), counting request-less pods as kube's defaults."""
        total = 0
        for k, want in self.score_wants:
            cap = info.allocatable.get(k, 0)
            if cap > 0:
                total += max(cap - info.nonzero.get(k, 0) - want, 0) * 100 // cap
        return total // 2
