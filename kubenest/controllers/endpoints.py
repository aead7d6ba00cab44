"""Endpoints and EndpointSlice controllers: the addresses of the pods behind each Service.

As kube's endpoint controller (pkg/controller/endpoint) and endpointslice controller
(pkg/controller/endpointslice with k8s.io/endpointslice): for every Service with a selector, the pods
it selects that have an IP and are not finished become addresses, ready or not ready, with the port
numbers their named target ports resolve to. `Endpoints/<service>` lists them in repacked subsets;
EndpointSlices (`<service>-xxxxx`, owned by the Service, labelled `kubernetes.io/service-name` and
`endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`) list them with
ready/serving/terminating conditions, at most 100 per slice, and a placeholder slice when there are
none. Both follow pod and Service changes; Endpoints go when their Service does, slices through the
garbage collector.

Differences from kube: pods bound to a node that does not exist in the cluster are still listed
(nodes come from the host, not from every virtual cluster), and subsets and ports are ordered by
address and port rather than by kube's hash of the Go structs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from kubenest.api.errors import ApiError
from kubenest.controllers import podutil
from kubenest.controllers.client import Client
from kubenest.controllers.runtime import Controller, Key
from kubenest.store.store import Event

Obj = dict[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER_NAME = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"
ENDPOINTS_MANAGED_BY_LABEL = "endpoints.kubernetes.io/managed-by"  # kube 1.33+
ENDPOINTS_CONTROLLER_NAME = "endpoint-controller"
TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity"
MAX_ENDPOINTS_ADDRESSES = 1000  # addresses kept in one Endpoints object
MAX_ENDPOINTS_PER_SLICE = 100
SLICES = "endpointslices.discovery.k8s.io"


# ---------------------------------------------------------------------------------------------------
# Pods and services (k8s.io/endpointslice/util)


def service_selector(svc: Obj) -> dict[str, str] | None:
    """The Service's pod selector; None (select nothing) when it has none or an empty one, which
    kube's storage round-trip turns into none."""
    sel = (svc.get("spec") or {}).get("selector")
    return sel if isinstance(sel, dict) and sel else None


def selects(selector: dict[str, str], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def pod_ips(pod: Obj) -> list[str]:
    status = pod.get("status") or {}
    ips = [p.get("ip") for p in status.get("podIPs") or () if isinstance(p, dict) and p.get("ip")]
    if not ips and status.get("podIP"):
        ips = [status["podIP"]]
    return [str(ip) for ip in ips]


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded")


def should_pod_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """Pods that are not finished, have an IP and (unless asked) are not being deleted."""
    if is_terminal(pod) or not pod_ips(pod):
        return False
    return include_terminating or not pod["metadata"].get("deletionTimestamp")


def should_set_hostname(pod: Obj, svc: Obj) -> bool:
    spec = pod.get("spec") or {}
    return bool(spec.get("hostname")) and spec.get("subdomain") == svc["metadata"]["name"] and (
        pod["metadata"].get("namespace") == svc["metadata"].get("namespace"))


def find_port(pod: Obj, svc_port: Obj) -> int | None:
    """The container port a service port targets: a number as is, a name looked up in the containers
    (and sidecar init containers) with the same protocol."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    protocol = svc_port.get("protocol") or "TCP"
    spec = pod.get("spec") or {}
    candidates = list(spec.get("containers") or ())
    candidates += [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    for c in candidates:
        for p in c.get("ports") or ():
            if p.get("name") == target and (p.get("protocol") or "TCP") == protocol:
                port = p.get("containerPort")
                return int(port) if isinstance(port, int) else None
    return None


def _is_ipv6(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).version == 6
    except ValueError:
        return False


def service_families(svc: Obj) -> list[str]:
    """The IP families a Service serves (`IPv4`, `IPv6`), from ipFamilies or its cluster IP."""
    spec = svc.get("spec") or {}
    families = [f for f in spec.get("ipFamilies") or () if f in ("IPv4", "IPv6")]
    if families:
        return list(dict.fromkeys(families))
    ip = spec.get("clusterIP") or ""
    if ip and ip != "None":
        return ["IPv6" if _is_ipv6(ip) else "IPv4"]
    return ["IPv4", "IPv6"]


def service_ip_set(svc: Obj) -> bool:
    ip = (svc.get("spec") or {}).get("clusterIP") or ""
    return ip not in ("", "None")


def pod_endpoints_changed(old: Obj, new: Obj) -> tuple[bool, bool]:
    """(the pod changed in a way its endpoints show, its labels or hostname changed)."""
    labels_changed = (old["metadata"].get("labels") or {}) != (new["metadata"].get("labels") or {})
    os_, ns_ = old.get("spec") or {}, new.get("spec") or {}
    if os_.get("hostname") != ns_.get("hostname") or os_.get("subdomain") != ns_.get("subdomain"):
        labels_changed = True
    changed = (old["metadata"].get("deletionTimestamp") != new["metadata"].get("deletionTimestamp")
               or podutil.is_ready(old) != podutil.is_ready(new) or pod_ips(old) != pod_ips(new))
    return changed, labels_changed


class TriggerTimeTracker:
    """The `last-change-trigger-time` annotation: the earliest pod readiness or Service change not yet
    reflected, or the Service's creation on its first sync (k8s.io/endpointslice/util)."""

    def __init__(self) -> None:
        self._states: dict[Key, tuple[str, dict[str, str]]] = {}

    def compute(self, key: Key, svc: Obj, pods: list[Obj]) -> str:
        state = self._states.get(key)
        last_svc, last_pods = state if state is not None else ("", {})
        changed: list[str] = []
        pod_times: dict[str, str] = {}
        for pod in pods:
            t = _ready_transition(pod)
            if t:
                pod_times[pod["metadata"]["name"]] = t
                if t > last_pods.get(pod["metadata"]["name"], ""):
                    changed.append(t)
        svc_time = svc["metadata"].get("creationTimestamp") or ""
        if svc_time > last_svc:
            changed.append(svc_time)
        self._states[key] = (svc_time, pod_times)
        if state is None:
            return svc_time
        return min(changed) if changed else ""

    def forget(self, key: Key) -> None:
        self._states.pop(key, None)


def _ready_transition(pod: Obj) -> str:
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "Ready":
            return str(c.get("lastTransitionTime") or "")
    return ""


def _minor(version: str) -> int:
    try:
        return int(version.split(".")[1])
    except (IndexError, ValueError):
        return 37


# ---------------------------------------------------------------------------------------------------
# Shared: services keyed by their pods


class _ServiceEndpointsController(Controller):
    """Reconciles Services; maps pod events to the Services selecting the pod, before or after."""

    primary = "services"

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self.tracker = TriggerTimeTracker()

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.resource == self.primary:
            yield (ev.cluster, ev.namespace, ev.name)
        elif ev.resource == "pods":
            yield from self._pod_keys(ev)
        else:
            yield from self.own_keys(ev)

    def own_keys(self, ev: Event) -> Iterable[Key]:
        return ()

    def _pod_keys(self, ev: Event) -> Iterable[Key]:
        if ev.type != "MODIFIED" or ev.prev is None:
            return self._services_selecting(ev.cluster, ev.namespace, ev.obj["metadata"].get("labels"))
        changed, labels_changed = pod_endpoints_changed(ev.prev, ev.obj)
        if not changed and not labels_changed:
            return ()
        now = self._services_selecting(ev.cluster, ev.namespace, ev.obj["metadata"].get("labels"))
        if not labels_changed:
            return now
        before = self._services_selecting(ev.cluster, ev.namespace, ev.prev["metadata"].get("labels"))
        # Only the labels changed: the services gained or lost; otherwise every one involved.
        return now | before if changed else now ^ before

    def _services_selecting(self, cluster: str, namespace: str, labels: dict[str, str] | None) -> set[Key]:
        out = set()
        for svc in self.client.list(cluster, "services", namespace):
            sel = service_selector(svc)
            if sel is not None and selects(sel, labels):
                out.add((cluster, namespace, svc["metadata"]["name"]))
        return out

    def selected_pods(self, cluster: str, svc: Obj, sel: dict[str, str]) -> list[Obj]:
        ns = svc["metadata"].get("namespace", "")
        return [p for p in self.client.list(cluster, "pods", ns) if selects(sel, p["metadata"].get("labels"))]

    def _version_minor(self, cluster: str) -> int:
        c = self.client.clusters.get(cluster)
        return _minor(c.version) if c is not None else 37


def _namespace_terminating(e: ApiError) -> bool:
    causes = (e.details or {}).get("causes") or ()
    return e.code == 403 and any(c.get("reason") == "NamespaceTerminating" for c in causes)


# ---------------------------------------------------------------------------------------------------
# Endpoints


def endpoint_address(svc: Obj, pod: Obj) -> Obj | None:
    """The pod's address in the Service's first IP family, with its node and a reference to it."""
    ips = pod_ips(pod)
    if (svc.get("spec") or {}).get("ipFamilies") or service_ip_set(svc):
        family = service_families(svc)[0]
    else:
        # A headless Service from before IP families: the pod's primary IP decides.
        family = "IPv6" if _is_ipv6(ips[0]) else "IPv4"
    ip = next((ip for ip in ips if _is_ipv6(ip) == (family == "IPv6")), None)
    if ip is None:
        return None
    addr: Obj = {"ip": ip}
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        addr["nodeName"] = node
    addr["targetRef"] = _target_ref(pod)
    return addr


def _target_ref(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta["name"], "uid": meta.get("uid", "")}


def endpoint_port(svc_port: Obj, port: int) -> Obj:
    out: Obj = {}
    if svc_port.get("name"):
        out["name"] = svc_port["name"]
    out["port"] = port
    out["protocol"] = svc_port.get("protocol") or "TCP"
    if svc_port.get("appProtocol"):
        out["appProtocol"] = svc_port["appProtocol"]
    return out


def _freeze(d: Obj) -> tuple[Any, ...]:
    return tuple(sorted((k, _freeze(v) if isinstance(v, dict) else v) for k, v in d.items()))


def repack_subsets(entries: list[tuple[Obj, bool, Obj | None]]) -> list[Obj]:
    """kube's RepackSubsets: addresses that offer the same set of ports share one subset.

    `entries` are (address, ready, port or None); an address ready under any port is ready.
    """
    addrs: dict[tuple[str, str], Obj] = {}
    ports_of: dict[tuple[Any, ...], tuple[Obj | None, dict[tuple[str, str], bool]]] = {}
    for addr, ready, port in entries:
        akey = (addr["ip"], (addr.get("targetRef") or {}).get("uid", ""))
        addrs.setdefault(akey, addr)
        pkey = _freeze(port) if port is not None else ()
        _, members = ports_of.setdefault(pkey, (port, {}))
        members[akey] = members.get(akey, False) or ready
    groups: dict[tuple[Any, ...], tuple[dict[tuple[str, str], bool], list[Obj]]] = {}
    for port, members in ports_of.values():
        gkey = tuple(sorted(members.items()))
        _, ports = groups.setdefault(gkey, (members, []))
        if port is not None:
            ports.append(port)
    subsets = []
    for members, ports in groups.values():
        subset: Obj = {}
        ready_addrs = [addrs[k] for k in sorted(members) if members[k]]
        not_ready = [addrs[k] for k in sorted(members) if not members[k]]
        if ready_addrs:
            subset["addresses"] = ready_addrs
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        if ports:
            subset["ports"] = sorted(ports, key=lambda p: (p.get("name", ""), p["port"], p["protocol"]))
        subsets.append(subset)
    subsets.sort(key=lambda s: [a["ip"] for a in s.get("addresses", []) + s.get("notReadyAddresses", [])])
    return subsets


def truncate_subsets(subsets: list[Obj]) -> bool:
    """Keep at most 1000 addresses, ready ones first, spread over subsets in proportion."""
    ready = sum(len(s.get("addresses", ())) for s in subsets)
    not_ready = sum(len(s.get("notReadyAddresses", ())) for s in subsets)
    if ready + not_ready <= MAX_ENDPOINTS_ADDRESSES:
        return False
    truncate_ready = ready > MAX_ENDPOINTS_ADDRESSES
    budget = MAX_ENDPOINTS_ADDRESSES if truncate_ready else MAX_ENDPOINTS_ADDRESSES - ready
    total = ready if truncate_ready else not_ready
    left = budget
    for s in subsets:
        field = "addresses" if truncate_ready else "notReadyAddresses"
        n = len(s.get(field, ()))
        share = min(-(-n * budget // total), left) if total else 0
        if field in s:
            s[field] = s[field][:share]
            left -= len(s[field])
        if truncate_ready:
            s.pop("notReadyAddresses", None)
    return True


def _strip_rv(value: Any) -> Any:
    """Subsets compared without target resourceVersions (kube ignores those)."""
    if isinstance(value, dict):
        return {k: _strip_rv(v) for k, v in value.items() if k != "resourceVersion"}
    if isinstance(value, list):
        return [_strip_rv(v) for v in value]
    return value


class EndpointsController(_ServiceEndpointsController):
    """Keeps `Endpoints/<service>` listing the ready and not-ready addresses of a Service's pods."""

    name = "endpoint"
    watches = ("pods", "endpoints")

    def own_keys(self, ev: Event) -> Iterable[Key]:
        # A deleted Endpoints object is put back (or stays gone when its Service is gone).
        if ev.type == "DELETED":
            yield (ev.cluster, ev.namespace, ev.name)

    async def reconcile(self, key: Key) -> None:
        cluster, namespace, name = key
        svc = self.client.get(cluster, "services", namespace, name)
        if svc is None:
            current = self.client.get(cluster, "endpoints", namespace, name)
            if current is not None:
                await self.client.delete(cluster, current, uid_precondition=False)
            self.tracker.forget(key)
            return
        spec = svc.get("spec") or {}
        sel = service_selector(svc)
        if spec.get("type") == "ExternalName" or sel is None:
            return
        pods = self.selected_pods(cluster, svc, sel)
        trigger = self.tracker.compute(key, svc, pods)
        subsets = self.desired_subsets(svc, pods)
        current = self.client.get(cluster, "endpoints", namespace, name)
        labels = dict(svc["metadata"].get("labels") or {})
        if current is not None:
            have = {k: v for k, v in (current["metadata"].get("labels") or {}).items()
                    if k not in (HEADLESS_LABEL, ENDPOINTS_MANAGED_BY_LABEL)}
            annotations = current["metadata"].get("annotations") or {}
            stored = current.get("subsets") or []
            fits = sum(len(s.get("addresses", ())) + len(s.get("notReadyAddresses", ())) for s in stored
                       ) <= MAX_ENDPOINTS_ADDRESSES and OVER_CAPACITY_ANNOTATION not in annotations
            if _strip_rv(stored) == subsets and have == {
                    k: v for k, v in labels.items() if k != ENDPOINTS_MANAGED_BY_LABEL} and fits:
                return
        await self._write(cluster, svc, current, subsets, labels, trigger)

    def desired_subsets(self, svc: Obj, pods: list[Obj]) -> list[Obj]:
        spec = svc.get("spec") or {}
        tolerate = bool(spec.get("publishNotReadyAddresses"))
        ports = [p for p in spec.get("ports") or () if isinstance(p, dict)]
        entries: list[tuple[Obj, bool, Obj | None]] = []
        for pod in pods:
            if not should_pod_be_in_endpoints(pod, tolerate):
                continue
            addr = endpoint_address(svc, pod)
            if addr is None:
                continue
            if should_set_hostname(pod, svc):
                addr = {"ip": addr["ip"], "hostname": pod["spec"]["hostname"],
                        **{k: v for k, v in addr.items() if k != "ip"}}
            ready = tolerate or podutil.is_ready(pod)
            if not ports:
                # Only a headless Service may go without ports.
                if spec.get("clusterIP") == "None":
                    entries.append((addr, ready, None))
                continue
            for sp in ports:
                number = find_port(pod, sp)
                if number is not None:
                    entries.append((addr, ready, endpoint_port(sp, number)))
        return repack_subsets(entries)

    async def _write(self, cluster: str, svc: Obj, current: Obj | None, subsets: list[Obj],
                     labels: dict[str, str], trigger: str) -> None:
        meta = svc["metadata"]
        if current is None:
            ep: Obj = {"apiVersion": "v1", "kind": "Endpoints",
                       "metadata": {"name": meta["name"], "namespace": meta.get("namespace", "")}}
        else:
            ep = self.client.copy(current)
        annotations = dict(ep["metadata"].get("annotations") or {})
        if trigger:
            annotations[TRIGGER_TIME_ANNOTATION] = trigger
        else:
            annotations.pop(TRIGGER_TIME_ANNOTATION, None)
        if truncate_subsets(subsets):
            annotations[OVER_CAPACITY_ANNOTATION] = "truncated"
        else:
            annotations.pop(OVER_CAPACITY_ANNOTATION, None)
        if not service_ip_set(svc):
            labels[HEADLESS_LABEL] = ""
        else:
            labels.pop(HEADLESS_LABEL, None)
        if self._version_minor(cluster) >= 33:
            labels[ENDPOINTS_MANAGED_BY_LABEL] = ENDPOINTS_CONTROLLER_NAME
        for field, value in (("labels", labels), ("annotations", annotations)):
            if value:
                ep["metadata"][field] = value
            else:
                ep["metadata"].pop(field, None)
        if subsets:
            ep["subsets"] = subsets
        else:
            ep.pop("subsets", None)
        try:
            if current is None:
                await self.client.create(cluster, ep)
            else:
                await self.client.update(cluster, ep)
        except ApiError as e:
            if current is None and _namespace_terminating(e):
                return
            if current is None:
                msg = f"Failed to create endpoint for service {meta.get('namespace')}/{meta['name']}: {e.message}"
                await self.client.event(cluster, ep, "Warning", "FailedToCreateEndpoint", msg,
                                        component="endpoint-controller")
            else:
                msg = f"Failed to update endpoint {meta.get('namespace')}/{meta['name']}: {e.message}"
                await self.client.event(cluster, ep, "Warning", "FailedToUpdateEndpoint", msg,
                                        component="endpoint-controller")
            raise


# ---------------------------------------------------------------------------------------------------
# EndpointSlices


def slice_endpoint(svc: Obj, pod: Obj, address_type: str) -> Obj:
    """podToEndpoint: the pod's addresses of one family with ready/serving/terminating conditions."""
    serving = podutil.is_ready(pod)
    terminating = bool(pod["metadata"].get("deletionTimestamp"))
    ready = bool((svc.get("spec") or {}).get("publishNotReadyAddresses")) or (serving and not terminating)
    addresses = [str(ipaddress.ip_address(ip)) for ip in pod_ips(pod)
                 if _valid_ip(ip) and _is_ipv6(ip) == (address_type == "IPv6")]
    ep: Obj = {"addresses": addresses, "conditions": {"ready": ready, "serving": serving, "terminating": terminating}}
    if should_set_hostname(pod, svc):
        ep["hostname"] = pod["spec"]["hostname"]
    ep["targetRef"] = _target_ref(pod)
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        ep["nodeName"] = node
    return ep


def _valid_ip(ip: str) -> bool:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True


def slice_ports(svc: Obj, pod: Obj) -> list[Obj]:
    spec = svc.get("spec") or {}
    out: list[Obj] = []
    if not spec.get("ports") and spec.get("clusterIP") == "None":
        return out
    for sp in spec.get("ports") or ():
        number = find_port(pod, sp)
        if number is None:
            continue
        port: Obj = {"name": sp.get("name") or "", "port": number, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        out.append(port)
    return out


def _endpoint_key(ep: Obj) -> tuple[Any, ...]:
    """What identifies an endpoint across syncs: its addresses, hostname and pod (kube's endpoint hash)."""
    ref = ep.get("targetRef") or {}
    return (tuple(sorted(ep.get("addresses") or ())), ep.get("hostname") or "", ref.get("namespace", ""),
            ref.get("name", ""))


def _endpoint_same(a: Obj, b: Obj) -> bool:
    keys = ("nodeName", "zone", "conditions")
    return all(a.get(k) == b.get(k) for k in keys) and _strip_rv(a.get("targetRef")) == _strip_rv(b.get("targetRef"))


def _ports_key(ports: list[Obj] | None) -> tuple[Any, ...]:
    return tuple(sorted(_freeze(p) for p in ports or ()))


def slice_labels(svc: Obj, current: dict[str, str] | None = None) -> tuple[dict[str, str], bool]:
    """The slice's labels (the Service's, plus the reserved ones) and whether the Service's changed."""
    reserved = (SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL)
    own = {k: v for k, v in (current or {}).items() if k not in reserved}
    svc_labels = {k: v for k, v in (svc["metadata"].get("labels") or {}).items() if k not in reserved}
    changed = own != svc_labels
    labels = dict(svc_labels)
    if not service_ip_set(svc):
        labels[HEADLESS_LABEL] = ""
    labels[SERVICE_NAME_LABEL] = svc["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = SLICE_CONTROLLER_NAME
    return labels, changed


def new_slice(svc: Obj, ports: list[Obj] | None, address_type: str) -> Obj:
    meta = svc["metadata"]
    name = meta["name"]
    labels, _ = slice_labels(svc)
    owner = {"apiVersion": "v1", "kind": "Service", "name": name, "uid": meta["uid"], "controller": True,
             "blockOwnerDeletion": True}
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": f"{name}-", "namespace": meta.get("namespace", ""), "labels": labels,
                         "ownerReferences": [owner]},
            "addressType": address_type, "endpoints": [], "ports": ports}


def _owned_by(slice_: Obj, svc: Obj) -> bool:
    uid = svc["metadata"].get("uid")
    return any(r.get("uid") == uid and r.get("kind") == "Service" and r.get("apiVersion") == "v1"
               for r in slice_["metadata"].get("ownerReferences") or ())


class EndpointSliceController(_ServiceEndpointsController):
    """Keeps a Service's EndpointSlices listing its pods' endpoints, 100 to a slice."""

    name = "endpointslice"
    watches = ("pods", SLICES)

    def own_keys(self, ev: Event) -> Iterable[Key]:
        # Any change to a managed slice (ours included: the sync that follows finds nothing to do)
        # brings its Service back, so slices deleted or edited by others are put right.
        seen = set()
        for obj in (ev.obj, ev.prev):
            labels = (obj or {}).get("metadata", {}).get("labels") or {}
            svc_name = labels.get(SERVICE_NAME_LABEL)
            if svc_name and labels.get(MANAGED_BY_LABEL) == SLICE_CONTROLLER_NAME:
                seen.add((ev.cluster, ev.namespace, svc_name))
        yield from seen

    async def reconcile(self, key: Key) -> None:
        cluster, namespace, name = key
        svc = self.client.get(cluster, "services", namespace, name)
        if svc is None:
            self.tracker.forget(key)  # the slices go with their owner (garbage collector)
            return
        sel = service_selector(svc)
        if (svc.get("spec") or {}).get("type") == "ExternalName" or sel is None:
            return
        pods = self.selected_pods(cluster, svc, sel)
        existing = [s for s in self.client.list(cluster, SLICES, namespace)
                    if (s["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) == name
                    and (s["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == SLICE_CONTROLLER_NAME
                    and not s["metadata"].get("deletionTimestamp")]
        trigger = self.tracker.compute(key, svc, pods)
        families = set(service_families(svc))
        to_delete = [s for s in existing if s.get("addressType") not in families]
        for family in sorted(families):
            await self._reconcile_family(cluster, svc, pods, [s for s in existing if s.get("addressType") == family],
                                         family, trigger)
        for s in to_delete:
            await self.client.delete(cluster, s, uid_precondition=False)

    async def _reconcile_family(self, cluster: str, svc: Obj, pods: list[Obj], existing: list[Obj],
                                family: str, trigger: str) -> None:
        to_delete = [s for s in existing if not _owned_by(s, svc)]
        by_ports: dict[tuple[Any, ...], list[Obj]] = {}
        for s in existing:
            if _owned_by(s, svc):
                by_ports.setdefault(_ports_key(s.get("ports")), []).append(s)
        desired: dict[tuple[Any, ...], tuple[list[Obj], dict[tuple[Any, ...], Obj]]] = {}
        for pod in pods:
            if not should_pod_be_in_endpoints(pod, True):
                continue
            ports = slice_ports(svc, pod)
            ep = slice_endpoint(svc, pod, family)
            if ep["addresses"]:
                desired.setdefault(_ports_key(ports), (ports, {}))[1][_endpoint_key(ep)] = ep
        to_create: list[Obj] = []
        to_update: list[Obj] = []
        for pkey, (ports, wanted) in desired.items():
            c, u, d = self._by_ports(svc, by_ports.get(pkey, []), ports, dict(wanted), family)
            to_create += c
            to_update += u
            to_delete += d
        for pkey, slices in by_ports.items():
            if pkey not in desired:
                to_delete += slices
        if len(existing) == len(to_delete) and not to_create:
            placeholder = new_slice(svc, None, family)
            placeholder["endpoints"] = None
            if len(to_delete) == 1 and _is_placeholder_like(to_delete[0], placeholder):
                to_delete = []
            else:
                to_create.append(placeholder)
        # Rather than create one slice and delete another, reuse the one going away.
        while to_create and to_delete:
            old = to_delete.pop()
            fresh = to_create.pop()
            upd = self.client.copy(old)
            upd["metadata"]["labels"] = fresh["metadata"]["labels"]
            upd["endpoints"], upd["ports"] = fresh["endpoints"], fresh["ports"]
            to_update.append(upd)
        await self._finish(cluster, svc, to_create, to_update, to_delete, trigger)

    def _by_ports(self, svc: Obj, slices: list[Obj], ports: list[Obj], wanted: dict[tuple[Any, ...], Obj],
                  family: str) -> tuple[list[Obj], list[Obj], list[Obj]]:
        """reconcileByPortMapping: keep wanted endpoints where they are, drop the rest, fill up."""
        updated: dict[str, Obj] = {}
        unchanged: dict[str, Obj] = {}
        deleted: list[Obj] = []
        for s in slices:
            keep: list[Obj] = []
            changed = False
            for ep in s.get("endpoints") or ():
                want = wanted.pop(_endpoint_key(ep), None)
                if want is not None:
                    keep.append(want)
                    changed = changed or not _endpoint_same(want, ep)
            labels, labels_changed = slice_labels(svc, s["metadata"].get("labels"))
            if changed or len(keep) != len(s.get("endpoints") or ()):
                if not keep:
                    deleted.append(s)
                    continue
                upd = self.client.copy(s)
                upd["endpoints"], upd["metadata"]["labels"] = keep, labels
                updated[s["metadata"]["name"]] = upd
            elif labels_changed:
                upd = self.client.copy(s)
                upd["metadata"]["labels"] = labels
                updated[s["metadata"]["name"]] = upd
            else:
                unchanged[s["metadata"]["name"]] = s
        remaining = list(wanted.values())
        for upd in sorted(updated.values(), key=lambda s: -len(s["endpoints"])):
            room = MAX_ENDPOINTS_PER_SLICE - len(upd["endpoints"])
            if room > 0 and remaining:
                upd["endpoints"] = upd["endpoints"] + remaining[:room]
                remaining = remaining[room:]
        created: list[Obj] = []
        while remaining:
            target: Obj | None = None
            if len(remaining) < MAX_ENDPOINTS_PER_SLICE and unchanged:
                target = _closest_to_full(list(unchanged.values()), len(remaining))
            if target is None:
                target = new_slice(svc, ports, family)
                created.append(target)
            else:
                name = target["metadata"]["name"]
                target = self.client.copy(target)
                unchanged.pop(name)
                updated[name] = target
            room = MAX_ENDPOINTS_PER_SLICE - len(target["endpoints"] or ())
            target["endpoints"] = list(target["endpoints"] or ()) + remaining[:room]
            remaining = remaining[room:]
        return created, list(updated.values()), deleted

    async def _finish(self, cluster: str, svc: Obj, to_create: list[Obj], to_update: list[Obj],
                      to_delete: list[Obj], trigger: str) -> None:
        try:
            if not svc["metadata"].get("deletionTimestamp"):
                for s in to_create:
                    _set_trigger(s, trigger)
                    await self.client.create(cluster, s)
            for s in to_update:
                _set_trigger(s, trigger)
                await self.client.update(cluster, s)
            for s in to_delete:
                await self.client.delete(cluster, s, uid_precondition=False)
        except ApiError as e:
            if _namespace_terminating(e):
                return
            meta = svc["metadata"]
            await self.client.event(cluster, svc, "Warning", "FailedToUpdateEndpointSlices",
                                    f"Error updating Endpoint Slices for Service {meta.get('namespace')}/"
                                    f"{meta['name']}: {e.message}", component="endpoint-slice-controller")
            raise


def _closest_to_full(slices: list[Obj], n: int) -> Obj | None:
    """getSliceToFill: the slice that `n` more endpoints fill most completely, if any fits them."""
    best, best_gap = None, MAX_ENDPOINTS_PER_SLICE
    for s in slices:
        gap = MAX_ENDPOINTS_PER_SLICE - (n + len(s.get("endpoints") or ()))
        if 0 <= gap < best_gap:
            best, best_gap = s, gap
            if gap == 0:
                break
    return best


def _is_placeholder_like(existing: Obj, placeholder: Obj) -> bool:
    """The existing slice is the placeholder already: empty, port-less, with its labels and owner."""
    meta = existing["metadata"]
    return (not existing.get("endpoints") and not existing.get("ports")
            and existing.get("addressType") == placeholder["addressType"]
            and (meta.get("labels") or {}) == placeholder["metadata"]["labels"]
            and [_strip_rv(r) for r in meta.get("ownerReferences") or ()] == placeholder["metadata"]["ownerReferences"])


def _set_trigger(slice_: Obj, trigger: str) -> None:
    annotations = dict(slice_["metadata"].get("annotations") or {})
    if trigger:
        annotations[TRIGGER_TIME_ANNOTATION] = trigger
    else:
        annotations.pop(TRIGGER_TIME_ANNOTATION, None)
    if annotations:
        slice_["metadata"]["annotations"] = annotations
    else:
        slice_["metadata"].pop("annotations", None)
