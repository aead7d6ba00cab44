"""The ASGI application: routing `/clusters/<name>/...`, authentication, negotiation, responses.

A plain ASGI callable (no framework) keeps the hot path short: a GET is path split, token lookup,
dict lookups in the store, and one `send` of bytes that were encoded when the object was written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import yaml

from kubenest.api import discovery, errors, openapi, openapi_v2, rbac, reviews, tables
from kubenest.api.clusters import ROOT, Clusters, LogicalCluster
from kubenest.api.errors import ApiError
from kubenest.api.registry import Registry, Warnings
from kubenest.api.request import Request, User, parse_query
from kubenest.api.resources import ResourceInfo
from kubenest.podstreams import PodStreams
from kubenest.server import streams
from kubenest.server.auth import Authenticator, Authorizer
from kubenest.store.store import Entry, Store

log = logging.getLogger("kubenest.server")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON = b"application/json"
_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


class Negotiated:
    """What the client accepts: plain JSON, YAML, a Table, or partial object metadata."""

    __slots__ = ("kind", "content_type")

    def __init__(self, kind: str, content_type: bytes) -> None:
        self.kind = kind
        self.content_type = content_type


_PLAIN = Negotiated("json", JSON)


def negotiate(accept: str) -> Negotiated:
    if not accept or accept == "application/json" or accept == "*/*":
        return _PLAIN
    only_unsupported = True
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        mt = fields[0].lower()
        params = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        if mt in ("application/json", "*/*", "application/*"):
            as_ = params.get("as")
            if as_ is None:
                return _PLAIN
            if params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
                if as_ == "Table":
                    return Negotiated("table", b"application/json;as=Table;v=v1;g=meta.k8s.io")
                if as_ in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                    return Negotiated("partial", f"application/json;as={as_};v=v1;g=meta.k8s.io".encode())
            if params.get("g") == "apidiscovery.k8s.io" and as_ == "APIGroupDiscoveryList":
                return Negotiated(f"discovery-{params.get('v')}", part.strip().encode())
            continue
        if mt in ("application/yaml",):
            return Negotiated("yaml", b"application/yaml")
        if mt in ("application/vnd.kubernetes.protobuf", "application/cbor", "application/vnd.kubernetes.cbor"):
            continue
        only_unsupported = False
    if only_unsupported:
        raise errors.not_acceptable(
            "only the following media types are accepted: application/json, application/yaml, "
            "application/json;as=Table;v=v1;g=meta.k8s.io"
        )
    return _PLAIN


class App:
    """kube-apiserver's HTTP surface for every logical cluster of one store."""

    def __init__(
        self,
        store: Store,
        clusters: Clusters,
        registry: Registry,
        authenticator: Authenticator,
        authorizer: Authorizer,
        tokens: Any = None,
    ) -> None:
        self.tokens = tokens  # the TokenIssuer behind TokenRequest (serviceaccounts/<name>/token)
        self.store = store
        self.clusters = clusters
        self.registry = registry
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.openapi_cache: dict[tuple[str, str, str], tuple[bytes, str]] = {}
        self.openapi_v2 = openapi_v2.DocumentCache()
        # Who streams pods/log, exec, attach and portforward of a cluster's pods (set by the Server).
        self.streams_for: Callable[[str], PodStreams | None] = lambda cluster: None

    # -- ASGI entry ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # Routed like the GET it upgrades (pods/exec, attach, portforward); a refused upgrade is a
            # plain HTTP response with kube's status, through ASGI's websocket.http.response.
            if (await receive())["type"] != "websocket.connect":
                return
            scope = dict(scope, method="GET")
            send = streams.websocket_http(send)
        elif scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        try:
            await self.handle(scope, receive, send)
        except ApiError as e:
            await respond(send, e.code, orjson.dumps(e.status()), JSON, e.headers)
        except Exception as e:  # noqa: BLE001 - the client gets a Status, the log gets the traceback
            log.exception("internal error serving %s %s", scope.get("method"), scope.get("path"))
            err = errors.internal(str(e))
            await respond(send, 500, orjson.dumps(err.status()), JSON)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        headers = dict(scope["headers"])
        prefixed = path.startswith("/clusters/")
        if prefixed:
            rest = path[10:]
            cname, _, sub = rest.partition("/")
        else:
            cname, sub = ROOT, path.lstrip("/")
        if sub in ("healthz", "livez", "readyz"):
            await respond(send, 200, b"ok", b"text/plain; charset=utf-8")
            return
        user = self.authenticator.authenticate(headers)
        if user is None:
            raise errors.unauthorized()
        if not prefixed and user.cluster is not None:
            # An in-cluster client (https://KUBERNETES_SERVICE_HOST/api/...) inside a pod of a virtual
            # cluster: its token says which cluster it belongs to.
            cname = user.cluster
        cluster = self.clusters.get(cname)
        if cluster is not None and b"impersonate-user" in headers:
            user = self._impersonate(user, cluster, scope["headers"])
        if cluster is None or (user.cluster is not None and user.cluster != cname):
            if cluster is None and user.cluster is None:
                raise ApiError(404, "NotFound", f'cluster "{cname}" not found',
                               {"name": cname, "kind": "clusters"})
            raise errors.unauthorized()
        method: str = scope["method"]
        parts = [p for p in sub.split("/") if p]
        if not parts:
            await self._json(send, _root_paths())
            return
        head = parts[0]
        if not ((head == "api" and len(parts) > 2) or (head == "apis" and len(parts) > 3)):
            # A non-resource request (discovery, /version, /openapi): RBAC's nonResourceURLs decide.
            allowed, reason = self.authorizer.authorize_path(user, cluster, method.lower(), "/" + "/".join(parts))
            if not allowed:
                raise rbac.forbidden_error(rbac.Attributes(user, method.lower(), path="/" + "/".join(parts),
                                                           resource_request=False), reason)
        if head == "version" and len(parts) == 1:
            await respond(send, 200, discovery.version_info(cluster.version), JSON)
            return
        if head == "openapi":
            await self._openapi(send, cluster, parts, scope, headers)
            return
        if head == "api":
            if len(parts) == 1:
                await self._discovery_root(send, cluster, headers, legacy=True)
                return
            if parts[1] != "v1":
                raise _no_path(path)
            group, version, rparts = "", "v1", parts[2:]
        elif head == "apis":
            if len(parts) == 1:
                await self._discovery_root(send, cluster, headers, legacy=False)
                return
            if len(parts) == 2:
                doc = discovery.api_group(cluster, parts[1])
                if doc is None:
                    raise _no_path(path)
                await respond(send, 200, doc, JSON)
                return
            group, version, rparts = parts[1], parts[2], parts[3:]
        else:
            raise _no_path(path)
        if not rparts:
            doc = discovery.resource_list(cluster, group, version)
            if doc is None:
                raise _no_path(path)
            await respond(send, 200, doc, JSON)
            return
        await self._resource(scope, receive, send, cluster, group, version, rparts, headers, user, method)

    def _impersonate(self, user: User, cluster: LogicalCluster, raw_headers: list[tuple[bytes, bytes]]) -> User:
        """Act as the user named in Impersonate-* headers, if the real user may impersonate them."""
        name = ""
        groups: list[str] = []
        uid = ""
        for k, v in raw_headers:
            key = k.lower()
            if key == b"impersonate-user":
                name = v.decode("latin-1")
            elif key == b"impersonate-group":
                groups.append(v.decode("latin-1"))
            elif key == b"impersonate-uid":
                uid = v.decode("latin-1")
        checks = [("users", name)] + [("groups", g) for g in groups] + ([("uids", uid)] if uid else [])
        for resource, value in checks:
            attrs = rbac.Attributes(user, "impersonate", "", "authentication.k8s.io" if resource == "uids" else "",
                                    resource, "", value)
            allowed, reason = self.authorizer.check(cluster, attrs)
            if not allowed:
                raise rbac.forbidden_error(attrs, reason)
        if name.startswith("system:serviceaccount:"):
            ns = name.split(":")[2] if name.count(":") >= 3 else ""
            groups += ["system:serviceaccounts", f"system:serviceaccounts:{ns}"]
        if name != "system:anonymous" and "system:authenticated" not in groups:
            groups.append("system:authenticated")
        return User(name, tuple(groups), uid, user.cluster)

    # -- discovery and openapi ------------------------------------------------------------------------

    async def _discovery_root(self, send: Send, cluster: LogicalCluster, headers: dict[bytes, bytes],
                              legacy: bool) -> None:
        neg = negotiate(headers.get(b"accept", b"").decode("latin-1"))
        if neg.kind in ("discovery-v2", "discovery-v2beta1"):
            av = "apidiscovery.k8s.io/v2" if neg.kind == "discovery-v2" else "apidiscovery.k8s.io/v2beta1"
            ct = discovery.AGGREGATED_V2 if neg.kind == "discovery-v2" else discovery.AGGREGATED_V2BETA1
            await respond(send, 200, discovery.aggregated(cluster, legacy, av), ct)
            return
        await respond(send, 200, discovery.api_versions() if legacy else discovery.api_group_list(cluster), JSON)

    def _openapi_doc(self, cluster: LogicalCluster, gvpath: str) -> tuple[bytes, str] | None:
        parts = gvpath.split("/")
        if parts[0] == "api" and len(parts) == 2:
            group, version = "", parts[1]
        elif parts[0] == "apis" and len(parts) == 3:
            group, version = parts[1], parts[2]
        else:
            return None
        rs = cluster.resources_in(group, version)
        if not rs:
            return None
        custom = any(r.is_custom for r in rs)
        key = (cluster.version if not custom else f"{cluster.name}:{id(cluster.custom)}", group, version)
        cached = self.openapi_cache.get(key)
        if cached is None or custom:
            doc = openapi.group_version_document(cluster.schemas, rs, group, version)
            cached = openapi.document_bytes_and_hash(doc)
            if not custom:
                self.openapi_cache[key] = cached
        return cached

    async def _openapi(self, send: Send, cluster: LogicalCluster, parts: list[str], scope: Scope,
                       headers: dict[bytes, bytes]) -> None:
        if parts[1:] == ["v2"]:
            await self._openapi_v2(send, cluster, headers)
            return
        if len(parts) < 2 or parts[1] != "v3":
            raise _no_path(scope["path"])
        if len(parts) == 2:
            hashes = {}
            for group, versions in cluster.groups().items():
                for v in versions:
                    gvpath = f"apis/{group}/{v}" if group else f"api/{v}"
                    doc = self._openapi_doc(cluster, gvpath)
                    if doc is not None:
                        hashes[gvpath] = doc[1]
            await self._json(send, openapi.index(hashes))
            return
        doc = self._openapi_doc(cluster, "/".join(parts[2:]))
        if doc is None:
            raise _no_path(scope["path"])
        await respond(send, 200, doc[0], JSON, [(b"cache-control", b"public, immutable")]
                      if b"hash=" in scope.get("query_string", b"") else None)

    async def _openapi_v2(self, send: Send, cluster: LogicalCluster, headers: dict[bytes, bytes]) -> None:
        """/openapi/v2 as kube-openapi serves it: JSON or gnostic protobuf, with an ETag honoured on revalidation."""
        content_type = openapi_v2.negotiate(headers.get(b"accept", b"").decode("latin-1"))
        if content_type is None:
            await respond(send, 406, b"", b"text/plain; charset=utf-8", [(b"vary", b"Accept")])
            return
        doc = self.openapi_v2.get(cluster)
        etag = f'"{doc.etag}"'.encode()
        hs = [(b"etag", etag), (b"vary", b"Accept")]
        if etag in [t.strip() for t in headers.get(b"if-none-match", b"").split(b",")]:
            await send({"type": "http.response.start", "status": 304, "headers": hs})
            await send({"type": "http.response.body", "body": b""})
            return
        body = doc.json if content_type == openapi_v2.JSON else doc.protobuf
        await respond(send, 200, body, content_type.encode(), hs)

    # -- resources ----------------------------------------------------------------------------------

    async def _resource(self, scope: Scope, receive: Receive, send: Send, cluster: LogicalCluster, group: str,
                        version: str, rparts: list[str], headers: dict[bytes, bytes], user: User,
                        method: str) -> None:
        namespace = ""
        # /namespaces/NS/RESOURCE... is namespaced; /namespaces/NAME/{status,finalize} is the namespace's own.
        if rparts[0] == "namespaces" and len(rparts) >= 3 and not (
            len(rparts) == 3 and rparts[2] in ("status", "finalize")
        ):
            namespace, rparts = rparts[1], rparts[2:]
        plural = rparts[0]
        name = rparts[1] if len(rparts) > 1 else ""
        subresource = rparts[2] if len(rparts) > 2 else ""
        if len(rparts) > 3:
            raise _no_path(scope["path"])
        r = cluster.resource(group, version, plural)
        if r is None:
            raise _no_path(scope["path"])
        if namespace and not r.namespaced:
            raise _no_path(scope["path"])
        if subresource and subresource not in r.subresources:
            raise _no_path(scope["path"])
        query = parse_query(scope.get("query_string", b""))
        if method == "GET":
            verb = "get" if name else ("watch" if query.get("watch") in ("true", "1") else "list")
        elif method == "DELETE":
            verb = "delete" if name else "deletecollection"
        elif method in _METHOD_VERBS:
            verb = _METHOD_VERBS[method]
        else:
            raise errors.method_not_allowed()
        stream = streams.is_stream(r.kind, group, subresource)
        if stream:
            # exec/attach/portforward are `create` even as a GET WebSocket upgrade (kube 1.35+); log is `get`.
            if method not in (("GET",) if subresource == "log" else ("GET", "POST")):
                raise errors.method_not_allowed()
            verb = "get" if subresource == "log" else "create"
        if verb == "create" and name and not subresource:
            raise errors.method_not_allowed()
        if verb in ("update", "patch") and not name:
            raise errors.method_not_allowed()
        if verb not in r.verbs and not subresource:
            raise errors.method_not_allowed()
        req = Request(method, verb, cluster, r, namespace, name, subresource, query, headers, user)
        allowed, reason = self.authorizer.authorize(req)
        if not allowed:
            raise rbac.forbidden_error(req, reason)
        if stream:
            await streams.serve(self, req, scope, receive, send)
            return
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            req.body = await _read_body(receive)
        neg = negotiate(req.accept)
        if verb == "watch":
            await self._watch(req, receive, send, neg)
            return
        warnings = Warnings()
        status, body = await self._dispatch(req, neg, warnings)
        extra = [(b"warning", _warning(w)) for w in warnings] if warnings else None
        await self._send_obj(send, status, body, neg, extra, req)

    async def _dispatch(self, req: Request, neg: Negotiated, warnings: Warnings) -> tuple[int, Any]:
        reg = self.registry
        r = req.resource
        verb, sub = req.verb, req.subresource
        if r.verbs == ("create",) or (sub and sub not in ("status", "scale")):
            return await reviews.handle(req, self)
        if sub == "scale":
            if verb == "get":
                return 200, reg.get_scale(req)
            if verb == "update":
                return 200, await reg.update_scale(req)
            if verb == "patch":
                return 200, await reg.patch(req, warnings)
            raise errors.method_not_allowed()
        if verb == "get":
            e = reg.get(req)
            if sub == "status" or neg.kind in ("json",):
                return 200, e
            return 200, e.obj
        if verb == "list":
            entries, list_meta = reg.list(req)
            return 200, ("list", entries, list_meta)
        if verb == "create":
            if sub:
                raise errors.method_not_allowed()
            obj = await reg.create(req, warnings=warnings)
            # The bytes the store encoded are the answer: no second encoding (a dry run stores nothing).
            stored = reg.store.get(req.cluster.name, req.key, req.namespace, req.name)
            if neg.kind == "json" and stored is not None and stored.obj is obj:
                return 201, stored
            return 201, obj
        if verb == "update":
            return 200, await reg.update(req, warnings=warnings)
        if verb == "patch":
            existed = reg.store.get(req.cluster.name, req.key, req.namespace, req.name) is not None
            obj = await reg.patch(req, warnings)
            return (200 if existed else 201), obj
        if verb == "delete":
            obj, finished = await reg.delete(req)
            if finished and r.kind not in _RETURNS_DELETED and not r.is_custom:
                return 200, _success_status(r, obj)
            return (200 if finished else 202), obj
        if verb == "deletecollection":
            items = await reg.delete_collection(req)
            return 200, {"kind": f"{r.kind}List", "apiVersion": r.api_version, "metadata": {}, "items": items}
        raise errors.method_not_allowed()

    async def _send_obj(self, send: Send, status: int, body: Any, neg: Negotiated,
                        headers: list[tuple[bytes, bytes]] | None, req: Request) -> None:
        r = req.resource
        include = req.q("includeObject", "Metadata")
        if isinstance(body, Entry):
            await respond(send, status, body.raw, JSON, headers)
            return
        if isinstance(body, tuple) and body[0] == "list":
            _, entries, list_meta = body
            if neg.kind == "table":
                data = orjson.dumps(tables.table(r, [e.obj for e in entries], include, list_meta))
            elif neg.kind == "partial":
                data = orjson.dumps({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                                     "metadata": list_meta,
                                     "items": [_partial(e.obj) for e in entries]})
            else:
                head = orjson.dumps({"kind": f"{r.kind}List", "apiVersion": r.api_version, "metadata": list_meta})
                data = head[:-1] + b',"items":[' + b",".join(e.raw for e in entries) + b"]}"
                if neg.kind == "yaml":
                    data = yaml.safe_dump(orjson.loads(data)).encode()
                    await respond(send, status, data, b"application/yaml", headers)
                    return
                await respond(send, status, data, JSON, headers)
                return
            await respond(send, status, data, neg.content_type, headers)
            return
        if neg.kind == "table" and isinstance(body, dict) and body.get("kind") == r.kind:
            await respond(send, status, orjson.dumps(tables.table(r, [body], include)), neg.content_type, headers)
            return
        if neg.kind == "partial" and isinstance(body, dict) and body.get("kind") == r.kind:
            await respond(send, status, orjson.dumps(_partial(body)), neg.content_type, headers)
            return
        if neg.kind == "yaml":
            await respond(send, status, yaml.safe_dump(body).encode(), b"application/yaml", headers)
            return
        await respond(send, status, orjson.dumps(body), JSON, headers)

    async def _watch(self, req: Request, receive: Receive, send: Send, neg: Negotiated) -> None:
        from kubenest.api import watch

        r = req.resource
        encode = None
        ct = JSON
        if neg.kind == "table":
            include = req.q("includeObject", "Metadata")

            def encode(obj: dict[str, Any], raw: bytes) -> bytes:
                return orjson.dumps(tables.table(r, [obj], include))

            ct = neg.content_type
        elif neg.kind == "partial":

            def encode(obj: dict[str, Any], raw: bytes) -> bytes:
                return orjson.dumps(_partial(obj))

            ct = neg.content_type
        chunks, stop = await watch.stream(req, self.store, encode)

        async def wait_disconnect() -> None:
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    stop()
                    return

        watcher_task = asyncio.create_task(wait_disconnect())
        try:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", ct), (b"cache-control", b"no-cache, private")]})
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass
        finally:
            stop()
            watcher_task.cancel()

    async def _json(self, send: Send, obj: Any) -> None:
        await respond(send, 200, orjson.dumps(obj), JSON)


_RETURNS_DELETED = {"Pod", "Namespace", "Service", "CustomResourceDefinition", "PersistentVolumeClaim"}


def _success_status(r: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata", {})
    details: dict[str, Any] = {"name": meta.get("name", "")}
    if r.group:
        details["group"] = r.group
    details["kind"] = r.plural
    details["uid"] = meta.get("uid", "")
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def _partial(obj: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def _warning(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'.encode()


def _no_path(path: str) -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def _root_paths() -> dict[str, Any]:
    return {"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2", "/openapi/v3", "/readyz", "/version"]}


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body"):
            break
    return b"".join(chunks)


async def respond(send: Send, status: int, body: bytes, content_type: bytes,
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    hs = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if headers:
        hs.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": hs})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
