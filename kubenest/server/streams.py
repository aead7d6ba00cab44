"""The pod stream subresources: pods/log, pods/exec, pods/attach and pods/portforward.

The API server checks what kube-apiserver checks (the pod, its container, its node, the options),
then speaks the wire protocol with the client and hands the bytes to the `PodStreams` of the pod's
cluster (`kubenest/podstreams.py`). Protocols, as kubelet and kube-apiserver serve them:

- log: a chunked `text/plain` response (204 for a pod without a node, as kube answers).
- exec and attach: WebSocket channel protocols `v5.channel.k8s.io` (kubectl 1.30+; channel 255 closes
  a stream), `v4.channel.k8s.io` (the Python client), `v4.base64.channel.k8s.io`, `channel.k8s.io` and
  `base64.channel.k8s.io`. Each message is one channel byte (base64: one ASCII digit) then data;
  channels 0 stdin, 1 stdout, 2 stderr, 3 error (v4+: a JSON v1 Status at the end), 4 resize.
- portforward: `SPDY/3.1+portforward.k8s.io` (kubectl 1.31+: SPDY frames tunnelled as binary WebSocket
  messages; per forwarded connection an error and a data stream sharing a `requestID`) and the channel
  protocols `v4.channel.k8s.io`/`v4.base64.channel.k8s.io`/`portforward.k8s.io` (the Python client:
  `ports=`, channels 2i data and 2i+1 error of the i-th port, each opened by its port, 2 bytes little endian).

SPDY over a plain HTTP upgrade (kubectl's fallback when a WebSocket upgrade fails) cannot be served by an
ASGI server; it is answered with the error the WebSocket attempt got, or else with kubelet's
"unable to negotiate protocol" 403.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson

from kubenest.api import errors
from kubenest.api.errors import ApiError
from kubenest.api.request import Request
from kubenest.podstreams import STDERR, STDOUT, Duplex, LogOptions, PodStreams, Session
from kubenest.server import spdy

log = logging.getLogger("kubenest.streams")

Obj = dict[str, Any]
Scope = dict[str, Any]

SUBRESOURCES = ("log", "exec", "attach", "portforward")

STDIN, ERROR, RESIZE = 0, 3, 4
CLOSE_CHANNEL = 255  # v5: [255, channel] closes that channel (stdin's EOF)

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
V4_BASE64 = "v4.base64.channel.k8s.io"
V1 = "channel.k8s.io"
V1_BASE64 = "base64.channel.k8s.io"
# kubelet's order of preference does not matter: the first protocol the client offers that is served wins.
EXEC_PROTOCOLS = (V5, V4, V4_BASE64, V1, V1_BASE64)
PORTFORWARD_V1 = "portforward.k8s.io"
SPDY_TUNNEL = "SPDY/3.1+" + PORTFORWARD_V1
PORTFORWARD_PROTOCOLS = (SPDY_TUNNEL, V4, V4_BASE64, PORTFORWARD_V1)

READ_SIZE = 32 * 1024
FIRST_LOG_WAIT = 0.5  # how long a log backend may take to fail before the 200 is sent
FALLBACK_MEMORY = 15.0  # seconds a WebSocket failure is kept for kubectl's SPDY retry of the same request


class PlainError(Exception):
    """An error kubelet answers as plain text (clients show it as 'unable to upgrade connection: ...')."""

    def __init__(self, code: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.headers = headers or []


def is_stream(kind: str, group: str, subresource: str) -> bool:
    return group == "" and kind == "Pod" and subresource in SUBRESOURCES


def websocket_http(send: Any) -> Any:
    """`send` for a WebSocket scope that turns plain HTTP responses into ASGI's websocket.http.response
    (a refused upgrade answered with a status and body, as kube answers it)."""

    async def wrapped(message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            message = dict(message, type="websocket.http.response.start")
        elif kind == "http.response.body":
            message = {"type": "websocket.http.response.body", "body": message.get("body", b""),
                       "more_body": message.get("more_body", False)}
        await send(message)

    return wrapped


async def serve(app: Any, req: Request, scope: Scope, receive: Any, send: Any) -> None:
    """Serve one pods/{log,exec,attach,portforward} request (already authenticated and authorized)."""
    entry = app.store.get(req.cluster.name, req.key, req.namespace, req.name)
    if entry is None:
        raise errors.not_found("pods", "", req.name)
    pod: Obj = entry.obj
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    backend: PodStreams | None = app.streams_for(req.cluster.name)
    try:
        if req.subresource == "log":
            await _logs(req, pod, query, backend, receive, send)
        elif req.subresource == "portforward":
            await _port_forward(req, scope, pod, query, backend, receive, send)
        else:
            await _remote_command(req, scope, pod, query, backend, receive, send)
    except PlainError as e:
        body = e.text.encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                   *e.headers]
        await send({"type": "http.response.start", "status": e.code, "headers": headers})
        await send({"type": "http.response.body", "body": body})


# -- options ------------------------------------------------------------------------------------------


def _values(query: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in query if k == key]


def _first(query: list[tuple[str, str]], key: str) -> str | None:
    for k, v in query:
        if k == key:
            return v
    return None


def _bool(query: list[tuple[str, str]], key: str) -> bool:
    """kube's query conversion: absent, "false" and "0" are false; anything else (even "") is true."""
    v = _first(query, key)
    return v is not None and v != "0" and v.lower() != "false"


def _int(query: list[tuple[str, str]], key: str) -> int | None:
    v = _first(query, key)
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        raise errors.bad_request(f'invalid value "{v}" for query parameter "{key}": not an integer') from None


def container_names(pod: Obj) -> list[str]:
    """Every container of the pod in kube's VisitContainers order: init, regular, ephemeral."""
    spec = pod.get("spec") or {}
    return [c.get("name", "") for part in ("initContainers", "containers", "ephemeralContainers")
            for c in spec.get(part) or ()]


def validate_container(pod: Obj, container: str) -> str:
    """kube's validateContainer: the only container by default, else the named one must exist."""
    name = pod["metadata"]["name"]
    if not container:
        regular = (pod.get("spec") or {}).get("containers") or []
        if len(regular) == 1:
            return str(regular[0].get("name", ""))
        if not regular:
            raise errors.bad_request(f"a container name must be specified for pod {name}")
        names = " ".join(container_names(pod))
        raise errors.bad_request(f"a container name must be specified for pod {name}, choose one of: [{names}]")
    if container not in container_names(pod):
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    return container


def log_options(pod: Obj, query: list[tuple[str, str]]) -> LogOptions:
    """PodLogOptions from the query, validated as kube-apiserver validates them."""
    name = pod["metadata"]["name"]
    tail = _int(query, "tailLines")
    since_seconds = _int(query, "sinceSeconds")
    limit = _int(query, "limitBytes")
    since_time = _first(query, "sinceTime")
    if since_time is not None:
        try:
            parsed = datetime.fromisoformat(since_time.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                raise ValueError(since_time)
        except ValueError:
            raise errors.bad_request(f'invalid value "{since_time}" for query parameter "sinceTime": '
                                     "not an RFC 3339 time") from None
    causes: list[Obj] = []
    if tail is not None and tail < 0:
        causes.append({"field": "tailLines", "message": f"Invalid value: {tail}: must be greater than or equal to 0"})
    if limit is not None and limit < 1:
        causes.append({"field": "limitBytes", "message": f"Invalid value: {limit}: must be greater than 0"})
    if since_seconds is not None and since_time is not None:
        causes.append({"field": "", "type": "FieldValueForbidden",
                       "message": "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"})
    elif since_seconds is not None and since_seconds < 1:
        causes.append({"field": "sinceSeconds",
                       "message": f"Invalid value: {since_seconds}: must be greater than 0"})
    if causes:
        texts = [f"{c['field']}: {c['message']}" for c in causes]
        joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
        raise errors.invalid("PodLogOptions", "", name, causes, f'PodLogOptions "{name}" is invalid: {joined}')
    container = validate_container(pod, _first(query, "container") or "")
    return LogOptions(container=container, follow=_bool(query, "follow"), previous=_bool(query, "previous"),
                      tail_lines=tail, since_seconds=since_seconds, since_time=since_time,
                      timestamps=_bool(query, "timestamps"), limit_bytes=limit)


def _waiting_reason(pod: Obj, container: str) -> str:
    status = pod.get("status") or {}
    for part in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(part) or ():
            if cs.get("name") == container:
                waiting = (cs.get("state") or {}).get("waiting")
                if waiting and waiting.get("reason"):
                    return str(waiting["reason"])
    return "ContainerCreating"


def _no_host(pod: Obj) -> ApiError:
    return errors.bad_request(f"pod {pod['metadata']['name']} does not have a host assigned")


# -- logs ---------------------------------------------------------------------------------------------


async def _logs(req: Request, pod: Obj, query: list[tuple[str, str]], backend: PodStreams | None,
                receive: Any, send: Any) -> None:
    opts = log_options(pod, query)
    if not (pod.get("spec") or {}).get("nodeName"):
        # kube: no node, no log location, a null stream: 204 No Content.
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    if backend is None:
        raise errors.bad_request(f'container "{opts.container}" in pod "{pod["metadata"]["name"]}" is waiting to '
                                 f"start: {_waiting_reason(pod, opts.container)}")
    chunks = backend.logs(pod, opts).__aiter__()
    first: asyncio.Future[bytes] = asyncio.ensure_future(chunks.__anext__())
    # A backend refuses (container not running, no previous instance) before its first chunk; a quiet
    # `follow` must not hold the response headers back, so wait only briefly for that first step.
    await asyncio.wait({first}, timeout=FIRST_LOG_WAIT)
    if first.done() and first.exception() is not None:
        exc = first.exception()
        if isinstance(exc, StopAsyncIteration):
            first = asyncio.get_running_loop().create_future()
            first.set_result(b"")
            chunks = _empty()
        else:
            assert exc is not None
            raise exc
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"cache-control", b"no-cache, private")]})
    left = opts.limit_bytes

    async def pump() -> None:
        nonlocal left
        try:
            data = await first
        except StopAsyncIteration:
            return
        while True:
            if data:
                if left is not None:
                    data = data[:left]
                    left -= len(data)
                await send({"type": "http.response.body", "body": data, "more_body": True})
                if left is not None and left <= 0:
                    return
            try:
                data = await chunks.__anext__()
            except StopAsyncIteration:
                return

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    pump_task = asyncio.create_task(pump())
    gone_task = asyncio.create_task(disconnected())
    try:
        await asyncio.wait({pump_task, gone_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (pump_task, gone_task):
            t.cancel()
        with contextlib.suppress(BaseException):
            await pump_task
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
    if pump_task.done() and not pump_task.cancelled() and pump_task.exception() is not None:
        log.warning("log stream of %s/%s ended: %s", req.namespace, req.name, pump_task.exception())
    if not gone_task.done() or gone_task.cancelled():
        with contextlib.suppress(OSError, RuntimeError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


# -- upgrades -----------------------------------------------------------------------------------------


@dataclass
class _Failure:
    at: float
    error: Exception


# kubectl retries a refused WebSocket upgrade as SPDY/3.1 at once; that retry gets the same answer.
_recent_failures: dict[tuple[str, ...], _Failure] = {}


def _remember(key: tuple[str, ...], error: Exception) -> None:
    now = time.monotonic()
    for k in [k for k, f in _recent_failures.items() if now - f.at > FALLBACK_MEMORY]:
        del _recent_failures[k]
    _recent_failures[key] = _Failure(now, error)


def _recalled(key: tuple[str, ...]) -> Exception | None:
    f = _recent_failures.pop(key, None)
    if f is None or time.monotonic() - f.at > FALLBACK_MEMORY:
        return None
    return f.error


def _header(scope: Scope, name: bytes) -> str:
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name]
    return ", ".join(values)


def _require_upgrade(scope: Scope) -> None:
    """kube's upgrade-aware proxy refuses exec/attach/portforward requests that upgrade to nothing."""
    if scope["type"] != "websocket" and not _header(scope, b"upgrade"):
        raise errors.bad_request("Upgrade request required")


def _refuse_spdy(scope: Scope, key: tuple[str, ...]) -> None:
    """A SPDY/3.1 upgrade (kubectl's retry after a refused WebSocket): the WebSocket's answer, or kubelet's
    refusal of protocols it does not speak."""
    earlier = _recalled(key)
    if earlier is not None:
        raise earlier
    offered = [p.strip() for p in _header(scope, b"x-stream-protocol-version").split(",") if p.strip()]
    if not offered:
        raise PlainError(400, "unable to upgrade: X-Stream-Protocol-Version is required")
    raise PlainError(403, f"unable to upgrade: unable to negotiate protocol: client supports [{' '.join(offered)}], "
                          "server accepts [] (this server streams over WebSocket only)")


def _negotiate(scope: Scope, served: tuple[str, ...]) -> str:
    offered = list(scope.get("subprotocols") or ()) or [""]
    for p in offered:
        if p in served or (p == "" and "" in served):
            return p
    raise PlainError(403, "")


async def _accept(send: Any, protocol: str) -> None:
    msg: dict[str, Any] = {"type": "websocket.accept"}
    if protocol:
        msg["subprotocol"] = protocol
    await send(msg)


async def _close(send: Any) -> None:
    with contextlib.suppress(Exception):
        await send({"type": "websocket.close", "code": 1000})


@contextlib.asynccontextmanager
async def _upgraded(send: Any, req: Request) -> AsyncIterator[None]:
    """After the upgrade no HTTP status can be sent: failures are logged and the WebSocket is closed."""
    try:
        yield
    except Exception:  # noqa: BLE001 - the client sees the connection end, the log gets the traceback
        log.exception("%s of pod %s/%s failed", req.subresource, req.namespace, req.name)
    finally:
        await _close(send)


class Channels:
    """Framing of the WebSocket channel protocols: a channel byte (base64: an ASCII digit) then data."""

    def __init__(self, send: Any, protocol: str) -> None:
        self._send = send
        self.protocol = protocol
        self.base64 = "base64" in protocol
        self.v5 = protocol == V5
        self.status_json = protocol.startswith(("v4.", "v5."))

    async def write(self, channel: int, data: bytes) -> None:
        if self.base64:
            await self._send({"type": "websocket.send", "text": chr(48 + channel) + base64.b64encode(data).decode()})
        else:
            await self._send({"type": "websocket.send", "bytes": bytes([channel]) + data})

    def decode(self, message: dict[str, Any]) -> tuple[int, bytes] | None:
        raw = message.get("bytes")
        if raw:
            if self.base64:
                return raw[0] - 48, base64.b64decode(raw[1:])
            return raw[0], raw[1:]
        text = message.get("text")
        if text:
            if self.base64:
                return ord(text[0]) - 48, base64.b64decode(text[1:])
            data = text.encode("latin-1", "replace")
            return data[0], data[1:]
        return None


# -- exec and attach ----------------------------------------------------------------------------------


async def _remote_command(req: Request, scope: Scope, pod: Obj, query: list[tuple[str, str]],
                          backend: PodStreams | None, receive: Any, send: Any) -> None:
    attach = req.subresource == "attach"
    container = validate_container(pod, _first(query, "container") or "")
    if not (pod.get("spec") or {}).get("nodeName"):
        raise _no_host(pod)
    stdin, stdout, stderr, tty = (_bool(query, k) for k in ("stdin", "stdout", "stderr", "tty"))
    if tty and stderr:
        stderr = False  # kubelet: a TTY has no separate stderr
    command = _values(query, "command")
    key = (req.cluster.name, req.namespace, req.name, req.subresource, container)
    _require_upgrade(scope)
    if not (stdin or stdout or stderr):
        raise PlainError(400, "you must specify at least 1 of stdin, stdout, stderr")
    if not attach and not command:
        raise errors.bad_request("you must specify at least one command for the container")
    if backend is None:
        raise PlainError(500, f'container not found ("{container}")')
    if scope["type"] != "websocket":
        _refuse_spdy(scope, key)
    protocol = _negotiate(scope, EXEC_PROTOCOLS)
    try:
        if attach:
            session = await backend.attach(pod, container, stdin, stdout, stderr, tty)
        else:
            session = await backend.exec(pod, container, command, stdin, stdout, stderr, tty)
    except (ApiError, PlainError) as e:
        _remember(key, e)
        raise
    await _accept(send, protocol)
    async with _upgraded(send, req):
        await _run_session(Channels(send, protocol), session, receive, stdin, stdout, stderr)


async def _run_session(chans: Channels, session: Session, receive: Any, stdin: bool, stdout: bool,
                       stderr: bool) -> None:
    # kubelet opens the stream with an empty message on the lowest channel the client reads.
    await chans.write(STDOUT if stdout else STDERR if stderr else ERROR, b"")

    async def pump_in() -> None:
        stdin_open = stdin
        while True:
            msg = await receive()
            if msg["type"] == "websocket.disconnect":
                return
            decoded = chans.decode(msg)
            if decoded is None:
                continue
            channel, data = decoded
            if channel == CLOSE_CHANNEL and chans.v5:
                if data[:1] == bytes([STDIN]) and stdin_open:
                    stdin_open = False
                    await session.close_stdin()
            elif channel == STDIN and stdin_open:
                if data:
                    await session.write_stdin(data)
            elif channel == RESIZE and data:
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    size = orjson.loads(data)
                    await session.resize(int(size.get("Width", 0)), int(size.get("Height", 0)))

    async def pump_out() -> Obj:
        async for channel, data in session.output():
            if data and ((channel == STDOUT and stdout) or (channel == STDERR and stderr)):
                await chans.write(channel, data)
        return await session.wait()

    in_task = asyncio.create_task(pump_in())
    out_task = asyncio.create_task(pump_out())
    try:
        await asyncio.wait({in_task, out_task}, return_when=asyncio.FIRST_COMPLETED)
        if out_task.done():
            status = out_task.result()
            if chans.status_json:
                await chans.write(ERROR, orjson.dumps(status))
            elif status.get("status") != "Success":
                await chans.write(ERROR, str(status.get("message", "")).encode())
        else:
            await session.close()  # the client went away
    except OSError:
        await session.close()
    finally:
        for t in (in_task, out_task):
            t.cancel()
        for t in (in_task, out_task):
            with contextlib.suppress(BaseException):
                await t


# -- port-forward -------------------------------------------------------------------------------------


def _ports(query: list[tuple[str, str]]) -> list[int]:
    """`ports` of PodPortForwardOptions (repeated or comma separated), checked as kubelet checks them."""
    ports = []
    for value in _values(query, "ports"):
        for text in value.split(","):
            try:
                port = int(text)
                if not 0 <= port <= 65535:
                    raise ValueError(text)
            except ValueError:
                raise PlainError(400, f'unable to parse "{text}" as a port: invalid syntax') from None
            if port < 1:
                raise PlainError(400, f'port "{text}" must be > 0')
            ports.append(port)
    return ports


def _forward_error(pod: Obj, port: int, why: str) -> bytes:
    meta = pod["metadata"]
    return (f"error forwarding port {port} to pod {meta['name']}_{meta.get('namespace', '')}, "
            f"uid {meta.get('uid', '')}: {why}").encode()


async def _open(backend: PodStreams, pod: Obj, port: int) -> tuple[Duplex | None, bytes]:
    try:
        return await backend.port_forward(pod, port), b""
    except ApiError as e:
        return None, _forward_error(pod, port, e.message)
    except OSError as e:
        return None, _forward_error(pod, port, str(e))


async def _close_write(duplex: Duplex) -> None:
    """The client finished sending: half-close when the backend can (Duplex.close_write is optional)."""
    close_write = getattr(duplex, "close_write", None)
    if close_write is not None:
        await close_write()


async def _port_forward(req: Request, scope: Scope, pod: Obj, query: list[tuple[str, str]],
                        backend: PodStreams | None, receive: Any, send: Any) -> None:
    if not (pod.get("spec") or {}).get("nodeName"):
        raise _no_host(pod)
    key = (req.cluster.name, req.namespace, req.name, req.subresource)
    _require_upgrade(scope)
    if backend is None:
        raise PlainError(404, "pod does not exist")
    if scope["type"] != "websocket":
        _refuse_spdy(scope, key)
    protocol = _negotiate(scope, PORTFORWARD_PROTOCOLS + ("",))
    if protocol == SPDY_TUNNEL:
        await _accept(send, protocol)
        async with _upgraded(send, req):
            await SpdyPortForward(pod, backend, send).run(receive)
        return
    ports = _ports(query)
    if not ports:
        raise PlainError(400, 'query parameter "port" is required')
    await _accept(send, protocol)
    async with _upgraded(send, req):
        await _channel_port_forward(pod, backend, ports, Channels(send, protocol or V4), receive)


async def _channel_port_forward(pod: Obj, backend: PodStreams, ports: list[int], chans: Channels,
                                receive: Any) -> None:
    """kubelet's WebSocket port-forward: one connection per requested port for the whole session."""
    inboxes: list[asyncio.Queue[bytes | None]] = []
    for i, port in enumerate(ports):
        head = port.to_bytes(2, "little")
        await chans.write(2 * i, head)
        await chans.write(2 * i + 1, head)
        inboxes.append(asyncio.Queue())

    async def forward(i: int, port: int) -> None:
        duplex, err = await _open(backend, pod, port)
        if duplex is None:
            await chans.write(2 * i + 1, err)
            return
        inbox = inboxes[i]

        async def to_pod() -> None:
            while (data := await inbox.get()) is not None:
                await duplex.write(data)
            await _close_write(duplex)

        writer = asyncio.create_task(to_pod())
        try:
            while data := await duplex.read():
                await chans.write(2 * i, data)
        except OSError as e:
            await chans.write(2 * i + 1, _forward_error(pod, port, str(e)))
        finally:
            writer.cancel()
            await duplex.close()

    async def from_client() -> None:
        while True:
            msg = await receive()
            if msg["type"] == "websocket.disconnect":
                return
            decoded = chans.decode(msg)
            if decoded is None:
                continue
            channel, data = decoded
            if channel % 2 == 0 and channel // 2 < len(inboxes) and data:
                inboxes[channel // 2].put_nowait(data)

    async def all_forwards() -> None:
        await asyncio.gather(*(forward(i, p) for i, p in enumerate(ports)))

    forwards = asyncio.create_task(all_forwards())
    reader = asyncio.create_task(from_client())
    try:
        await asyncio.wait({forwards, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        reader.cancel()
        forwards.cancel()
        with contextlib.suppress(BaseException):
            await forwards


@dataclass
class _Pair:
    """The two SPDY streams of one forwarded connection."""

    port: int
    data_id: int = 0
    error_id: int = 0
    inbox: asyncio.Queue[bytes | None] | None = None
    task: asyncio.Task[None] | None = None


class SpdyPortForward:
    """Server end of kubectl's port-forward: SPDY/3.1 frames carried in binary WebSocket messages."""

    def __init__(self, pod: Obj, backend: PodStreams, send: Any) -> None:
        self.pod = pod
        self.backend = backend
        self._send = send
        self.codec = spdy.Codec()
        self._lock = asyncio.Lock()
        self.pairs: dict[str, _Pair] = {}
        self.by_stream: dict[int, _Pair] = {}
        self.closed_by_client: set[int] = set()

    async def write(self, *frames: spdy.Frame) -> None:
        # One compression context per direction: frames are encoded and sent in one order.
        async with self._lock:
            data = b"".join(self.codec.encode(f) for f in frames)
            await self._send({"type": "websocket.send", "bytes": data})

    async def run(self, receive: Any) -> None:
        try:
            while True:
                msg = await receive()
                if msg["type"] == "websocket.disconnect":
                    return
                raw = msg.get("bytes")
                if not raw:
                    continue
                for frame in self.codec.feed(raw):
                    if isinstance(frame, spdy.GoAway):
                        return
                    await self._frame(frame)
        except spdy.ProtocolError as e:
            log.warning("port-forward to %s: %s", self.pod["metadata"]["name"], e)
        finally:
            tasks = [p.task for p in self.pairs.values() if p.task is not None]
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t

    async def _frame(self, frame: spdy.Frame) -> None:
        if isinstance(frame, spdy.SynStream):
            await self._syn_stream(frame)
        elif isinstance(frame, spdy.DataFrame):
            pair = self.by_stream.get(frame.stream_id)
            if pair is None or pair.inbox is None:
                return
            if frame.stream_id == pair.data_id:
                if frame.data:
                    pair.inbox.put_nowait(frame.data)
                if frame.fin:
                    pair.inbox.put_nowait(None)
        elif isinstance(frame, spdy.Ping):
            await self.write(frame)  # pings are answered with the same id
        elif isinstance(frame, spdy.RstStream):
            pair = self.by_stream.get(frame.stream_id)
            if pair is not None and pair.task is not None and frame.stream_id == pair.data_id:
                pair.task.cancel()

    async def _syn_stream(self, frame: spdy.SynStream) -> None:
        kind = frame.header("streamType")
        request_id = frame.header("requestID")
        port_text = frame.header("port")
        await self.write(spdy.SynReply(frame.stream_id))
        try:
            port = int(port_text)
            if not 0 < port <= 65535:
                raise ValueError(port_text)
        except ValueError:
            await self.write(spdy.RstStream(frame.stream_id, spdy.PROTOCOL_ERROR))
            return
        pair = self.pairs.setdefault(request_id, _Pair(port))
        if kind == "error":
            pair.error_id = frame.stream_id
        elif kind == "data":
            pair.data_id = frame.stream_id
            pair.inbox = asyncio.Queue()
            if frame.fin:
                pair.inbox.put_nowait(None)
        else:
            await self.write(spdy.RstStream(frame.stream_id, spdy.PROTOCOL_ERROR))
            return
        self.by_stream[frame.stream_id] = pair
        if pair.data_id and pair.error_id and pair.task is None:
            pair.task = asyncio.create_task(self._forward(request_id, pair))

    async def _forward(self, request_id: str, pair: _Pair) -> None:
        assert pair.inbox is not None
        inbox = pair.inbox
        duplex, err = await _open(self.backend, self.pod, pair.port)
        try:
            if duplex is None:
                await self.write(spdy.DataFrame(pair.error_id, err))
                return

            async def to_pod() -> None:
                while (data := await inbox.get()) is not None:
                    await duplex.write(data)
                await _close_write(duplex)

            writer = asyncio.create_task(to_pod())
            try:
                while data := await duplex.read():
                    for i in range(0, len(data), READ_SIZE):
                        await self.write(spdy.DataFrame(pair.data_id, data[i:i + READ_SIZE]))
            except OSError as e:
                await self.write(spdy.DataFrame(pair.error_id, _forward_error(self.pod, pair.port, str(e))))
            finally:
                writer.cancel()
                await duplex.close()
        finally:
            # kubelet closes the data stream, then the error stream; the client waits for both.
            with contextlib.suppress(Exception):
                await self.write(spdy.DataFrame(pair.data_id, b"", spdy.FLAG_FIN),
                                 spdy.DataFrame(pair.error_id, b"", spdy.FLAG_FIN))
            self.pairs.pop(request_id, None)
            self.by_stream.pop(pair.data_id, None)
            self.by_stream.pop(pair.error_id, None)
