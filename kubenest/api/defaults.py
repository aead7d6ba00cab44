"""Built-in defaulting: what kube-apiserver fills into an object that the client left out.

Three upstream mechanisms produce the fields a client sees filled in on a real cluster, and this
module reproduces all three for the built-in kinds, on plain dicts:

- scheme defaulting: the `SetDefaults_*` functions of `k8s.io/kubernetes/pkg/apis/*/v*/defaults.go`,
  the `+default=` markers of `k8s.io/api`, and the generated `zz_generated.defaults.go` that applies
  them to every nested struct (every PodTemplateSpec inside a workload, every container, probe and
  volume). Kube runs this on every decoded request body, create and update alike.
- the few admission and REST-layer steps that fill fields on create: namespace finalizers, a pod's
  service account, priority and preemption policy, the not-ready/unreachable tolerations, and a
  service's IP families (not its cluster IP, which the allocator owns).
- Go's serialization of zero values: non-pointer structs and ints without `omitempty` always appear
  (`resources: {}` on a container, `status: {replicas: 0}` on a ReplicaSet, `metadata: {}` on a pod
  template). `fill_zero_values` adds those, and can be called again after a strategy resets status.

Nothing set by the client is ever overwritten, except where kube itself rewrites a field: the
`serviceAccount` alias always mirrors `serviceAccountName`, a `None` session affinity drops its config,
and a namespace always carries its `kubernetes.io/metadata.name` label.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable
from typing import Any

from kubenest.api.names import random_string

Obj = dict[str, Any]

DEFAULT_KUBE_VERSION = "1.37"


class _Ctx:
    """What a defaulter may depend on besides the object: the API version and the cluster's version."""

    __slots__ = ("version", "minor", "create")

    def __init__(self, version: str, kube_version: str, create: bool) -> None:
        self.version = version
        self.minor = _minor(kube_version)
        self.create = create


@functools.cache
def _minor(kube_version: str) -> int:
    m = re.match(r"v?1\.(\d+)", kube_version)
    return int(m.group(1)) if m else 37


def apply_defaults(
    group: str,
    version: str,
    kind: str,
    obj: Obj,
    *,
    kube_version: str = DEFAULT_KUBE_VERSION,
    create: bool = True,
) -> None:
    """Fill in, in place, every field kube-apiserver defaults on an object of this kind.

    `kube_version` ("1.25" ... "1.37") selects the feature-gated defaults of that release. `create`
    says whether the object is being created: the create-only steps (pod service account and priority,
    namespace finalizer) are skipped on updates. Unknown kinds are left alone.
    """
    ctx = _Ctx(version, kube_version, create)
    defaulter = _DEFAULTERS.get((group, kind))
    if defaulter is not None:
        defaulter(obj, ctx)
    fill_zero_values(group, version, kind, obj)


def fill_zero_values(group: str, version: str, kind: str, obj: Obj) -> None:
    """Add the zero values Go always serializes for this kind (empty structs, counters without omitempty).

    Call it again after anything replaces `status` wholesale, as kube's strategies do on create.
    """
    template = _ZERO_STATUS.get((group, kind))
    if template is None and (group, kind, version) in _ZERO_STATUS_BY_VERSION:
        template = _ZERO_STATUS_BY_VERSION[(group, kind, version)]
    if template is not None:
        status = obj.get("status")
        if not isinstance(status, dict):
            status = obj["status"] = {}
        _merge_missing(status, template)


# ---------------------------------------------------------------------------------------------
# Small helpers. Go distinguishes pointer fields (nil means unset: `_ptr`) from value fields, where
# the zero value ("" or 0) means unset and is replaced too (`_val`).


def _ptr(d: Obj, key: str, value: Any) -> None:
    if d.get(key) is None:
        d[key] = value


def _val(d: Obj, key: str, value: Any) -> None:
    current = d.get(key)
    if current is None or current == "" or (current == 0 and not isinstance(current, bool)):
        d[key] = value


def _dict(d: Obj, key: str) -> Obj | None:
    v = d.get(key)
    return v if isinstance(v, dict) else None


def _dicts(d: Obj | None, key: str) -> list[Obj]:
    if d is None:
        return []
    v = d.get(key)
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _struct(d: Obj, key: str) -> Obj:
    """A non-pointer struct field: always present, `{}` when the client left it out."""
    v = d.get(key)
    if not isinstance(v, dict):
        v = d[key] = {}
    return v


def _merge_missing(target: Obj, template: Obj) -> None:
    for k, v in template.items():
        if isinstance(v, dict):
            cur = target.get(k)
            if not isinstance(cur, dict):
                cur = target[k] = {}
            _merge_missing(cur, v)
        elif k not in target:
            target[k] = list(v) if isinstance(v, list) else v


# ---------------------------------------------------------------------------------------------
# Images: kube pulls `:latest` (or untagged) images always and tagged ones if not present.

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE_RE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)


def image_tag(image: str) -> str:
    """The tag kube reads from an image reference: "latest" when it has neither tag nor digest.

    An unparsable reference has no tag, as upstream's parser error leaves it.
    """
    # Upper case is allowed in a registry host only, which the grammar below encodes.
    m = _REFERENCE_RE.fullmatch(image)
    if m is None or len(m.group("name")) > 255:
        return ""
    if m.group("tag"):
        return m.group("tag")
    return "" if m.group("digest") else "latest"


def _pull_policy(image: Any) -> str:
    return "Always" if isinstance(image, str) and image_tag(image) == "latest" else "IfNotPresent"


# ---------------------------------------------------------------------------------------------
# core/v1: pods and everything a pod spec holds.


def _probe(probe: Obj | None) -> None:
    if probe is None:
        return
    _val(probe, "timeoutSeconds", 1)
    _val(probe, "periodSeconds", 10)
    _val(probe, "successThreshold", 1)
    _val(probe, "failureThreshold", 3)
    _http_get(_dict(probe, "httpGet"))
    grpc = _dict(probe, "grpc")
    if grpc is not None:
        _ptr(grpc, "service", "")


def _http_get(action: Obj | None) -> None:
    if action is not None:
        _val(action, "path", "/")
        _val(action, "scheme", "HTTP")


def _field_ref(ref: Obj | None) -> None:
    if ref is not None:
        _val(ref, "apiVersion", "v1")


def _container(c: Obj) -> None:
    _val(c, "imagePullPolicy", _pull_policy(c.get("image")))
    _val(c, "terminationMessagePath", "/dev/termination-log")
    _val(c, "terminationMessagePolicy", "File")
    for port in _dicts(c, "ports"):
        _val(port, "protocol", "TCP")
    for env in _dicts(c, "env"):
        source = _dict(env, "valueFrom")
        if source is not None:
            _field_ref(_dict(source, "fieldRef"))
            file_ref = _dict(source, "fileKeyRef")
            if file_ref is not None:
                _ptr(file_ref, "optional", False)
    _struct(c, "resources")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(_dict(c, probe))
    lifecycle = _dict(c, "lifecycle")
    if lifecycle is not None:
        for hook in ("postStart", "preStop"):
            handler = _dict(lifecycle, hook)
            if handler is not None:
                _http_get(_dict(handler, "httpGet"))


def _pvc_spec(spec: Obj | None) -> None:
    if spec is not None:
        _ptr(spec, "volumeMode", "Filesystem")


_DEFAULT_MODE = 0o644  # 420, the mode of files projected into volumes


def _volume(v: Obj) -> None:
    if all(val is None for key, val in v.items() if key != "name"):
        v["emptyDir"] = {}
    host_path = _dict(v, "hostPath")
    if host_path is not None:
        _ptr(host_path, "type", "")
    for key in ("secret", "configMap"):
        source = _dict(v, key)
        if source is not None:
            _ptr(source, "defaultMode", _DEFAULT_MODE)
    downward = _dict(v, "downwardAPI")
    if downward is not None:
        _ptr(downward, "defaultMode", _DEFAULT_MODE)
        for item in _dicts(downward, "items"):
            _field_ref(_dict(item, "fieldRef"))
    projected = _dict(v, "projected")
    if projected is not None:
        _ptr(projected, "defaultMode", _DEFAULT_MODE)
        for source in _dicts(projected, "sources"):
            for item in _dicts(_dict(source, "downwardAPI"), "items"):
                _field_ref(_dict(item, "fieldRef"))
            token = _dict(source, "serviceAccountToken")
            if token is not None:
                _ptr(token, "expirationSeconds", 3600)
    _volume_plugin_defaults(v)
    ephemeral = _dict(v, "ephemeral")
    if ephemeral is not None:
        template = _dict(ephemeral, "volumeClaimTemplate")
        if template is not None:
            _pvc_spec(_dict(template, "spec"))
    image = _dict(v, "image")
    if image is not None:
        _val(image, "pullPolicy", _pull_policy(image.get("reference")))


def _volume_plugin_defaults(source: Obj) -> None:
    """Defaults of the in-tree volume plugins, shared by pod volumes and persistent volumes."""
    iscsi = _dict(source, "iscsi")
    if iscsi is not None:
        _val(iscsi, "iscsiInterface", "default")
    rbd = _dict(source, "rbd")
    if rbd is not None:
        _val(rbd, "pool", "rbd")
        _val(rbd, "user", "admin")
        _val(rbd, "keyring", "/etc/ceph/keyring")
    azure = _dict(source, "azureDisk")
    if azure is not None:
        _ptr(azure, "cachingMode", "ReadWrite")
        _ptr(azure, "fsType", "ext4")
        _ptr(azure, "readOnly", False)
        _ptr(azure, "kind", "Shared")
    scale_io = _dict(source, "scaleIO")
    if scale_io is not None:
        _val(scale_io, "storageMode", "ThinProvisioned")
        _val(scale_io, "fsType", "xfs")


def _pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec and everything nested in a pod spec (pods and pod templates alike)."""
    _val(spec, "dnsPolicy", "ClusterFirst")
    _val(spec, "restartPolicy", "Always")
    _ptr(spec, "securityContext", {})
    _ptr(spec, "terminationGracePeriodSeconds", 30)
    _val(spec, "schedulerName", "default-scheduler")
    # serviceAccount is the deprecated alias of serviceAccountName: read when the name is empty,
    # always written back from the name.
    if not spec.get("serviceAccountName") and spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for v in _dicts(spec, "volumes"):
        _volume(v)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in _dicts(spec, key):
            _container(c)


def _pod_template(template: Obj | None) -> None:
    if template is None:
        return
    _struct(template, "metadata")
    spec = _dict(template, "spec")
    if spec is not None:
        _pod_spec(spec)


def _requests_from_limits(containers: list[Obj]) -> None:
    for c in containers:
        resources = _dict(c, "resources")
        limits = _dict(resources, "limits") if resources is not None else None
        if resources is None or limits is None:
            continue
        requests = _dict(resources, "requests")
        if requests is None:
            requests = resources["requests"] = {}
        for name, quantity in limits.items():
            requests.setdefault(name, quantity)


_SYSTEM_PRIORITIES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
_DEFAULT_TOLERATIONS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def _pod(obj: Obj, ctx: _Ctx) -> None:
    spec = _dict(obj, "spec")
    if spec is None:
        spec = obj["spec"] = {}
    # SetDefaults_Pod: only on pods, not on templates.
    _requests_from_limits(_dicts(spec, "containers"))
    _requests_from_limits(_dicts(spec, "initContainers"))
    _ptr(spec, "enableServiceLinks", True)
    if spec.get("hostNetwork") is True:
        for key in ("containers", "initContainers"):
            for c in _dicts(spec, key):
                for port in _dicts(c, "ports"):
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
    _pod_spec(spec)
    _pod_admission(obj, spec, ctx)


def _pod_admission(obj: Obj, spec: Obj, ctx: _Ctx) -> None:
    """What the default admission plugins add to a pod: tolerations always, the rest on create."""
    tolerations = spec.get("tolerations")
    if not isinstance(tolerations, list):
        tolerations = []
    for key in _DEFAULT_TOLERATIONS:
        # A toleration with an empty key or effect already covers the taint.
        covered = any(
            isinstance(t, dict) and t.get("key", "") in ("", key) and t.get("effect", "") in ("", "NoExecute")
            for t in tolerations
        )
        if not covered:
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    spec["tolerations"] = tolerations
    if not ctx.create:
        return
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if "kubernetes.io/config.mirror" not in annotations and not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec["serviceAccount"] = "default"
    # Priority admission: without a class, priority 0; the two system classes are built in. A pod
    # naming another class gets its value from that PriorityClass, which the caller resolves.
    if spec.get("priority") is None:
        cls = spec.get("priorityClassName") or ""
        if not cls:
            spec["priority"] = 0
        elif cls in _SYSTEM_PRIORITIES:
            spec["priority"] = _SYSTEM_PRIORITIES[cls]
    _ptr(spec, "preemptionPolicy", "PreemptLowerPriority")


_TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


def token_volume_name(rng: random.Random | None = None) -> str:
    """A fresh `kube-api-access-xxxxx` name, drawn from kube's name-generator alphabet."""
    return "kube-api-access-" + random_string(5, rng)


def mount_service_account_token(
    pod: Obj, volume_name: str | None = None, *, service_account_automount: bool | None = None
) -> None:
    """Add the projected service-account token volume and its mounts, as the ServiceAccount admission does.

    Skipped when the pod (or, if the pod does not say, its service account) opts out of automounting.
    Containers that already mount something at the token path are left alone; an existing
    `kube-api-access-*` volume is reused.
    """
    spec = _dict(pod, "spec")
    if spec is None:
        return
    automount = spec.get("automountServiceAccountToken")
    if automount is None:
        automount = service_account_automount
    if automount is False:
        return
    volumes = spec.get("volumes")
    if not isinstance(volumes, list):
        volumes = []
    existing = next(
        (
            v["name"]
            for v in volumes
            if isinstance(v, dict) and str(v.get("name", "")).startswith("kube-api-access-")
        ),
        None,
    )
    name = existing or volume_name or token_volume_name()
    needs_volume = False
    for key in ("initContainers", "containers"):
        for c in _dicts(spec, key):
            mounts = c.get("volumeMounts")
            if not isinstance(mounts, list):
                mounts = []
            if any(isinstance(m, dict) and m.get("mountPath") == _TOKEN_MOUNT_PATH for m in mounts):
                continue
            mounts.append({"name": name, "readOnly": True, "mountPath": _TOKEN_MOUNT_PATH})
            c["volumeMounts"] = mounts
            needs_volume = True
    if needs_volume and existing is None:
        volumes.append(
            {
                "name": name,
                "projected": {
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {
                            "configMap": {
                                "name": "kube-root-ca.crt",
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                            }
                        },
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "path": "namespace",
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                    }
                                ]
                            }
                        },
                    ],
                    "defaultMode": _DEFAULT_MODE,
                },
            }
        )
        spec["volumes"] = volumes


def _pod_template_kind(obj: Obj, ctx: _Ctx) -> None:
    _pod_template(_dict(obj, "template"))


def _replication_controller(obj: Obj, ctx: _Ctx) -> None:
    spec = _dict(obj, "spec")
    if spec is None:
        spec = obj["spec"] = {}
    template = _dict(spec, "template")
    labels = (template.get("metadata") or {}).get("labels") if template is not None else None
    if labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        meta = _struct(obj, "metadata")
        if not meta.get("labels"):
            meta["labels"] = dict(labels)
    _ptr(spec, "replicas", 1)
    _pod_template(template)


_CLIENT_IP_TIMEOUT = 10800


def _externally_accessible(spec: Obj) -> bool:
    t = spec.get("type")
    return t in ("LoadBalancer", "NodePort") or (t == "ClusterIP" and bool(spec.get("externalIPs")))


def _service(obj: Obj, ctx: _Ctx) -> None:
    spec = _dict(obj, "spec")
    if spec is None:
        spec = obj["spec"] = {}
    _val(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = _dict(spec, "sessionAffinityConfig") or {}
        client_ip = _dict(config, "clientIP") or {}
        if client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": _CLIENT_IP_TIMEOUT}}
    _val(spec, "type", "ClusterIP")
    for port in _dicts(spec, "ports"):
        _val(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if _externally_accessible(spec):
        _val(spec, "externalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer", "ClusterIP"):
        _ptr(spec, "internalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        _ptr(spec, "allocateLoadBalancerNodePorts", True)
        status = _dict(obj, "status")
        for ingress in _dicts(_dict(status, "loadBalancer") if status else None, "ingress"):
            if ingress.get("ip") and ingress.get("ipMode") is None:
                ingress["ipMode"] = "VIP"
    _service_ip_families(spec)


def _ip_family(ip: str) -> str:
    return "IPv6" if ":" in ip else "IPv4"


def _service_ip_families(spec: Obj) -> None:
    """The service REST layer's IP family fields (single-stack IPv4 cluster); allocation is not here."""
    if spec.get("type") == "ExternalName":
        return
    cluster_ip = spec.get("clusterIP")
    if cluster_ip and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [cluster_ip]
    headless = cluster_ip == "None"
    if headless and not spec.get("selector"):
        # Headless services without a selector may carry endpoints of both families.
        _ptr(spec, "ipFamilyPolicy", "RequireDualStack")
    else:
        _ptr(spec, "ipFamilyPolicy", "SingleStack")
    if not spec.get("ipFamilies"):
        ips = [ip for ip in spec.get("clusterIPs") or () if isinstance(ip, str) and ip and ip != "None"]
        spec["ipFamilies"] = [_ip_family(ip) for ip in ips] or ["IPv4"]


def _secret(obj: Obj, ctx: _Ctx) -> None:
    _val(obj, "type", "Opaque")


def _namespace(obj: Obj, ctx: _Ctx) -> None:
    meta = _struct(obj, "metadata")
    name = meta.get("name")
    if name:
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            labels = meta["labels"] = {}
        labels["kubernetes.io/metadata.name"] = name
    _val(_struct(obj, "status"), "phase", "Active")
    # The namespace strategy requires the "kubernetes" finalizer on create; the namespace controller
    # removes it during deletion, so it is never put back on a namespace being deleted.
    if ctx.create and not meta.get("deletionTimestamp"):
        spec = _struct(obj, "spec")
        finalizers = spec.get("finalizers")
        if not isinstance(finalizers, list):
            finalizers = []
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        spec["finalizers"] = finalizers


def _pvc(obj: Obj, ctx: _Ctx) -> None:
    _val(_struct(obj, "status"), "phase", "Pending")
    _pvc_spec(_struct(obj, "spec"))


def _pv(obj: Obj, ctx: _Ctx) -> None:
    _val(_struct(obj, "status"), "phase", "Pending")
    spec = _struct(obj, "spec")
    _val(spec, "persistentVolumeReclaimPolicy", "Retain")
    _ptr(spec, "volumeMode", "Filesystem")
    host_path = _dict(spec, "hostPath")
    if host_path is not None:
        _ptr(host_path, "type", "")
    _volume_plugin_defaults(spec)


def _endpoints(obj: Obj, ctx: _Ctx) -> None:
    for subset in _dicts(obj, "subsets"):
        for port in _dicts(subset, "ports"):
            _val(port, "protocol", "TCP")


def _node(obj: Obj, ctx: _Ctx) -> None:
    status = _dict(obj, "status")
    if status is not None and status.get("allocatable") is None and isinstance(status.get("capacity"), dict):
        status["allocatable"] = dict(status["capacity"])


def _limit_range(obj: Obj, ctx: _Ctx) -> None:
    for item in _dicts(_dict(obj, "spec"), "limits"):
        if item.get("type") != "Container":
            continue
        default = _dict(item, "default")
        if default is None:
            default = item["default"] = {}
        default_request = _dict(item, "defaultRequest")
        if default_request is None:
            default_request = item["defaultRequest"] = {}
        # A max bounds the default limit; the default limit, else the min, gives the default request.
        for name, q in (_dict(item, "max") or {}).items():
            default.setdefault(name, q)
        for name, q in default.items():
            default_request.setdefault(name, q)
        for name, q in (_dict(item, "min") or {}).items():
            default_request.setdefault(name, q)


def _core_event(obj: Obj, ctx: _Ctx) -> None:
    # Go always writes these: an empty source struct, two plain strings and the zero times as null.
    _struct(obj, "involvedObject")
    _struct(obj, "source")
    obj.setdefault("reportingComponent", "")
    obj.setdefault("reportingInstance", "")
    for key in ("firstTimestamp", "lastTimestamp", "eventTime"):
        obj.setdefault(key, None)


# ---------------------------------------------------------------------------------------------
# apps/v1


def _spec(obj: Obj) -> Obj:
    spec = _dict(obj, "spec")
    if spec is None:
        spec = obj["spec"] = {}
    return spec


def _deployment(obj: Obj, ctx: _Ctx) -> None:
    spec = _spec(obj)
    _ptr(spec, "replicas", 1)
    strategy = _struct(spec, "strategy")
    _val(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        if rolling is None:
            rolling = strategy["rollingUpdate"] = {}
        _ptr(rolling, "maxUnavailable", "25%")
        _ptr(rolling, "maxSurge", "25%")
    _ptr(spec, "revisionHistoryLimit", 10)
    _ptr(spec, "progressDeadlineSeconds", 600)
    _pod_template(_struct(spec, "template"))


def _daemon_set(obj: Obj, ctx: _Ctx) -> None:
    spec = _spec(obj)
    strategy = _struct(spec, "updateStrategy")
    _val(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        if rolling is None:
            rolling = strategy["rollingUpdate"] = {}
        _ptr(rolling, "maxUnavailable", 1)
        _ptr(rolling, "maxSurge", 0)
    _ptr(spec, "revisionHistoryLimit", 10)
    _pod_template(_struct(spec, "template"))


def _stateful_set(obj: Obj, ctx: _Ctx) -> None:
    spec = _spec(obj)
    _val(spec, "podManagementPolicy", "OrderedReady")
    strategy = _struct(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        # Only a strategy kube chose itself gets an empty rollingUpdate to default.
        _ptr(strategy, "rollingUpdate", {})
    rolling = _dict(strategy, "rollingUpdate")
    if strategy["type"] == "RollingUpdate" and rolling is not None:
        _ptr(rolling, "partition", 0)
        if ctx.minor >= 35:  # MaxUnavailableStatefulSet, beta and on by default since 1.35
            _ptr(rolling, "maxUnavailable", 1)
    if ctx.minor >= 27:  # StatefulSetAutoDeletePVC, on by default since 1.27
        policy = _dict(spec, "persistentVolumeClaimRetentionPolicy")
        if policy is None:
            policy = spec["persistentVolumeClaimRetentionPolicy"] = {}
        _val(policy, "whenDeleted", "Retain")
        _val(policy, "whenScaled", "Retain")
    _ptr(spec, "replicas", 1)
    _ptr(spec, "revisionHistoryLimit", 10)
    _pod_template(_struct(spec, "template"))
    for claim in _dicts(spec, "volumeClaimTemplates"):
        _pvc(claim, ctx)


def _replica_set(obj: Obj, ctx: _Ctx) -> None:
    spec = _spec(obj)
    _ptr(spec, "replicas", 1)
    _pod_template(_struct(spec, "template"))


# ---------------------------------------------------------------------------------------------
# batch/v1


def _job(obj: Obj, ctx: _Ctx) -> None:
    spec = _spec(obj)
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    _ptr(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        # With a per-index limit the global one is effectively unbounded.
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    template = _struct(spec, "template")
    labels = (template.get("metadata") or {}).get("labels")
    if labels:
        meta = _struct(obj, "metadata")
        if not meta.get("labels"):
            meta["labels"] = dict(labels)
    _ptr(spec, "completionMode", "NonIndexed")
    _ptr(spec, "suspend", False)
    failure_policy = _dict(spec, "podFailurePolicy")
    for rule in _dicts(failure_policy, "rules"):
        for pattern in _dicts(rule, "onPodConditions"):
            _val(pattern, "status", "True")
    if ctx.minor >= 29:  # JobPodReplacementPolicy, on by default since 1.29
        _ptr(spec, "podReplacementPolicy", "Failed" if failure_policy is not None else "TerminatingOrFailed")
    _ptr(spec, "manualSelector", False)
    _pod_template(template)


def _cron_job(obj: Obj, ctx: _Ctx) -> None:
    spec = _spec(obj)
    _val(spec, "concurrencyPolicy", "Allow")
    _ptr(spec, "suspend", False)
    _ptr(spec, "successfulJobsHistoryLimit", 3)
    _ptr(spec, "failedJobsHistoryLimit", 1)
    job_template = _struct(spec, "jobTemplate")
    _struct(job_template, "metadata")
    # Only the pod template inside is defaulted; the job spec itself is not (no backoffLimit here).
    _pod_template(_struct(_struct(job_template, "spec"), "template"))


# ---------------------------------------------------------------------------------------------
# autoscaling


def _hpa_v2(obj: Obj, ctx: _Ctx) -> None:
    spec = _spec(obj)
    _ptr(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
            }
        ]
    behavior = _dict(spec, "behavior")
    if behavior is not None:
        behavior["scaleUp"] = _scaling_rules(
            _dict(behavior, "scaleUp"),
            {
                "stabilizationWindowSeconds": 0,
                "selectPolicy": "Max",
                "policies": [
                    {"type": "Pods", "value": 4, "periodSeconds": 15},
                    {"type": "Percent", "value": 100, "periodSeconds": 15},
                ],
            },
        )
        # Scale-down stabilization stays unset: the controller's command-line flag decides it.
        behavior["scaleDown"] = _scaling_rules(
            _dict(behavior, "scaleDown"),
            {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
        )


def _scaling_rules(given: Obj | None, defaults: Obj) -> Obj:
    out = dict(defaults)
    for key, value in (given or {}).items():
        if value is not None:
            out[key] = value
    return out


def _hpa(obj: Obj, ctx: _Ctx) -> None:
    if ctx.version == "v1":
        spec = _spec(obj)
        _ptr(spec, "minReplicas", 1)
        # autoscaling/v1 objects are stored as v2, whose CPU default reads back as 80%.
        _ptr(spec, "targetCPUUtilizationPercentage", 80)
    else:
        _hpa_v2(obj, ctx)


# ---------------------------------------------------------------------------------------------
# networking, discovery, rbac, storage, scheduling, admission, flow control, certificates, CRDs


def _network_policy(obj: Obj, ctx: _Ctx) -> None:
    spec = _spec(obj)
    _struct(spec, "podSelector")
    for direction in ("ingress", "egress"):
        for rule in _dicts(spec, direction):
            for port in _dicts(rule, "ports"):
                _ptr(port, "protocol", "TCP")
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _ingress_class(obj: Obj, ctx: _Ctx) -> None:
    params = _dict(_spec(obj), "parameters")
    if params is not None:
        _ptr(params, "scope", "Cluster")


def _endpoint_slice(obj: Obj, ctx: _Ctx) -> None:
    for port in _dicts(obj, "ports"):
        _ptr(port, "name", "")
        _ptr(port, "protocol", "TCP")
    for endpoint in _dicts(obj, "endpoints"):
        _struct(endpoint, "conditions")


def _binding(obj: Obj, ctx: _Ctx) -> None:
    _val(_struct(obj, "roleRef"), "apiGroup", "rbac.authorization.k8s.io")
    for subject in _dicts(obj, "subjects"):
        if not subject.get("apiGroup"):
            kind = subject.get("kind")
            if kind in ("User", "Group"):
                subject["apiGroup"] = "rbac.authorization.k8s.io"
            elif kind == "ServiceAccount":
                subject["apiGroup"] = ""


def _storage_class(obj: Obj, ctx: _Ctx) -> None:
    _ptr(obj, "reclaimPolicy", "Delete")
    _ptr(obj, "volumeBindingMode", "Immediate")


def _csi_driver(obj: Obj, ctx: _Ctx) -> None:
    spec = _spec(obj)
    _ptr(spec, "attachRequired", True)
    _ptr(spec, "podInfoOnMount", False)
    _ptr(spec, "storageCapacity", False)
    _ptr(spec, "fsGroupPolicy", "ReadWriteOnceWithFSType")
    if not spec.get("volumeLifecycleModes"):
        spec["volumeLifecycleModes"] = ["Persistent"]
    _ptr(spec, "requiresRepublish", False)
    if ctx.minor >= 28:  # SELinuxMountReadWriteOncePod, on by default since 1.28
        _ptr(spec, "seLinuxMount", False)


def _priority_class(obj: Obj, ctx: _Ctx) -> None:
    _ptr(obj, "preemptionPolicy", "PreemptLowerPriority")


def _webhook_common(hook: Obj) -> None:
    _ptr(hook, "failurePolicy", "Fail")
    _ptr(hook, "matchPolicy", "Equivalent")
    _ptr(hook, "namespaceSelector", {})
    _ptr(hook, "objectSelector", {})
    _ptr(hook, "timeoutSeconds", 10)
    for rule in _dicts(hook, "rules"):
        _ptr(rule, "scope", "*")
    service = _dict(_dict(hook, "clientConfig") or {}, "service")
    if service is not None:
        _ptr(service, "port", 443)


def _validating_webhooks(obj: Obj, ctx: _Ctx) -> None:
    for hook in _dicts(obj, "webhooks"):
        _webhook_common(hook)


def _mutating_webhooks(obj: Obj, ctx: _Ctx) -> None:
    for hook in _dicts(obj, "webhooks"):
        _webhook_common(hook)
        _ptr(hook, "reinvocationPolicy", "Never")


def _match_resources(match: Obj | None) -> None:
    if match is None:
        return
    _ptr(match, "matchPolicy", "Equivalent")
    _ptr(match, "namespaceSelector", {})
    _ptr(match, "objectSelector", {})
    for key in ("resourceRules", "excludeResourceRules"):
        for rule in _dicts(match, key):
            _ptr(rule, "scope", "*")


def _admission_policy(obj: Obj, ctx: _Ctx) -> None:
    spec = _spec(obj)
    _ptr(spec, "failurePolicy", "Fail")
    _match_resources(_dict(spec, "matchConstraints"))


def _admission_policy_binding(obj: Obj, ctx: _Ctx) -> None:
    _match_resources(_dict(_spec(obj), "matchResources"))


def _flow_schema(obj: Obj, ctx: _Ctx) -> None:
    _val(_spec(obj), "matchingPrecedence", 1000)


def _priority_level(obj: Obj, ctx: _Ctx) -> None:
    spec = _spec(obj)
    exempt = _dict(spec, "exempt")
    if exempt is not None:
        _ptr(exempt, "nominalConcurrencyShares", 0)
        _ptr(exempt, "lendablePercent", 0)
    limited = _dict(spec, "limited")
    if limited is not None:
        _ptr(limited, "nominalConcurrencyShares", 30)
        _ptr(limited, "lendablePercent", 0)
        queuing = _dict(_dict(limited, "limitResponse") or {}, "queuing")
        if queuing is not None:
            _val(queuing, "handSize", 8)
            _val(queuing, "queues", 64)
            _val(queuing, "queueLengthLimit", 50)


def _pod_certificate_request(obj: Obj, ctx: _Ctx) -> None:
    _ptr(_spec(obj), "maxExpirationSeconds", 86400)


def _crd(obj: Obj, ctx: _Ctx) -> None:
    spec = _spec(obj)
    names = _struct(spec, "names")
    kind = names.get("kind") or ""
    _val(names, "singular", kind.lower())
    if kind:
        _val(names, "listKind", kind + "List")
    _ptr(spec, "conversion", {"strategy": "None"})
    webhook = _dict(_dict(spec, "conversion") or {}, "webhook")
    service = _dict(_dict(webhook, "clientConfig") or {}, "service") if webhook else None
    if service is not None:
        _ptr(service, "port", 443)
    status = _struct(obj, "status")
    if not status.get("storedVersions"):
        stored = [v.get("name") for v in _dicts(spec, "versions") if v.get("storage") is True][:1]
        if stored:
            status["storedVersions"] = stored
    accepted = _struct(status, "acceptedNames")
    accepted.setdefault("plural", "")
    accepted.setdefault("kind", "")


_Defaulter = Callable[[Obj, _Ctx], None]

_DEFAULTERS: dict[tuple[str, str], _Defaulter] = {
    ("", "Pod"): _pod,
    ("", "PodTemplate"): _pod_template_kind,
    ("", "ReplicationController"): _replication_controller,
    ("", "Service"): _service,
    ("", "Secret"): _secret,
    ("", "Namespace"): _namespace,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "PersistentVolume"): _pv,
    ("", "Endpoints"): _endpoints,
    ("", "Node"): _node,
    ("", "LimitRange"): _limit_range,
    ("", "Event"): _core_event,
    ("apps", "Deployment"): _deployment,
    ("apps", "DaemonSet"): _daemon_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "ReplicaSet"): _replica_set,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cron_job,
    ("autoscaling", "HorizontalPodAutoscaler"): _hpa,
    ("networking.k8s.io", "NetworkPolicy"): _network_policy,
    ("networking.k8s.io", "IngressClass"): _ingress_class,
    ("discovery.k8s.io", "EndpointSlice"): _endpoint_slice,
    ("rbac.authorization.k8s.io", "RoleBinding"): _binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _binding,
    ("storage.k8s.io", "StorageClass"): _storage_class,
    ("storage.k8s.io", "CSIDriver"): _csi_driver,
    ("scheduling.k8s.io", "PriorityClass"): _priority_class,
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): _validating_webhooks,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): _mutating_webhooks,
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): _admission_policy,
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"): _admission_policy_binding,
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"): _admission_policy,
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"): _admission_policy_binding,
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"): _flow_schema,
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"): _priority_level,
    ("certificates.k8s.io", "PodCertificateRequest"): _pod_certificate_request,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
}


# Status zero values Go writes for kinds whose status struct has fields without omitempty (or is a
# struct itself); `{}` where it is just the empty struct.
_ZERO_STATUS: dict[tuple[str, str], Obj] = {
    ("", "Pod"): {},
    ("", "Service"): {"loadBalancer": {}},
    ("", "ReplicationController"): {"replicas": 0},
    ("", "Node"): {
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        "nodeInfo": {
            key: ""
            for key in (
                "machineID",
                "systemUUID",
                "bootID",
                "kernelVersion",
                "osImage",
                "containerRuntimeVersion",
                "kubeletVersion",
                "kubeProxyVersion",
                "operatingSystem",
                "architecture",
            )
        },
    },
    ("", "ResourceQuota"): {},
    ("apps", "Deployment"): {},
    ("apps", "ReplicaSet"): {"replicas": 0},
    ("apps", "StatefulSet"): {"replicas": 0, "availableReplicas": 0},
    ("apps", "DaemonSet"): {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    },
    ("batch", "Job"): {},
    ("batch", "CronJob"): {},
    ("policy", "PodDisruptionBudget"): {
        "disruptionsAllowed": 0,
        "currentHealthy": 0,
        "desiredHealthy": 0,
        "expectedPods": 0,
    },
    ("networking.k8s.io", "Ingress"): {"loadBalancer": {}},
    ("certificates.k8s.io", "CertificateSigningRequest"): {},
    ("storage.k8s.io", "VolumeAttachment"): {"attached": False},
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"): {},
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"): {},
}

_ZERO_STATUS_BY_VERSION: dict[tuple[str, str, str], Obj] = {
    ("autoscaling", "HorizontalPodAutoscaler", "v1"): {"currentReplicas": 0, "desiredReplicas": 0},
    ("autoscaling", "HorizontalPodAutoscaler", "v2"): {"currentMetrics": None, "desiredReplicas": 0},
}
