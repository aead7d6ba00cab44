"""Deployment controller: roll pod templates out through ReplicaSets, as kube's DeploymentController.

A Deployment owns one ReplicaSet per pod template, named `<deployment>-<pod-template-hash>`, with the
hash added to the ReplicaSet's selector, labels and template labels. The controller only scales
ReplicaSets (the ReplicaSet controller makes the pods): RollingUpdate within maxSurge/maxUnavailable,
Recreate (old to zero, wait for their pods to go, then the new one), proportional scaling of every
ReplicaSet when the replica count changes mid-rollout, pausing, revisionHistoryLimit cleanup and the
legacy rollback annotation. Status, conditions, annotations and events are worded as kube writes them,
because `kubectl rollout status/history/undo`, `kubectl wait` and helm read them.

Pure helpers (hashing, fenceposts, proportions, revisions, conditions) sit at module level so unit
tests can call them; `DeploymentController` decides when to act.
"""

from __future__ import annotations

import datetime
import functools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from kubenest.api.clusters import now_rfc3339
from kubenest.api.errors import ApiError
from kubenest.api.names import safe_encode
from kubenest.api.selectors import LabelSelector, SelectorError, from_label_selector_object
from kubenest.controllers import podutil
from kubenest.controllers.runtime import Controller, Key
from kubenest.store.store import Event

Obj = dict[str, Any]

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Deployment annotations never copied onto its ReplicaSets (kube's annotationsToSkip).
SKIPPED_ANNOTATIONS = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO})
MAX_REV_HISTORY_CHARS = 2000
MAX_INT32 = 2**31 - 1
COMPONENT = "deployment-controller"

# Condition reasons (pkg/controller/deployment/util).
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
RS_UPDATED = "ReplicaSetUpdated"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
FAILED_RS_CREATE = "ReplicaSetCreateError"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
ROLLBACK_NOT_FOUND = "DeploymentRollbackRevisionNotFound"
ROLLBACK_UNCHANGED = "DeploymentRollbackTemplateUnchanged"
ROLLBACK_DONE = "DeploymentRollback"


# -- hashing ---------------------------------------------------------------------------------------



def fnv32a(data: bytes, h: int = 0x811C9DC5) -> int:
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def compute_hash(template: Obj, collision_count: int | None) -> str:
    """The pod-template-hash: FNV-32a of the template, then of collisionCount, safe-encoded.

    kube hashes a go-spew dump of the typed template; with no Go types here the template's canonical
    JSON (sorted keys) is hashed instead, so values are stable and well spread but differ from kube's.
    The collision count goes in as kube writes it: a little-endian uint32 in an 8-byte buffer.
    """
    h = fnv32a(orjson.dumps(template, option=orjson.OPT_SORT_KEYS))
    if collision_count is not None:
        h = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\0\0\0\0", h)
    return safe_encode(str(h))


def rs_name(deployment_name: str, pod_hash: str) -> str:
    """`<deployment>-<hash>`, the deployment part cut so the name stays a valid 253-character name."""
    room = 253 - 1 - len(pod_hash)
    return f"{deployment_name[:room]}-{pod_hash}"


# -- templates -------------------------------------------------------------------------------------


def _semantic(value: Any) -> Any:
    """Drop nulls and empty maps/lists, which Go's semantic equality treats as unset."""
    if isinstance(value, dict):
        out = {k: _semantic(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


def equal_ignore_hash(a: Obj | None, b: Obj | None) -> bool:
    """Whether two pod templates are equal once the pod-template-hash label is dropped (EqualIgnoreHash)."""

    def strip(t: Obj | None) -> Any:
        t = orjson.loads(orjson.dumps(t or {}))
        labels = (t.get("metadata") or {}).get("labels")
        if isinstance(labels, dict):
            labels.pop(HASH_LABEL, None)
        return _semantic(t)

    return bool(strip(a) == strip(b))


# -- numbers ---------------------------------------------------------------------------------------


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, "N%" of total rounded up or down."""
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: invalid type: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%"):
        try:
            pct = int(value[:-1])
        except ValueError:
            raise ValueError(f"invalid value for IntOrString: invalid value {value!r}") from None
        scaled = pct * total / 100
        return int(math.ceil(scaled) if round_up else math.floor(scaled))
    raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}")


def replicas_of(obj: Obj) -> int:
    return int((obj.get("spec") or {}).get("replicas", 1) or 0)


def _status_int(obj: Obj | None, field: str) -> int:
    if obj is None:
        return 0
    return int((obj.get("status") or {}).get(field, 0) or 0)


def is_rolling(d: Obj) -> bool:
    return ((d.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """Surge (rounded up) and unavailability (rounded down); both zero means one may be unavailable."""
    surge = scaled_value(0 if max_surge is None else max_surge, desired, True)
    unavailable = scaled_value(0 if max_unavailable is None else max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _fenceposts(d: Obj) -> tuple[int, int]:
    rolling = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    try:
        return resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"), replicas_of(d))
    except ValueError:
        return 0, 0  # validation rejects these; kube's helpers yield zero too


def max_surge(d: Obj) -> int:
    if not is_rolling(d):
        return 0
    return _fenceposts(d)[0]


def max_unavailable(d: Obj) -> int:
    replicas = replicas_of(d)
    if not is_rolling(d) or replicas == 0:
        return 0
    return min(_fenceposts(d)[1], replicas)


def total_spec(rss: Iterable[Obj | None]) -> int:
    return sum(replicas_of(rs) for rs in rss if rs is not None)


def total_status(rss: Iterable[Obj | None], field: str) -> int:
    return sum(_status_int(rs, field) for rs in rss if rs is not None)


def terminating_count(rss: Iterable[Obj | None]) -> int | None:
    """Terminating pods of all ReplicaSets; None once a synced ReplicaSet does not report them."""
    total = 0
    for rs in rss:
        if rs is None:
            continue
        status = rs.get("status") or {}
        if "terminatingReplicas" not in status:
            if not status.get("observedGeneration"):
                continue  # not yet synced by the ReplicaSet controller
            return None
        total += int(status["terminatingReplicas"] or 0)
    return total


def active(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and replicas_of(rs) > 0]


def new_rs_replicas(d: Obj, all_rss: list[Obj], new_rs: Obj) -> int:
    """How big the new ReplicaSet may be now (NewRSNewReplicas)."""
    desired = replicas_of(d)
    if not is_rolling(d):
        return desired
    max_total = desired + max_surge(d)
    current = total_spec(all_rss)
    if current >= max_total:
        return replicas_of(new_rs)
    return replicas_of(new_rs) + min(max_total - current, desired - replicas_of(new_rs))


def _int_annotation(rs: Obj, key: str) -> int | None:
    value = (rs["metadata"].get("annotations") or {}).get(key)
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        return None
    return n if -(2**31) <= n <= MAX_INT32 else None


def proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    """The share of `to_add` replicas this ReplicaSet takes in a proportional scale (GetProportion)."""
    if replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _fraction(rs: Obj, d: Obj) -> int:
    size = replicas_of(rs)
    if replicas_of(d) == 0:
        return -size
    max_replicas = replicas_of(d) + max_surge(d)
    annotated = _int_annotation(rs, MAX_REPLICAS)
    if not annotated:
        # No record of the size the deployment had: fall back to what it runs now.
        annotated = _status_int(d, "replicas")
    if not annotated:
        return 0
    # integer.RoundToInt32: halves away from zero.
    return int(math.floor(size * max_replicas / annotated + 0.5)) - size


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    if rs is None:
        return False
    desired = _int_annotation(rs, DESIRED_REPLICAS)
    want = replicas_of(d)
    return desired == want and replicas_of(rs) == want and _status_int(rs, "availableReplicas") == want


# -- revisions and annotations ---------------------------------------------------------------------


def revision(rs: Obj) -> int | None:
    """The revision annotation (0 when absent, None when unparsable)."""
    value = (rs["metadata"].get("annotations") or {}).get(REVISION)
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        return None


def max_revision(rss: Iterable[Obj]) -> int:
    return max((r for r in (revision(rs) for rs in rss) if r is not None), default=0)


def last_revision(rss: Iterable[Obj]) -> int:
    """The second-highest revision: the one a rollback to "0" means."""
    top = second = 0
    for rs in rss:
        v = revision(rs)
        if v is None:
            continue
        if v >= top:
            top, second = v, top
        elif v > second:
            second = v
    return second


def set_replicas_annotations(rs: Obj, desired: int, max_replicas: int) -> bool:
    annotations = rs["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(max_replicas))):
        if annotations.get(key) != value:
            annotations[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, max_replicas: int) -> bool:
    annotations = rs["metadata"].get("annotations") or {}
    return annotations.get(DESIRED_REPLICAS) != str(desired) or annotations.get(MAX_REPLICAS) != str(max_replicas)


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: str, exists: bool) -> bool:
    """Copy the deployment's annotations, raise the revision (keeping history), add replica counts."""
    annotations = rs["metadata"].setdefault("annotations", {})
    changed = False
    for k, v in (d["metadata"].get("annotations") or {}).items():
        if k in SKIPPED_ANNOTATIONS or annotations.get(k) == v:
            continue
        annotations[k] = v
        changed = True
    had = REVISION in annotations
    old_text = annotations.get(REVISION, "")
    try:
        old = int(old_text) if old_text else 0
    except ValueError:
        return False  # kube gives up on a replica set whose revision is not a number
    new = int(new_revision)
    if old < new:
        annotations[REVISION] = new_revision
        changed = True
        if had:
            # An old replica set becoming new again (a rollback): remember the revisions it served.
            _append_history(annotations, old_text)
    if not exists:
        changed = set_replicas_annotations(rs, replicas_of(d), replicas_of(d) + max_surge(d)) or changed
    return changed


def _append_history(annotations: dict[str, str], old_revision: str) -> None:
    history = annotations.get(REVISION_HISTORY, "")
    if not history:
        annotations[REVISION_HISTORY] = old_revision
        return
    parts = history.split(",")
    total = len(history) + len(old_revision) + 1
    start = 0
    while total > MAX_REV_HISTORY_CHARS and start < len(parts):
        total -= len(parts[start]) + 1
        start += 1
    if total <= MAX_REV_HISTORY_CHARS:
        annotations[REVISION_HISTORY] = ",".join([*parts[start:], old_revision])


def set_deployment_revision(d: Obj, value: str) -> bool:
    annotations = d["metadata"].setdefault("annotations", {})
    if annotations.get(REVISION) == value:
        return False
    annotations[REVISION] = value
    return True


# -- conditions ------------------------------------------------------------------------------------


def new_condition(type_: str, status: str, reason: str, message: str, now: str | None = None) -> Obj:
    now = now or now_rfc3339()
    return {"type": type_, "status": status, "lastUpdateTime": now, "lastTransitionTime": now,
            "reason": reason, "message": message}


def get_condition(status: Obj | None, type_: str) -> Obj | None:
    for c in (status or {}).get("conditions") or ():
        if c.get("type") == type_:
            return c
    return None


def set_condition(status: Obj, cond: Obj) -> None:
    """SetDeploymentCondition: same status and reason is a no-op; a changed one moves to the end."""
    cur = get_condition(status, cond["type"])
    if cur is not None and cur.get("status") == cond["status"] and cur.get("reason") == cond["reason"]:
        return
    if cur is not None and cur.get("status") == cond["status"]:
        cond = dict(cond, lastTransitionTime=cur.get("lastTransitionTime"))
    status["conditions"] = [c for c in status.get("conditions") or () if c.get("type") != cond["type"]] + [cond]


def remove_condition(status: Obj, type_: str) -> None:
    conds = [c for c in status.get("conditions") or () if c.get("type") != type_]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


def has_progress_deadline(d: Obj) -> bool:
    pds = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return pds is not None and pds != MAX_INT32


def has_revision_history_limit(d: Obj) -> bool:
    limit = (d.get("spec") or {}).get("revisionHistoryLimit")
    return limit is not None and limit != MAX_INT32


def deployment_complete(d: Obj, status: Obj) -> bool:
    want = replicas_of(d)
    return (int(status.get("updatedReplicas", 0)) == want and int(status.get("replicas", 0)) == want
            and int(status.get("availableReplicas", 0)) == want
            and int(status.get("observedGeneration", 0)) >= int(d["metadata"].get("generation", 0)))


def deployment_progressing(d: Obj, new: Obj) -> bool:
    old = d.get("status") or {}

    def get(s: Obj, k: str) -> int:
        return int(s.get(k, 0) or 0)

    return (get(new, "updatedReplicas") > get(old, "updatedReplicas")
            or get(new, "replicas") - get(new, "updatedReplicas") < get(old, "replicas") - get(old, "updatedReplicas")
            or get(new, "readyReplicas") > get(old, "readyReplicas")
            or get(new, "availableReplicas") > get(old, "availableReplicas"))


def deployment_timed_out(d: Obj, new: Obj, now: datetime.datetime) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(new, "Progressing")
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = podutil.parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return False
    return since + datetime.timedelta(seconds=int(d["spec"]["progressDeadlineSeconds"])) < now


def _rs_condition_to_deployment(c: Obj) -> Obj:
    return {"type": c.get("type"), "status": c.get("status"), "lastUpdateTime": c.get("lastTransitionTime"),
            "lastTransitionTime": c.get("lastTransitionTime"), "reason": c.get("reason"),
            "message": c.get("message")}


# -- ordering --------------------------------------------------------------------------------------


def _created(rs: Obj) -> tuple[str, str]:
    return (rs["metadata"].get("creationTimestamp", ""), rs["metadata"]["name"])


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    return sorted(rss, key=_created)


def by_size(rss: Iterable[Obj], newer_first: bool) -> list[Obj]:
    """Largest first; equal sizes oldest first (ReplicaSetsBySizeOlder) or newest first (...Newer)."""
    return sorted(sorted(rss, key=_created, reverse=newer_first), key=lambda rs: -replicas_of(rs))


def _revision_order(a: Obj, b: Obj) -> int:
    ra, rb = revision(a), revision(b)
    if ra is None or rb is None or ra == rb:
        return -1 if _created(a) < _created(b) else (1 if _created(a) > _created(b) else 0)
    return -1 if ra < rb else 1


def by_revision(rss: Iterable[Obj]) -> list[Obj]:
    return sorted(rss, key=functools.cmp_to_key(_revision_order))


def find_new_rs(d: Obj, rss: list[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template equals the deployment's."""
    template = (d.get("spec") or {}).get("template")
    for rs in by_creation(rss):
        if equal_ignore_hash((rs.get("spec") or {}).get("template"), template):
            return rs
    return None


def find_active_or_latest(new_rs: Obj | None, old_rss: list[Obj]) -> Obj | None:
    if new_rs is None and not old_rss:
        return None
    newest_first = sorted(old_rss, key=_created, reverse=True)
    live = active([*newest_first, new_rs])
    if not live:
        return new_rs if new_rs is not None else newest_first[0]
    return live[0] if len(live) == 1 else None


def selector_has_everything(sel: Any) -> bool:
    return isinstance(sel, dict) and not sel.get("matchLabels") and not sel.get("matchExpressions")


def _minor(version: str) -> int:
    try:
        return int(version.split(".")[1])
    except (IndexError, ValueError):
        return 99


# -- the controller --------------------------------------------------------------------------------


class DeploymentController(Controller):
    name = "deployment"
    primary = "deployments.apps"
    watches = ("replicasets.apps", "pods")
    kind = "Deployment"

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        # When a stuck-rollout check is already scheduled per key, so a busy deployment keeps one timer.
        self._deadline_checks: dict[Key, float] = {}

    # -- event mapping ------------------------------------------------------------------------------

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.resource == "pods":
            # Only deletions matter: Recreate waits for the old pods to be gone.
            if ev.type == "DELETED":
                yield from self._keys_for_pod(ev)
        else:
            yield from super().keys_for(ev)

    def orphan_keys(self, ev: Event) -> Iterable[Key]:
        return self._keys_for_orphan(ev)

    def _keys_for_pod(self, ev: Event) -> Iterable[Key]:
        ref = podutil.controller_ref(ev.obj)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.client.get(ev.cluster, "replicasets.apps", ev.namespace, ref.get("name", ""))
        if rs is None or rs["metadata"].get("uid") != ref.get("uid"):
            return
        owner = podutil.controller_ref(rs)
        if owner is not None and owner.get("kind") == self.kind:
            yield (ev.cluster, ev.namespace, owner["name"])

    def _keys_for_orphan(self, ev: Event) -> Iterable[Key]:
        """Deployments whose selector matches an orphan ReplicaSet, which one of them may adopt."""
        labels = ev.obj["metadata"].get("labels") or {}
        for d in self.client.list(ev.cluster, self.primary, ev.namespace):
            sel = _selector(d)
            if sel is not None and not sel.empty() and sel.matches(labels):
                yield (ev.cluster, ev.namespace, d["metadata"]["name"])

    # -- sync ---------------------------------------------------------------------------------------

    async def reconcile(self, key: Key) -> None:
        cluster, namespace, name = key
        cached = self.client.get(cluster, self.primary, namespace, name)
        if cached is None:
            self._deadline_checks.pop(key, None)
            return
        d = self.client.copy(cached)
        d.setdefault("status", {})
        run = _Sync(self, cluster, d)
        await run.sync()


def _selector(d: Obj) -> LabelSelector | None:
    try:
        return from_label_selector_object((d.get("spec") or {}).get("selector"))
    except SelectorError:
        return None


class _Sync:
    """One reconcile of one Deployment: kube's syncDeployment and the helpers it calls."""

    def __init__(self, ctrl: DeploymentController, cluster: str, d: Obj) -> None:
        self.ctrl = ctrl
        self.client = ctrl.client
        self.cluster = cluster
        self.d = d
        self.ns = d["metadata"].get("namespace", "")
        self.name = d["metadata"]["name"]
        logical = self.client.clusters.get(cluster)
        self.minor = _minor(logical.version) if logical is not None else 99

    async def sync(self) -> None:
        d = self.d
        sel = (d.get("spec") or {}).get("selector")
        if selector_has_everything(sel):
            await self.event("Warning", "SelectingAll",
                             "This deployment is selecting all pods. A non-empty selector is required.")
            if int(d["status"].get("observedGeneration", 0)) < int(d["metadata"].get("generation", 0)):
                d["status"]["observedGeneration"] = d["metadata"].get("generation")
                await self.update_status()
            return
        rss = await self.claim_replica_sets()
        if d["metadata"].get("deletionTimestamp"):
            await self.sync_status_only(rss)
            return
        await self.check_paused_conditions()
        if d["spec"].get("paused"):
            await self.sync_scale(rss)
            return
        if rollback_to(d) is not None:
            await self.rollback(rss)
            return
        if await self.is_scaling_event(rss):
            await self.sync_scale(rss)
            return
        if is_rolling(d):
            await self.rollout_rolling(rss)
        elif d["spec"].get("strategy", {}).get("type") == "Recreate":
            await self.rollout_recreate(rss)

    # -- reads and writes ---------------------------------------------------------------------------

    async def event(self, type_: str, reason: str, message: str) -> None:
        await self.client.event(self.cluster, self.d, type_, reason, message, component=COMPONENT)

    async def update_status(self) -> None:
        saved = await self.client.update_status(self.cluster, self.d)
        # Later writes in this sync build on what was just stored, not on the stale read.
        self.d["metadata"]["resourceVersion"] = saved["metadata"]["resourceVersion"]

    async def claim_replica_sets(self) -> list[Obj]:
        """ReplicaSets this deployment controls, after adopting matching orphans and releasing strays."""
        d = self.d
        sel = _selector(d)
        uid = d["metadata"]["uid"]
        deleting = bool(d["metadata"].get("deletionTimestamp"))
        out = []
        for rs in self.client.list(self.cluster, "replicasets.apps", self.ns):
            ref = podutil.controller_ref(rs)
            matches = sel is not None and not sel.empty() and sel.matches(rs["metadata"].get("labels"))
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches or deleting:
                    out.append(rs)
                else:
                    await self._set_owner(rs, None)
            elif matches and not deleting and not rs["metadata"].get("deletionTimestamp"):
                adopted = await self._set_owner(rs, podutil.owner_reference(d))
                if adopted is not None:
                    out.append(adopted)
        return out

    async def _set_owner(self, rs: Obj, ref: Obj | None) -> Obj | None:
        upd = self.client.copy(rs)
        refs = [r for r in upd["metadata"].get("ownerReferences") or ()
                if r.get("uid") != self.d["metadata"]["uid"]]
        if ref is not None:
            refs.append(ref)
        if refs:
            upd["metadata"]["ownerReferences"] = refs
        else:
            upd["metadata"].pop("ownerReferences", None)
        try:
            result: Obj = await self.client.update(self.cluster, upd)
            return result
        except ApiError:
            return None

    def pods_by_rs(self, rss: list[Obj]) -> dict[str, list[Obj]]:
        """Pods matching the deployment's selector, grouped by the UID of the ReplicaSet controlling them."""
        out: dict[str, list[Obj]] = {rs["metadata"]["uid"]: [] for rs in rss}
        sel = _selector(self.d)
        if sel is None:
            return out
        for pod in self.client.list(self.cluster, "pods", self.ns, sel):
            ref = podutil.controller_ref(pod)
            if ref is not None and ref.get("uid") in out:
                out[ref["uid"]].append(pod)
        return out

    # -- new and old replica sets -------------------------------------------------------------------

    async def all_replica_sets(self, rss: list[Obj], create: bool) -> tuple[Obj | None, list[Obj]]:
        """The new ReplicaSet (created when asked and missing) and all the old ones, revisions synced."""
        new_rs = find_new_rs(self.d, rss)
        old = [rs for rs in rss if new_rs is None or rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        return await self.get_new_rs(rss, old, create), old

    async def get_new_rs(self, rss: list[Obj], old: list[Obj], create: bool) -> Obj | None:
        d = self.d
        existing = find_new_rs(d, rss)
        new_revision = str(max_revision(old) + 1)
        if existing is not None:
            rs = self.client.copy(existing)
            changed = set_new_rs_annotations(d, rs, new_revision, True)
            min_ready = d["spec"].get("minReadySeconds", 0) or 0
            if changed or (rs["spec"].get("minReadySeconds", 0) or 0) != min_ready:
                if min_ready:
                    rs["spec"]["minReadySeconds"] = min_ready
                else:
                    rs["spec"].pop("minReadySeconds", None)
                updated: Obj = await self.client.update(self.cluster, rs)
                return updated
            needs_update = set_deployment_revision(d, rs["metadata"].get("annotations", {}).get(REVISION, ""))
            if has_progress_deadline(d) and get_condition(d["status"], "Progressing") is None:
                set_condition(d["status"], new_condition("Progressing", "True", FOUND_NEW_RS,
                                                         f'Found new replica set "{rs["metadata"]["name"]}"'))
                needs_update = True
            if needs_update:
                await self.update_status()
            return rs
        if not create:
            return None
        return await self.create_new_rs(old, new_revision)

    async def create_new_rs(self, old: list[Obj], new_revision: str) -> Obj | None:
        d = self.d
        template = self.client.copy(d["spec"].get("template") or {})
        pod_hash = compute_hash(template, d["status"].get("collisionCount"))
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = dict(tmeta.get("labels") or {}, **{HASH_LABEL: pod_hash})
        selector = self.client.copy(d["spec"]["selector"])
        selector["matchLabels"] = dict(selector.get("matchLabels") or {}, **{HASH_LABEL: pod_hash})
        spec: Obj = {"replicas": 0, "selector": selector, "template": template}
        if d["spec"].get("minReadySeconds"):
            spec["minReadySeconds"] = d["spec"]["minReadySeconds"]
        new_rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": rs_name(self.name, pod_hash), "namespace": self.ns,
                         "labels": dict(tmeta["labels"]), "ownerReferences": [podutil.owner_reference(d)]},
            "spec": spec,
        }
        count = new_rs_replicas(d, [*old, new_rs], new_rs)
        spec["replicas"] = count
        set_new_rs_annotations(d, new_rs, new_revision, False)
        already = False
        try:
            created: Obj = await self.client.create(self.cluster, new_rs)
        except ApiError as e:
            if e.code == 409 and e.reason == "AlreadyExists":
                found = self.client.get(self.cluster, "replicasets.apps", self.ns, new_rs["metadata"]["name"])
                if found is None:
                    raise
                ref = podutil.controller_ref(found)
                if (ref is None or ref.get("uid") != d["metadata"]["uid"]
                        or not equal_ignore_hash(d["spec"].get("template"), found["spec"].get("template"))):
                    # A different template hashed to the same name: count the collision and retry.
                    d["status"]["collisionCount"] = int(d["status"].get("collisionCount") or 0) + 1
                    await self.update_status()
                    raise
                created, already = found, True
            elif _namespace_terminating(e):
                return None
            else:
                msg = f'Failed to create new replica set "{new_rs["metadata"]["name"]}": {e.message}'
                if has_progress_deadline(d):
                    set_condition(d["status"], new_condition("Progressing", "False", FAILED_RS_CREATE, msg))
                    try:
                        await self.update_status()
                    except ApiError:
                        pass
                await self.event("Warning", FAILED_RS_CREATE, msg)
                raise
        if not already and count > 0:
            await self.event("Normal", "ScalingReplicaSet",
                             f"Scaled up replica set {created['metadata']['name']} from 0 to {count}")
        needs_update = set_deployment_revision(d, new_revision)
        if not already and has_progress_deadline(d):
            set_condition(d["status"], new_condition("Progressing", "True", NEW_RS_CREATED,
                                                     f'Created new replica set "{created["metadata"]["name"]}"'))
            needs_update = True
        if needs_update:
            await self.update_status()
        return created

    # -- scaling ------------------------------------------------------------------------------------

    async def scale_rs(self, rs: Obj, new_scale: int) -> tuple[bool, Obj]:
        """Set a ReplicaSet's size and replica annotations; a ScalingReplicaSet event when the size moved."""
        d = self.d
        desired, most = replicas_of(d), replicas_of(d) + max_surge(d)
        old_scale = replicas_of(rs)
        size_changes = old_scale != new_scale
        if not size_changes and not replicas_annotations_need_update(rs, desired, most):
            return False, rs
        upd = self.client.copy(rs)
        upd["spec"]["replicas"] = new_scale
        set_replicas_annotations(upd, desired, most)
        saved: Obj = await self.client.update(self.cluster, upd)
        if size_changes:
            op = "up" if old_scale < new_scale else "down"
            await self.event("Normal", "ScalingReplicaSet",
                             f"Scaled {op} replica set {saved['metadata']['name']} from {old_scale} to {new_scale}")
        return size_changes, saved

    async def scale_rs_if_needed(self, rs: Obj, new_scale: int) -> tuple[bool, Obj]:
        if replicas_of(rs) == new_scale:
            return False, rs
        return await self.scale_rs(rs, new_scale)

    async def scale(self, new_rs: Obj | None, old: list[Obj]) -> None:
        """Scale on a replica-count change or while paused, proportionally across live ReplicaSets."""
        d = self.d
        want = replicas_of(d)
        only = find_active_or_latest(new_rs, old)
        if only is not None:
            if replicas_of(only) != want:
                await self.scale_rs_if_needed(only, want)
            return
        if is_saturated(d, new_rs):
            for rs in active(old):
                await self.scale_rs_if_needed(rs, 0)
            return
        if not is_rolling(d):
            return
        live = active([*old, new_rs])
        allowed = want + max_surge(d) if want > 0 else 0
        to_add = allowed - total_spec(live)
        if to_add > 0:
            live = by_size(live, newer_first=True)
        elif to_add < 0:
            live = by_size(live, newer_first=False)
        sizes: dict[str, int] = {}
        added = 0
        for rs in live:
            share = proportion(rs, d, to_add, added) if to_add else 0
            sizes[rs["metadata"]["name"]] = replicas_of(rs) + share
            added += share
        for i, rs in enumerate(live):
            n = rs["metadata"]["name"]
            if i == 0 and to_add:
                # Leftovers from rounding go to the largest replica set.
                sizes[n] = max(sizes[n] + to_add - added, 0)
            await self.scale_rs(rs, sizes[n])

    async def is_scaling_event(self, rss: list[Obj]) -> bool:
        new_rs, old = await self.all_replica_sets(rss, False)
        want = replicas_of(self.d)
        for rs in active([*old, new_rs]):
            desired = _int_annotation(rs, DESIRED_REPLICAS)
            if desired is not None and desired != want:
                return True
        return False

    async def sync_scale(self, rss: list[Obj]) -> None:
        """kube's sync(): scaling events and paused deployments."""
        new_rs, old = await self.all_replica_sets(rss, False)
        await self.scale(new_rs, old)
        if self.d["spec"].get("paused") and rollback_to(self.d) is None:
            await self.cleanup(old)
        await self.sync_status(self.fresh([*old, new_rs]), self.fresh([new_rs])[0] if new_rs else None)

    async def sync_status_only(self, rss: list[Obj]) -> None:
        new_rs, old = await self.all_replica_sets(rss, False)
        await self.sync_status([*old, new_rs], new_rs)

    def fresh(self, rss: Sequence[Obj | None]) -> list[Obj | None]:
        """The cache's current copy of each ReplicaSet (after this sync's writes)."""
        out: list[Obj | None] = []
        for rs in rss:
            if rs is None:
                out.append(None)
                continue
            cur = self.client.get(self.cluster, "replicasets.apps", self.ns, rs["metadata"]["name"])
            out.append(cur if cur is not None and cur["metadata"].get("uid") == rs["metadata"].get("uid") else rs)
        return out

    # -- rolling update -----------------------------------------------------------------------------

    async def rollout_rolling(self, rss: list[Obj]) -> None:
        new_rs, old = await self.all_replica_sets(rss, True)
        if new_rs is None:
            return
        all_rss: list[Obj] = [*old, new_rs]
        scaled, new_rs = await self.reconcile_new_rs(all_rss, new_rs)
        all_rss = [*old, new_rs]
        if scaled:
            await self.sync_rollout_status(all_rss, new_rs)
            return
        scaled, old = await self.reconcile_old_rss(all_rss, active(old), old, new_rs)
        all_rss = [*old, new_rs]
        if scaled:
            await self.sync_rollout_status(all_rss, new_rs)
            return
        if deployment_complete(self.d, self.d["status"]):
            await self.cleanup(old)
        await self.sync_rollout_status(all_rss, new_rs)

    async def reconcile_new_rs(self, all_rss: list[Obj], new_rs: Obj) -> tuple[bool, Obj]:
        want = replicas_of(self.d)
        if replicas_of(new_rs) == want:
            return False, new_rs
        if replicas_of(new_rs) > want:
            return await self.scale_rs_if_needed(new_rs, want)
        return await self.scale_rs_if_needed(new_rs, new_rs_replicas(self.d, all_rss, new_rs))

    async def reconcile_old_rss(self, all_rss: list[Obj], live_old: list[Obj], old: list[Obj],
                                new_rs: Obj) -> tuple[bool, list[Obj]]:
        """Scale old ReplicaSets down as far as maxUnavailable allows; returns the updated old list."""
        d = self.d
        if total_spec(live_old) == 0:
            return False, old
        min_available = replicas_of(d) - max_unavailable(d)
        new_unavailable = replicas_of(new_rs) - _status_int(new_rs, "availableReplicas")
        max_scaled_down = total_spec(all_rss) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False, old
        # Unhealthy replicas go first, or they would block the rollout until its deadline.
        live_old, cleaned = await self.cleanup_unhealthy(live_old, max_scaled_down)
        scaled_down = await self.scale_down_old_for_rolling([*live_old, new_rs], live_old)
        by_uid = {rs["metadata"]["uid"]: rs for rs in live_old}
        old = [by_uid.get(rs["metadata"]["uid"], rs) for rs in old]
        return cleaned + scaled_down > 0, old

    async def cleanup_unhealthy(self, live_old: list[Obj], max_cleanup: int) -> tuple[list[Obj], int]:
        out = by_creation(live_old)
        total = 0
        for i, rs in enumerate(out):
            if total >= max_cleanup:
                break
            size, available = replicas_of(rs), _status_int(rs, "availableReplicas")
            if size == 0 or size == available:
                continue
            count = min(max_cleanup - total, size - available)
            _, out[i] = await self.scale_rs_if_needed(rs, size - count)
            total += count
        return out, total

    async def scale_down_old_for_rolling(self, all_rss: list[Obj], live_old: list[Obj]) -> int:
        d = self.d
        min_available = replicas_of(d) - max_unavailable(d)
        available = total_status(all_rss, "availableReplicas")
        if available <= min_available:
            return 0
        budget = available - min_available
        total = 0
        ordered = by_creation(live_old)
        for rs in ordered:
            if total >= budget:
                break
            size = replicas_of(rs)
            if size == 0:
                continue
            count = min(size, budget - total)
            _, saved = await self.scale_rs_if_needed(rs, size - count)
            live_old[live_old.index(rs)] = saved
            total += count
        return total

    # -- recreate -----------------------------------------------------------------------------------

    async def rollout_recreate(self, rss: list[Obj]) -> None:
        new_rs, old = await self.all_replica_sets(rss, False)
        scaled = False
        for i, rs in enumerate(old):
            if replicas_of(rs) == 0:
                continue
            moved, old[i] = await self.scale_rs_if_needed(rs, 0)
            scaled = scaled or moved
        if scaled:
            await self.sync_rollout_status([*old, new_rs], new_rs)
            return
        if self.old_pods_running(new_rs, old, self.pods_by_rs(rss)):
            await self.sync_rollout_status([*old, new_rs], new_rs)
            return
        if new_rs is None:
            new_rs, old = await self.all_replica_sets(rss, True)
            if new_rs is None:
                return
        _, new_rs = await self.scale_rs_if_needed(new_rs, replicas_of(self.d))
        if deployment_complete(self.d, self.d["status"]):
            await self.cleanup(old)
        await self.sync_rollout_status([*old, new_rs], new_rs)

    @staticmethod
    def old_pods_running(new_rs: Obj | None, old: list[Obj], pods: dict[str, list[Obj]]) -> bool:
        """Whether an old ReplicaSet reports pods, or any pod not of the new one has not finished."""
        if total_status(old, "replicas") > 0:
            return True
        new_uid = new_rs["metadata"]["uid"] if new_rs is not None else None
        for uid, group in pods.items():
            if uid == new_uid:
                continue
            if any((p.get("status") or {}).get("phase") not in ("Failed", "Succeeded") for p in group):
                return True
        return False

    # -- history ------------------------------------------------------------------------------------

    async def cleanup(self, old: list[Obj]) -> None:
        """Delete the oldest scaled-down ReplicaSets beyond revisionHistoryLimit."""
        d = self.d
        if not has_revision_history_limit(d):
            return
        cleanable = [rs for rs in old if rs is not None and not rs["metadata"].get("deletionTimestamp")]
        extra = len(cleanable) - int(d["spec"]["revisionHistoryLimit"])
        if extra <= 0:
            return
        for rs in by_revision(cleanable)[:extra]:
            if (_status_int(rs, "replicas") != 0 or replicas_of(rs) != 0
                    or int(rs["metadata"].get("generation", 0)) > _status_int(rs, "observedGeneration")):
                continue
            await self.client.delete(self.cluster, rs, uid_precondition=False)

    async def rollback(self, rss: list[Obj]) -> None:
        """The legacy rollbackTo annotation: copy the template of that revision, then drop the annotation."""
        d = self.d
        new_rs, old = await self.all_replica_sets(rss, True)
        all_rss = [rs for rs in (*old, new_rs) if rs is not None]
        target = rollback_to(d) or 0
        if target == 0:
            target = last_revision(all_rss)
            if target == 0:
                await self.event("Warning", ROLLBACK_NOT_FOUND, "Unable to find last revision.")
                await self.clear_rollback_to()
                return
        for rs in all_rss:
            if revision(rs) != target:
                continue
            if equal_ignore_hash(d["spec"].get("template"), rs["spec"].get("template")):
                await self.event("Warning", ROLLBACK_UNCHANGED,
                                 f'The rollback revision contains the same template as current deployment "{self.name}"')
                await self.clear_rollback_to()
                return
            template = self.client.copy(rs["spec"]["template"])
            labels = (template.get("metadata") or {}).get("labels")
            if isinstance(labels, dict):
                labels.pop(HASH_LABEL, None)
            d["spec"]["template"] = template
            kept = {k: v for k, v in (d["metadata"].get("annotations") or {}).items() if k in SKIPPED_ANNOTATIONS}
            kept.update({k: v for k, v in (rs["metadata"].get("annotations") or {}).items()
                         if k not in SKIPPED_ANNOTATIONS})
            d["metadata"]["annotations"] = kept
            await self.clear_rollback_to()
            await self.event("Normal", ROLLBACK_DONE, f'Rolled back deployment "{self.name}" to revision {target}')
            return
        await self.event("Warning", ROLLBACK_NOT_FOUND, "Unable to find the revision to rollback to.")
        await self.clear_rollback_to()

    async def clear_rollback_to(self) -> None:
        (self.d["metadata"].get("annotations") or {}).pop(ROLLBACK_TO, None)
        upd = dict(self.d)
        upd.pop("status", None)
        await self.client.update(self.cluster, upd)

    # -- status -------------------------------------------------------------------------------------

    async def check_paused_conditions(self) -> None:
        """Progressing=Unknown while paused and on resume, so paused time never counts as no progress."""
        d = self.d
        if not has_progress_deadline(d):
            return
        cond = get_condition(d["status"], "Progressing")
        if cond is not None and cond.get("reason") == TIMED_OUT:
            return
        paused_cond = cond is not None and cond.get("reason") == PAUSED
        if d["spec"].get("paused") and not paused_cond:
            set_condition(d["status"], new_condition("Progressing", "Unknown", PAUSED, "Deployment is paused"))
        elif not d["spec"].get("paused") and paused_cond:
            set_condition(d["status"], new_condition("Progressing", "Unknown", RESUMED, "Deployment is resumed"))
        else:
            return
        await self.update_status()

    def calculate_status(self, all_rss: Sequence[Obj | None], new_rs: Obj | None) -> Obj:
        d = self.d
        available = total_status(all_rss, "availableReplicas")
        status: Obj = {
            "observedGeneration": d["metadata"].get("generation"),
            "replicas": total_status(all_rss, "replicas"),
            "updatedReplicas": total_status([new_rs], "replicas"),
            "readyReplicas": total_status(all_rss, "readyReplicas"),
            "availableReplicas": available,
            "unavailableReplicas": max(total_spec(all_rss) - available, 0),
        }
        if self.minor >= 35:  # DeploymentReplicaSetTerminatingReplicas, beta and on since 1.35
            terminating = terminating_count(all_rss)
            if terminating is not None:
                status["terminatingReplicas"] = terminating
        if d["status"].get("conditions"):
            status["conditions"] = [dict(c) for c in d["status"]["conditions"]]
        if d["status"].get("collisionCount") is not None:
            status["collisionCount"] = d["status"]["collisionCount"]
        if available >= replicas_of(d) - max_unavailable(d):
            set_condition(status, new_condition("Available", "True", MIN_AVAILABLE,
                                                "Deployment has minimum availability."))
        else:
            set_condition(status, new_condition("Available", "False", MIN_UNAVAILABLE,
                                                "Deployment does not have minimum availability."))
        return status

    async def write_status(self, status: Obj) -> bool:
        """Store `status` unless it equals the current one (Go omits zero counts, so they are dropped)."""
        for k in ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                  "unavailableReplicas"):
            if not status.get(k):
                status.pop(k, None)
        if status == self.d["status"]:
            return False
        self.d["status"] = status
        await self.update_status()
        return True

    async def sync_status(self, all_rss: Sequence[Obj | None], new_rs: Obj | None) -> None:
        await self.write_status(self.calculate_status(all_rss, new_rs))

    async def sync_rollout_status(self, all_rss: Sequence[Obj | None], new_rs: Obj | None) -> None:
        """Status plus the Progressing condition: complete, progressing, or past its deadline."""
        d = self.d
        all_rss = self.fresh(all_rss)
        new_rs = self.fresh([new_rs])[0]
        status = self.calculate_status(all_rss, new_rs)
        if not has_progress_deadline(d):
            remove_condition(status, "Progressing")
        current = get_condition(d["status"], "Progressing")
        complete = (status["replicas"] == status["updatedReplicas"] and current is not None
                    and current.get("reason") == NEW_RS_AVAILABLE)
        now = podutil.utcnow()
        if has_progress_deadline(d) and not complete:
            what = f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs is not None else f'Deployment "{self.name}"'
            if deployment_complete(d, status):
                set_condition(status, new_condition("Progressing", "True", NEW_RS_AVAILABLE,
                                                    f"{what} has successfully progressed."))
            elif deployment_progressing(d, status):
                cond = new_condition("Progressing", "True", RS_UPDATED, f"{what} is progressing.")
                # Progress refreshes lastUpdateTime even when the reason stays the same.
                if current is not None:
                    if current.get("status") == "True":
                        cond["lastTransitionTime"] = current.get("lastTransitionTime")
                    remove_condition(status, "Progressing")
                set_condition(status, cond)
            elif deployment_timed_out(d, status, now):
                set_condition(status, new_condition("Progressing", "False", TIMED_OUT,
                                                    f"{what} has timed out progressing."))
        failures = self.replica_failures(all_rss, new_rs)
        if failures:
            set_condition(status, failures[0])
        else:
            remove_condition(status, "ReplicaFailure")
        if not await self.write_status(status):
            self.requeue_if_stuck(status, now)

    @staticmethod
    def replica_failures(all_rss: Sequence[Obj | None], new_rs: Obj | None) -> list[Obj]:
        def of(rs: Obj | None) -> list[Obj]:
            if rs is None:
                return []
            return [_rs_condition_to_deployment(c) for c in (rs.get("status") or {}).get("conditions") or ()
                    if c.get("type") == "ReplicaFailure"]

        return of(new_rs) or [c for rs in all_rss for c in of(rs)]

    def requeue_if_stuck(self, status: Obj, now: datetime.datetime) -> None:
        """Check again when the progress deadline would pass (requeueStuckDeployment)."""
        d = self.d
        cond = get_condition(d["status"], "Progressing")
        if not has_progress_deadline(d) or cond is None:
            return
        if deployment_complete(d, status) or cond.get("reason") == TIMED_OUT:
            return
        since = podutil.parse_time(cond.get("lastUpdateTime"))
        if since is None:
            return
        after = (since - now).total_seconds() + int(d["spec"]["progressDeadlineSeconds"])
        # A second more absorbs the second-resolution timestamps.
        delay = max(after, 0.0) + 1.0
        key = (self.cluster, self.ns, self.name)
        due = now.timestamp() + delay
        pending = self.ctrl._deadline_checks.get(key)
        if pending is not None and now.timestamp() < pending <= due:
            return
        self.ctrl._deadline_checks[key] = due
        self.ctrl.requeue_after(key, delay)


def rollback_to(d: Obj) -> int | None:
    """The revision the legacy rollbackTo annotation asks for; None when absent or not a number."""
    value = (d["metadata"].get("annotations") or {}).get(ROLLBACK_TO)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _namespace_terminating(e: ApiError) -> bool:
    causes = (e.details or {}).get("causes") or ()
    return any(c.get("reason") == "NamespaceTerminating" for c in causes)
