"""StatefulSet controller: pods with stable names and storage, created and updated in order.

As kube's StatefulSetController (pkg/controller/statefulset):
- pods `<set>-<ordinal>` labelled `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index`
  and `controller-revision-hash` (the revision's name), hostname and subdomain from `serviceName`;
- OrderedReady creates ordinal i+1 only once i is Running and Ready and removes surplus pods from the
  highest ordinal down, one at a time; Parallel creates and deletes without waiting;
- one PersistentVolumeClaim `<claim>-<set>-<ordinal>` per volumeClaimTemplate, made before the pod,
  owned by the set and/or the pod as `persistentVolumeClaimRetentionPolicy` says, so the garbage
  collector removes it on set deletion or scale-down;
- ControllerRevisions record each pod template; RollingUpdate replaces pods from the highest ordinal
  down to the partition, at most maxUnavailable at a time, waiting for readiness; OnDelete only
  uses the new template for pods the user deleted;
- status: replicas, readyReplicas, currentReplicas, updatedReplicas, availableReplicas,
  currentRevision, updateRevision, observedGeneration, collisionCount.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from kubenest.api.errors import ApiError
from kubenest.api.selectors import LabelSelector, SelectorError
from kubenest.controllers import history, podutil
from kubenest.controllers.runtime import Controller, Key
from kubenest.store.store import Event

Obj = dict[str, Any]

COMPONENT = "statefulset-controller"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
PARALLEL = "Parallel"
ROLLING_UPDATE = "RollingUpdate"
ON_DELETE = "OnDelete"
RETAIN = "Retain"
DELETE = "Delete"
MAX_BATCH = 500  # kube's MaxBatchSize for Parallel pod management
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


class SyncError(Exception):
    """A create, update or delete failed; the set's status is still written, then the sync retried."""

    def __init__(self, message: str, status: Obj) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _clone(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


# -- pure helpers over one set ---------------------------------------------------------------------

def parent_and_ordinal(pod: Obj) -> tuple[str, int]:
    """The set name and ordinal in a pod's name; ("", -1) when it has none (getParentNameAndOrdinal)."""
    m = _ORDINAL.match(pod["metadata"].get("name", ""))
    if m is None:
        return "", -1
    ordinal = int(m.group(2))
    return m.group(1), ordinal if ordinal < 2**31 else -1


def ordinal_of(pod: Obj) -> int:
    return parent_and_ordinal(pod)[1]


def spec_of(obj: Obj) -> Obj:
    spec: Obj = obj.get("spec") or {}
    return spec


def replicas_of(sts: Obj) -> int:
    value = spec_of(sts).get("replicas")
    return 1 if value is None else int(value)


def start_ordinal(sts: Obj) -> int:
    return int((spec_of(sts).get("ordinals") or {}).get("start", 0) or 0)


def in_ordinal_range(pod: Obj, sts: Obj) -> bool:
    ordinal = ordinal_of(pod)
    start = start_ordinal(sts)
    return start <= ordinal <= start + replicas_of(sts) - 1


def pod_name(sts: Obj, ordinal: int) -> str:
    return f"{sts['metadata']['name']}-{ordinal}"


def claim_name(sts: Obj, template: Obj, ordinal: int) -> str:
    return f"{(template.get('metadata') or {}).get('name', '')}-{sts['metadata']['name']}-{ordinal}"


def is_member(sts: Obj, pod: Obj) -> bool:
    return parent_and_ordinal(pod)[0] == sts["metadata"]["name"]


def revision_of(pod: Obj) -> str:
    return str((pod["metadata"].get("labels") or {}).get(REVISION_LABEL, ""))


def phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_created(pod: Obj) -> bool:
    """Created pods have a phase; the pods this controller is about to create have none."""
    return phase(pod) != ""


def is_terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def is_running_and_ready(pod: Obj) -> bool:
    return phase(pod) == "Running" and podutil.is_ready(pod)


def is_running_and_available(pod: Obj, min_ready: int) -> bool:
    return podutil.is_available(pod, min_ready, podutil.utcnow())


def is_unavailable(pod: Obj, min_ready: int) -> bool:
    healthy = is_running_and_ready(pod) and not is_terminating(pod)
    return not healthy or not is_running_and_available(pod, min_ready)


def retention_policy(sts: Obj) -> tuple[str, str]:
    """(whenDeleted, whenScaled); Retain for both when the set names none."""
    policy = spec_of(sts).get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenDeleted") or RETAIN, policy.get("whenScaled") or RETAIN


def identity_matches(sts: Obj, pod: Obj) -> bool:
    parent, ordinal = parent_and_ordinal(pod)
    meta = pod["metadata"]
    return (ordinal >= 0 and parent == sts["metadata"]["name"] and meta.get("name") == pod_name(sts, ordinal)
            and meta.get("namespace", "") == sts["metadata"].get("namespace", "")
            and (meta.get("labels") or {}).get(POD_NAME_LABEL) == meta.get("name"))


def storage_matches(sts: Obj, pod: Obj) -> bool:
    ordinal = ordinal_of(pod)
    if ordinal < 0:
        return False
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or ()}
    for template in spec_of(sts).get("volumeClaimTemplates") or ():
        volume = volumes.get((template.get("metadata") or {}).get("name"))
        source = (volume or {}).get("persistentVolumeClaim")
        if not source or source.get("claimName") != claim_name(sts, template, ordinal):
            return False
    return True


def claims_for(sts: Obj, ordinal: int) -> list[tuple[str, Obj]]:
    """(template name, claim to create) for each volumeClaimTemplate, as getPersistentVolumeClaims."""
    selector_labels = (spec_of(sts).get("selector") or {}).get("matchLabels") or {}
    out = []
    for template in spec_of(sts).get("volumeClaimTemplates") or ():
        tmeta = template.get("metadata") or {}
        meta = _clone(tmeta)
        meta["name"] = claim_name(sts, template, ordinal)
        meta["namespace"] = sts["metadata"].get("namespace", "")
        meta["labels"] = dict(meta.get("labels") or {}, **selector_labels)
        claim: Obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                      "spec": _clone(template.get("spec") or {})}
        out.append((str(tmeta.get("name", "")), claim))
    return out


def update_identity(sts: Obj, pod: Obj) -> None:
    ordinal = ordinal_of(pod)
    meta = pod["metadata"]
    meta["name"] = pod_name(sts, ordinal)
    meta["namespace"] = sts["metadata"].get("namespace", "")
    labels = meta.setdefault("labels", {})
    labels[POD_NAME_LABEL] = meta["name"]
    labels[POD_INDEX_LABEL] = str(ordinal)


def update_storage(sts: Obj, pod: Obj) -> None:
    """Point the pod's volumes at its claims, keeping its other volumes after them."""
    claims = claims_for(sts, ordinal_of(pod))
    names = {name for name, _ in claims}
    spec = pod.setdefault("spec", {})
    volumes = [{"name": name, "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}}
               for name, claim in claims]
    volumes += [v for v in spec.get("volumes") or () if v.get("name") not in names]
    if volumes:
        spec["volumes"] = volumes


def new_pod(sts: Obj, ordinal: int) -> Obj:
    """newStatefulSetPod: the template's pod with the ordinal's identity and storage."""
    template = spec_of(sts).get("template") or {}
    pod = podutil.pod_from_template(sts, template, f"{sts['metadata']['name']}-")
    pod["metadata"]["name"] = pod_name(sts, ordinal)
    update_identity(sts, pod)
    # Hostname and subdomain are set on creation only: they are immutable afterwards.
    pod["spec"]["hostname"] = pod["metadata"]["name"]
    if spec_of(sts).get("serviceName"):
        pod["spec"]["subdomain"] = spec_of(sts)["serviceName"]
    update_storage(sts, pod)
    return pod


def new_versioned_pod(current_set: Obj, update_set: Obj, current_rev: str, update_rev: str, ordinal: int) -> Obj:
    """A missing pod at the current revision when below the partition, else at the update revision."""
    strategy = spec_of(current_set).get("updateStrategy") or {}
    rolling = strategy.get("rollingUpdate")
    start = start_ordinal(current_set)
    current_replicas = int((current_set.get("status") or {}).get("currentReplicas", 0) or 0)
    below = ((strategy.get("type") == ROLLING_UPDATE and rolling is None and ordinal < start + current_replicas)
             or (rolling is not None and ordinal < start + int(rolling.get("partition", 0) or 0)))
    sts, revision = (current_set, current_rev) if below else (update_set, update_rev)
    pod = new_pod(sts, ordinal)
    pod["metadata"]["labels"][REVISION_LABEL] = revision
    return pod


def has_owner_ref(obj: Obj, owner: Obj) -> bool:
    uid = owner["metadata"].get("uid")
    return any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or ())


def _matches_ref(ref: Obj, owner: Obj, api_version: str, kind: str) -> bool:
    return (ref.get("apiVersion") == api_version and ref.get("kind") == kind
            and ref.get("name") == owner["metadata"].get("name"))


def _stale_ref(claim: Obj, owner: Obj, api_version: str, kind: str) -> bool:
    for ref in claim["metadata"].get("ownerReferences") or ():
        if _matches_ref(ref, owner, api_version, kind):
            return bool(ref.get("uid") != owner["metadata"].get("uid"))
    return False


def _unexpected_controller(claim: Obj, sts: Obj, pod: Obj) -> bool:
    """Another controller owns the claim (or a stale set/pod of the same name does)."""
    if retention_policy(sts) == (RETAIN, RETAIN):
        return False
    for ref in claim["metadata"].get("ownerReferences") or ():
        if _matches_ref(ref, sts, "apps/v1", "StatefulSet"):
            if ref.get("uid") != sts["metadata"].get("uid"):
                return True
            continue
        if _matches_ref(ref, pod, "v1", "Pod"):
            if ref.get("uid") != pod["metadata"].get("uid"):
                return True
            continue
        if ref.get("controller"):
            return True
    return False


def claim_owner_up_to_date(claim: Obj, sts: Obj, pod: Obj) -> bool:
    """Whether the claim's owners follow the retention policy (isClaimOwnerUpToDate).

    Retain/Retain: no owner; whenDeleted=Delete: owned by the set; whenScaled=Delete: owned by the pod
    once the pod is beyond the replica count (and by the set until then when both are Delete).
    """
    if _stale_ref(claim, sts, "apps/v1", "StatefulSet") or _stale_ref(claim, pod, "v1", "Pod"):
        return True
    if _unexpected_controller(claim, sts, pod):
        return not (has_owner_ref(claim, sts) or has_owner_ref(claim, pod))
    uids = {sts["metadata"].get("uid"), pod["metadata"].get("uid")}
    for ref in claim["metadata"].get("ownerReferences") or ():
        if ref.get("uid") in uids and not ref.get("controller"):
            return False
    when_deleted, when_scaled = retention_policy(sts)
    scaled_down = not in_ordinal_range(pod, sts)
    if when_scaled == DELETE and when_deleted == DELETE:
        return scaled_down != has_owner_ref(claim, sts) and scaled_down == has_owner_ref(claim, pod)
    if when_scaled == DELETE:
        return not has_owner_ref(claim, sts) and scaled_down == has_owner_ref(claim, pod)
    if when_deleted == DELETE:
        return has_owner_ref(claim, sts) and not has_owner_ref(claim, pod)
    return not has_owner_ref(claim, sts) and not has_owner_ref(claim, pod)


def claim_owner_refs(claim: Obj, sts: Obj, pod: Obj) -> list[Obj]:
    """The claim's ownerReferences rewritten for the retention policy (updateClaimOwnerRefForSetAndPod)."""
    unexpected = _unexpected_controller(claim, sts, pod)
    refs = [dict(r) for r in claim["metadata"].get("ownerReferences") or ()
            if not _matches_ref(r, sts, "apps/v1", "StatefulSet") and not _matches_ref(r, pod, "v1", "Pod")]
    if unexpected:
        return refs
    when_deleted, when_scaled = retention_policy(sts)
    scaled_down = not in_ordinal_range(pod, sts)
    owners: list[Obj] = []
    if when_scaled == DELETE and scaled_down:
        owners.append(pod)
    if when_deleted == DELETE and not (when_scaled == DELETE and scaled_down):
        owners.append(sts)
    for owner in owners:
        if not any(r.get("uid") == owner["metadata"].get("uid") for r in refs):
            refs.append(podutil.owner_reference(owner))
    return refs


def compute_status(status: Obj, min_ready: int, current_rev: str, update_rev: str, pods: Iterable[Obj]) -> None:
    """Count replicas, ready, available, current and updated pods into `status` (updateStatus)."""
    counts = dict.fromkeys(("replicas", "readyReplicas", "availableReplicas", "currentReplicas",
                            "updatedReplicas"), 0)
    for pod in pods:
        if is_created(pod):
            counts["replicas"] += 1
        if is_running_and_ready(pod):
            counts["readyReplicas"] += 1
            if is_running_and_available(pod, min_ready):
                counts["availableReplicas"] += 1
        if is_created(pod) and not is_terminating(pod):
            revision = revision_of(pod)
            counts["currentReplicas"] += revision == current_rev
            counts["updatedReplicas"] += revision == update_rev
    status.update(counts)


def complete_rolling_update(sts: Obj, status: Obj) -> None:
    """Once every replica runs the update revision and is ready, it becomes the current revision."""
    want = replicas_of(sts)
    strategy = spec_of(sts).get("updateStrategy") or {}
    if (strategy.get("type") == ROLLING_UPDATE and status["updatedReplicas"] == want
            and status["readyReplicas"] == want and status["replicas"] == want):
        status["currentReplicas"] = status["updatedReplicas"]
        status["currentRevision"] = status["updateRevision"]


_STATUS_COUNTS = ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas")


def inconsistent_status(sts: Obj, status: Obj) -> bool:
    old = sts.get("status") or {}
    if int(status["observedGeneration"]) > int(old.get("observedGeneration", 0) or 0):
        return True
    if any(int(status[k]) != int(old.get(k, 0) or 0) for k in _STATUS_COUNTS):
        return True
    return any(status[k] != old.get(k, "") for k in ("currentRevision", "updateRevision"))


def status_object(status: Obj) -> Obj:
    """The status as the API returns it: Go field order, zero values of omitempty fields left out."""
    out: Obj = {}
    for key in ("observedGeneration", "replicas", "readyReplicas", "currentReplicas", "updatedReplicas",
                "currentRevision", "updateRevision", "collisionCount", "availableReplicas"):
        value = status.get(key)
        if key in ("replicas", "availableReplicas", "collisionCount"):
            out[key] = int(value or 0)
        elif value:
            out[key] = value
    return out


# -- the controller --------------------------------------------------------------------------------

@dataclass
class _Sync:
    """One sync of one set: what the pod operations need."""

    cluster: str
    sts: Obj
    update_set: Obj
    monotonic: bool
    min_ready: int


class StatefulSetController(Controller):
    name = "statefulset"
    primary = "statefulsets.apps"
    watches = ("pods",)
    kind = "StatefulSet"

    def orphan_keys(self, ev: Event) -> Iterable[Key]:
        # An orphan pod named like a set's member may be adopted by that set.
        parent, ordinal = parent_and_ordinal(ev.obj)
        if ordinal >= 0 and self.client.get(ev.cluster, self.primary, ev.namespace, parent) is not None:
            yield (ev.cluster, ev.namespace, parent)

    async def event(self, cluster: str, sts: Obj, type_: str, reason: str, message: str) -> None:
        await self.client.event(cluster, sts, type_, reason, message, component=COMPONENT)

    async def reconcile(self, key: Key) -> None:
        cluster, namespace, name = key
        sts = self.client.get(cluster, self.primary, namespace, name)
        if sts is None:
            return
        try:
            selector = podutil.selector_of(sts)
        except SelectorError:
            return
        if selector is None or selector.empty():
            return  # apps/v1 validation requires a selector; a set without one selects nothing
        await self.adopt_orphan_revisions(cluster, sts, selector)
        pods = await self.claim_pods(cluster, sts, selector)
        status = await self.update_stateful_set(cluster, sts, pods, selector)
        min_ready = int(spec_of(sts).get("minReadySeconds", 0) or 0)
        if min_ready > 0 and status["availableReplicas"] != replicas_of(sts):
            self.requeue_after(key, min_ready)

    async def adopt_orphan_revisions(self, cluster: str, sts: Obj, selector: LabelSelector) -> None:
        if sts["metadata"].get("deletionTimestamp"):
            return
        for rev in history.list_revisions(self.client, cluster, sts, selector):
            if podutil.controller_ref(rev) is None:
                await history.adopt(self.client, cluster, sts, rev)

    async def claim_pods(self, cluster: str, sts: Obj, selector: LabelSelector) -> list[Obj]:
        """Owned member pods, adopting orphan members that match and releasing owned ones that don't."""
        uid = sts["metadata"]["uid"]
        deleting = bool(sts["metadata"].get("deletionTimestamp"))
        out = []
        for pod in self.client.list(cluster, "pods", sts["metadata"].get("namespace", "")):
            ref = podutil.controller_ref(pod)
            match = selector.matches(pod["metadata"].get("labels")) and is_member(sts, pod)
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if match:
                    out.append(pod)
                elif not deleting:
                    await history.release(self.client, cluster, pod, uid)
            elif match and not deleting and not is_terminating(pod):
                adopted = await history.adopt(self.client, cluster, sts, pod)
                if adopted is not None:
                    out.append(adopted)
        return out

    async def update_stateful_set(self, cluster: str, sts: Obj, pods: list[Obj], selector: LabelSelector) -> Obj:
        """Revisions, pods and status for one set; history is trimmed even when a pod operation failed."""
        revisions = history.sorted_revisions(history.list_revisions(self.client, cluster, sts, selector))
        current, update, collisions = await self.revisions_for(cluster, sts, revisions)
        failure: SyncError | None = None
        try:
            status = await self.sync_pods(cluster, sts, current, update, collisions, pods)
        except SyncError as e:
            failure = e
            status = e.status
        await self.write_status(cluster, sts, status)
        await self.truncate_history(cluster, sts, pods, revisions, current, update)
        if failure is not None:
            raise ApiError(500, "InternalError", failure.message)
        return status

    async def revisions_for(self, cluster: str, sts: Obj, revisions: list[Obj]) -> tuple[Obj, Obj, int]:
        """The current and update revisions (creating or renumbering one for a new template) and collisions."""
        collisions = int((sts.get("status") or {}).get("collisionCount", 0) or 0)
        update = history.new_revision(sts, history.template_patch(sts), history.next_revision(revisions), collisions,
                                      sts["metadata"].get("annotations"))
        equal = history.find_equal_revisions(revisions, update)
        if equal and history.equal_revision(revisions[-1], equal[-1]):
            update = revisions[-1]  # the template has not changed
        elif equal:
            # Back to an earlier template: that revision becomes the newest again.
            update = await history.renumber(self.client, cluster, equal[-1], int(update["revision"]))
        else:
            update, collisions = await history.create_revision(self.client, cluster, sts, update, collisions)
        current_name = (sts.get("status") or {}).get("currentRevision")
        current = next((r for r in revisions if r["metadata"]["name"] == current_name), update)
        return current, update, collisions

    async def sync_pods(self, cluster: str, sts: Obj, current: Obj, update: Obj, collisions: int,
                        pods: list[Obj]) -> Obj:
        """Create, fix, delete and replace pods toward the set's spec (updateStatefulSet); the new status.

        Raises SyncError(message, status) when an operation failed.
        """
        current_set = history.apply_revision(sts, current)
        update_set = history.apply_revision(sts, update)
        current_rev, update_rev = current["metadata"]["name"], update["metadata"]["name"]
        min_ready = int(spec_of(sts).get("minReadySeconds", 0) or 0)
        status: Obj = {"observedGeneration": sts["metadata"].get("generation", 0), "currentRevision": current_rev,
                       "updateRevision": update_rev, "collisionCount": collisions}
        compute_status(status, min_ready, current_rev, update_rev, pods)

        count, start = replicas_of(sts), start_ordinal(sts)
        replicas: list[Obj | None] = [None] * count
        condemned: list[Obj] = []
        for pod in pods:
            ordinal = ordinal_of(pod)
            if in_ordinal_range(pod, sts):
                replicas[ordinal - start] = pod
            elif ordinal >= 0:
                condemned.append(pod)
        members: list[Obj] = [p if p is not None else new_versioned_pod(current_set, update_set, current_rev,
                                                                         update_rev, start + i)
                              for i, p in enumerate(replicas)]
        condemned.sort(key=ordinal_of, reverse=True)
        first_unhealthy = next((p for p in members if is_unavailable(p, min_ready)), None)
        if first_unhealthy is None:
            first_unhealthy = next((p for p in reversed(condemned) if is_unavailable(p, min_ready)), None)
        if sts["metadata"].get("deletionTimestamp"):
            return status

        sync = _Sync(cluster, sts, update_set, spec_of(sts).get("podManagementPolicy") != PARALLEL, min_ready)

        def recount() -> Obj:
            compute_status(status, min_ready, current_rev, update_rev, [*members, *condemned])
            return status

        steps: list[tuple[list[Obj], Callable[[Obj], Awaitable[bool]]]] = [
            (members, lambda p: self.process_replica(sync, p)),
            (condemned, lambda p: self.fix_claims(sync, p)),
            (condemned, lambda p: self.process_condemned(sync, p, first_unhealthy)),
        ]
        for items, step in steps:
            try:
                if await self.run_for_all(items, step, sync.monotonic):
                    return recount()
            except ApiError as e:
                raise SyncError(e.message, recount()) from e
        recount()
        if (spec_of(sts).get("updateStrategy") or {}).get("type") == ON_DELETE:
            return status
        try:
            await self.rolling_update(sync, members, update_rev, status)
        except ApiError as e:
            raise SyncError(e.message, status) from e
        return status

    @staticmethod
    async def run_for_all(items: list[Obj], step: Callable[[Obj], Awaitable[bool]], monotonic: bool) -> bool:
        """In order, stopping at the first step that blocks (OrderedReady); else in slow-start batches."""
        if monotonic:
            for item in items:
                if await step(item):
                    return True
            return False
        pos, batch = 0, 1
        while pos < len(items):
            chunk = items[pos:pos + batch]
            results = await asyncio.gather(*(step(p) for p in chunk), return_exceptions=True)
            for r in results:
                if isinstance(r, BaseException):
                    raise r
            pos += len(chunk)
            batch = min(batch * 2, MAX_BATCH)
        return False

    async def process_replica(self, sync: _Sync, pod: Obj) -> bool:
        """Bring one in-range replica to its spec; True when the sync must stop here."""
        if phase(pod) in ("Failed", "Succeeded"):
            if not is_terminating(pod):
                await self.delete_pod(sync, pod)
            return True  # the replacement comes on the next sync, once this one is gone
        if not is_created(pod):
            if await self.claims_are_stale(sync, pod):
                return True
            pod = await self.create_pod(sync, pod)
            if sync.monotonic:
                return True
        if phase(pod) == "Pending":
            await self.create_claims(sync, sync.sts, pod)
            await self.fix_claims(sync, pod)
        if sync.monotonic and (is_terminating(pod) or not is_running_and_ready(pod)
                               or not is_running_and_available(pod, sync.min_ready)):
            return True
        if not identity_matches(sync.sts, pod) or not storage_matches(sync.sts, pod):
            await self.update_pod(sync, pod)
        else:
            await self.fix_claims(sync, pod)
        return False

    async def process_condemned(self, sync: _Sync, pod: Obj, first_unhealthy: Obj | None) -> bool:
        """Remove one pod beyond the replica count; OrderedReady waits for the others to be healthy first."""
        if is_terminating(pod):
            return sync.monotonic
        if sync.monotonic and pod is not first_unhealthy and (
                not is_running_and_ready(pod) or not is_running_and_available(pod, sync.min_ready)):
            return True
        await self.delete_pod(sync, pod)
        return True

    async def rolling_update(self, sync: _Sync, members: list[Obj], update_rev: str, status: Obj) -> None:
        """Delete out-of-date pods from the highest ordinal down to the partition, maxUnavailable at a time."""
        rolling = (spec_of(sync.sts).get("updateStrategy") or {}).get("rollingUpdate") or {}
        partition = int(rolling.get("partition", 0) or 0)
        try:
            max_unavailable = max(1, history.scaled_value(rolling.get("maxUnavailable", 1), len(members), False))
        except ValueError:
            return
        unavailable = sum(1 for p in members if is_unavailable(p, sync.min_ready))
        budget = max_unavailable - unavailable
        for target in range(len(members) - 1, partition - 1, -1):
            if budget <= 0:
                break
            pod = members[target]
            if revision_of(pod) != update_rev and not is_terminating(pod):
                await self.delete_pod(sync, pod)
                budget -= 1
                status["currentReplicas"] -= 1

    # -- pod and claim operations, each recorded as an event on the set --------------------------------

    async def create_pod(self, sync: _Sync, pod: Obj) -> Obj:
        await self.create_claims(sync, sync.sts, pod, record_failure_as_pod=True)
        try:
            created = await self.client.create(sync.cluster, pod)
        except ApiError as e:
            if e.code != 409:
                await self.pod_event(sync, "create", pod, e)
            raise
        await self.fix_claims(sync, created)
        await self.pod_event(sync, "create", pod, None)
        return created

    async def update_pod(self, sync: _Sync, pod: Obj) -> None:
        upd = self.client.copy(pod)
        if not identity_matches(sync.sts, upd):
            update_identity(sync.sts, upd)
        if not storage_matches(sync.sts, upd):
            update_storage(sync.sts, upd)
            await self.create_claims(sync, sync.sts, upd)
        await self.fix_claims(sync, upd)
        try:
            await self.client.update(sync.cluster, upd)
        except ApiError as e:
            await self.pod_event(sync, "update", upd, e)
            raise
        await self.pod_event(sync, "update", upd, None)

    async def delete_pod(self, sync: _Sync, pod: Obj) -> None:
        try:
            await self.client.delete(sync.cluster, pod)
        except ApiError as e:
            await self.pod_event(sync, "delete", pod, e)
            raise
        await self.pod_event(sync, "delete", pod, None)

    async def pod_event(self, sync: _Sync, verb: str, pod: Obj, err: ApiError | None) -> None:
        name, set_name = pod["metadata"]["name"], sync.sts["metadata"]["name"]
        if err is None:
            await self.event(sync.cluster, sync.sts, "Normal", f"Successful{verb.title()}",
                             f"{verb} Pod {name} in StatefulSet {set_name} successful")
        else:
            await self.event(sync.cluster, sync.sts, "Warning", f"Failed{verb.title()}",
                             f"{verb} Pod {name} in StatefulSet {set_name} failed error: {err.message}")

    async def create_claims(self, sync: _Sync, sts: Obj, pod: Obj, record_failure_as_pod: bool = False) -> None:
        """Create the pod's missing claims (left Pending: no provisioner here); all failures are reported."""
        failures = []
        pod_name_ = pod["metadata"]["name"]
        set_name = sts["metadata"]["name"]
        for _, claim in claims_for(sts, ordinal_of(pod)):
            meta = claim["metadata"]
            existing = self.client.get(sync.cluster, "persistentvolumeclaims", meta["namespace"], meta["name"])
            if existing is not None:
                if existing["metadata"].get("deletionTimestamp"):
                    failures.append(f"pvc {meta['name']} is being deleted")
                continue
            try:
                await self.client.create(sync.cluster, claim)
            except ApiError as e:
                if e.code == 409:
                    continue
                failures.append(f"failed to create PVC {meta['name']}: {e.message}")
                await self.event(sync.cluster, sts, "Warning", "FailedCreate",
                                 f"create Claim {meta['name']} for Pod {pod_name_} in StatefulSet {set_name} "
                                 f"failed error: {e.message}")
                continue
            await self.event(sync.cluster, sts, "Normal", "SuccessfulCreate",
                             f"create Claim {meta['name']} Pod {pod_name_} in StatefulSet {set_name} success")
        if failures:
            message = failures[0] if len(failures) == 1 else "[" + ", ".join(failures) + "]"
            if record_failure_as_pod:
                await self.pod_event(sync, "create", pod, ApiError(500, "InternalError", message))
            raise ApiError(500, "InternalError", message)

    async def claims_are_stale(self, sync: _Sync, pod: Obj) -> bool:
        """A claim still owned by an earlier pod of this ordinal blocks its re-creation (PodClaimIsStale)."""
        if retention_policy(sync.sts)[1] == RETAIN:
            return False
        for _, claim in claims_for(sync.sts, ordinal_of(pod)):
            meta = claim["metadata"]
            existing = self.client.get(sync.cluster, "persistentvolumeclaims", meta["namespace"], meta["name"])
            if existing is not None and _stale_ref(existing, pod, "v1", "Pod"):
                return True
        return False

    async def fix_claims(self, sync: _Sync, pod: Obj) -> bool:
        """Set the owners of the pod's claims as the retention policy says (UpdatePodClaimForRetentionPolicy)."""
        sts = sync.update_set
        for _, claim in claims_for(sts, ordinal_of(pod)):
            meta = claim["metadata"]
            existing = self.client.get(sync.cluster, "persistentvolumeclaims", meta["namespace"], meta["name"])
            if existing is None:
                continue  # picked up on a later sync
            if _unexpected_controller(existing, sts, pod):
                await self.event(sync.cluster, sync.sts, "Warning", "ConflictingController",
                                 f"PersistentVolumeClaim {meta['name']} has a conflicting OwnerReference that "
                                 "acts as a manging controller, the retention policy is ignored for this claim")
            if claim_owner_up_to_date(existing, sts, pod):
                continue
            upd = self.client.copy(existing)
            refs = claim_owner_refs(existing, sts, pod)
            if refs:
                upd["metadata"]["ownerReferences"] = refs
            else:
                upd["metadata"].pop("ownerReferences", None)
            try:
                await self.client.update(sync.cluster, upd)
            except ApiError as e:
                raise ApiError(e.code, e.reason, f"could not update claim {meta['name']} for delete policy ownerRefs: "
                                       f"{e.message}") from e
        return False

    # -- status and history ----------------------------------------------------------------------------

    async def write_status(self, cluster: str, sts: Obj, status: Obj) -> None:
        complete_rolling_update(sts, status)
        if not inconsistent_status(sts, status):
            return
        upd = self.client.copy(sts)
        upd["status"] = status_object(status)
        await self.client.update_status(cluster, upd)

    async def truncate_history(self, cluster: str, sts: Obj, pods: list[Obj], revisions: list[Obj],
                               current: Obj, update: Obj) -> None:
        """Delete the oldest revisions no pod uses beyond revisionHistoryLimit."""
        live = {current["metadata"]["name"], update["metadata"]["name"], *(revision_of(p) for p in pods)}
        old = [r for r in revisions if r["metadata"]["name"] not in live]
        limit = spec_of(sts).get("revisionHistoryLimit")
        limit = 10 if limit is None else int(limit)
        if limit < 0 or len(old) <= limit:
            return
        for rev in old[:len(old) - limit]:
            await history.delete_revision(self.client, cluster, rev)
