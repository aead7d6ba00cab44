"""ReplicaSet controller: keep `spec.replicas` active pods matching the selector, report status.

As kube's ReplicaSetController: adopt orphan pods that match, release owned pods that no longer
match, create missing pods from the template (in batches that grow 1, 2, 4, ... on success),
delete surplus pods (not-yet-running and not-ready first, newest first), and write
replicas/fullyLabeledReplicas/readyReplicas/availableReplicas/observedGeneration.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubenest.api.clusters import now_rfc3339
from kubenest.api.errors import ApiError
from kubenest.controllers import podutil
from kubenest.controllers.runtime import Controller, Key
from kubenest.store.store import Event

Obj = dict[str, Any]
BURST = 500  # kube's burstReplicas: at most this many creations or deletions per sync
COMPONENT = "replicaset-controller"



class ReplicaSetController(Controller):
    name = "replicaset"
    primary = "replicasets.apps"
    component = COMPONENT
    watches = ("pods",)
    kind = "ReplicaSet"

    def orphan_keys(self, ev: Event) -> Iterable[Key]:
        # An orphan pod: any ReplicaSet whose selector matches may adopt it.
        return self.selector_keys(ev, podutil.selector_of)

    async def reconcile(self, key: Key) -> None:
        cluster, namespace, name = key
        rs = self.client.get(cluster, self.primary, namespace, name)
        if rs is None:
            return
        pods = await self.claim_pods(cluster, rs)
        active = [p for p in pods if podutil.is_active(p)]
        spec = rs.get("spec") or {}
        want = int(spec.get("replicas", 1))
        failure: str | None = None
        if not rs["metadata"].get("deletionTimestamp"):
            diff = len(active) - want
            try:
                if diff < 0:
                    await self.create_pods(cluster, rs, min(-diff, BURST))
                elif diff > 0:
                    await self.delete_pods(cluster, rs, active, min(diff, BURST))
            except ApiError as e:
                failure = e.message
            pods = podutil.owned_pods(self.client, cluster, rs)
        await self.update_status(cluster, rs, pods, failure)

    async def claim_pods(self, cluster: str, rs: Obj) -> list[Obj]:
        """Pods this ReplicaSet controls after adopting matching orphans and releasing non-matching ones."""
        sel = podutil.selector_of(rs)
        uid = rs["metadata"]["uid"]
        out = []
        for pod in self.client.list(cluster, "pods", rs["metadata"].get("namespace", "")):
            ref = podutil.controller_ref(pod)
            labels = pod["metadata"].get("labels") or {}
            matches = sel is not None and not sel.empty() and sel.matches(labels)
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if not matches and not rs["metadata"].get("deletionTimestamp"):
                    await podutil.release(self.client, cluster, pod, uid)
                    continue
                out.append(pod)
            elif matches and not rs["metadata"].get("deletionTimestamp") and not pod["metadata"].get(
                    "deletionTimestamp"):
                adopted = await podutil.adopt(self.client, cluster, rs, pod)
                if adopted is not None:
                    out.append(adopted)
        return out

    def pod_labels(self, rs: Obj) -> dict[str, str]:
        return {}

    async def create_pods(self, cluster: str, rs: Obj, count: int) -> None:
        """Create `count` pods in slow-start batches (1, 2, 4, ...), stopping at the first failure."""
        template = (rs.get("spec") or {}).get("template") or {}
        batch, created = 1, 0
        while created < count:
            n = min(batch, count - created)
            for _ in range(n):
                pod = podutil.pod_from_template(rs, template, f"{rs['metadata']['name']}-", self.pod_labels(rs))
                try:
                    made = await self.client.create(cluster, pod)
                except ApiError as e:
                    await self.event(cluster, rs, "Warning", "FailedCreate", f"Error creating: {e.message}")
                    raise
                await self.event(cluster, rs, "Normal", "SuccessfulCreate", f"Created pod: {made['metadata']['name']}")
            created += n
            batch *= 2

    async def delete_pods(self, cluster: str, rs: Obj, active: list[Obj], count: int) -> None:
        for pod in sorted(active, key=_deletion_rank)[:count]:
            await self.client.delete(cluster, pod)
            await self.event(cluster, rs, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")

    async def update_status(self, cluster: str, rs: Obj, pods: list[Obj], failure: str | None) -> None:
        spec = rs.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds", 0) or 0)
        now = podutil.utcnow()
        active = [p for p in pods if podutil.is_active(p)]
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        status: Obj = dict(rs.get("status") or {})
        status["replicas"] = len(active)
        status["fullyLabeledReplicas"] = sum(
            1 for p in active if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in template_labels.items()))
        status["readyReplicas"] = sum(1 for p in active if podutil.is_ready(p))
        status["availableReplicas"] = sum(1 for p in active if podutil.is_available(p, min_ready, now))
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        # kube reports terminatingReplicas (0 included) from 1.35, when the feature is on by default.
        if self.minor(cluster) >= 35:
            status["terminatingReplicas"] = sum(1 for p in pods if p["metadata"].get("deletionTimestamp"))
        else:
            status.pop("terminatingReplicas", None)
        for k in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
            if not status[k]:
                del status[k]
        if failure:
            podutil.set_condition(status, {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                           "message": failure, "lastTransitionTime": now_rfc3339()})
        else:
            status["conditions"] = [c for c in status.get("conditions") or () if c.get("type") != "ReplicaFailure"]
            if not status["conditions"]:
                del status["conditions"]
        if status == (rs.get("status") or {}):
            return
        upd = self.client.copy(rs)
        upd["status"] = status
        await self.client.update_status(cluster, upd)
        if min_ready and status.get("readyReplicas", 0) != status.get("availableReplicas", 0):
            self.requeue_after((cluster, rs["metadata"].get("namespace", ""), rs["metadata"]["name"]), min_ready)


def _deletion_rank(pod: Obj) -> tuple[int, int, int, str]:
    """kube's ActivePods ordering: unscheduled, pending, not ready, then newest first."""
    status = pod.get("status") or {}
    scheduled = 1 if (pod.get("spec") or {}).get("nodeName") else 0
    phase = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase", "Pending"), 0)
    ready = 1 if podutil.is_ready(pod) else 0
    created = pod["metadata"].get("creationTimestamp", "")
    # Newest first: digits mapped to their complement make a later timestamp sort earlier.
    return (scheduled, phase, ready, created.translate(_NEWEST_FIRST))


_NEWEST_FIRST = str.maketrans("0123456789", "9876543210")

