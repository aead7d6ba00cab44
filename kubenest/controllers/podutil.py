"""Helpers shared by workload controllers: pod states, owner references, pods from templates."""

from __future__ import annotations

import datetime
from typing import Any

from kubenest.api.errors import ApiError
from kubenest.api.selectors import LabelSelector, from_label_selector_object

Obj = dict[str, Any]


def is_active(pod: Obj) -> bool:
    """Not finished and not being deleted (kube's controller.IsPodActive)."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def is_ready(pod: Obj) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "Ready":
            return bool(c.get("status") == "True")
    return False


def ready_since(pod: Obj) -> datetime.datetime | None:
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "Ready" and c.get("status") == "True":
            return parse_time(c.get("lastTransitionTime"))
    return None


def is_available(pod: Obj, min_ready_seconds: int, now: datetime.datetime) -> bool:
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and (now - since).total_seconds() >= min_ready_seconds


def parse_time(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return None


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def controller_ref(obj: Obj) -> Obj | None:
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return dict(ref)
    return None


def owner_reference(owner: Obj) -> Obj:
    """A controller ownerReference pointing at `owner` (blockOwnerDeletion as kube's controllers set it)."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def selector_of(obj: Obj) -> LabelSelector | None:
    """The workload's label selector; None when it has none (selects nothing, as kube treats it)."""
    sel = (obj.get("spec") or {}).get("selector")
    if not sel:
        return None
    return from_label_selector_object(sel)


def pod_from_template(owner: Obj, template: Obj, generate_name: str, extra_labels: dict[str, str] | None = None,
                      name: str | None = None) -> Obj:
    """A new Pod from a pod template, owned by `owner` (kube's GetPodFromTemplate)."""
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    if extra_labels:
        labels.update(extra_labels)
    meta: Obj = {"namespace": owner["metadata"].get("namespace", ""), "labels": labels,
                 "ownerReferences": [owner_reference(owner)]}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = generate_name
    import orjson

    spec = orjson.loads(orjson.dumps(template.get("spec") or {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def owned_pods(client: Any, cluster: str, owner: Obj) -> list[Obj]:
    """Pods in the owner's namespace whose controller reference is `owner`."""
    uid = owner["metadata"]["uid"]
    out = []
    for pod in client.list(cluster, "pods", owner["metadata"].get("namespace", "")):
        ref = controller_ref(pod)
        if ref is not None and ref.get("uid") == uid:
            out.append(pod)
    return out


def condition(obj: Obj, type_: str) -> Obj | None:
    for c in (obj.get("status") or {}).get("conditions") or ():
        if c.get("type") == type_:
            return dict(c)
    return None


def pod_condition(type_: str, ok: bool, when: str, reason: str | None = None, message: str | None = None) -> Obj:
    """A pod condition as a kubelet writes it (reason and message only when given)."""
    c: Obj = {"type": type_, "status": "True" if ok else "False", "lastProbeTime": None, "lastTransitionTime": when}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def set_condition(status: Obj, cond: Obj) -> None:
    """Set or replace a condition; lastTransitionTime only moves when the status changes."""
    conds = status.setdefault("conditions", [])
    for i, c in enumerate(conds):
        if c.get("type") == cond["type"]:
            if c.get("status") == cond.get("status") and "lastTransitionTime" in c:
                cond = dict(cond, lastTransitionTime=c["lastTransitionTime"])
            conds[i] = cond
            return
    conds.append(cond)


async def adopt(client: Any, cluster: str, owner: Obj, obj: Obj, finalizer: str | None = None) -> Obj | None:
    """Add a controller reference to `owner` (and `finalizer`) to an orphan; None when the write lost a race."""
    upd = client.copy(obj)
    meta = upd["metadata"]
    meta.setdefault("ownerReferences", []).append(owner_reference(owner))
    if finalizer and finalizer not in (meta.get("finalizers") or ()):
        meta["finalizers"] = [*(meta.get("finalizers") or ()), finalizer]
    try:
        result: Obj = await client.update(cluster, upd)
        return result
    except ApiError as e:
        if e.code in (404, 409, 422):
            return None
        raise


async def release(client: Any, cluster: str, obj: Obj, owner_uid: str) -> None:
    """Remove the reference to the owner with `owner_uid` (a vanished object is already released)."""
    upd = client.copy(obj)
    refs = [r for r in upd["metadata"].get("ownerReferences") or () if r.get("uid") != owner_uid]
    if refs:
        upd["metadata"]["ownerReferences"] = refs
    else:
        upd["metadata"].pop("ownerReferences", None)
    try:
        await client.update(cluster, upd)
    except ApiError as e:
        if e.code not in (404, 409, 422):
            raise
