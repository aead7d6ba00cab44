"""DaemonSet controller: one pod per eligible node of the virtual cluster.

As kube's DaemonSetsController (pkg/controller/daemon):
- a node is eligible when the pod template's nodeName, nodeSelector and required node affinity select
  it and the pod tolerates its NoSchedule and NoExecute taints (with the tolerations kube adds to
  every daemon pod); a pod already on a node only has to tolerate its NoExecute taints to stay;
- each pod is pinned to its node by a required node affinity on `metadata.name` (the scheduler,
  not this controller, binds it), and labelled with the template's `controller-revision-hash` and,
  when the set carries one, its `pod-template-generation`;
- node adds, removals, label and taint changes resync the affected sets;
- ControllerRevisions record each template; RollingUpdate replaces out-of-date pods within
  maxUnavailable, or surges up to maxSurge new pods beside old ones; OnDelete waits for the user;
- status: desiredNumberScheduled, currentNumberScheduled, numberMisscheduled, numberReady,
  numberAvailable, updatedNumberScheduled, numberUnavailable, observedGeneration.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

import orjson

from kubenest.api.errors import ApiError
from kubenest.api.selectors import LabelSelector, SelectorError
from kubenest.controllers import history, podutil
from kubenest.controllers.runtime import Controller, Key
from kubenest.store.store import Event

Obj = dict[str, Any]

COMPONENT = "daemonset-controller"
HASH_LABEL = "controller-revision-hash"  # DefaultDaemonSetUniqueLabelKey
GENERATION_LABEL = "pod-template-generation"
GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
ROLLING_UPDATE = "RollingUpdate"
BURST = 250  # kube's burstReplicas for DaemonSets: creations or deletions per sync
BACKOFF_INITIAL, BACKOFF_MAX = 1.0, 900.0  # seconds, for deleting failed pods again and again

# Taints every daemon pod tolerates (AddOrUpdateDaemonPodTolerations); the last only with hostNetwork.
DAEMON_TOLERATIONS: tuple[Obj, ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
NETWORK_UNAVAILABLE_TOLERATION: Obj = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                                       "effect": "NoSchedule"}


# -- scheduling predicates ------------------------------------------------------------------------

def _same_toleration(a: Obj, b: Obj) -> bool:
    return all(a.get(k, "") == b.get(k, "") for k in ("key", "operator", "value", "effect"))


def add_daemon_tolerations(spec: Obj) -> None:
    """Add (or replace in place) the tolerations kube gives every daemon pod."""
    wanted = list(DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(NETWORK_UNAVAILABLE_TOLERATION)
    tolerations = list(spec.get("tolerations") or ())
    for toleration in wanted:
        for i, existing in enumerate(tolerations):
            if _same_toleration(existing, toleration):
                tolerations[i] = dict(toleration)
                break
        else:
            tolerations.append(dict(toleration))
    spec["tolerations"] = tolerations


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """Toleration.ToleratesTaint: effect and key match when set; Equal compares values, Exists doesn't."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Equal":
        return bool(toleration.get("value", "") == taint.get("value", ""))
    return operator == "Exists"


def untolerated(taints: Iterable[Obj], tolerations: list[Obj], effects: tuple[str, ...]) -> bool:
    """Whether some taint with one of `effects` is tolerated by none of `tolerations`."""
    return any(t.get("effect") in effects and not any(tolerates(tol, t) for tol in tolerations) for t in taints)


def _requirement_matches(req: Obj, labels: dict[str, str]) -> bool:
    """A node selector requirement against node labels; ValueError for a malformed one."""
    key, op, values = req.get("key", ""), req.get("operator"), list(req.get("values") or ())
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt"):
        if len(values) != 1:
            raise ValueError("Gt and Lt take one value")
        bound = int(values[0])
        if key not in labels:
            return False
        try:
            have = int(labels[key])
        except ValueError:
            return False
        return have > bound if op == "Gt" else have < bound
    raise ValueError(f"{op!r} is not a valid node selector operator")


def _field_matches(req: Obj, node: Obj) -> bool:
    values = list(req.get("values") or ())
    if req.get("key") != "metadata.name" or req.get("operator") not in ("In", "NotIn") or len(values) != 1:
        raise ValueError("unsupported node field selector")
    equal = node["metadata"].get("name") == values[0]
    return equal if req.get("operator") == "In" else not equal


def term_matches(term: Obj, node: Obj) -> bool:
    """A nodeSelectorTerm: all its expressions and fields hold; an empty term selects no node."""
    exprs, fields = term.get("matchExpressions") or (), term.get("matchFields") or ()
    if not exprs and not fields:
        return False
    labels = node["metadata"].get("labels") or {}
    try:
        return all(_requirement_matches(r, labels) for r in exprs) and all(_field_matches(f, node) for f in fields)
    except ValueError:
        return False  # kube ignores terms it cannot parse


def node_affinity_matches(spec: Obj, node: Obj) -> bool:
    """The pod spec's nodeSelector and required node affinity select `node`."""
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        return True
    return any(term_matches(t, node) for t in required.get("nodeSelectorTerms") or ())


def template_spec(ds: Obj) -> Obj:
    spec: Obj = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    return spec


def should_run(node: Obj, ds: Obj) -> tuple[bool, bool]:
    """(should a new daemon pod run on the node, may an existing one keep running) (NodeShouldRunDaemonPod)."""
    spec = template_spec(ds)
    node_name = node["metadata"]["name"]
    if spec.get("nodeName") and spec["nodeName"] != node_name:
        return False, False
    if not node_affinity_matches(spec, node):
        return False, False
    probe: Obj = {"tolerations": list(spec.get("tolerations") or ()), "hostNetwork": spec.get("hostNetwork")}
    add_daemon_tolerations(probe)
    taints = (node.get("spec") or {}).get("taints") or ()
    if untolerated(taints, probe["tolerations"], ("NoSchedule", "NoExecute")):
        return False, not untolerated(taints, probe["tolerations"], ("NoExecute",))
    return True, True


def target_node(pod: Obj) -> str | None:
    """The node a daemon pod is for: its nodeName, else its node affinity's `metadata.name` (GetTargetNodeName)."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {}
    for term in required.get("nodeSelectorTerms") or ():
        for field in term.get("matchFields") or ():
            if field.get("key") == "metadata.name" and field.get("operator") == "In":
                values = field.get("values") or []
                return str(values[0]) if len(values) == 1 else None
    return None


def pin_to_node(spec: Obj, node_name: str) -> None:
    """Replace the required node affinity with one selecting only `node_name` (the rest of affinity stays)."""
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
    affinity = spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [term]}
    else:
        required["nodeSelectorTerms"] = [term]


# -- rollout arithmetic ---------------------------------------------------------------------------

def template_generation(ds: Obj) -> int | None:
    value = (ds["metadata"].get("annotations") or {}).get(GENERATION_ANNOTATION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def is_updated(pod: Obj, hash_: str, generation: int | None) -> bool:
    labels = pod["metadata"].get("labels") or {}
    generation_matches = generation is not None and labels.get(GENERATION_LABEL) == str(generation)
    return (bool(hash_) and labels.get(HASH_LABEL) == hash_) or generation_matches


def _rolling(ds: Obj) -> Obj | None:
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type") != ROLLING_UPDATE:
        return None
    rolling: Obj | None = strategy.get("rollingUpdate")
    return rolling


def surge_count(ds: Obj, desired: int) -> int:
    rolling = _rolling(ds)
    if rolling is None or rolling.get("maxSurge") is None:
        return 0
    return history.scaled_value(rolling["maxSurge"], desired, True)


def unavailable_count(ds: Obj, desired: int) -> int:
    rolling = _rolling(ds)
    if rolling is None:
        return 0
    return history.scaled_value(rolling.get("maxUnavailable", 0), desired, True)


def allows_surge(ds: Obj) -> bool:
    try:
        return surge_count(ds, 1) > 0
    except ValueError:
        return False


def oldest_first(pods: list[Obj]) -> list[Obj]:
    """podByCreationTimestampAndPhase: scheduled pods first, then by creation time and name."""
    return sorted(pods, key=lambda p: (0 if (p.get("spec") or {}).get("nodeName") else 1,
                                       p["metadata"].get("creationTimestamp", ""), p["metadata"].get("name", "")))


def find_updated_pods(pods: list[Obj], hash_: str, generation: int | None) -> tuple[Obj | None, Obj | None, bool]:
    """(new pod, old pod, ok) on one node; not ok when there are two of either (the manage loop prunes)."""
    new = old = None
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        if is_updated(pod, hash_, generation):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def status_object(old: Obj, counts: dict[str, int], observed_generation: int) -> Obj:
    """The status in Go field order with omitempty zeros left out; collisionCount and conditions kept."""
    out: Obj = {"currentNumberScheduled": counts["currentNumberScheduled"],
                "numberMisscheduled": counts["numberMisscheduled"],
                "desiredNumberScheduled": counts["desiredNumberScheduled"], "numberReady": counts["numberReady"]}
    if observed_generation:
        out["observedGeneration"] = observed_generation
    for key in ("updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
        if counts[key]:
            out[key] = counts[key]
    for key in ("collisionCount", "conditions"):
        if key in old:
            out[key] = old[key]
    return out


class _Backoff:
    """Per-key exponential delays for deleting failed pods (kube's flowcontrol.Backoff)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, ...], tuple[float, datetime.datetime]] = {}

    def in_backoff(self, key: tuple[str, ...], now: datetime.datetime) -> float | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        delay, since = entry
        return delay if (now - since).total_seconds() < delay else None

    def next(self, key: tuple[str, ...], now: datetime.datetime) -> None:
        entry = self._entries.get(key)
        if entry is None or (now - entry[1]).total_seconds() > 2 * BACKOFF_MAX:
            self._entries[key] = (BACKOFF_INITIAL, now)
        else:
            self._entries[key] = (min(entry[0] * 2, BACKOFF_MAX), now)
        # Drop long-expired entries so idle clusters keep nothing here.
        for k in [k for k, (_, t) in self._entries.items() if (now - t).total_seconds() > 2 * BACKOFF_MAX]:
            del self._entries[k]


# -- the controller --------------------------------------------------------------------------------

class DaemonSetController(Controller):
    name = "daemonset"
    primary = "daemonsets.apps"
    component = COMPONENT
    watches = ("pods", "nodes", "controllerrevisions.apps")
    kind = "DaemonSet"

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.backoff = _Backoff()

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.resource == "nodes":
            yield from self._keys_for_node(ev)
        else:
            yield from super().keys_for(ev)

    def orphan_keys(self, ev: Event) -> Iterable[Key]:
        # An orphan pod or revision: any set whose selector matches may adopt it.
        return self.selector_keys(ev, _selector)

    def _keys_for_node(self, ev: Event) -> Iterable[Key]:
        node, prev = ev.obj, ev.prev
        if ev.type == "MODIFIED" and node is not None and prev is not None:
            same_labels = node["metadata"].get("labels") == prev["metadata"].get("labels")
            same_taints = (node.get("spec") or {}).get("taints") == (prev.get("spec") or {}).get("taints")
            if same_labels and same_taints:
                return
        for ds in self.client.list(ev.cluster, self.primary):
            key = (ev.cluster, ds["metadata"].get("namespace", ""), ds["metadata"]["name"])
            if ev.type == "ADDED" and node is not None:
                if should_run(node, ds)[0]:
                    yield key
            elif ev.type == "MODIFIED" and node is not None and prev is not None:
                if should_run(node, ds) != should_run(prev, ds):
                    yield key
            else:
                yield key  # a removed node: its unscheduled pods go

    async def reconcile(self, key: Key) -> None:
        cluster, namespace, name = key
        ds = self.client.get(cluster, self.primary, namespace, name)
        if ds is None:
            return
        selector = _selector(ds)
        if selector is None:
            return
        if selector.empty():
            await self.event(cluster, ds, "Warning", "SelectingAll",
                             "This daemon set is selecting all pods. A non-empty selector is required.")
            return
        if ds["metadata"].get("deletionTimestamp"):
            return  # its pods and revisions are the garbage collector's now; status would be meaningless
        nodes = self.client.list(cluster, "nodes")
        current, old = await self.construct_history(cluster, ds, selector)
        hash_ = (current["metadata"].get("labels") or {}).get(HASH_LABEL, "")
        failure: ApiError | None = None
        try:
            await self.manage(cluster, ds, selector, nodes, hash_)
            if _rolling(ds) is not None:
                await self.rolling_update(cluster, ds, selector, nodes, hash_)
            await self.cleanup_history(cluster, ds, selector, old)
        except ApiError as e:
            failure = e
        await self.update_status(cluster, ds, selector, nodes, hash_)
        if failure is not None:
            raise failure

    # -- pods by node ------------------------------------------------------------------------------

    async def claim_pods(self, cluster: str, ds: Obj, selector: LabelSelector) -> list[Obj]:
        """Pods this set controls after adopting matching orphans and releasing owned pods that don't match."""
        uid = ds["metadata"]["uid"]
        deleting = bool(ds["metadata"].get("deletionTimestamp"))
        out = []
        for pod in self.client.list(cluster, "pods", ds["metadata"].get("namespace", "")):
            ref = podutil.controller_ref(pod)
            match = selector.matches(pod["metadata"].get("labels"))
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if match:
                    out.append(pod)
                elif not deleting:
                    await history.release(self.client, cluster, pod, uid)
            elif match and not deleting and not pod["metadata"].get("deletionTimestamp"):
                adopted = await history.adopt(self.client, cluster, ds, pod)
                if adopted is not None:
                    out.append(adopted)
        return out

    async def pods_by_node(self, cluster: str, ds: Obj, selector: LabelSelector,
                           include_deleted_terminal: bool = False) -> dict[str, list[Obj]]:
        out: dict[str, list[Obj]] = {}
        for pod in await self.claim_pods(cluster, ds, selector):
            terminal = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if not include_deleted_terminal and terminal and pod["metadata"].get("deletionTimestamp"):
                continue  # only the kubelet or pod GC has anything left to do with it
            node = target_node(pod)
            if node is not None:
                out.setdefault(node, []).append(pod)
        return out

    # -- the core loop: one pod per eligible node ------------------------------------------------------

    async def manage(self, cluster: str, ds: Obj, selector: LabelSelector, nodes: list[Obj], hash_: str) -> None:
        by_node = await self.pods_by_node(cluster, ds, selector)
        to_create: list[str] = []
        to_delete: list[Obj] = []
        for node in nodes:
            create, delete = await self.pods_should_be_on_node(cluster, node, by_node, ds, hash_)
            to_create += create
            to_delete += delete
        # Unscheduled pods for nodes that are gone: no pod GC would ever remove them.
        names = {n["metadata"]["name"] for n in nodes}
        for node_name, pods in by_node.items():
            if node_name not in names:
                to_delete += [p for p in pods if not (p.get("spec") or {}).get("nodeName")
                              and not p["metadata"].get("deletionTimestamp")]
        await self.sync_nodes(cluster, ds, to_delete, to_create, hash_)

    async def pods_should_be_on_node(self, cluster: str, node: Obj, by_node: dict[str, list[Obj]], ds: Obj,
                                     hash_: str) -> tuple[list[str], list[Obj]]:
        """(nodes needing a pod, pods to delete) for one node (podsShouldBeOnNode)."""
        run, keep = should_run(node, ds)
        node_name = node["metadata"]["name"]
        pods = by_node.get(node_name)
        if run and not pods:
            return [node_name], []
        to_delete: list[Obj] = []
        if keep:
            running = []
            for pod in pods or ():
                if pod["metadata"].get("deletionTimestamp"):
                    continue
                pod_phase = (pod.get("status") or {}).get("phase")
                if pod_phase == "Failed":
                    if await self._failed_pod_allowed(cluster, ds, node_name, pod):
                        to_delete.append(pod)
                elif pod_phase == "Succeeded":
                    await self.event(cluster, ds, "Normal", "SucceededDaemonPod",
                                     f"Found succeeded daemon pod {pod['metadata'].get('namespace', '')}/"
                                     f"{pod['metadata']['name']} on node {node_name}, will try to delete it")
                    to_delete.append(pod)
                else:
                    running.append(pod)
            if not allows_surge(ds):
                # Without surge, one pod per node: the oldest stays.
                to_delete += oldest_first(running)[1:]
                return [], to_delete
            if len(running) <= 1:
                return ([node_name] if not running and run else []), to_delete
            return [], to_delete + self._surge_excess(ds, running, hash_)
        if pods:
            to_delete += [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        return [], to_delete

    def _surge_excess(self, ds: Obj, running: list[Obj], hash_: str) -> list[Obj]:
        """With surge, keep the oldest new pod and the oldest old one until the new one is available."""
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds", 0) or 0)
        excess: list[Obj] = []
        oldest_new = oldest_old = None
        for pod in oldest_first(running):
            if (pod["metadata"].get("labels") or {}).get(HASH_LABEL) == hash_:
                if oldest_new is None:
                    oldest_new = pod
                    continue
            elif oldest_old is None:
                oldest_old = pod
                continue
            excess.append(pod)
        if oldest_new is not None and oldest_old is not None:
            if not podutil.is_ready(oldest_old) or podutil.is_available(oldest_new, min_ready, podutil.utcnow()):
                excess.append(oldest_old)
        return excess

    async def _failed_pod_allowed(self, cluster: str, ds: Obj, node_name: str, pod: Obj) -> bool:
        """Whether a failed pod may be deleted now; repeated failures on a node back off exponentially."""
        key = (cluster, ds["metadata"]["uid"], str((ds.get("status") or {}).get("observedGeneration", 0)), node_name)
        now = podutil.utcnow()
        delay = self.backoff.in_backoff(key, now)
        if delay is not None:
            self.requeue_after((cluster, ds["metadata"].get("namespace", ""), ds["metadata"]["name"]), delay)
            return False
        self.backoff.next(key, now)
        await self.event(cluster, ds, "Warning", "FailedDaemonPod",
                         f"Found failed daemon pod {pod['metadata'].get('namespace', '')}/{pod['metadata']['name']}"
                         f" on node {node_name}, will try to kill it")
        return True

    def pod_template(self, ds: Obj, hash_: str) -> Obj:
        """CreatePodTemplate: the set's template with daemon tolerations, generation and hash labels."""
        template: Obj = orjson.loads(orjson.dumps((ds.get("spec") or {}).get("template") or {}))
        add_daemon_tolerations(template.setdefault("spec", {}))
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        generation = template_generation(ds)
        if generation is not None:
            labels[GENERATION_LABEL] = str(generation)
        if hash_:
            labels[HASH_LABEL] = hash_
        return template

    async def sync_nodes(self, cluster: str, ds: Obj, to_delete: list[Obj], to_create: list[str], hash_: str) -> None:
        """Create pods on nodes in slow-start batches (1, 2, 4, ...), then delete pods; errors raised together."""
        errors: list[str] = []
        template = self.pod_template(ds, hash_)
        nodes = to_create[:BURST]
        pos, batch = 0, 1
        while pos < len(nodes):
            chunk = nodes[pos:pos + batch]
            failed = False
            for node_name in chunk:
                message = await self.create_pod(cluster, ds, template, node_name)
                if message is not None:
                    errors.append(message)
                    failed = True
            pos += len(chunk)
            batch *= 2
            if failed:
                break  # the rest would likely fail the same way; the next sync retries
        for pod in to_delete[:BURST]:
            try:
                await self.client.delete(cluster, pod)
            except ApiError as e:
                await self.event(cluster, ds, "Warning", "FailedDelete", f"Error deleting: {e.message}")
                errors.append(e.message)
                continue
            await self.event(cluster, ds, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
        if errors:
            raise ApiError(500, "InternalError", errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")

    async def create_pod(self, cluster: str, ds: Obj, template: Obj, node_name: str) -> str | None:
        """Create one daemon pod for `node_name`; the error message when it failed."""
        pod = podutil.pod_from_template(ds, template, f"{ds['metadata']['name']}-")
        pin_to_node(pod["spec"], node_name)
        try:
            made = await self.client.create(cluster, pod)
        except ApiError as e:
            if _namespace_terminating(e):
                return None  # every later creation fails the same way; nothing to retry
            await self.event(cluster, ds, "Warning", "FailedCreate", f"Error creating: {e.message}")
            return e.message
        await self.event(cluster, ds, "Normal", "SuccessfulCreate", f"Created pod: {made['metadata']['name']}")
        return None

    # -- rolling update ----------------------------------------------------------------------------

    async def rolling_update(self, cluster: str, ds: Obj, selector: LabelSelector, nodes: list[Obj],
                             hash_: str) -> None:
        """Delete old pods within maxUnavailable, or create surge pods within maxSurge (rollingUpdate)."""
        by_node = await self.pods_by_node(cluster, ds, selector)
        desired = 0
        for node in nodes:
            if should_run(node, ds)[0]:
                desired += 1
                by_node.setdefault(node["metadata"]["name"], [])
        try:
            max_unavailable = unavailable_count(ds, desired)
            max_surge = surge_count(ds, desired)
        except ValueError as e:
            raise ApiError(500, "InternalError", f"couldn't get unavailable numbers: {e}") from e
        if desired > 0 and max_unavailable == 0 and max_surge == 0:
            max_unavailable = 1  # an impossible configuration falls back to kube's default
        generation = template_generation(ds)
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds", 0) or 0)
        now = podutil.utcnow()

        def available(pod: Obj) -> bool:
            return podutil.is_available(pod, min_ready, now)

        if max_surge == 0:
            unavailable, replace, candidates = 0, [], []
            for pods in by_node.values():
                new, old, ok = find_updated_pods(pods, hash_, generation)
                if not ok or (old is None) == (new is None):
                    unavailable += 1  # the manage loop creates or prunes here
                elif new is not None:
                    unavailable += not available(new)
                elif old is not None and not available(old):
                    replace.append(old)
                    unavailable += 1
                elif old is not None and unavailable < max_unavailable:
                    candidates.append(old)
            room = min(max(max_unavailable - unavailable, 0), len(candidates))
            await self.sync_nodes(cluster, ds, replace + candidates[:room], [], hash_)
            return

        nodes_by_name = {n["metadata"]["name"]: n for n in nodes}
        to_delete: list[Obj] = []
        not_run_delete: list[Obj] = []
        candidate_nodes: list[str] = []
        allowed_nodes: list[str] = []
        surged = available_count = 0
        for node_name, pods in by_node.items():
            new, old, ok = find_updated_pods(pods, hash_, generation)
            if not ok:
                surged += 1
                continue
            if old is not None:
                available_count += available(old)
            elif new is not None:
                available_count += available(new)
            if old is None:
                continue
            target = nodes_by_name.get(node_name)
            runs_here = target is not None and should_run(target, ds)[0]
            if new is None:
                if not available(old):
                    if not runs_here:
                        to_delete.append(old)
                        continue
                    allowed_nodes.append(node_name)
                elif not runs_here:
                    not_run_delete.append(old)
                elif surged < max_surge:
                    candidate_nodes.append(node_name)
            elif not available(new):
                surged += 1
            else:
                to_delete.append(old)
        # Pods on nodes the set left go only while enough pods elsewhere are available.
        deletable = min(max(available_count - desired, 0), len(not_run_delete))
        to_delete += not_run_delete[:deletable]
        room = min(max(max_surge - surged, 0), len(candidate_nodes))
        await self.sync_nodes(cluster, ds, to_delete, allowed_nodes + candidate_nodes[:room], hash_)

    # -- history -----------------------------------------------------------------------------------

    async def construct_history(self, cluster: str, ds: Obj, selector: LabelSelector) -> tuple[Obj, list[Obj]]:
        """The revision matching the current template (created or renumbered as needed) and the others."""
        current: list[Obj] = []
        old: list[Obj] = []
        patch = history.template_patch(ds)
        for rev in await history.claim_revisions(self.client, cluster, ds, selector):
            if HASH_LABEL not in (rev["metadata"].get("labels") or {}):
                upd = self.client.copy(rev)
                upd["metadata"].setdefault("labels", {})[HASH_LABEL] = upd["metadata"]["name"]
                rev = await self.client.update(cluster, upd)
            (current if history.data_bytes(rev) == patch else old).append(rev)
        number = max((int(r.get("revision", 0)) for r in old), default=0) + 1
        if not current:
            return await self.snapshot(cluster, ds, number), old
        cur = await self.dedup_current(cluster, ds, selector, current)
        if int(cur.get("revision", 0)) < number:
            cur = await history.renumber(self.client, cluster, cur, number)
        return cur, old

    async def snapshot(self, cluster: str, ds: Obj, number: int) -> Obj:
        """Record the current template as revision `number`; a hash collision bumps status.collisionCount."""
        collisions = (ds.get("status") or {}).get("collisionCount")
        template = (ds.get("spec") or {}).get("template") or {}
        hash_ = history.template_hash(template, collisions)
        labels = dict((template.get("metadata") or {}).get("labels") or {}, **{HASH_LABEL: hash_})
        meta: Obj = {"name": f"{ds['metadata']['name']}-{hash_}", "namespace": ds["metadata"].get("namespace", ""),
                     "labels": labels, "ownerReferences": [podutil.owner_reference(ds)]}
        if ds["metadata"].get("annotations"):
            meta["annotations"] = dict(ds["metadata"]["annotations"])
        revision = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta,
                    "data": orjson.loads(history.template_patch(ds)), "revision": number}
        try:
            created: Obj = await self.client.create(cluster, revision)
            return created
        except ApiError as e:
            if e.code != 409:
                raise
            existing = self.client.get(cluster, history.REVISION_RESOURCE, meta["namespace"], meta["name"])
            if existing is not None and history.data_bytes(existing) == history.template_patch(ds):
                return existing
            upd = self.client.copy(ds)
            status = upd.setdefault("status", {})
            status["collisionCount"] = int(status.get("collisionCount", 0) or 0) + 1
            await self.client.update_status(cluster, upd)
            raise  # retried with the new count

    async def dedup_current(self, cluster: str, ds: Obj, selector: LabelSelector, current: list[Obj]) -> Obj:
        """Keep the newest of several revisions with the current template, relabelling pods onto it."""
        if len(current) == 1:
            return current[0]
        keep = current[0]
        for rev in current:
            if int(rev.get("revision", 0)) >= int(keep.get("revision", 0)):
                keep = rev
        keep_hash = (keep["metadata"].get("labels") or {}).get(HASH_LABEL)
        for pod in await self.claim_pods(cluster, ds, selector):
            if (pod["metadata"].get("labels") or {}).get(HASH_LABEL) != keep_hash:
                upd = self.client.copy(pod)
                upd["metadata"].setdefault("labels", {})[HASH_LABEL] = keep_hash
                await self.client.update(cluster, upd)
        for rev in current:
            if rev["metadata"]["name"] != keep["metadata"]["name"]:
                await history.delete_revision(self.client, cluster, rev)
        return keep

    async def cleanup_history(self, cluster: str, ds: Obj, selector: LabelSelector, old: list[Obj]) -> None:
        """Delete the oldest revisions no pod still uses beyond revisionHistoryLimit."""
        limit = (ds.get("spec") or {}).get("revisionHistoryLimit")
        excess = len(old) - (10 if limit is None else int(limit))
        if excess <= 0:
            return
        by_node = await self.pods_by_node(cluster, ds, selector, include_deleted_terminal=True)
        live = {(p["metadata"].get("labels") or {}).get(HASH_LABEL) for pods in by_node.values() for p in pods}
        for rev in sorted(old, key=lambda r: int(r.get("revision", 0))):
            if excess <= 0:
                break
            if (rev["metadata"].get("labels") or {}).get(HASH_LABEL) in live:
                continue
            await history.delete_revision(self.client, cluster, rev)
            excess -= 1

    # -- status ------------------------------------------------------------------------------------

    async def update_status(self, cluster: str, ds: Obj, selector: LabelSelector, nodes: list[Obj],
                            hash_: str) -> None:
        by_node = await self.pods_by_node(cluster, ds, selector)
        counts = dict.fromkeys(("desiredNumberScheduled", "currentNumberScheduled", "numberMisscheduled",
                                "numberReady", "updatedNumberScheduled", "numberAvailable"), 0)
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds", 0) or 0)
        generation = template_generation(ds)
        now = podutil.utcnow()
        for node in nodes:
            pods = by_node.get(node["metadata"]["name"]) or []
            if not should_run(node, ds)[0]:
                counts["numberMisscheduled"] += bool(pods)
                continue
            counts["desiredNumberScheduled"] += 1
            if not pods:
                continue
            counts["currentNumberScheduled"] += 1
            pod = oldest_first(pods)[0]
            if podutil.is_ready(pod):
                counts["numberReady"] += 1
                counts["numberAvailable"] += podutil.is_available(pod, min_ready, now)
            counts["updatedNumberScheduled"] += is_updated(pod, hash_, generation)
        counts["numberUnavailable"] = counts["desiredNumberScheduled"] - counts["numberAvailable"]
        old = ds.get("status") or {}
        generation_seen = int(ds["metadata"].get("generation", 0) or 0)
        unchanged = all(int(old.get(k, 0) or 0) == v for k, v in counts.items())
        if not unchanged or int(old.get("observedGeneration", 0) or 0) < generation_seen:
            upd = self.client.copy(ds)
            upd["status"] = status_object(old, counts, generation_seen)
            await self.client.update_status(cluster, upd)
        if min_ready > 0 and counts["numberReady"] != counts["numberAvailable"]:
            # Pods become available by the clock alone: look again once they may have.
            self.requeue_after((cluster, ds["metadata"].get("namespace", ""), ds["metadata"]["name"]), min_ready)


def _selector(ds: Obj) -> LabelSelector | None:
    try:
        return podutil.selector_of(ds)
    except SelectorError:
        return None


def _namespace_terminating(e: ApiError) -> bool:
    causes = (e.details or {}).get("causes") or []
    return any(c.get("reason") == "NamespaceTerminating" for c in causes)
