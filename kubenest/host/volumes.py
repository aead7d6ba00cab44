"""What a container sees of the API: its environment and its volumes as files.

Pure functions of the pod and of a `Reader` (`get(kind, namespace, name)` of ConfigMaps and Secrets in the
host cluster), worded as the kubelet words its failures:

- `container_env`: `envFrom` then `env` (later entries win), `valueFrom` configMapKeyRef, secretKeyRef,
  fieldRef (the downward API) and resourceFieldRef, and kube's `$(VAR)` expansion (`expand`), also used
  for command, args and subPathExpr.
- `VolumeManager.setup`: configMap, secret, downwardAPI and projected volumes written with kube's atomic
  writer layout (`..data` -> a timestamped directory, one symlink per key), emptyDir (a tmpfs for
  `medium: Memory` where mounts are allowed), hostPath with its type checks.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import inspect
import logging
import math
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

log = logging.getLogger("kubenest.host.volumes")

Obj = dict[str, Any]
# get(kind, namespace, name): "ConfigMap" or "Secret" of the host cluster, None when absent; may be async.
Reader = Callable[[str, str, str], Any]
# token_for(pod, audience, expirationSeconds) -> a service account token, None when it cannot make one.
TokenSource = Callable[[Obj, str, int], Any]


class ConfigError(Exception):
    """The container cannot be configured yet (kube's CreateContainerConfigError / FailedMount)."""


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


# -- $(VAR) expansion ---------------------------------------------------------------------------------


def expand(text: str, env: dict[str, str]) -> str:
    """kube's expansion: `$(VAR)` is replaced when VAR is defined, kept as written when not; `$$` is `$`."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            end = text.find(")", i + 2)
            if end < 0:
                out.append("$(")
                i += 2
            else:
                name = text[i + 2:end]
                out.append(env[name] if name in env else f"$({name})")
                i = end + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


# -- downward API --------------------------------------------------------------------------------------


def _format_map(m: dict[str, str]) -> str:
    """Labels/annotations as the downward API files hold them: sorted `key="value"` lines."""
    return "\n".join(f"{k}={_quote(v)}" for k, v in sorted(m.items()))


def _quote(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def field_value(pod: Obj, path: str, pod_ip: str, host_ip: str) -> str:
    """A fieldRef's value (metadata.name, labels['x'], spec.nodeName, status.podIP, ...)."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    for prefix, key in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        if path == prefix:
            return _format_map(meta.get(key) or {})
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((meta.get(key) or {}).get(path[len(prefix) + 2:-2], ""))
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path not in simple:
        raise ConfigError(f"unsupported fieldPath: {path}")
    return str(simple[path])


_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
           "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


def quantity(value: Any) -> float:
    """A resource.Quantity as a number (cpu in cores, memory in bytes)."""
    s = str(value).strip()
    for suf in sorted(_SUFFIX, key=len, reverse=True):
        if s.endswith(suf) and s[:-len(suf)]:
            return float(s[:-len(suf)]) * _SUFFIX[suf]
    return float(s)


def resource_value(pod: Obj, ref: Obj, container_name: str | None, allocatable: dict[str, str]) -> str:
    """A resourceFieldRef's value: limits default to the node's allocatable; rounded up by the divisor."""
    name = ref.get("containerName") or container_name
    spec = pod.get("spec") or {}
    container = next((c for c in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
                      if c.get("name") == name), None)
    if container is None:
        raise ConfigError(f"container {name!r} not found for resourceFieldRef")
    res = ref.get("resource", "")
    kind, _, rname = res.partition(".")
    resources = container.get("resources") or {}
    raw = (resources.get(kind) or {}).get(rname)
    if raw is None and kind == "requests":
        raw = (resources.get("limits") or {}).get(rname)
    if raw is None:
        raw = allocatable.get(rname, "0") if kind == "limits" else "0"
    divisor = quantity(ref.get("divisor") or "1")
    if divisor <= 0:
        divisor = 1
    return str(math.ceil(quantity(raw) / divisor - 1e-9))


# -- environment ---------------------------------------------------------------------------------------


class Sources:
    """ConfigMaps and Secrets read once per container start (what a pod referenced, by name)."""

    def __init__(self, reader: Reader | None, namespace: str) -> None:
        self.reader = reader
        self.namespace = namespace
        self._cache: dict[tuple[str, str], Obj | None] = {}

    async def get(self, kind: str, name: str) -> Obj | None:
        key = (kind, name)
        if key not in self._cache:
            self._cache[key] = None if self.reader is None else await _call(self.reader, kind, self.namespace, name)
        return self._cache[key]

    async def data(self, kind: str, name: str, optional: bool) -> dict[str, bytes] | None:
        """The object's keys as bytes; None when it is absent and optional; ConfigError when required."""
        obj = await self.get(kind, name)
        if obj is None:
            if optional:
                return None
            raise ConfigError(f'{kind.lower()} "{name}" not found')
        out: dict[str, bytes] = {}
        if kind == "Secret":
            for k, v in (obj.get("data") or {}).items():
                out[k] = base64.b64decode(v or "")
            for k, v in (obj.get("stringData") or {}).items():
                out[k] = str(v).encode()
        else:
            for k, v in (obj.get("binaryData") or {}).items():
                out[k] = base64.b64decode(v or "")
            for k, v in (obj.get("data") or {}).items():
                out[k] = str(v).encode()
        return out


def _is_env_name(name: str) -> bool:
    return bool(name) and not name[0].isdigit() and all(c.isalnum() or c in "_-." for c in name)


async def container_env(pod: Obj, container: Obj, sources: Sources, pod_ip: str, host_ip: str,
                        allocatable: dict[str, str]) -> dict[str, str]:
    """The container's environment as the kubelet makes it (makeEnvironmentVariables)."""
    env: dict[str, str] = {}
    for src in container.get("envFrom") or ():
        prefix = src.get("prefix") or ""
        for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = src.get(field)
            if ref is None:
                continue
            data = await sources.data(kind, ref.get("name", ""), bool(ref.get("optional")))
            for k, v in (data or {}).items():
                if _is_env_name(prefix + k):
                    env[prefix + k] = v.decode(errors="replace")
    for var in container.get("env") or ():
        name = var.get("name", "")
        if "valueFrom" not in var:
            env[name] = expand(str(var.get("value") or ""), env)
            continue
        vf = var["valueFrom"] or {}
        value: str | None
        if "fieldRef" in vf:
            value = field_value(pod, (vf["fieldRef"] or {}).get("fieldPath", ""), pod_ip, host_ip)
        elif "resourceFieldRef" in vf:
            value = resource_value(pod, vf["resourceFieldRef"] or {}, container.get("name"), allocatable)
        else:
            kind, field = ("ConfigMap", "configMapKeyRef") if "configMapKeyRef" in vf else ("Secret", "secretKeyRef")
            ref = vf.get(field) or {}
            optional = bool(ref.get("optional"))
            data = await sources.data(kind, ref.get("name", ""), optional)
            key = ref.get("key", "")
            if data is None:
                continue
            if key not in data:
                if optional:
                    continue
                ns = sources.namespace
                raise ConfigError(f"couldn't find key {key} in {kind} {ns}/{ref.get('name', '')}")
            value = data[key].decode(errors="replace")
        env[name] = value
    return env


# -- volumes -------------------------------------------------------------------------------------------


def _mode(m: Any, default: int) -> int:
    return int(m) if isinstance(m, int) else default


class VolumeManager:
    """Materialises one pod's volumes under `root` (state_dir/pods/<uid>/volumes/<name>)."""

    def __init__(self, root: str, pod: Obj, sources: Sources, pod_ip: str, host_ip: str,
                 allocatable: dict[str, str], token_for: TokenSource | None, allow_mounts: bool) -> None:
        self.root = root
        self.pod = pod
        self.sources = sources
        self.pod_ip = pod_ip
        self.host_ip = host_ip
        self.allocatable = allocatable
        self.token_for = token_for
        self.allow_mounts = allow_mounts
        self.paths: dict[str, str] = {}  # volume name -> host path
        self.tmpfs: list[str] = []

    async def setup(self) -> None:
        """Create or refresh every volume (ConfigError with kube's FailedMount wording when one cannot be)."""
        os.makedirs(self.root, exist_ok=True)
        for vol in (self.pod.get("spec") or {}).get("volumes") or ():
            name = vol.get("name", "")
            path = os.path.join(self.root, name)
            try:
                self.paths[name] = await self._one(vol, path)
            except ConfigError as e:
                raise ConfigError(f'MountVolume.SetUp failed for volume "{name}" : {e}') from None

    async def _one(self, vol: Obj, path: str) -> str:
        """Create or refresh one volume; returns the host path that backs it."""
        if "emptyDir" in vol:
            if not os.path.isdir(path):
                os.makedirs(path, exist_ok=True)
                medium = (vol.get("emptyDir") or {}).get("medium")
                if medium == "Memory" and self.allow_mounts:
                    await self._mount_tmpfs(path, (vol.get("emptyDir") or {}).get("sizeLimit"))
            return path
        if "hostPath" in vol:
            hp = vol["hostPath"] or {}
            _check_host_path(hp.get("path", ""), hp.get("type") or "")
            return str(hp.get("path", ""))
        files: dict[str, tuple[bytes, int]] | None
        if "configMap" in vol or "secret" in vol:
            files = await self._keys_volume(vol)
        elif "downwardAPI" in vol:
            src = vol["downwardAPI"] or {}
            files = self._downward(src.get("items") or (), _mode(src.get("defaultMode"), 0o644))
        elif "projected" in vol:
            files = await self._projected(vol["projected"] or {})
        else:
            kinds = [k for k in vol if k != "name"]
            log.warning("volume %s of pod %s: type %s is not supported by the process runtime; an empty "
                        "directory stands in", vol.get("name"), (self.pod.get("metadata") or {}).get("name"), kinds)
            os.makedirs(path, exist_ok=True)
            return path
        write_atomic(path, files or {})  # an optional source that is absent: an empty volume
        return path

    async def _mount_tmpfs(self, path: str, size: Any) -> None:
        opts = "mode=0777"
        if size:
            with contextlib.suppress(ValueError):
                opts += f",size={int(quantity(size))}"
        try:
            proc = await _run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path])
        except OSError as e:
            log.info("emptyDir medium Memory at %s is a directory: %s", path, e)
            return
        if proc == 0:
            self.tmpfs.append(path)

    async def _keys_volume(self, vol: Obj) -> dict[str, tuple[bytes, int]] | None:
        kind, src = ("ConfigMap", vol["configMap"]) if "configMap" in vol else ("Secret", vol["secret"])
        src = src or {}
        name = src.get("name") if kind == "ConfigMap" else src.get("secretName")
        return await self._keys(kind, name or "", src.get("items"), _mode(src.get("defaultMode"), 0o644),
                                bool(src.get("optional")))

    async def _keys(self, kind: str, name: str, items: Any, mode: int,
                    optional: bool) -> dict[str, tuple[bytes, int]] | None:
        data = await self.sources.data(kind, name, optional)
        if data is None:
            return None
        if not items:
            return {k: (v, mode) for k, v in data.items()}
        out = {}
        for it in items:
            key = it.get("key", "")
            if key not in data:
                if optional:
                    continue
                raise ConfigError(f'configmap references non-existent config key: {key}' if kind == "ConfigMap"
                                  else f"references non-existent secret key: {key}")
            out[it.get("path") or key] = (data[key], _mode(it.get("mode"), mode))
        return out

    def _downward(self, items: Any, mode: int) -> dict[str, tuple[bytes, int]]:
        out = {}
        for it in items:
            if it.get("fieldRef"):
                value = field_value(self.pod, it["fieldRef"].get("fieldPath", ""), self.pod_ip, self.host_ip)
            else:
                value = resource_value(self.pod, it.get("resourceFieldRef") or {}, None, self.allocatable)
            out[it.get("path", "")] = (value.encode(), _mode(it.get("mode"), mode))
        return out

    async def _projected(self, proj: Obj) -> dict[str, tuple[bytes, int]]:
        mode = _mode(proj.get("defaultMode"), 0o644)
        out: dict[str, tuple[bytes, int]] = {}
        for src in proj.get("sources") or ():
            if "configMap" in src or "secret" in src:
                kind, s = ("ConfigMap", src["configMap"]) if "configMap" in src else ("Secret", src["secret"])
                s = s or {}
                out.update(await self._keys(kind, s.get("name", ""), s.get("items"), mode,
                                            bool(s.get("optional"))) or {})
            elif "downwardAPI" in src:
                out.update(self._downward((src["downwardAPI"] or {}).get("items") or (), mode))
            elif "serviceAccountToken" in src:
                sat = src["serviceAccountToken"] or {}
                token = None
                if self.token_for is not None:
                    token = await _call(self.token_for, self.pod, sat.get("audience") or "",
                                        int(sat.get("expirationSeconds") or 3600))
                if token is None:
                    raise ConfigError("failed to fetch token: no token source for service account tokens")
                out[sat.get("path", "token")] = (str(token).encode(), mode)
        return out

    async def teardown(self) -> None:
        for path in self.tmpfs:
            await _run(["umount", "-l", path])
        self.tmpfs.clear()


def _check_host_path(path: str, type_: str) -> None:
    """hostPath types (kube's hostPathTypeChecker), creating what the *OrCreate types ask for."""
    if type_ == "DirectoryOrCreate":
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif type_ == "FileOrCreate":
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
            open(path, "a").close()
            os.chmod(path, 0o644)
    checks = {"Directory": (os.path.isdir, "directory"), "File": (os.path.isfile, "file"),
              "Socket": (lambda p: _is_type(p, "S_ISSOCK"), "socket"),
              "CharDevice": (lambda p: _is_type(p, "S_ISCHR"), "character device"),
              "BlockDevice": (lambda p: _is_type(p, "S_ISBLK"), "block device")}
    if type_ in checks:
        fn, what = checks[type_]
        if not os.path.exists(path):
            raise ConfigError(f"hostPath type check failed: {path} is not a {what}")
        if not fn(path):
            raise ConfigError(f"hostPath type check failed: {path} is not a {what}")


def _is_type(path: str, check: str) -> bool:
    import stat

    return bool(getattr(stat, check)(os.stat(path).st_mode))


async def _run(argv: list[str]) -> int:
    import asyncio

    proc = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return await proc.wait()


def write_atomic(path: str, files: dict[str, tuple[bytes, int]]) -> bool:
    """kube's AtomicWriter: the payload in `..<timestamp>`, `..data` pointing at it, a symlink per top-level
    name; a changed payload swaps `..data` in one rename. Returns whether anything changed."""
    os.makedirs(path, exist_ok=True)
    data_link = os.path.join(path, "..data")
    current = os.path.join(path, os.readlink(data_link)) if os.path.islink(data_link) else None
    if current is not None and _same_payload(current, files):
        return False
    stamp = datetime.datetime.now(datetime.UTC).strftime("..%Y_%m_%d_%H_%M_%S.%f")
    new_dir = os.path.join(path, stamp)
    os.makedirs(new_dir)
    for rel, (content, mode) in files.items():
        rel = rel.lstrip("/")
        target = os.path.join(new_dir, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(content)
        os.chmod(target, mode & 0o777)
    os.chmod(new_dir, 0o755)
    tmp_link = os.path.join(path, "..data_tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp_link)
    os.symlink(stamp, tmp_link)
    os.rename(tmp_link, data_link)
    tops = {rel.lstrip("/").split("/", 1)[0] for rel in files}
    for top in tops:
        link = os.path.join(path, top)
        if not os.path.islink(link):
            os.symlink(os.path.join("..data", top), link)
    for entry in os.listdir(path):
        full = os.path.join(path, entry)
        if entry.startswith(".."):
            if entry != "..data" and full != new_dir and os.path.isdir(full):
                shutil.rmtree(full, ignore_errors=True)
        elif entry not in tops and os.path.islink(full):
            os.unlink(full)
    return True


def _same_payload(current: str, files: dict[str, tuple[bytes, int]]) -> bool:
    seen = 0
    for dirpath, _dirs, names in os.walk(current):
        for n in names:
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, current)
            want = files.get(rel)
            if want is None:
                return False
            try:
                with open(full, "rb") as f:
                    if f.read() != want[0] or os.stat(full).st_mode & 0o777 != want[1] & 0o777:
                        return False
            except OSError:
                return False
            seen += 1
    return seen == len({k.lstrip("/") for k in files})
