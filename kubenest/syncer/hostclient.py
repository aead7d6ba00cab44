"""`HostClient`: an async Kubernetes API client (aiohttp) for the host cluster, built from a kubeconfig.

The syncer reaches the host only through this client, so any conformant Kubernetes API server can be
the host (the embedded host is reached the same way, over HTTPS). One keep-alive connection pool per
client; watches hold one connection each for as long as they run.

Public attributes the stream proxy builds on (kubenest/syncer/proxy.py): `session` (aiohttp
ClientSession), `base_url` (the kubeconfig's server, e.g. https://127.0.0.1:6443/clusters/host), `ssl`
(ssl.SSLContext, or False for plain http) and `headers` (Authorization, when the kubeconfig has a token).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import ssl as ssllib
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import orjson
import yaml

log = logging.getLogger("kubenest.syncer.host")

Obj = dict[str, Any]
T = TypeVar("T")

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}
_REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)
_WATCH_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=None)


class HostError(Exception):
    """The host answered with a Status error (or could not be reached: code 0)."""

    def __init__(self, code: int, reason: str, message: str, status: Obj | None = None) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.status = status or {}

    @property
    def not_found(self) -> bool:
        return self.code == 404

    @property
    def conflict(self) -> bool:
        return self.code == 409

    @property
    def gone(self) -> bool:
        return self.code == 410

    @property
    def already_exists(self) -> bool:
        return self.code == 409 and self.reason == "AlreadyExists"


@dataclass
class KubeconfigCredentials:
    """What a kubeconfig context says about reaching its cluster."""

    server: str
    ssl: ssllib.SSLContext | bool
    headers: dict[str, str] = field(default_factory=dict)
    namespace: str = "default"


def load_kubeconfig(path: str, context: str | None = None) -> KubeconfigCredentials:
    """Server URL, TLS context and auth headers of `context` (default: current) in the kubeconfig at `path`."""
    with open(path) as f:
        try:
            cfg = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" (invalid YAML at line {mark.line + 1})" if mark is not None else " (invalid YAML)"
            raise ValueError(f"{path} is not a kubeconfig{where}") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{path} is not a kubeconfig")
    base = os.path.dirname(os.path.abspath(path))
    name = context or cfg.get("current-context")
    if not name:
        raise ValueError(f"{path}: no context given and no current-context")
    ctx = _named(cfg, "contexts", name, "context", path)
    cluster = _named(cfg, "clusters", ctx.get("cluster", ""), "cluster", path)
    user = _named(cfg, "users", ctx["user"], "user", path) if ctx.get("user") else {}
    server = str(cluster.get("server", "")).rstrip("/")
    if not server:
        raise ValueError(f"{path}: cluster {ctx.get('cluster')!r} has no server")
    headers: dict[str, str] = {}
    token = user.get("token")
    if not token and user.get("tokenFile"):
        with open(_rel(base, user["tokenFile"])) as f:
            token = f.read().strip()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif user.get("username") is not None:
        basic = base64.b64encode(f"{user['username']}:{user.get('password', '')}".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    tls: ssllib.SSLContext | bool = False
    if server.startswith("https://"):
        tls = _ssl_context(cluster, user, base)
    return KubeconfigCredentials(server, tls, headers, ctx.get("namespace") or "default")


def _named(cfg: Obj, section: str, name: str, key: str, path: str) -> Obj:
    for item in cfg.get(section) or ():
        if item.get("name") == name:
            value: Obj = item.get(key) or {}
            return value
    raise ValueError(f"{path}: no {key} named {name!r}")


def _rel(base: str, p: str) -> str:
    return p if os.path.isabs(p) else os.path.join(base, p)


def _ssl_context(cluster: Obj, user: Obj, base: str) -> ssllib.SSLContext:
    ctx = ssllib.create_default_context()
    if cluster.get("insecure-skip-tls-verify"):
        ctx.check_hostname = False
        ctx.verify_mode = ssllib.CERT_NONE
    elif cluster.get("certificate-authority-data"):
        ctx.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    elif cluster.get("certificate-authority"):
        ctx.load_verify_locations(cafile=_rel(base, cluster["certificate-authority"]))
    if cluster.get("tls-server-name"):
        ctx.check_hostname = False  # verified against tls-server-name by aiohttp's server_hostname instead
    cert, key = user.get("client-certificate-data"), user.get("client-key-data")
    if cert and key:
        # load_cert_chain reads files only: a private temporary copy, removed right after loading.
        with tempfile.TemporaryDirectory() as d:
            cp, kp = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
            for p, data in ((cp, cert), (kp, key)):
                fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(base64.b64decode(data))
            ctx.load_cert_chain(cp, kp)
    elif user.get("client-certificate") and user.get("client-key"):
        ctx.load_cert_chain(_rel(base, user["client-certificate"]), _rel(base, user["client-key"]))
    return ctx


def api_path(api_version: str, resource: str, namespace: str | None = None, name: str | None = None,
             subresource: str = "") -> str:
    """The URL path of a resource, collection or subresource (`v1` is the core group at /api)."""
    p = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if namespace:
        p += f"/namespaces/{quote(namespace, safe='')}"
    p += f"/{resource}"
    if name:
        p += f"/{quote(name, safe='')}"
        if subresource:
            p += f"/{subresource}"
    return p


class HostClient:
    """Async client of one Kubernetes API server (the host)."""

    def __init__(self, base_url: str, ssl: ssllib.SSLContext | bool, headers: dict[str, str],
                 pool_size: int = 256) -> None:
        """Call from a running event loop (the session binds to it)."""
        self.base_url = base_url.rstrip("/")
        self.ssl = ssl
        self.headers = dict(headers)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=pool_size, keepalive_timeout=120, ssl=ssl),
            headers=self.headers, json_serialize=lambda o: orjson.dumps(o).decode())

    @classmethod
    def from_kubeconfig(cls, path: str, context: str | None = None) -> HostClient:
        c = load_kubeconfig(path, context)
        return cls(c.server, c.ssl, c.headers)

    async def close(self) -> None:
        await self.session.close()

    # -- plumbing -----------------------------------------------------------------------------------

    async def request(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
                      content_type: str = "application/json") -> Obj:
        """One request; the decoded JSON answer, or HostError carrying the Status' code and reason."""
        data = None if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
        headers = {"Content-Type": content_type, "Accept": "application/json"} if data is not None else {
            "Accept": "application/json"}
        try:
            async with self.session.request(method, self.base_url + path, params=_params(query), data=data,
                                            headers=headers, timeout=_REQUEST_TIMEOUT) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise _error(resp.status, raw)
        except (TimeoutError, aiohttp.ClientError) as e:
            raise HostError(0, "ConnectionFailed", f"{method} {path}: {e!r}") from e
        if not raw:
            return {}
        result: Obj = orjson.loads(raw)
        return result

    # -- verbs --------------------------------------------------------------------------------------

    async def get(self, api_version: str, resource: str, namespace: str | None, name: str,
                  subresource: str = "") -> Obj:
        return await self.request("GET", api_path(api_version, resource, namespace, name, subresource))

    async def get_or_none(self, api_version: str, resource: str, namespace: str | None, name: str) -> Obj | None:
        try:
            return await self.get(api_version, resource, namespace, name)
        except HostError as e:
            if e.not_found:
                return None
            raise

    async def list(self, api_version: str, resource: str, namespace: str | None = None,
                   label_selector: str | None = None, field_selector: str | None = None,
                   page_size: int = 500) -> Obj:
        """The whole list (pages joined); `metadata.resourceVersion` is the list's, to watch from."""
        query: dict[str, Any] = {"labelSelector": label_selector, "fieldSelector": field_selector,
                                 "limit": page_size}
        path = api_path(api_version, resource, namespace)
        result = await self.request("GET", path, query)
        items = list(result.get("items") or ())
        while (result.get("metadata") or {}).get("continue"):
            query["continue"] = result["metadata"]["continue"]
            try:
                result = await self.request("GET", path, query)
            except HostError as e:
                if not e.gone:
                    raise
                query.pop("continue")  # the snapshot expired: start over, consistently
                items, result = [], await self.request("GET", path, query)
            items.extend(result.get("items") or ())
        meta = result.get("metadata") or {}
        return {"kind": result.get("kind", "List"), "apiVersion": result.get("apiVersion", api_version),
                "metadata": {"resourceVersion": meta.get("resourceVersion", "")}, "items": items}

    async def create(self, api_version: str, resource: str, obj: Obj, namespace: str | None = None,
                     field_validation: str = "Strict", field_manager: str = "kubenest-syncer") -> Obj:
        ns = namespace if namespace is not None else (obj.get("metadata") or {}).get("namespace")
        return await self.request("POST", api_path(api_version, resource, ns), _write_query(
            field_validation, field_manager), obj)

    async def update(self, api_version: str, resource: str, obj: Obj, subresource: str = "",
                     field_validation: str = "Strict", field_manager: str = "kubenest-syncer") -> Obj:
        """PUT `obj`; its resourceVersion (if any) is the precondition (409 Conflict when stale)."""
        meta = obj["metadata"]
        path = api_path(api_version, resource, meta.get("namespace"), meta["name"], subresource)
        return await self.request("PUT", path, _write_query(field_validation, field_manager), obj)

    async def patch(self, api_version: str, resource: str, namespace: str | None, name: str, patch: Any,
                    patch_type: str = "merge", subresource: str = "", field_manager: str = "kubenest-syncer",
                    force: bool = False, field_validation: str = "Strict") -> Obj:
        """Patch with `patch_type` merge, strategic, json or apply (server-side apply; `force` takes
        fields from other managers)."""
        query = _write_query(field_validation, field_manager)
        if patch_type == "apply" and force:
            query["force"] = "true"
        return await self.request("PATCH", api_path(api_version, resource, namespace, name, subresource), query,
                                  patch, PATCH_TYPES[patch_type])

    async def delete(self, api_version: str, resource: str, namespace: str | None, name: str,
                     grace_period_seconds: int | None = None, uid: str | None = None,
                     propagation_policy: str | None = None, missing_ok: bool = True) -> Obj | None:
        """Delete; returns the object (still there while graceful) or None once gone or missing."""
        body: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if uid:
            body["preconditions"] = {"uid": uid}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        try:
            result = await self.request("DELETE", api_path(api_version, resource, namespace, name), None, body)
        except HostError as e:
            if missing_ok and e.not_found:
                return None
            raise
        if result.get("kind") == "Status":
            return None
        return result

    async def delete_collection(self, api_version: str, resource: str, namespace: str | None = None,
                                label_selector: str | None = None, grace_period_seconds: int | None = None) -> None:
        query: dict[str, Any] = {"labelSelector": label_selector, "gracePeriodSeconds": grace_period_seconds}
        await self.request("DELETE", api_path(api_version, resource, namespace), query)

    # -- watching -------------------------------------------------------------------------------------

    async def watch(self, api_version: str, resource: str, namespace: str | None = None,
                    label_selector: str | None = None, resource_version: str = "",
                    timeout_seconds: int | None = None) -> AsyncIterator[tuple[str, Obj]]:
        """One watch stream from `resource_version` with bookmarks: yields (type, object). Raises
        HostError 410 when the version is too old (the caller relists) and ends when the server closes."""
        query = {"watch": "true", "allowWatchBookmarks": "true", "labelSelector": label_selector,
                 "resourceVersion": resource_version or None, "timeoutSeconds": timeout_seconds}
        url = self.base_url + api_path(api_version, resource, namespace)
        try:
            async with self.session.get(url, params=_params(query), timeout=_WATCH_TIMEOUT) as resp:
                if resp.status >= 400:
                    raise _error(resp.status, await resp.read())
                buf = b""
                async for chunk in resp.content.iter_any():
                    buf += chunk
                    while True:
                        i = buf.find(b"\n")
                        if i < 0:
                            break
                        line, buf = buf[:i], buf[i + 1:]
                        if not line.strip():
                            continue
                        ev = orjson.loads(line)
                        if ev.get("type") == "ERROR":
                            status = ev.get("object") or {}
                            raise HostError(int(status.get("code") or 500), status.get("reason", ""),
                                            status.get("message", ""), status)
                        yield ev["type"], ev["object"]
        except (TimeoutError, aiohttp.ClientError) as e:
            raise HostError(0, "ConnectionFailed", f"watch {url}: {e!r}") from e

    async def informer(self, api_version: str, resource: str, namespace: str | None = None,
                       label_selector: str | None = None,
                       retry_delay: float = 1.0) -> AsyncIterator[tuple[str, Obj]]:
        """List, then watch forever: yields ("SYNC", list) after every (re)list, then watch events.

        A 410 Gone (history compacted) or a broken connection relists; the consumer replaces its cache
        with each SYNC's items, so nothing is lost or duplicated across relists.
        """
        rv = ""
        while True:
            try:
                if not rv:
                    lst = await self.list(api_version, resource, namespace, label_selector)
                    rv = lst["metadata"]["resourceVersion"]
                    yield "SYNC", lst
                async for type_, obj in self.watch(api_version, resource, namespace, label_selector, rv,
                                                   timeout_seconds=300):
                    new_rv = (obj.get("metadata") or {}).get("resourceVersion")
                    if new_rv:
                        rv = new_rv
                    if type_ != "BOOKMARK":
                        yield type_, obj
            except HostError as e:
                if e.gone:
                    log.info("host watch of %s expired (%s); relisting", resource, e)
                    rv = ""
                    continue
                log.warning("host watch of %s failed (%s); retrying in %.0fs", resource, e, retry_delay)
                await asyncio.sleep(retry_delay)
                if e.code == 0:
                    rv = ""  # the connection broke: relist, the host may have restarted


async def retry_on_conflict(fn: Callable[[], Awaitable[T]], attempts: int = 8) -> T:
    """Run `fn` (which reads the current object and writes it) again while it ends in 409 Conflict."""
    for i in range(attempts):
        try:
            return await fn()
        except HostError as e:
            if not e.conflict or e.already_exists or i == attempts - 1:
                raise
            await asyncio.sleep(0.002 * (2 ** i))
    raise AssertionError("unreachable")


def _params(query: dict[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (query or {}).items():
        if v is None or v == "":
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return out


def _write_query(field_validation: str, field_manager: str) -> dict[str, Any]:
    return {"fieldValidation": field_validation or None, "fieldManager": field_manager or None}


def _error(code: int, raw: bytes) -> HostError:
    status: Obj = {}
    with contextlib.suppress(orjson.JSONDecodeError):
        decoded = orjson.loads(raw) if raw else {}
        if isinstance(decoded, dict):
            status = decoded
    return HostError(int(status.get("code") or code), str(status.get("reason", "")),
                     str(status.get("message") or raw[:500].decode("utf-8", "replace")), status)
