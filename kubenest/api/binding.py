"""pods/binding and bindings: assign a pod to a node, as kube's BindingREST does for the scheduler.

`POST /api/v1/namespaces/NS/pods/NAME/binding` and `POST /api/v1/namespaces/NS/bindings` take a
`Binding` (`metadata.name` = the pod, `target` = the node). The pod gets `spec.nodeName` and a
`PodScheduled=True` condition unless it is already assigned (409), being deleted, or gated. The answer is
a Success Status (201). Authorization is RBAC `create pods/binding` (or `create bindings`).
"""

from __future__ import annotations

from typing import Any

import orjson

from kubenest.api import errors
from kubenest.api.clusters import now_rfc3339
from kubenest.api.registry import decode_body
from kubenest.api.request import Request
from kubenest.api.resources import ResourceInfo
from kubenest.store.store import StoreError

Obj = dict[str, Any]


def is_binding(req: Request) -> bool:
    """Whether the request is a pod binding (either path)."""
    r = req.resource
    if r.group != "":
        return False
    return (r.kind == "Pod" and req.subresource == "binding") or (r.kind == "Binding" and not req.subresource)


async def create(req: Request, app: Any) -> tuple[int, Obj]:
    if req.verb != "create":
        raise errors.method_not_allowed()
    body = decode_body(req)
    if body.get("kind") not in (None, "", "Binding"):
        raise errors.bad_request(f"the kind in the data ({body.get('kind')}) does not match the expected kind (Binding)")
    meta: Obj = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
    name = meta.get("name") or ""
    if req.resource.kind == "Pod" and name != req.name:
        raise errors.bad_request("name in URL does not match name in Binding object")
    if meta.get("namespace") and req.namespace and meta["namespace"] != req.namespace:
        raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
    target: Obj = body["target"] if isinstance(body.get("target"), dict) else {}
    causes = []
    if target.get("kind") not in (None, "", "Node"):
        causes.append(("FieldValueNotSupported", "target.kind",
                       f'target.kind: Unsupported value: "{target["kind"]}": supported values: "Node", "<empty>"'))
    if not target.get("name"):
        causes.append(("FieldValueRequired", "target.name", "target.name: Required value"))
    if causes:
        listed = ", ".join(m for _, _, m in causes)
        raise errors.invalid("Binding", "", name, [{"type": t, "field": f} for t, f, _ in causes],
                             f'Binding "{name}" is invalid: ' + (listed if len(causes) == 1 else f"[{listed}]"))
    await assign(req, app.registry, name, str(target["name"]), meta)
    return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def pods_resource(cluster: Any) -> ResourceInfo:
    r: ResourceInfo | None = cluster.resource("", "v1", "pods")
    if r is None:
        raise errors.not_found("pods", "", "")
    return r


async def assign(req: Request, registry: Any, name: str, node: str, meta: Obj) -> None:
    """Set the pod's node (kube's setPodNodeAndMetadata), retrying when another write gets there first."""
    cluster = req.cluster
    pods = pods_resource(cluster)
    store = registry.store
    pod_req = Request("PUT", "update", cluster, pods, req.namespace, name, "binding", dict(req.query), req.headers,
                      req.user)
    for _attempt in range(16):
        entry = store.get(cluster.name, pods.group_resource, req.namespace, name)
        if entry is None:
            raise errors.not_found("pods", "", name)
        pod = entry.obj
        pmeta = pod["metadata"]
        if meta.get("uid") and meta["uid"] != pmeta.get("uid"):
            raise errors.conflict("pods", "", name, f"Precondition failed: UID in precondition: {meta['uid']}, "
                                                    f"UID in object meta: {pmeta.get('uid')}")
        if meta.get("resourceVersion") and meta["resourceVersion"] != pmeta.get("resourceVersion"):
            raise errors.conflict_modified("pods", "", name)
        spec = pod.get("spec") or {}
        why = None
        if pmeta.get("deletionTimestamp"):
            why = f"pod {name} is being deleted, cannot be assigned to a host"
        elif spec.get("nodeName"):
            why = f'pod {name} is already assigned to node "{spec["nodeName"]}"'
        elif spec.get("schedulingGates"):
            why = f"pod {name} has non-empty .spec.schedulingGates"
        if why is not None:
            raise errors.conflict("pods/binding", "", name, why)
        new = orjson.loads(entry.raw)
        new["spec"]["nodeName"] = node
        if meta.get("annotations"):
            new["metadata"]["annotations"] = dict(new["metadata"].get("annotations") or {}, **meta["annotations"])
        _set_scheduled(new.setdefault("status", {}))
        if req.dry_run:
            return
        try:
            updated = await store.update(cluster.name, pods.group_resource, req.namespace, name, new, entry.rv)
        except StoreError as e:
            if e.reason == "missing":
                raise errors.not_found("pods", "", name) from None
            continue
        if pending := registry._after(pod_req, pod, updated.obj):
            await pending
        return
    raise errors.conflict_modified("pods", "", name)


def _set_scheduled(status: Obj) -> None:
    conds = status.setdefault("conditions", [])
    for c in conds:
        if c.get("type") == "PodScheduled":
            if c.get("status") != "True":
                c.update(status="True", lastTransitionTime=now_rfc3339())
            c.pop("reason", None)
            c.pop("message", None)
            return
    conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                  "lastTransitionTime": now_rfc3339()})
