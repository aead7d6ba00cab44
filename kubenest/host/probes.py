"""Container probes as the kubelet runs them: exec, httpGet, tcpSocket (grpc is not supported).

`check` runs one probe and returns (success, message) with the kubelet's failure wording; `Prober` runs
one probe of one container on its schedule (initialDelaySeconds, periodSeconds, timeoutSeconds,
successThreshold, failureThreshold) and calls back when the result changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("kubenest.host.probes")

Obj = dict[str, Any]
# exec_fn(command, timeout) -> (exit code, output); raises asyncio.TimeoutError past the timeout.
ExecFn = Callable[[list[str], float], Awaitable[tuple[int, bytes]]]

PROBE_USER_AGENT = "kube-probe/1.31"


def port_of(port: Any, container: Obj) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for p in container.get("ports") or ():
        if p.get("name") == port:
            return int(p.get("containerPort", 0))
    raise ValueError(f"unable to find port {port!r} in container ports")


async def check(probe: Obj, container: Obj, pod_ip: str, exec_fn: ExecFn) -> tuple[bool, str]:
    """Run one probe once."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    try:
        if "exec" in probe:
            command = list((probe["exec"] or {}).get("command") or ())
            try:
                code, out = await exec_fn(command, timeout)
            except TimeoutError:
                return False, f"command {command!r} timed out"
            if code != 0:
                return False, out.decode(errors="replace").strip() or f"command {command!r} exited with {code}"
            return True, ""
        if "httpGet" in probe:
            return await _http(probe["httpGet"] or {}, container, pod_ip, timeout)
        if "tcpSocket" in probe:
            tcp = probe["tcpSocket"] or {}
            host, port = tcp.get("host") or pod_ip, port_of(tcp.get("port"), container)
            try:
                _, w = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            except TimeoutError:
                return False, f"dial tcp {host}:{port}: i/o timeout"
            except OSError as e:
                return False, f"dial tcp {host}:{port}: connect: {(e.strerror or str(e)).lower()}"
            w.close()
            with contextlib.suppress(OSError):
                await w.wait_closed()
            return True, ""
        if "grpc" in probe:
            return True, ""  # not supported: treated as passing (a warning is logged when the probe starts)
    except ValueError as e:
        return False, str(e)
    return True, ""


async def _http(get: Obj, container: Obj, pod_ip: str, timeout: float) -> tuple[bool, str]:
    scheme = (get.get("scheme") or "HTTP").lower()
    host = get.get("host") or pod_ip
    port = port_of(get.get("port"), container)
    path = get.get("path") or "/"
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme}://{host}:{port}{path}"
    headers = {"Host": f"{host}:{port}", "User-Agent": PROBE_USER_AGENT, "Accept": "*/*"}
    for h in get.get("httpHeaders") or ():
        headers[h.get("name", "")] = h.get("value", "")
    headers["Connection"] = "close"
    ctx = None
    if scheme == "https":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

    async def go() -> tuple[bool, str]:
        try:
            r, w = await asyncio.open_connection(host, port, ssl=ctx)
        except OSError as e:
            return False, f'Get "{url}": dial tcp {host}:{port}: connect: {(e.strerror or str(e)).lower()}'
        try:
            req = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            w.write(req.encode())
            await w.drain()
            line = await r.readline()
            parts = line.decode(errors="replace").split()
            if len(parts) < 2 or not parts[1].isdigit():
                return False, f'Get "{url}": malformed HTTP response {line[:60]!r}'
            code = int(parts[1])
            if 200 <= code < 400:
                return True, ""
            return False, f"HTTP probe failed with statuscode: {code}"
        finally:
            w.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await w.wait_closed()

    try:
        return await asyncio.wait_for(go(), timeout)
    except TimeoutError:
        return False, (f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting '
                       "headers)")


class Prober:
    """One probe of one running container. `on_change(ok, message)` is called when the result flips
    (readiness and startup start as failed, liveness as passing); a flip to failed means failureThreshold
    consecutive failures, a flip to passing successThreshold consecutive successes."""

    def __init__(self, kind: str, probe: Obj, container: Obj, pod_ip: str, exec_fn: ExecFn,
                 on_change: Callable[[bool, str], Awaitable[None]],
                 on_failure: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.kind = kind  # "liveness" | "readiness" | "startup"
        self.probe = probe
        self.container = container
        self.pod_ip = pod_ip
        self.exec_fn = exec_fn
        self.on_change = on_change
        self.on_failure = on_failure  # every failed attempt (the Unhealthy event)
        self.result = kind == "liveness"
        if "grpc" in probe:
            log.warning("container %s: grpc %s probes are not supported by the process runtime and pass",
                        container.get("name"), kind)

    async def run(self) -> None:
        p = self.probe
        period = max(float(p.get("periodSeconds") or 10), 0.01)
        success_threshold = int(p.get("successThreshold") or 1)
        failure_threshold = int(p.get("failureThreshold") or 3)
        await asyncio.sleep(float(p.get("initialDelaySeconds") or 0))
        successes = failures = 0
        while True:
            ok, message = await check(p, self.container, self.pod_ip, self.exec_fn)
            if ok:
                successes, failures = successes + 1, 0
                if not self.result and successes >= success_threshold:
                    self.result = True
                    await self.on_change(True, "")
                if self.kind == "startup" and self.result:
                    return  # a startup probe stops once it succeeded
            else:
                successes, failures = 0, failures + 1
                if self.on_failure is not None:
                    await self.on_failure(message)
                if failures >= failure_threshold and (self.result or self.kind != "readiness"):
                    self.result = False
                    failures = 0
                    await self.on_change(False, message)
            await asyncio.sleep(period)
