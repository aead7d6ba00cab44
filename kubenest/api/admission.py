"""Admission plugins: LimitRanger and ResourceQuota, as kube-apiserver runs them.

Both plug into the registry's admission hooks (`Registry.mutating_admission` and
`Registry.validating_admission`, each `hook(req, obj, old)`):

- `LimitRanger` (plugin/pkg/admission/limitranger): on pod creation it fills in the container
  requests and limits a namespace's LimitRanges default (`default`, `defaultRequest`) and notes them
  in the `kubernetes.io/limit-ranger` annotation; it then rejects pods and claims outside any
  LimitRange's `min`, `max` or `maxLimitRequestRatio`, with kube's 403 Forbidden messages.
- `ResourceQuota` (k8s.io/apiserver/pkg/admission/plugin/resourcequota with the evaluators of
  pkg/quota/v1/evaluator/core): rejects a create or update that would take a quota's usage past its
  hard limits (`exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`).

Usage is computed from the store's cache by `namespace_usage`, which the quota controller also
uses to keep `status.used` current. kube checks against the `status.used` it last wrote and bumps it
in admission; counting live gives the same answer without a second write per request, and one
process serialises the check and the store write, so concurrent creates cannot both slip through.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from kubenest.api import defaults
from kubenest.api.errors import ApiError, qualified
from kubenest.api.registry import handles
from kubenest.api.request import Request
from kubenest.api.validation import format_quantity, parse_quantity
from kubenest.store.store import Store

Obj = dict[str, Any]
Quantity = tuple[Fraction, str]  # exact amount and kube's format ("DecimalSI", "BinarySI", ...)
ResourceList = dict[str, Quantity]

LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger"
_MAX_MILLI = (2**63 - 1) // 1000  # resource.MaxMilliValue
_ZERO: Quantity = (Fraction(0), "DecimalSI")


# ---------------------------------------------------------------------------------------------------
# Resource lists


def resource_list(value: Any) -> ResourceList:
    """A ResourceList of an object (`{"cpu": "100m"}`), parsed; malformed entries are skipped."""
    out: ResourceList = {}
    if not isinstance(value, dict):
        return out
    for k, v in value.items():
        try:
            out[k] = parse_quantity(v)
        except ValueError:
            continue
    return out


def add(into: ResourceList, other: ResourceList) -> None:
    """`into += other`; a sum keeps the format of its first non-zero term (Quantity.Add)."""
    for k, (amount, fmt) in other.items():
        cur = into.get(k)
        if cur is None:
            into[k] = (amount, fmt)
        else:
            into[k] = (cur[0] + amount, cur[1] if cur[0] != 0 else fmt)


def _max_into(into: ResourceList, other: ResourceList) -> None:
    for k, q in other.items():
        cur = into.get(k)
        if cur is None or q[0] > cur[0]:
            into[k] = q


def quantity_text(q: Quantity) -> str:
    """Quantity.String()."""
    return format_quantity(*q)


def pretty(rl: ResourceList) -> str:
    """kube's prettyPrint: `name=value` pairs sorted by name, comma-separated."""
    return ",".join(f"{k}={quantity_text(rl[k])}" for k in sorted(rl))


# ---------------------------------------------------------------------------------------------------
# Pod resources (k8s.io/component-helpers/resource PodRequests/PodLimits, QoS)


def _containers(spec: Obj, key: str) -> list[Obj]:
    return [c for c in spec.get(key) or () if isinstance(c, dict)]


def _container_resources(c: Obj, which: str) -> ResourceList:
    return resource_list((c.get("resources") or {}).get(which))


def pod_resources(pod: Obj, which: str, overhead: bool = True) -> ResourceList:
    """The pod's effective `requests` or `limits`: containers and sidecars summed, the largest init
    container step when larger, plus the pod overhead (for limits only where a limit is set)."""
    spec = pod.get("spec") or {}
    total: ResourceList = {}
    for c in _containers(spec, "containers"):
        add(total, _container_resources(c, which))
    sidecars: ResourceList = {}
    init_max: ResourceList = {}
    for c in _containers(spec, "initContainers"):
        res = _container_resources(c, which)
        if c.get("restartPolicy") == "Always":
            # A sidecar runs beside the app containers and beside every later init container.
            add(total, res)
            add(sidecars, res)
            step = dict(sidecars)
        else:
            step = dict(res)
            add(step, sidecars)
        _max_into(init_max, step)
    _max_into(total, init_max)
    pod_level = resource_list((spec.get("resources") or {}).get(which))
    for k in ("cpu", "memory"):
        if k in pod_level:
            total[k] = pod_level[k]
    if overhead:
        for k, q in resource_list(spec.get("overhead")).items():
            if which == "requests" or k in total:
                add(total, {k: q})
    return total


def qos_class(pod: Obj) -> str:
    """The pod's QoS class, as qos.GetPodQOS computes it from cpu and memory."""
    spec = pod.get("spec") or {}
    requests: ResourceList = {}
    limits: ResourceList = {}
    guaranteed = True
    for c in _containers(spec, "containers") + _containers(spec, "initContainers"):
        req = {k: v for k, v in _container_resources(c, "requests").items() if k in ("cpu", "memory") and v[0] > 0}
        lim = {k: v for k, v in _container_resources(c, "limits").items() if k in ("cpu", "memory") and v[0] > 0}
        add(requests, req)
        add(limits, lim)
        if set(lim) != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(k in limits and limits[k][0] == q[0] for k, q in requests.items()) and len(
            requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


# ---------------------------------------------------------------------------------------------------
# Errors


def forbidden(req: Request, obj: Obj | None, message: str) -> ApiError:
    """admission.NewForbidden: `<resource> "<name>" is forbidden: <message>`."""
    r = req.resource
    meta = (obj or {}).get("metadata") or {}
    name = meta.get("name") or meta.get("generateName") or req.name or "Unknown"
    details: Obj = {"name": name}
    if r.group:
        details["group"] = r.group
    details["kind"] = r.plural
    return ApiError(403, "Forbidden", f'{qualified(r.plural, r.group)} "{name}" is forbidden: {message}', details)


def aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message alone, several de-duplicated in brackets."""
    seen: list[str] = []
    for m in messages:
        if m not in seen:
            seen.append(m)
    return seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"


def _is_pod(req: Request) -> bool:
    return req.resource.group == "" and req.resource.plural == "pods"


def _is_pvc(req: Request) -> bool:
    return req.resource.group == "" and req.resource.plural == "persistentvolumeclaims"


# ---------------------------------------------------------------------------------------------------
# LimitRanger


class LimitRanger:
    """The LimitRanger admission plugin over the store's LimitRanges."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _limit_ranges(self, req: Request) -> list[Obj]:
        return [e.obj for e in self.store.entries(req.cluster.name, "limitranges", req.namespace)]

    def _applies(self, req: Request, obj: Obj, old: Obj | None) -> bool:
        if req.subresource:
            return False
        if old is not None and old["metadata"].get("deletionTimestamp"):
            return False
        # Containers are immutable, so pod updates are neither defaulted nor checked.
        if _is_pod(req):
            return old is None
        return _is_pvc(req)

    @handles(resources=("pods",), operations=("create",))
    def mutate(self, req: Request, obj: Obj, old: Obj | None) -> None:
        """Default container requests and limits of a new pod from the namespace's LimitRanges."""
        if not _is_pod(req) or not self._applies(req, obj, old):
            return
        changed = False
        for lr in self._limit_ranges(req):
            changed = default_pod_resources(lr, obj) or changed
        if changed and isinstance(obj.get("status"), dict) and "qosClass" in obj["status"]:
            # The pod strategy classified the pod before its resources were defaulted here.
            obj["status"]["qosClass"] = qos_class(obj)

    @handles(resources=("pods", "persistentvolumeclaims"))
    def validate(self, req: Request, obj: Obj, old: Obj | None) -> None:
        """Reject pods and claims outside a LimitRange's min, max or maxLimitRequestRatio."""
        if not self._applies(req, obj, old):
            return
        for lr in self._limit_ranges(req):
            errs = validate_pod(lr, obj) if _is_pod(req) else validate_pvc(lr, obj)
            if errs:
                raise forbidden(req, obj, aggregate(errs))


def _limit_items(lr: Obj) -> list[Obj]:
    return [i for i in (lr.get("spec") or {}).get("limits") or () if isinstance(i, dict)]


def default_pod_resources(lr: Obj, pod: Obj) -> bool:
    """Merge a LimitRange's container defaults into a pod's containers; True when anything was set."""
    default_requests: Obj = {}
    default_limits: Obj = {}
    for item in _limit_items(lr):
        if item.get("type") == "Container":
            default_requests.update(item.get("defaultRequest") or {})
            default_limits.update(item.get("default") or {})
    notes: list[str] = []
    spec = pod.get("spec") or {}
    for key, prefix in (("containers", "container"), ("initContainers", "init container")):
        for c in _containers(spec, key):
            resources = c.get("resources")
            if not isinstance(resources, dict):
                resources = c["resources"] = {}
            set_limits = _merge(resources, "limits", default_limits)
            set_requests = _merge(resources, "requests", default_requests)
            for k in ("limits", "requests"):
                if not resources.get(k):
                    resources.pop(k, None)
            if set_requests:
                notes.append(", ".join(sorted(set_requests)) + f" request for {prefix} {c.get('name', '')}")
            if set_limits:
                notes.append(", ".join(sorted(set_limits)) + f" limit for {prefix} {c.get('name', '')}")
    if not notes:
        return False
    meta = pod.setdefault("metadata", {})
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        annotations = meta["annotations"] = {}
    annotations[LIMIT_RANGER_ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)
    return True


def _merge(resources: Obj, key: str, defaults: Obj) -> list[str]:
    current = resources.get(key)
    if not isinstance(current, dict):
        current = resources[key] = {}
    added = []
    for name, value in defaults.items():
        if name not in current:
            current[name] = value
            added.append(name)
    return added


def _compare_values(req: Quantity | None, lim: Quantity | None, enforced: Quantity) -> tuple[int, int, int]:
    """requestLimitEnforcedValues: milli-units (rounded up) when none overflows, else whole units."""
    values = [q[0] if q is not None else Fraction(0) for q in (req, lim)] + [enforced[0]]
    whole = [math.ceil(v) for v in values]
    if all(w <= _MAX_MILLI for w in whole):
        milli = [math.ceil(v * 1000) for v in values]
        return milli[0], milli[1], milli[2]
    return whole[0], whole[1], whole[2]


def _min_error(kind: str, name: str, enforced: Quantity, requests: ResourceList, limits: ResourceList) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    r, li, e = _compare_values(req, lim, enforced)
    if req is None:
        return f"minimum {name} usage per {kind} is {quantity_text(enforced)}.  No request is specified"
    if r < e:
        return f"minimum {name} usage per {kind} is {quantity_text(enforced)}, but request is {quantity_text(req)}"
    if lim is not None and li < e:
        return f"minimum {name} usage per {kind} is {quantity_text(enforced)}, but limit is {quantity_text(lim)}"
    return None


def _max_error(kind: str, name: str, enforced: Quantity, requests: ResourceList, limits: ResourceList) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    r, li, e = _compare_values(req, lim, enforced)
    if lim is None:
        return f"maximum {name} usage per {kind} is {quantity_text(enforced)}.  No limit is specified"
    if li > e:
        return f"maximum {name} usage per {kind} is {quantity_text(enforced)}, but limit is {quantity_text(lim)}"
    if req is not None and r > e:
        return f"maximum {name} usage per {kind} is {quantity_text(enforced)}, but request is {quantity_text(req)}"
    return None


def _max_request_error(kind: str, name: str, enforced: Quantity, requests: ResourceList) -> str | None:
    req = requests.get(name)
    r, _, e = _compare_values(req, None, enforced)
    if req is None:
        return f"maximum {name} usage per {kind} is {quantity_text(enforced)}.  No request is specified"
    if r > e:
        return f"maximum {name} usage per {kind} is {quantity_text(enforced)}, but request is {quantity_text(req)}"
    return None


def _ratio_error(kind: str, name: str, enforced: Quantity, requests: ResourceList, limits: ResourceList) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    r, li, _ = _compare_values(req, lim, enforced)
    shown = quantity_text(enforced)
    if req is None or r == 0:
        return f"{name} max limit to request ratio per {kind} is {shown}, but no request is specified or request is 0"
    if lim is None or li == 0:
        return f"{name} max limit to request ratio per {kind} is {shown}, but no limit is specified or limit is 0"
    observed = li / r
    allowed = float(math.ceil(enforced[0]))
    ratio = observed
    if math.ceil(enforced[0]) <= _MAX_MILLI:
        ratio, allowed = observed * 1000, float(math.ceil(enforced[0] * 1000))
    if ratio > allowed:
        return f"{name} max limit to request ratio per {kind} is {shown}, but provided ratio is {observed:f}"
    return None


def _check(kind: str, item: Obj, requests: ResourceList, limits: ResourceList) -> list[str]:
    errs: list[str] = []
    for field, check in (("min", _min_error), ("max", _max_error), ("maxLimitRequestRatio", _ratio_error)):
        for name, enforced in sorted(resource_list(item.get(field)).items()):
            err = check(kind, name, enforced, requests, limits)
            if err:
                errs.append(err)
    return errs


def validate_pod(lr: Obj, pod: Obj) -> list[str]:
    """PodValidateLimitFunc: each container against Container items, the whole pod against Pod items."""
    errs: list[str] = []
    spec = pod.get("spec") or {}
    for item in _limit_items(lr):
        kind = item.get("type")
        if kind == "Container":
            for c in _containers(spec, "containers") + _containers(spec, "initContainers"):
                errs += _check(kind, item, _container_resources(c, "requests"), _container_resources(c, "limits"))
        elif kind == "Pod":
            errs += _check(kind, item, pod_resources(pod, "requests", overhead=False),
                           pod_resources(pod, "limits", overhead=False))
    return errs


def validate_pvc(lr: Obj, pvc: Obj) -> list[str]:
    """PersistentVolumeClaimValidateLimitFunc: the claim's storage request within min and max."""
    errs: list[str] = []
    requests = resource_list(((pvc.get("spec") or {}).get("resources") or {}).get("requests"))
    for item in _limit_items(lr):
        kind = item.get("type")
        if kind != "PersistentVolumeClaim":
            continue
        for name, enforced in sorted(resource_list(item.get("min")).items()):
            err = _min_error(kind, name, enforced, requests, {})
            if err:
                errs.append(err)
        for name, enforced in sorted(resource_list(item.get("max")).items()):
            err = _max_request_error(kind, name, enforced, requests)
            if err:
                errs.append(err)
    return errs


# ---------------------------------------------------------------------------------------------------
# Quota evaluators (pkg/quota/v1/evaluator/core and the generic object-count evaluator)

_POD_RESOURCES = {"pods", "count/pods", "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
                  "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage"}
# If a quota limits any of these, every container must state it (kube keeps this for compatibility).
_MUST_SPECIFY = {"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"}
_SERVICE_RESOURCES = {"services", "count/services", "services.loadbalancers", "services.nodeports"}
_PVC_RESOURCES = {"persistentvolumeclaims", "count/persistentvolumeclaims", "requests.storage"}
_STORAGE_CLASS_SUFFIXES = (".storageclass.storage.k8s.io/requests.storage",
                           ".storageclass.storage.k8s.io/persistentvolumeclaims")
# Kinds counted under a legacy name as well as count/<resource>.
_LEGACY_COUNTS = {"configmaps", "secrets", "replicationcontrollers", "resourcequotas"}
# Never quota'd (kube's quota configuration ignores them).
IGNORED = {"events", "events.events.k8s.io"}
_ONE: Quantity = (Fraction(1), "DecimalSI")


def _is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _is_extended(name: str) -> bool:
    return not _is_native(name) and not name.startswith("requests.")


def _count_name(store_key: str) -> str:
    return "count/" + store_key


def matching_resources(store_key: str, hard: Iterable[str]) -> list[str]:
    """The hard-limited resource names a kind of object consumes (Evaluator.MatchingResources)."""
    out = []
    for name in hard:
        if store_key == "pods":
            ok = (name in _POD_RESOURCES or name.startswith(("hugepages-", "requests.hugepages-"))
                  or (name.startswith("requests.") and not _is_native(name)))
        elif store_key == "services":
            ok = name in _SERVICE_RESOURCES
        elif store_key == "persistentvolumeclaims":
            ok = name in _PVC_RESOURCES or name.endswith(_STORAGE_CLASS_SUFFIXES)
        else:
            ok = name == _count_name(store_key) or (store_key in _LEGACY_COUNTS and name == store_key)
        if ok:
            out.append(name)
    return out


def pod_counts(pod: Obj) -> bool:
    """QuotaV1Pod: compute resources are charged until a pod is terminal or its deletion grace has passed."""
    if (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded"):
        return False
    meta = pod.get("metadata") or {}
    grace = meta.get("deletionGracePeriodSeconds")
    if meta.get("deletionTimestamp") and isinstance(grace, int):
        try:
            deleted = datetime.datetime.strptime(meta["deletionTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return True
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        return now <= deleted + datetime.timedelta(seconds=grace)
    return True


def _pod_compute(requests: ResourceList, limits: ResourceList) -> ResourceList:
    """podComputeUsageHelper."""
    out: ResourceList = {"pods": _ONE}
    for res in ("cpu", "memory", "ephemeral-storage"):
        if res in requests:
            out[res] = requests[res]
            out["requests." + res] = requests[res]
        if res in limits:
            out["limits." + res] = limits[res]
    for res, q in requests.items():
        if res.startswith("hugepages-"):
            out[res] = q
            out["requests." + res] = q
        elif _is_extended(res):
            out["requests." + res] = q
    return out


def usage(store_key: str, obj: Obj) -> ResourceList:
    """What one object consumes (Evaluator.Usage)."""
    if store_key == "pods":
        out: ResourceList = {"count/pods": _ONE}
        if pod_counts(obj):
            add(out, _pod_compute(pod_resources(obj, "requests"), pod_resources(obj, "limits")))
        return out
    if store_key == "services":
        spec = obj.get("spec") or {}
        ports = len(spec.get("ports") or ())
        out = {"count/services": _ONE, "services": _ONE, "services.loadbalancers": _ZERO, "services.nodeports": _ZERO}
        if spec.get("type") == "NodePort":
            out["services.nodeports"] = (Fraction(ports), "DecimalSI")
        elif spec.get("type") == "LoadBalancer":
            out["services.loadbalancers"] = _ONE
            if spec.get("allocateLoadBalancerNodePorts") is not False:
                out["services.nodeports"] = (Fraction(ports), "DecimalSI")
        return out
    if store_key == "persistentvolumeclaims":
        spec = obj.get("spec") or {}
        out = {"count/persistentvolumeclaims": _ONE, "persistentvolumeclaims": _ONE}
        storage = resource_list((spec.get("resources") or {}).get("requests")).get("storage")
        allocated = resource_list((obj.get("status") or {}).get("allocatedResources")).get("storage")
        if allocated is not None and (storage is None or allocated[0] > storage[0]):
            storage = allocated
        cls = spec.get("storageClassName") or ((obj.get("metadata") or {}).get("annotations") or {}).get(
            "volume.beta.kubernetes.io/storage-class")
        if cls:
            out[cls + ".storageclass.storage.k8s.io/persistentvolumeclaims"] = _ONE
        if storage is not None:
            out["requests.storage"] = storage
            if cls:
                out[cls + ".storageclass.storage.k8s.io/requests.storage"] = storage
        return out
    out = {_count_name(store_key): _ONE}
    if store_key in _LEGACY_COUNTS:
        out[store_key] = _ONE
    return out


def _pod_matches_scope(scope: str, operator: str, values: list[str], pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    if scope == "Terminating":
        return _terminating(spec)
    if scope == "NotTerminating":
        return not _terminating(spec)
    if scope == "BestEffort":
        return qos_class(pod) == "BestEffort"
    if scope == "NotBestEffort":
        return qos_class(pod) != "BestEffort"
    if scope == "PriorityClass":
        cls = spec.get("priorityClassName") or ""
        if operator == "Exists":
            return bool(cls)
        if operator == "DoesNotExist":
            return not cls
        if operator == "In":
            return bool(cls) and cls in values
        if operator == "NotIn":
            return not cls or cls not in values
        return False
    if scope == "CrossNamespacePodAffinity":
        return _cross_namespace_affinity(spec)
    return False


def _terminating(spec: Obj) -> bool:
    ads = spec.get("activeDeadlineSeconds")
    return isinstance(ads, int) and ads >= 0


def _cross_namespace_affinity(spec: Obj) -> bool:
    affinity = spec.get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        a = affinity.get(kind) or {}
        terms = list(a.get("requiredDuringSchedulingIgnoredDuringExecution") or ())
        terms += [(t or {}).get("podAffinityTerm") or {} for t in a.get(
            "preferredDuringSchedulingIgnoredDuringExecution") or ()]
        if any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in terms if isinstance(t, dict)):
            return True
    return False


def scope_selectors(quota: Obj) -> list[tuple[str, str, list[str]]]:
    """The quota's scopes and scopeSelector expressions as (scope, operator, values)."""
    spec = quota.get("spec") or {}
    out: list[tuple[str, str, list[str]]] = [(s, "Exists", []) for s in spec.get("scopes") or ()]
    for e in (spec.get("scopeSelector") or {}).get("matchExpressions") or ():
        out.append((e.get("scopeName", ""), e.get("operator", ""), list(e.get("values") or ())))
    return out


def quota_matches(quota: Obj, store_key: str, obj: Obj) -> bool:
    """Evaluator.Matches: the quota limits something this object consumes and all its scopes match it."""
    if not matching_resources(store_key, hard_of(quota)):
        return False
    for scope, op, values in scope_selectors(quota):
        if store_key != "pods" or not _pod_matches_scope(scope, op, values, obj):
            return False
    return True


def hard_of(quota: Obj) -> ResourceList:
    return resource_list((quota.get("spec") or {}).get("hard"))


def pod_constraints(required: Iterable[str], pod: Obj) -> str | None:
    """podEvaluator.Constraints: a quota on cpu or memory requires every container to state it."""
    need = set(required) & _MUST_SPECIFY
    if not need:
        return None
    spec = pod.get("spec") or {}
    missing: dict[str, set[str]] = {}
    for c in _containers(spec, "containers") + _containers(spec, "initContainers"):
        have = set(_pod_compute(_container_resources(c, "requests"), _container_resources(c, "limits")))
        for name in need - have:
            missing.setdefault(name, set()).add(c.get("name", ""))
    if not missing:
        return None
    return "must specify " + "; ".join(f"{k} for: {','.join(sorted(missing[k]))}" for k in sorted(missing))


def _usage_key(name: str) -> str | None:
    """The store key of the objects a hard-limited resource name counts."""
    if name.startswith("count/"):
        return name[len("count/"):]
    if name in _LEGACY_COUNTS:
        return name
    for key, names in (("services", _SERVICE_RESOURCES), ("persistentvolumeclaims", _PVC_RESOURCES)):
        if name in names:
            return key
    if name.endswith(_STORAGE_CLASS_SUFFIXES):
        return "persistentvolumeclaims"
    if matching_resources("pods", [name]):
        return "pods"
    return None


def namespace_usage(store: Store, cluster: str, namespace: str, quota: Obj) -> ResourceList:
    """Current usage of every resource the quota limits, in its namespace (CalculateUsage)."""
    hard = hard_of(quota)
    used: ResourceList = {name: _ZERO for name in hard}
    by_key: dict[str, list[str]] = {}
    for name in hard:
        key = _usage_key(name)
        if key is not None:
            by_key.setdefault(key, []).append(name)
    for key, names in by_key.items():
        if key not in ("pods", "services", "persistentvolumeclaims") and not scope_selectors(quota):
            # Plain object counts need no look at the objects.
            n = store.count(cluster, key, namespace)
            for name in names:
                used[name] = (Fraction(n), "DecimalSI")
            continue
        total: ResourceList = {}
        for e in store.entries(cluster, key, namespace):
            if quota_matches(quota, key, e.obj):
                add(total, usage(key, e.obj))
        for name in names:
            if name in total:
                used[name] = total[name]
    return used


class ResourceQuota:
    """The ResourceQuota admission plugin: a validating hook over the store's ResourceQuotas."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def validate(self, req: Request, obj: Obj, old: Obj | None) -> None:
        r = req.resource
        key = req.key
        if not r.namespaced or key in IGNORED or req.verb == "delete":
            return
        if req.subresource and not (key == "pods" and req.subresource == "resize"):
            return
        cluster, namespace = req.cluster.name, req.namespace
        if not self.store.count(cluster, "resourcequotas", namespace):
            return
        if old is not None and not self._handles_update(key, obj, old):
            return
        quotas = [e.obj for e in self.store.entries(cluster, "resourcequotas", namespace)]
        interesting = []
        for q in quotas:
            if not quota_matches(q, key, obj):
                continue
            if key == "pods":
                err = pod_constraints(matching_resources(key, hard_of(q)), obj)
                if err:
                    raise forbidden(req, obj, f"failed quota: {q['metadata']['name']}: {err}")
            interesting.append(q)
        if not interesting:
            return
        new_usage = usage(key, obj)
        negative = sorted(k for k, v in new_usage.items() if v[0] < 0)
        if negative:
            raise forbidden(req, obj, "quota usage is negative for resource(s): " + ",".join(negative))
        for q in interesting:
            delta = dict(new_usage)
            if old is not None and quota_matches(q, key, old):
                prev = usage(key, old)
                delta = {k: (max(v[0] - prev.get(k, _ZERO)[0], Fraction(0)), v[1]) for k, v in new_usage.items()}
            self._check(req, obj, q, delta)

    @staticmethod
    def _handles_update(key: str, obj: Obj, old: Obj) -> bool:
        # Pods are charged on create (and when their terminating scope changes); plain counts only on create.
        if key == "pods":
            return _terminating(obj.get("spec") or {}) != _terminating(old.get("spec") or {})
        return key in ("services", "persistentvolumeclaims")

    def _check(self, req: Request, obj: Obj, quota: Obj, delta: ResourceList) -> None:
        hard = hard_of(quota)
        requested = {k: v for k, v in delta.items() if k in hard and v[0] != 0}
        if not requested:
            return
        # On update the live usage already counts the stored version; `delta` is only the growth.
        used = namespace_usage(self.store, req.cluster.name, req.namespace, quota)
        exceeded = sorted(k for k, v in requested.items() if used.get(k, _ZERO)[0] + v[0] > hard[k][0])
        if not exceeded:
            return
        raise forbidden(req, obj, "exceeded quota: {}, requested: {}, used: {}, limited: {}".format(
            quota["metadata"]["name"], pretty({k: requested[k] for k in exceeded}),
            pretty({k: used.get(k, _ZERO) for k in exceeded}), pretty({k: hard[k] for k in exceeded})))


# ---------------------------------------------------------------------------------------------------
# ServiceAccount (plugin/pkg/admission/serviceaccount)


class ServiceAccountAdmission:
    """New pods get `serviceAccountName: default` and, unless they or their service account opt out,
    the projected `kube-api-access-*` token volume mounted in every container."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @handles(resources=("pods",), operations=("create",))
    def mutate(self, req: Request, obj: Obj, old: Obj | None) -> None:
        if old is not None or req.subresource or not _is_pod(req):
            return
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        if (obj.get("metadata") or {}).get("annotations", {}).get("kubernetes.io/config.mirror"):
            return
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        spec["serviceAccountName"] = name
        entry = self.store.get(req.cluster.name, "serviceaccounts", req.namespace, name)
        if entry is None and name != "default":
            # kube refuses; the default account of a namespace created a moment ago is created by the
            # service account controller right after, so kubenest does not make clients race it.
            raise forbidden(req, obj, f'error looking up service account {req.namespace}/{name}: '
                                      f'serviceaccount "{name}" not found')
        automount = entry.obj.get("automountServiceAccountToken") if entry is not None else None
        defaults.mount_service_account_token(obj, service_account_automount=automount)


def install(registry: Any, store: Store) -> None:
    """Add LimitRanger, ServiceAccount and ResourceQuota to a registry's admission hooks, in kube's
    plugin order."""
    limit_ranger = LimitRanger(store)
    registry.mutating_admission.append(limit_ranger.mutate)
    registry.mutating_admission.append(ServiceAccountAdmission(store).mutate)
    registry.validating_admission.append(limit_ranger.validate)
    registry.validating_admission.append(ResourceQuota(store).validate)

