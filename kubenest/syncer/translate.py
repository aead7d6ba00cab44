"""Translation between a virtual cluster's objects and their copies on the host: pure functions.

Down: virtual object in, host object out (names, references, origin labels and annotations). Up: host
status in, virtual status out. The syncer (syncer.py) decides when; this module decides what, and unit
tests call it directly (tests/unit/test_translate.py). Names and labels: docs/hosts.md.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from kubenest.api import defaults, selectors

Obj = dict[str, Any]


def _clone(value: Any) -> Any:
    """A deep copy of JSON data (objects are JSON): several times faster than copy.deepcopy."""
    return orjson.loads(orjson.dumps(value))

MANAGED_BY = "kubenest.io/managed-by"
MANAGED_BY_VALUE = "kubenest"
CLUSTER_LABEL = "kubenest.io/cluster"
NAMESPACE_LABEL = "kubenest.io/namespace"
NAME_ANNOTATION = "kubenest.io/name"
NAMESPACE_ANNOTATION = "kubenest.io/namespace"
UID_ANNOTATION = "kubenest.io/uid"
HASH_ANNOTATION = "kubenest.io/hash"  # of the translated object: unchanged virtual objects cost no write
TOKEN_FOR_ANNOTATION = "kubenest.io/token-for-pod"  # a pod's service account token Secret
MANAGED_SELECTOR = f"{MANAGED_BY}={MANAGED_BY_VALUE}"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_VOLUME = "kube-api-access-kubenest"  # for pods stored before the ServiceAccount admission

# Fields of pod status copied up from the host pod.
POD_STATUS_FIELDS = ("phase", "conditions", "message", "reason", "nominatedNodeName", "hostIP", "hostIPs",
                     "podIP", "podIPs", "startTime", "initContainerStatuses", "containerStatuses",
                     "ephemeralContainerStatuses", "qosClass", "resize", "resourceClaimStatuses")


# -- names ----------------------------------------------------------------------------------------------


def safe_concat(*parts: str) -> str:
    """Parts joined by `-`; over 63 characters: the first 52, `-` and 10 hex characters of the sha256 of
    the whole (vcluster's SafeConcatName, so names stay valid DNS labels)."""
    full = "-".join(parts)
    if len(full) <= 63:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()
    return (full[:52] + "-" + digest[:10]).replace(".-", "-")


def host_name(name: str, namespace: str, cluster: str) -> str:
    """The host name of virtual object `namespace/name` of `cluster`: `<name>-x-<namespace>-x-<cluster>`."""
    return safe_concat(name, "x", namespace, "x", cluster)


def host_namespace(cluster: str) -> str:
    """The host namespace holding every object of virtual cluster `cluster`."""
    return safe_concat("kubenest", cluster)


def token_secret_name(pod: str, namespace: str, cluster: str) -> str:
    """The host Secret with the service account token of virtual pod `namespace/pod`."""
    return host_name(f"{pod}-sa-token", namespace, cluster)


@dataclass(frozen=True, slots=True)
class Origin:
    """Which virtual object a host object copies."""

    cluster: str
    namespace: str
    name: str
    uid: str


def origin_of(host_obj: Mapping[str, Any]) -> Origin | None:
    """The virtual object behind a host object the syncer wrote (None for anything else)."""
    meta = host_obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    ann = meta.get("annotations") or {}
    if labels.get(MANAGED_BY) != MANAGED_BY_VALUE or CLUSTER_LABEL not in labels or NAME_ANNOTATION not in ann:
        return None
    return Origin(labels[CLUSTER_LABEL], ann.get(NAMESPACE_ANNOTATION, ""), ann[NAME_ANNOTATION],
                  ann.get(UID_ANNOTATION, ""))


def origin_labels(cluster: str, namespace: str) -> dict[str, str]:
    labels = {MANAGED_BY: MANAGED_BY_VALUE, CLUSTER_LABEL: cluster}
    if namespace:
        labels[NAMESPACE_LABEL] = namespace
    return labels


def host_meta(vobj: Mapping[str, Any], cluster: str, name: str | None = None,
              keep_labels: bool = True, keep_annotations: bool = True) -> Obj:
    """Host metadata: translated name, host namespace, the virtual labels and annotations (unless not
    wanted) plus the origin labels and annotations."""
    vmeta = vobj.get("metadata") or {}
    ns = vmeta.get("namespace", "")
    labels = {k: v for k, v in (vmeta.get("labels") or {}).items() if not k.startswith("kubenest.io/")} \
        if keep_labels else {}
    labels.update(origin_labels(cluster, ns))
    ann = {k: v for k, v in (vmeta.get("annotations") or {}).items()
           if not k.startswith("kubenest.io/") and k != "kubectl.kubernetes.io/last-applied-configuration"} \
        if keep_annotations else {}
    ann.update({NAME_ANNOTATION: vmeta.get("name", ""), NAMESPACE_ANNOTATION: ns,
                UID_ANNOTATION: vmeta.get("uid", "")})
    return {"name": name or host_name(vmeta.get("name", ""), ns, cluster), "namespace": host_namespace(cluster),
            "labels": labels, "annotations": ann}


def with_hash(obj: Obj) -> Obj:
    """Stamp `obj` with the hash of its content: the syncer writes again only when it changes."""
    digest = hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    obj["metadata"]["annotations"][HASH_ANNOTATION] = digest
    return obj


def hash_of(obj: Mapping[str, Any] | None) -> str:
    if not obj:
        return ""
    return str(((obj.get("metadata") or {}).get("annotations") or {}).get(HASH_ANNOTATION, ""))


# -- pods -----------------------------------------------------------------------------------------------


@dataclass
class PodContext:
    """What a pod's translation needs beyond the pod: the cluster, where pods reach its API, and its
    services (for the environment kube would inject)."""

    cluster: str
    api_host: str
    api_port: int
    services: list[Obj] = field(default_factory=list)  # virtual Services of the pod's namespace
    host_cluster_ips: dict[str, str] = field(default_factory=dict)  # virtual service name -> host ClusterIP


def pod_refs(pod: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """Names of the ConfigMaps and Secrets a pod uses (volumes, env, envFrom, imagePullSecrets)."""
    cms: set[str] = set()
    secrets: set[str] = set()
    spec = pod.get("spec") or {}
    for v in spec.get("volumes") or ():
        if "configMap" in v:
            cms.add(v["configMap"].get("name", ""))
        if "secret" in v:
            secrets.add(v["secret"].get("secretName", ""))
        for src in (v.get("projected") or {}).get("sources") or ():
            if "configMap" in src:
                cms.add(src["configMap"].get("name", ""))
            if "secret" in src:
                secrets.add(src["secret"].get("name", ""))
        for kind in ("csi", "cephfs", "cinder", "flexVolume", "rbd", "iscsi", "scaleIO", "storageos", "azureFile"):
            ref = (v.get(kind) or {}).get("secretRef") or (v.get(kind) or {}).get("nodePublishSecretRef")
            if ref and ref.get("name"):
                secrets.add(ref["name"])
            if kind == "azureFile" and (v.get(kind) or {}).get("secretName"):
                secrets.add(v[kind]["secretName"])
    for c in _all_containers(spec):
        for ef in c.get("envFrom") or ():
            if "configMapRef" in ef:
                cms.add(ef["configMapRef"].get("name", ""))
            if "secretRef" in ef:
                secrets.add(ef["secretRef"].get("name", ""))
        for e in c.get("env") or ():
            vf = e.get("valueFrom") or {}
            if "configMapKeyRef" in vf:
                cms.add(vf["configMapKeyRef"].get("name", ""))
            if "secretKeyRef" in vf:
                secrets.add(vf["secretKeyRef"].get("name", ""))
    for s in spec.get("imagePullSecrets") or ():
        secrets.add(s.get("name", ""))
    # The standard token volume's CA is put into the token Secret instead of syncing kube-root-ca.crt.
    if _token_volume(spec) is not None and not _other_root_ca_use(spec):
        cms.discard("kube-root-ca.crt")
    cms.discard("")
    secrets.discard("")
    return cms, secrets


def _other_root_ca_use(spec: Mapping[str, Any]) -> bool:
    for v in spec.get("volumes") or ():
        if (v.get("configMap") or {}).get("name") == "kube-root-ca.crt":
            return True
        if "projected" in v and not _is_token_projection(v["projected"]):
            if any((s.get("configMap") or {}).get("name") == "kube-root-ca.crt"
                   for s in v["projected"].get("sources") or ()):
                return True
    for c in _all_containers(spec):
        if any((ef.get("configMapRef") or {}).get("name") == "kube-root-ca.crt" for ef in c.get("envFrom") or ()):
            return True
        if any(((e.get("valueFrom") or {}).get("configMapKeyRef") or {}).get("name") == "kube-root-ca.crt"
               for e in c.get("env") or ()):
            return True
    return False


def _all_containers(spec: Mapping[str, Any]) -> Iterable[Obj]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or ()


def _is_token_projection(projected: Mapping[str, Any]) -> bool:
    """The ServiceAccount admission's projection: a token, kube-root-ca.crt and the namespace, nothing else."""
    sources = projected.get("sources") or ()
    has_token = False
    for s in sources:
        if "serviceAccountToken" in s:
            has_token = True
        elif "configMap" in s:
            if s["configMap"].get("name") != "kube-root-ca.crt":
                return False
        elif "downwardAPI" in s:
            items = s["downwardAPI"].get("items") or ()
            if any((i.get("fieldRef") or {}).get("fieldPath") != "metadata.namespace" for i in items):
                return False
        else:
            return False
    return has_token


def _token_volume(spec: Mapping[str, Any]) -> Obj | None:
    for v in spec.get("volumes") or ():
        if "projected" in v and _is_token_projection(v["projected"]):
            return v
    return None


def needs_token(pod: Mapping[str, Any]) -> bool:
    """Whether the host pod gets a service account token Secret (the pod mounts a token)."""
    spec = pod.get("spec") or {}
    if any("serviceAccountToken" in s for v in spec.get("volumes") or ()
           for s in (v.get("projected") or {}).get("sources") or ()):
        return True
    return _wants_default_token(spec)


def _wants_default_token(spec: Mapping[str, Any]) -> bool:
    """A pod stored without the ServiceAccount admission's volume that does not opt out of a token."""
    if spec.get("automountServiceAccountToken") is False:
        return False
    if any(str(v.get("name", "")).startswith("kube-api-access-") for v in spec.get("volumes") or ()):
        return False
    return not all(any(m.get("mountPath") == TOKEN_PATH for m in c.get("volumeMounts") or ())
                   for c in _all_containers(spec))


def token_secret(pod: Mapping[str, Any], cluster: str, token: str, ca_pem: str) -> Obj:
    """The host Secret behind the pod's token volume: `token`, `ca.crt` and `namespace`."""
    meta = pod["metadata"]
    hmeta = host_meta(pod, cluster, token_secret_name(meta["name"], meta["namespace"], cluster),
                      keep_labels=False, keep_annotations=False)
    hmeta["annotations"][TOKEN_FOR_ANNOTATION] = meta["name"]

    def b64(s: str) -> str:
        return base64.b64encode(s.encode()).decode()

    return with_hash({"apiVersion": "v1", "kind": "Secret", "metadata": hmeta, "type": "Opaque",
                      "data": {"token": b64(token), "ca.crt": b64(ca_pem), "namespace": b64(meta["namespace"])}})


def service_env(services: Iterable[Mapping[str, Any]], host_ips: Mapping[str, str]) -> list[Obj]:
    """The variables kube's kubelet injects for the services of a pod's namespace (enableServiceLinks),
    with each service's host ClusterIP when known."""
    out: list[Obj] = []
    for svc in sorted(services, key=lambda s: s["metadata"]["name"]):
        spec = svc.get("spec") or {}
        name = svc["metadata"]["name"]
        ip = host_ips.get(name) or spec.get("clusterIP")
        if not ip or ip == "None" or spec.get("type") == "ExternalName" or not spec.get("ports"):
            continue
        prefix = name.upper().replace("-", "_")
        ports = spec["ports"]
        out.append({"name": f"{prefix}_SERVICE_HOST", "value": ip})
        out.append({"name": f"{prefix}_SERVICE_PORT", "value": str(ports[0]["port"])})
        for p in ports:
            if p.get("name"):
                out.append({"name": f"{prefix}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}",
                            "value": str(p["port"])})
        first = ports[0]
        out.append({"name": f"{prefix}_PORT",
                    "value": f"{first.get('protocol', 'TCP').lower()}://{ip}:{first['port']}"})
        for p in ports:
            proto = p.get("protocol", "TCP")
            base = f"{prefix}_PORT_{p['port']}_{proto.upper()}"
            out += [{"name": base, "value": f"{proto.lower()}://{ip}:{p['port']}"},
                    {"name": f"{base}_PROTO", "value": proto.lower()},
                    {"name": f"{base}_PORT", "value": str(p["port"])},
                    {"name": f"{base}_ADDR", "value": ip}]
    return out


def api_env(host: str, port: int) -> list[Obj]:
    """KUBERNETES_SERVICE_* and KUBERNETES_PORT_*: the virtual cluster's API as pods reach it."""
    base = f"KUBERNETES_PORT_{port}_TCP"
    return [{"name": "KUBERNETES_SERVICE_HOST", "value": host},
            {"name": "KUBERNETES_SERVICE_PORT", "value": str(port)},
            {"name": "KUBERNETES_SERVICE_PORT_HTTPS", "value": str(port)},
            {"name": "KUBERNETES_PORT", "value": f"tcp://{host}:{port}"},
            {"name": base, "value": f"tcp://{host}:{port}"},
            {"name": f"{base}_PROTO", "value": "tcp"},
            {"name": f"{base}_PORT", "value": str(port)},
            {"name": f"{base}_ADDR", "value": host}]


_FIELD_REFS = {
    "metadata.name": f"metadata.annotations['{NAME_ANNOTATION}']",
    "metadata.namespace": f"metadata.annotations['{NAMESPACE_ANNOTATION}']",
    "metadata.uid": f"metadata.annotations['{UID_ANNOTATION}']",
}


def _field_ref(ref: Obj) -> None:
    path = ref.get("fieldPath", "")
    if path in _FIELD_REFS:
        ref["fieldPath"] = _FIELD_REFS[path]


def translate_pod(vpod: Mapping[str, Any], ctx: PodContext) -> Obj:
    """The host pod of virtual pod `vpod` (which the caller does not share: it is deep-copied here)."""
    cluster = ctx.cluster
    pod = _clone(dict(vpod))
    meta = pod["metadata"]
    ns = meta.get("namespace", "")
    spec: Obj = pod.get("spec") or {}
    if _wants_default_token(spec):
        defaults.mount_service_account_token(pod, TOKEN_VOLUME)

    def cm(name: str) -> str:
        return host_name(name, ns, cluster)

    token_secret_host = token_secret_name(meta["name"], ns, cluster)
    volumes = []
    for v in spec.get("volumes") or ():
        if "configMap" in v:
            v["configMap"]["name"] = cm(v["configMap"].get("name", ""))
        elif "secret" in v:
            v["secret"]["secretName"] = cm(v["secret"].get("secretName", ""))
        elif "persistentVolumeClaim" in v:
            v["persistentVolumeClaim"]["claimName"] = cm(v["persistentVolumeClaim"].get("claimName", ""))
        elif "projected" in v:
            proj = v["projected"]
            if _is_token_projection(proj):
                v = {"name": v["name"], "secret": _token_secret_volume(proj, token_secret_host)}
            else:
                proj["sources"] = [_projection_source(s, ns, cluster, token_secret_host)
                                   for s in proj.get("sources") or ()]
        elif "downwardAPI" in v:
            for item in v["downwardAPI"].get("items") or ():
                if "fieldRef" in item:
                    _field_ref(item["fieldRef"])
        elif "ephemeral" in v:
            pass  # the host makes the claim from the template, named after the host pod
        for kind in ("csi", "cephfs", "cinder", "flexVolume", "rbd", "iscsi", "scaleIO", "storageos"):
            for ref_key in ("secretRef", "nodePublishSecretRef"):
                ref = (v.get(kind) or {}).get(ref_key)
                if ref and ref.get("name"):
                    ref["name"] = cm(ref["name"])
        if (v.get("azureFile") or {}).get("secretName"):
            v["azureFile"]["secretName"] = cm(v["azureFile"]["secretName"])
        volumes.append(v)
    if volumes or "volumes" in spec:
        spec["volumes"] = volumes

    injected = api_env(ctx.api_host, ctx.api_port)
    if spec.get("enableServiceLinks", True):
        injected = service_env(ctx.services, ctx.host_cluster_ips) + injected
    for c in _all_containers(spec):
        for ef in c.get("envFrom") or ():
            for k in ("configMapRef", "secretRef"):
                if k in ef:
                    ef[k]["name"] = cm(ef[k].get("name", ""))
        env = []
        for e in c.get("env") or ():
            vf = e.get("valueFrom") or {}
            for k in ("configMapKeyRef", "secretKeyRef"):
                if k in vf:
                    vf[k]["name"] = cm(vf[k].get("name", ""))
            if "fieldRef" in vf:
                _field_ref(vf["fieldRef"])
            env.append(e)
        # Injected first: the container's own variables win, as with kube's service links.
        own = {e.get("name") for e in env}
        c["env"] = [e for e in injected if e["name"] not in own] + env
    for s in spec.get("imagePullSecrets") or ():
        s["name"] = cm(s.get("name", ""))

    spec["automountServiceAccountToken"] = False
    spec["enableServiceLinks"] = False
    # The host schedules: the virtual node is set from the host pod once bound (vcluster's default).
    spec.pop("nodeName", None)
    spec.pop("serviceAccount", None)
    spec.pop("serviceAccountName", None)
    spec.pop("priority", None)  # priority classes are the host's: its admission sets the number
    spec.pop("priorityClassName", None)
    spec.pop("preemptionPolicy", None)
    spec.pop("runtimeClassName", None)
    spec.pop("schedulingGates", None)
    spec.pop("resourceClaims", None)
    spec.pop("ephemeralContainers", None)
    spec.pop("hostname", None)  # kube sets it from the pod name; keep the virtual name below
    spec["hostname"] = _hostname(vpod)
    if spec.get("subdomain"):
        spec["subdomain"] = cm(spec["subdomain"])
    _translate_affinity(spec, ns, cluster)
    for tsc in spec.get("topologySpreadConstraints") or ():
        tsc["labelSelector"] = _pod_selector(tsc.get("labelSelector"), ns, cluster)

    hmeta = host_meta(vpod, cluster)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": hmeta, "spec": spec}


def _hostname(vpod: Mapping[str, Any]) -> str:
    spec = vpod.get("spec") or {}
    name = spec.get("hostname") or vpod["metadata"]["name"]
    return str(name)[:63].rstrip("-.")


def _token_secret_volume(proj: Mapping[str, Any], secret: str) -> Obj:
    items = []
    for s in proj.get("sources") or ():
        if "serviceAccountToken" in s:
            items.append({"key": "token", "path": s["serviceAccountToken"].get("path", "token")})
        elif "configMap" in s:
            for i in s["configMap"].get("items") or [{"key": "ca.crt", "path": "ca.crt"}]:
                items.append({"key": "ca.crt", "path": i.get("path", "ca.crt")})
        elif "downwardAPI" in s:
            for i in s["downwardAPI"].get("items") or ():
                items.append({"key": "namespace", "path": i.get("path", "namespace")})
    out: Obj = {"secretName": secret, "items": items}
    if "defaultMode" in proj:
        out["defaultMode"] = proj["defaultMode"]
    return out


def _projection_source(s: Obj, ns: str, cluster: str, token_secret_host: str) -> Obj:
    if "serviceAccountToken" in s:
        return {"secret": {"name": token_secret_host,
                           "items": [{"key": "token", "path": s["serviceAccountToken"].get("path", "token")}]}}
    if "configMap" in s:
        s["configMap"]["name"] = host_name(s["configMap"].get("name", ""), ns, cluster)
    elif "secret" in s:
        s["secret"]["name"] = host_name(s["secret"].get("name", ""), ns, cluster)
    elif "downwardAPI" in s:
        for item in s["downwardAPI"].get("items") or ():
            if "fieldRef" in item:
                _field_ref(item["fieldRef"])
    return s


def _pod_selector(sel: Obj | None, ns: str, cluster: str) -> Obj:
    """A pod label selector of virtual namespace `ns`, made to match only that namespace's host pods."""
    out = _clone(sel) if sel else {}
    out.setdefault("matchLabels", {})[NAMESPACE_LABEL] = ns
    return out


def _translate_affinity(spec: Obj, ns: str, cluster: str) -> None:
    """Pod (anti-)affinity terms select pods of the term's namespaces (default: the pod's own)."""
    aff = spec.get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        block = aff.get(kind)
        if not block:
            continue
        terms = list(block.get("requiredDuringSchedulingIgnoredDuringExecution") or ())
        terms += [w.get("podAffinityTerm") or {} for w in block.get("preferredDuringSchedulingIgnoredDuringExecution")
                  or ()]
        for t in terms:
            namespaces = t.pop("namespaces", None) or [ns]
            t.pop("namespaceSelector", None)
            sel = _clone(t.get("labelSelector")) or {}
            exprs = sel.setdefault("matchExpressions", [])
            exprs.append({"key": NAMESPACE_LABEL, "operator": "In", "values": sorted(namespaces)})
            sel.setdefault("matchLabels", {})[CLUSTER_LABEL] = cluster
            t["labelSelector"] = sel


def update_pod(current: Obj, desired: Mapping[str, Any]) -> Obj:
    """The host pod `current` with what may change in place from `desired`: labels, annotations, images
    and activeDeadlineSeconds (the rest of a pod's spec is immutable)."""
    new = _clone(current)
    new["metadata"]["labels"] = dict(desired["metadata"].get("labels") or {})
    new["metadata"]["annotations"] = dict(desired["metadata"].get("annotations") or {})
    dspec = desired.get("spec") or {}
    for key in ("initContainers", "containers"):
        images = {c["name"]: c.get("image") for c in dspec.get(key) or ()}
        for c in new["spec"].get(key) or ():
            if images.get(c["name"]):
                c["image"] = images[c["name"]]
    if "activeDeadlineSeconds" in dspec:
        new["spec"]["activeDeadlineSeconds"] = dspec["activeDeadlineSeconds"]
    return new


def pod_status_up(vpod: Mapping[str, Any], host_pod: Mapping[str, Any]) -> Obj:
    """The virtual pod's status from its host pod's."""
    hs = host_pod.get("status") or {}
    status = {k: _clone(hs[k]) for k in POD_STATUS_FIELDS if k in hs}
    if not status.get("qosClass") and (vpod.get("status") or {}).get("qosClass"):
        status["qosClass"] = vpod["status"]["qosClass"]
    return status


# -- other kinds ----------------------------------------------------------------------------------------


def translate_configmap(v: Mapping[str, Any], cluster: str) -> Obj:
    out: Obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": host_meta(v, cluster)}
    for k in ("data", "binaryData", "immutable"):
        if k in v:
            out[k] = _clone(v[k])
    return out


def translate_secret(v: Mapping[str, Any], cluster: str) -> Obj:
    out: Obj = {"apiVersion": "v1", "kind": "Secret", "metadata": host_meta(v, cluster)}
    type_ = v.get("type") or "Opaque"
    if type_ == "kubernetes.io/service-account-token":
        type_ = "Opaque"  # the host's token controller would fill (or reject) it for a host account
        out["metadata"]["annotations"] = {k: a for k, a in out["metadata"]["annotations"].items()
                                          if not k.startswith("kubernetes.io/service-account")}
    out["type"] = type_
    for k in ("data", "immutable"):
        if k in v:
            out[k] = _clone(v[k])
    if v.get("stringData"):  # write-only in kube: merged into data (taking precedence)
        out["data"] = dict(out.get("data") or {}, **{k: base64.b64encode(str(s).encode()).decode()
                                                     for k, s in v["stringData"].items()})
    return out


_SERVICE_KEEP = ("ports", "selector", "type", "sessionAffinity", "sessionAffinityConfig", "externalName",
                 "externalTrafficPolicy", "internalTrafficPolicy", "publishNotReadyAddresses",
                 "loadBalancerSourceRanges", "allocateLoadBalancerNodePorts", "loadBalancerClass",
                 "trafficDistribution", "ipFamilyPolicy", "ipFamilies")


def translate_service(v: Mapping[str, Any], cluster: str) -> Obj:
    """Host Service: same ports and type; the selector also requires the virtual namespace's label.
    Node ports are the host's own. ClusterIPs are left out (headless stays headless): they matter only
    when the host Service is created (`with_cluster_ips`) and cannot change after, so they are no part
    of the hash that decides whether to write."""
    vspec = v.get("spec") or {}
    ns = v["metadata"].get("namespace", "")
    spec = {k: _clone(vspec[k]) for k in _SERVICE_KEEP if k in vspec}
    if vspec.get("clusterIP") == "None":
        spec["clusterIP"] = "None"  # headless stays headless
    for p in spec.get("ports") or ():
        p.pop("nodePort", None)
    if spec.get("selector"):
        spec["selector"] = dict(spec["selector"], **{NAMESPACE_LABEL: ns})
    if spec.get("type") == "ExternalName":
        spec.pop("ipFamilyPolicy", None)
        spec.pop("ipFamilies", None)
    return {"apiVersion": "v1", "kind": "Service", "metadata": host_meta(v, cluster), "spec": spec}


def has_cluster_ip(svc: Mapping[str, Any]) -> bool:
    """Whether a Service has (or gets) an allocated ClusterIP: neither ExternalName nor headless."""
    spec = svc.get("spec") or {}
    return spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None"


def with_cluster_ips(host: Obj, v: Mapping[str, Any]) -> Obj:
    """The host Service to create for `v`: with the virtual Service's ClusterIPs when it has any (asked for
    by the user, or allocated before the host was reachable), so clients keep the address they saw."""
    vspec = v.get("spec") or {}
    if has_cluster_ip(v) and vspec.get("clusterIP"):
        spec = host["spec"]
        spec["clusterIP"] = vspec["clusterIP"]
        spec["clusterIPs"] = list(vspec.get("clusterIPs") or [vspec["clusterIP"]])
    return host


def without_cluster_ips(host: Obj) -> Obj:
    """The host Service to create when the host refuses the virtual address: the host allocates."""
    out = _clone(host)
    out["spec"].pop("clusterIP", None)
    out["spec"].pop("clusterIPs", None)
    return out


def cluster_ips_up(v: Obj, host: Mapping[str, Any]) -> None:
    """Give virtual Service `v` the host Service's ClusterIPs (and the IP families that go with them)."""
    hspec, spec = host.get("spec") or {}, v.setdefault("spec", {})
    for k in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        if k in hspec:
            spec[k] = _clone(hspec[k])


def service_status_up(host_status: Mapping[str, Any] | None) -> Obj:
    """The virtual Service's status from the host's: load balancer ingress and conditions."""
    hs = host_status or {}
    out: Obj = {"loadBalancer": _clone(hs.get("loadBalancer") or {})}
    if hs.get("conditions"):
        out["conditions"] = _clone(hs["conditions"])
    return out


def update_service(current: Obj, desired: Mapping[str, Any]) -> Obj:
    """The host service with desired's labels, annotations and spec, keeping what the host allocated."""
    new = _clone(current)
    new["metadata"]["labels"] = dict(desired["metadata"]["labels"])
    new["metadata"]["annotations"] = dict(desired["metadata"]["annotations"])
    cspec = new.get("spec") or {}
    spec = _clone(desired.get("spec") or {})
    for k in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "healthCheckNodePort"):
        if k in cspec and spec.get("type") == cspec.get("type"):
            spec[k] = cspec[k]
    node_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in cspec.get("ports") or ()}
    for p in spec.get("ports") or ():
        np = node_ports.get((p.get("port"), p.get("protocol", "TCP")))
        if np and spec.get("type") in ("NodePort", "LoadBalancer"):
            p["nodePort"] = np
    new["spec"] = spec
    return new


def translate_endpoints(v: Mapping[str, Any], cluster: str) -> Obj:
    """Endpoints of a selector-less service; addresses stay, pod references point at host pods."""
    subsets = _clone(v.get("subsets") or [])
    for s in subsets:
        for key in ("addresses", "notReadyAddresses"):
            for a in s.get(key) or ():
                ref = a.get("targetRef")
                if ref and ref.get("kind") == "Pod":
                    a["targetRef"] = {"kind": "Pod", "name": host_name(ref.get("name", ""),
                                                                       ref.get("namespace", ""), cluster),
                                      "namespace": host_namespace(cluster)}
                elif ref:
                    a.pop("targetRef")
                a.pop("nodeName", None)
    out: Obj = {"apiVersion": "v1", "kind": "Endpoints", "metadata": host_meta(v, cluster)}
    if subsets:
        out["subsets"] = subsets
    return out


def translate_pvc(v: Mapping[str, Any], cluster: str) -> Obj:
    spec = _clone(v.get("spec") or {})
    spec.pop("volumeName", None)  # the host binds to its own volume
    ns = v["metadata"].get("namespace", "")
    for k in ("dataSource", "dataSourceRef"):
        ref = spec.get(k)
        if ref and ref.get("kind") == "PersistentVolumeClaim" and not ref.get("apiGroup"):
            ref["name"] = host_name(ref["name"], ns, cluster)
        elif ref:
            spec.pop(k)
    if spec.get("dataSourceRef") and not spec.get("dataSource"):
        spec.pop("dataSourceRef")
    meta = host_meta(v, cluster)
    for k in ("pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
              "volume.beta.kubernetes.io/storage-provisioner", "volume.kubernetes.io/storage-provisioner",
              "volume.kubernetes.io/selected-node"):
        meta["annotations"].pop(k, None)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}


def update_pvc(current: Obj, desired: Mapping[str, Any]) -> Obj:
    """Only labels, annotations and the requested size change on a claim."""
    new = _clone(current)
    new["metadata"]["labels"] = dict(desired["metadata"]["labels"])
    ann = dict(desired["metadata"]["annotations"])
    for k, a in (current["metadata"].get("annotations") or {}).items():
        if k.startswith(("pv.kubernetes.io/", "volume.")):
            ann.setdefault(k, a)
    new["metadata"]["annotations"] = ann
    req = ((desired.get("spec") or {}).get("resources") or {}).get("requests")
    if req:
        new["spec"].setdefault("resources", {})["requests"] = dict(req)
    return new


def translate_ingress(v: Mapping[str, Any], cluster: str) -> Obj:
    """Backends and TLS secrets renamed to the host copies of the namespace's services and secrets."""
    spec = _clone(v.get("spec") or {})
    ns = v["metadata"].get("namespace", "")

    def backend(b: Obj | None) -> None:
        if b and b.get("service"):
            b["service"]["name"] = host_name(b["service"].get("name", ""), ns, cluster)
        if b and b.get("resource"):
            b.pop("resource")  # a typed reference to a virtual object the host cannot see

    backend(spec.get("defaultBackend"))
    for r in spec.get("rules") or ():
        for p in (r.get("http") or {}).get("paths") or ():
            backend(p.get("backend"))
    for t in spec.get("tls") or ():
        if t.get("secretName"):
            t["secretName"] = host_name(t["secretName"], ns, cluster)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": host_meta(v, cluster), "spec": spec}


def ingress_refs(v: Mapping[str, Any]) -> set[str]:
    """TLS secrets an ingress uses."""
    return {t["secretName"] for t in (v.get("spec") or {}).get("tls") or () if t.get("secretName")}


def translate_network_policy(v: Mapping[str, Any], cluster: str,
                             namespaces: Mapping[str, Mapping[str, str]]) -> Obj:
    """A policy of virtual namespace `ns`: its pod selector and peers select host pods by the origin
    namespace label; namespace selectors are resolved against the virtual cluster's `namespaces`
    (name -> labels) at translation time."""
    spec = _clone(v.get("spec") or {})
    ns = v["metadata"].get("namespace", "")
    spec["podSelector"] = _pod_selector(spec.get("podSelector"), ns, cluster)

    def peer(p: Obj) -> Obj:
        if "ipBlock" in p:
            return p
        pod_sel = _clone(p.get("podSelector")) or {}
        if "namespaceSelector" in p:
            sel = selectors.from_label_selector_object(p["namespaceSelector"])
            names = sorted(n for n, labels in namespaces.items() if sel.matches(labels))
            pod_sel.setdefault("matchExpressions", []).append(
                {"key": NAMESPACE_LABEL, "operator": "In", "values": names or ["-"]})
            pod_sel.setdefault("matchLabels", {})[CLUSTER_LABEL] = cluster
        else:
            pod_sel.setdefault("matchLabels", {})[NAMESPACE_LABEL] = ns
        return {"podSelector": pod_sel}

    for rule in spec.get("ingress") or ():
        if "from" in rule:
            rule["from"] = [peer(p) for p in rule["from"]]
    for rule in spec.get("egress") or ():
        if "to" in rule:
            rule["to"] = [peer(p) for p in rule["to"]]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": host_meta(v, cluster),
            "spec": spec}


def replace_spec(current: Obj, desired: Mapping[str, Any], keys: Iterable[str]) -> Obj:
    """`current` with desired's labels, annotations and top-level `keys` (what an update may change)."""
    new = _clone(current)
    new["metadata"]["labels"] = dict(desired["metadata"].get("labels") or {})
    if "annotations" in desired["metadata"]:
        new["metadata"]["annotations"] = dict(desired["metadata"]["annotations"])
    for k in keys:
        if k in desired:
            new[k] = _clone(desired[k])
        else:
            new.pop(k, None)
    return new


# -- the host namespace of a virtual cluster ------------------------------------------------------------


def namespace_objects(cluster: str, spec: Mapping[str, Any]) -> list[tuple[str, str, Obj]]:
    """(apiVersion, resource, object) for the host namespace of `cluster` and what it holds: the
    isolation NetworkPolicy, and the ResourceQuota and LimitRange the VirtualCluster spec asks for."""
    ns = host_namespace(cluster)
    labels = {MANAGED_BY: MANAGED_BY_VALUE, CLUSTER_LABEL: cluster}
    out: list[tuple[str, str, Obj]] = [
        ("v1", "namespaces", {"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": ns, "labels": dict(labels)}}),
        ("networking.k8s.io/v1", "networkpolicies", {
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "kubenest-isolation", "namespace": ns, "labels": dict(labels)},
            # Ingress only from pods of the same host namespace: virtual clusters cannot reach each other.
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}}),
    ]
    hard = (spec.get("quota") or {}).get("hard")
    if hard:
        out.append(("v1", "resourcequotas", {
            "apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "kubenest-quota", "namespace": ns, "labels": dict(labels)},
            "spec": {"hard": dict(hard)}}))
    limits = (spec.get("limitRange") or {}).get("limits")
    if limits:
        out.append(("v1", "limitranges", {
            "apiVersion": "v1", "kind": "LimitRange",
            "metadata": {"name": "kubenest-limits", "namespace": ns, "labels": dict(labels)},
            "spec": {"limits": _clone(limits)}}))
    return out


# -- up: nodes, events, volumes -------------------------------------------------------------------------


def virtual_node(host_node: Mapping[str, Any]) -> Obj:
    """The virtual cluster's copy of a host node that runs its pods: labels, taints and status."""
    meta = host_node["metadata"]
    spec = host_node.get("spec") or {}
    vspec: Obj = {}
    for k in ("taints", "unschedulable", "podCIDR", "podCIDRs", "providerID"):
        if k in spec:
            vspec[k] = _clone(spec[k])
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": meta["name"], "labels": dict(meta.get("labels") or {}),
                         "annotations": {k: v for k, v in (meta.get("annotations") or {}).items()
                                         if not k.startswith("node.alpha.kubernetes.io/ttl")}},
            "spec": vspec, "status": _clone(host_node.get("status") or {})}


def node_status_differs(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two node statuses differ in more than heartbeat times."""
    def strip(s: Mapping[str, Any]) -> Any:
        s = _clone(dict(s))
        for c in s.get("conditions") or ():
            c.pop("lastHeartbeatTime", None)
        return s
    return bool(strip(a) != strip(b))


def virtual_event(host_event: Mapping[str, Any], involved: Mapping[str, Any]) -> Obj:
    """A host Event about a synced object, as an Event about the virtual object `involved`."""
    vmeta = involved["metadata"]
    digest = hashlib.sha256(str(host_event["metadata"].get("uid", "")).encode()).hexdigest()[:16]
    io = host_event.get("involvedObject") or {}
    out: Obj = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{vmeta['name']}.{digest}", "namespace": vmeta.get("namespace") or "default"},
        "involvedObject": {"apiVersion": involved.get("apiVersion", "v1"), "kind": involved.get("kind"),
                           "name": vmeta["name"], "namespace": vmeta.get("namespace", ""),
                           "uid": vmeta.get("uid", ""), "resourceVersion": vmeta.get("resourceVersion", "")},
    }
    if io.get("fieldPath"):
        out["involvedObject"]["fieldPath"] = io["fieldPath"]
    for k in ("reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type", "eventTime",
              "series", "action", "reportingComponent", "reportingInstance"):
        if host_event.get(k) is not None:
            out[k] = _clone(host_event[k])
    if out.get("message"):
        out["message"] = _unname(out["message"], host_event, involved)
    return out


def _unname(message: str, host_event: Mapping[str, Any], involved: Mapping[str, Any]) -> str:
    io = host_event.get("involvedObject") or {}
    if io.get("name"):
        message = message.replace(io["name"], involved["metadata"]["name"])
    return message


def virtual_storage_class(host_sc: Mapping[str, Any]) -> Obj:
    meta = host_sc["metadata"]
    out: Obj = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": meta["name"], "labels": dict(meta.get("labels") or {}),
                             "annotations": {k: v for k, v in (meta.get("annotations") or {}).items()
                                             if k != "kubectl.kubernetes.io/last-applied-configuration"}}}
    for k in ("provisioner", "parameters", "reclaimPolicy", "mountOptions", "allowVolumeExpansion",
              "volumeBindingMode", "allowedTopologies"):
        if k in host_sc:
            out[k] = _clone(host_sc[k])
    return out


def virtual_pv(vpvc: Mapping[str, Any], host_pvc: Mapping[str, Any]) -> Obj:
    """The virtual PersistentVolume standing for the host volume a claim is bound to."""
    hspec = host_pvc.get("spec") or {}
    hstatus = host_pvc.get("status") or {}
    vmeta = vpvc["metadata"]
    spec: Obj = {
        "capacity": dict(hstatus.get("capacity") or ((hspec.get("resources") or {}).get("requests") or {})),
        "accessModes": list(hstatus.get("accessModes") or hspec.get("accessModes") or ["ReadWriteOnce"]),
        "persistentVolumeReclaimPolicy": "Delete",
        "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": vmeta["name"],
                     "namespace": vmeta["namespace"], "uid": vmeta.get("uid", "")},
        "csi": {"driver": "kubenest.io/host-volume", "volumeHandle": hspec.get("volumeName", "")},
    }
    if hspec.get("storageClassName"):
        spec["storageClassName"] = hspec["storageClassName"]
    if hspec.get("volumeMode"):
        spec["volumeMode"] = hspec["volumeMode"]
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": hspec.get("volumeName", ""),
                         "labels": {MANAGED_BY: MANAGED_BY_VALUE},
                         "annotations": {"pv.kubernetes.io/provisioned-by": "kubenest.io/host-volume"}},
            "spec": spec}
