"""`HostProxy`: the `PodStreams` of a virtual cluster, served by the host pod through the host's API.

Each stream of a virtual pod is opened on its host pod, as any Kubernetes client would open it:

- logs: a streaming `GET .../pods/NAME/log` (aiohttp, the host client's session);
- exec and attach: WebSocket `v5.channel.k8s.io` (falling back to `v4.channel.k8s.io` on hosts that
  only speak v4), where the host's final Status becomes the session's Status;
- port-forward: one WebSocket `v4.channel.k8s.io` connection per forwarded connection, `ports=<port>`.

WebSockets use the `websockets` client because a refused upgrade's body (the host's Status) must reach
the user, and aiohttp drops it. Host errors come back as `ApiError` with the host's code, reason and
message, host pod names replaced by the virtual pod's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as ssllib
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from kubenest.api.errors import ApiError
from kubenest.podstreams import STDERR, STDOUT, LogOptions, success_status

Obj = dict[str, Any]

# (virtual pod, virtual container or "") -> (host namespace, host pod name, host container name)
Locate = Callable[[Obj, str], tuple[str, str, str]]

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
_STREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=None)


class HostProxy:
    """PodStreams of one virtual cluster, opening every stream on the host pod."""

    def __init__(self, client: Any, locate: Locate) -> None:
        """`client`: a `HostClient` (uses its session, base_url, ssl and headers)."""
        self.client = client
        self.locate = locate

    # -- plumbing ---------------------------------------------------------------------------------------

    def _path(self, namespace: str, name: str, sub: str) -> str:
        return f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}/{sub}"

    def _ws_url(self, path: str, query: list[tuple[str, str]]) -> str:
        base = self.client.base_url
        if base.startswith("https://"):
            base = "wss://" + base[8:]
        elif base.startswith("http://"):
            base = "ws://" + base[7:]
        return base + path + ("?" + urlencode(query) if query else "")

    def _ssl(self) -> ssllib.SSLContext | None:
        s = self.client.ssl
        if isinstance(s, ssllib.SSLContext):
            return s
        if not self.client.base_url.startswith("https://"):
            return None
        ctx = ssllib.create_default_context()
        if s is False:
            ctx.check_hostname = False
            ctx.verify_mode = ssllib.CERT_NONE
        return ctx

    async def _connect(self, path: str, query: list[tuple[str, str]], protocols: list[str],
                       names: tuple[str, str]) -> ClientConnection:
        try:
            return await connect(self._ws_url(path, query), ssl=self._ssl(),
                                 additional_headers=self.client.headers,
                                 subprotocols=protocols,  # type: ignore[arg-type]
                                 max_size=None, compression=None, open_timeout=30)
        except InvalidStatus as e:
            raise _host_error(e.response.status_code, bytes(e.response.body or b""), names) from None
        except OSError as e:
            raise ApiError(503, "ServiceUnavailable", f"error dialing the host: {e}") from e

    # -- PodStreams -------------------------------------------------------------------------------------

    async def logs(self, pod: Obj, opts: LogOptions) -> AsyncIterator[bytes]:
        namespace, name, container = self.locate(pod, opts.container)
        query: dict[str, str] = {"container": container}
        for key, value in (("follow", opts.follow), ("previous", opts.previous), ("timestamps", opts.timestamps)):
            if value:
                query[key] = "true"
        for key, number in (("tailLines", opts.tail_lines), ("sinceSeconds", opts.since_seconds),
                            ("limitBytes", opts.limit_bytes)):
            if number is not None:
                query[key] = str(number)
        if opts.since_time is not None:
            query["sinceTime"] = opts.since_time
        url = self.client.base_url + self._path(namespace, name, "log")
        try:
            resp = await self.client.session.get(url, params=query, timeout=_STREAM_TIMEOUT)
        except aiohttp.ClientError as e:
            raise ApiError(503, "ServiceUnavailable", f"error reaching the host: {e}") from e
        async with resp:
            if resp.status >= 400:
                raise _host_error(resp.status, await resp.read(), (name, pod["metadata"]["name"]))
            async for chunk in resp.content.iter_any():
                yield chunk

    async def exec(self, pod: Obj, container: str, command: list[str], stdin: bool, stdout: bool,
                   stderr: bool, tty: bool) -> ChannelSession:
        return await self._remote(pod, container, "exec", [("command", c) for c in command],
                                  stdin, stdout, stderr, tty)

    async def attach(self, pod: Obj, container: str, stdin: bool, stdout: bool, stderr: bool,
                     tty: bool) -> ChannelSession:
        return await self._remote(pod, container, "attach", [], stdin, stdout, stderr, tty)

    async def _remote(self, pod: Obj, container: str, sub: str, extra: list[tuple[str, str]], stdin: bool,
                      stdout: bool, stderr: bool, tty: bool) -> ChannelSession:
        namespace, name, host_container = self.locate(pod, container)
        query = [("container", host_container), *extra]
        query += [(k, "true") for k, v in (("stdin", stdin), ("stdout", stdout), ("stderr", stderr), ("tty", tty))
                  if v]
        ws = await self._connect(self._path(namespace, name, sub), query, [V5, V4], (name, pod["metadata"]["name"]))
        return ChannelSession(ws, (name, pod["metadata"]["name"]))

    async def port_forward(self, pod: Obj, port: int) -> ChannelDuplex:
        namespace, name, _ = self.locate(pod, "")
        names = (name, pod["metadata"]["name"])
        ws = await self._connect(self._path(namespace, name, "portforward"), [("ports", str(port))], [V4], names)
        return ChannelDuplex(ws, names)


class ChannelSession:
    """An exec/attach on the host, over a channel WebSocket."""

    def __init__(self, ws: ClientConnection, names: tuple[str, str]) -> None:
        self.ws = ws
        self.names = names
        self.v5 = ws.subprotocol == V5
        self._error = bytearray()
        self._done = asyncio.Event()

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        try:
            async for message in self.ws:
                if isinstance(message, str) or not message:
                    continue
                channel, data = message[0], message[1:]
                if channel in (STDOUT, STDERR) and data:
                    yield channel, bytes(data)
                elif channel == 3:
                    self._error += data
        except ConnectionClosed:
            pass
        finally:
            self._done.set()

    async def write_stdin(self, data: bytes) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(b"\x00" + data)

    async def close_stdin(self) -> None:
        if self.v5:
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(bytes([255, 0]))

    async def resize(self, width: int, height: int) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(b"\x04" + orjson.dumps({"Width": width, "Height": height}))

    async def wait(self) -> Obj:
        await self._done.wait()
        if not self._error:
            return success_status()
        try:
            status: Obj = orjson.loads(bytes(self._error))
        except orjson.JSONDecodeError:
            return {"metadata": {}, "status": "Failure", "message": bytes(self._error).decode("utf-8", "replace")}
        host, virtual = self.names
        if isinstance(status.get("message"), str):
            status["message"] = status["message"].replace(host, virtual)
        return status

    async def close(self) -> None:
        await self.ws.close()


class ChannelDuplex:
    """One forwarded connection to a host pod's port (WebSocket v4: channel 0 data, 1 error)."""

    def __init__(self, ws: ClientConnection, names: tuple[str, str]) -> None:
        self.ws = ws
        self.names = names
        self._opened = {0: False, 1: False}  # each channel starts with the port (2 bytes), not data

    async def read(self) -> bytes:
        while True:
            try:
                message = await self.ws.recv()
            except ConnectionClosed:
                return b""
            if isinstance(message, str) or not message:
                continue
            channel, data = message[0], bytes(message[1:])
            if channel in self._opened and not self._opened[channel]:
                self._opened[channel] = True
                continue
            if channel == 0 and data:
                return data
            if channel == 1 and data:
                host, virtual = self.names
                raise OSError(data.decode("utf-8", "replace").replace(host, virtual))

    async def write(self, data: bytes) -> None:
        try:
            await self.ws.send(b"\x00" + data)
        except ConnectionClosed as e:
            raise ConnectionResetError(str(e)) from e

    async def close(self) -> None:
        await self.ws.close()


def _host_error(code: int, body: bytes, names: tuple[str, str]) -> ApiError:
    """The host's refusal as the virtual cluster's error: its Status, or its plain text, with the name mapped."""
    host, virtual = names
    try:
        status = orjson.loads(body)
    except orjson.JSONDecodeError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        err = ApiError(int(status.get("code") or code), str(status.get("reason") or ""),
                       str(status.get("message") or "").replace(host, virtual))
        details = status.get("details")
        if isinstance(details, dict):
            if details.get("name") == host:
                details = dict(details, name=virtual)
            err.details = details
        return err
    text = body.decode("utf-8", "replace").strip().replace(host, virtual)
    reason = {400: "BadRequest", 403: "Forbidden", 404: "NotFound"}.get(code, "InternalError")
    return ApiError(code, reason, text or f"the host answered {code}")
