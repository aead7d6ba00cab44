"""What pods/log, pods/exec, pods/attach and pods/portforward stream from, whoever runs the pod.

The API server (`kubenest/server/streams.py`) speaks the wire protocols (chunked logs, WebSocket
channel protocols v4/v5, SPDY/3.1 tunnelled in WebSocket for port-forward) and hands each request to
the `PodStreams` of the pod's cluster:

- in the embedded host cluster, the node runtime that runs the pod (`kubenest/host/process.py`,
  `kubenest/host/simulated.py`);
- in a virtual cluster, the syncer's proxy, which opens the same stream on the host pod through the
  host's Kubernetes API (`kubenest/syncer/proxy.py`).

So a `kubectl exec` in a virtual cluster on the embedded host goes kubectl -> virtual cluster ->
syncer proxy -> host cluster (HTTP/WebSocket, like any host) -> process runtime.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

Obj = dict[str, Any]

STDOUT = 1
STDERR = 2


@dataclass
class LogOptions:
    """PodLogOptions, validated by the API server before a backend sees them."""

    container: str
    follow: bool = False
    previous: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: str | None = None  # RFC 3339
    timestamps: bool = False
    limit_bytes: int | None = None


def success_status() -> Obj:
    """What kube sends on the error channel when an exec'd command exits 0."""
    return {"metadata": {}, "status": "Success"}


def exit_status(code: int) -> Obj:
    """What kube sends on the error channel when an exec'd command exits non-zero."""
    if code == 0:
        return success_status()
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command [...], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


class Session(Protocol):
    """A running exec or attach: bytes in, tagged bytes out, a final Status."""

    def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """(STDOUT | STDERR, data) until the process's output is closed."""
        ...

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def resize(self, width: int, height: int) -> None: ...

    async def wait(self) -> Obj:
        """The v1 Status for the error channel: `success_status()` or `exit_status(code)`, or any Failure."""
        ...

    async def close(self) -> None:
        """The client went away: stop the exec'd process (attach: just detach)."""
        ...


class Duplex(Protocol):
    """One port-forward connection to a pod's port.

    Optional: `async def close_write(self) -> None`, called when the client finished sending (SPDY FIN)
    while it still reads the answer; a half-close of the pod-side socket (`StreamWriter.write_eof`).
    Without it nothing happens until the pod side closes. `read` may raise OSError: its text goes to the
    client's error stream as kubelet words it ("error forwarding port P to pod NAME_NS, uid U: ...").
    """

    async def read(self) -> bytes:
        """Next bytes from the pod; b"" when the pod closed its side."""
        ...

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


class PodStreams(Protocol):
    """Streams of the pods of one cluster. Errors are `kubenest.api.errors.ApiError` with kube's
    codes and messages (e.g. 400 'container "x" in pod "y" is waiting to start: ...').

    The API server has already checked the pod exists, has a node (`spec.nodeName`), the container is one
    of the pod's and the options are valid; the backend checks what kubelet checks (the container runs).
    `exec`/`attach` raise before returning a Session; `port_forward` raises ApiError or OSError (reported
    on the client's error stream, the connection to the API server stays up)."""

    def logs(self, pod: Obj, opts: LogOptions) -> AsyncIterator[bytes]:
        """Chunks of the log (an async generator). Refusals are raised at the first step, promptly
        (within half a second): after that the 200 has been sent. `follow` ends when the container's log
        ends; the generator is closed (`aclose`) when the client goes away."""
        ...

    async def exec(self, pod: Obj, container: str, command: list[str], stdin: bool, stdout: bool,
                   stderr: bool, tty: bool) -> Session: ...

    async def attach(self, pod: Obj, container: str, stdin: bool, stdout: bool, stderr: bool,
                     tty: bool) -> Session: ...

    async def port_forward(self, pod: Obj, port: int) -> Duplex: ...
