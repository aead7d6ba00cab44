"""A real `PodStreams` for tests: everything it streams happens on this machine.

- logs: read from files it writes (one per pod container, CRI-like lines `<RFC 3339 time> <text>`), with
  tail, since, timestamps, limit and follow served from the file as it grows;
- exec: the command runs as a local subprocess (on a pty when tty is asked for);
- attach: attaches to a long-running local process started for the pod's container;
- port-forward: connects to a real TCP server on 127.0.0.1 (pod port -> local port map).

`install(server_thread, cluster, backend)` makes one test cluster stream from it; other clusters keep
whatever the server gives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import struct
import termios
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from kubenest.api.errors import ApiError, bad_request
from kubenest.podstreams import STDERR, STDOUT, LogOptions, exit_status

Obj = dict[str, Any]


def _ts(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def _parse_ts(text: str) -> float:
    return datetime.fromisoformat(text[:26] + "+00:00").timestamp()


class _Proc:
    """A local process: (channel, bytes) chunks from its output, its stdin, its exit code."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self.proc: asyncio.subprocess.Process | None = None
        self.master: int | None = None
        self._open_streams = 0

    @classmethod
    async def start(cls, argv: list[str], tty: bool) -> _Proc:
        self = cls()
        loop = asyncio.get_running_loop()
        if tty:
            master, slave = pty.openpty()
            self.master = master
            self.proc = await asyncio.create_subprocess_exec(*argv, stdin=slave, stdout=slave, stderr=slave,
                                                             start_new_session=True)
            os.close(slave)
            os.set_blocking(master, False)
            self._open_streams = 1

            def readable() -> None:
                try:
                    data = os.read(master, 65536)
                except BlockingIOError:
                    return
                except OSError:
                    data = b""  # EIO: the last holder of the pty's slave side is gone
                if data:
                    self.queue.put_nowait((STDOUT, data))
                else:
                    loop.remove_reader(master)
                    self.queue.put_nowait(None)

            loop.add_reader(master, readable)
        else:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            self._open_streams = 2
            assert self.proc.stdout is not None and self.proc.stderr is not None
            asyncio.create_task(self._pump(STDOUT, self.proc.stdout))
            asyncio.create_task(self._pump(STDERR, self.proc.stderr))
        return self

    async def _pump(self, channel: int, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(65536):
            self.queue.put_nowait((channel, data))
        self.queue.put_nowait(None)

    async def chunks(self) -> AsyncIterator[tuple[int, bytes]]:
        ended = 0
        while ended < self._open_streams:
            item = await self.queue.get()
            if item is None:
                ended += 1
            else:
                yield item

    async def write(self, data: bytes) -> None:
        if self.master is not None:
            os.write(self.master, data)
        elif self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.write(data)
            with contextlib.suppress(ConnectionError):
                await self.proc.stdin.drain()

    async def close_stdin(self) -> None:
        if self.master is not None:
            os.write(self.master, b"\x04")  # ^D on a terminal
        elif self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()

    def resize(self, width: int, height: int) -> None:
        if self.master is not None:
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    async def wait(self) -> int:
        assert self.proc is not None
        return await self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()


class ExecSession:
    def __init__(self, proc: _Proc) -> None:
        self.proc = proc
        self.resizes: list[tuple[int, int]] = []

    def output(self) -> AsyncIterator[tuple[int, bytes]]:
        return self.proc.chunks()

    async def write_stdin(self, data: bytes) -> None:
        await self.proc.write(data)

    async def close_stdin(self) -> None:
        await self.proc.close_stdin()

    async def resize(self, width: int, height: int) -> None:
        self.resizes.append((width, height))
        self.proc.resize(width, height)

    async def wait(self) -> Obj:
        return exit_status(await self.proc.wait())

    async def close(self) -> None:
        self.proc.kill()


class AttachSession:
    """One client attached to a shared long-running process: sees its output from now on."""

    def __init__(self, target: _Attached) -> None:
        self.target = target
        self.queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        target.subscribers.append(self.queue)

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        while (item := await self.queue.get()) is not None:
            yield item

    async def write_stdin(self, data: bytes) -> None:
        await self.target.proc.write(data)

    async def close_stdin(self) -> None:
        """Detach stdin only: the shared process keeps running for others."""

    async def resize(self, width: int, height: int) -> None:
        self.target.proc.resize(width, height)

    async def wait(self) -> Obj:
        return exit_status(await self.target.proc.wait())

    async def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.target.subscribers.remove(self.queue)
        self.queue.put_nowait(None)


class _Attached:
    def __init__(self, proc: _Proc) -> None:
        self.proc = proc
        self.subscribers: list[asyncio.Queue[tuple[int, bytes] | None]] = []
        asyncio.create_task(self._fan_out())

    async def _fan_out(self) -> None:
        async for item in self.proc.chunks():
            for q in list(self.subscribers):
                q.put_nowait(item)
        for q in list(self.subscribers):
            q.put_nowait(None)


class TcpDuplex:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def read(self) -> bytes:
        try:
            return await self.reader.read(65536)
        except ConnectionError:
            return b""

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close_write(self) -> None:
        if self.writer.can_write_eof():
            with contextlib.suppress(OSError):
                self.writer.write_eof()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


class LocalStreams:
    """PodStreams of one test cluster, backed by local files, processes and TCP servers."""

    def __init__(self, workdir: str, ports: dict[int, int] | None = None,
                 attach_command: list[str] | None = None) -> None:
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.ports = dict(ports or {})  # pod port -> 127.0.0.1 port
        self.attach_command = attach_command or ["sh", "-c", 'echo attached-ready; while read l; do echo "got $l"; done']
        self.attached: dict[tuple[str, str], _Attached] = {}
        self.exec_sessions: list[ExecSession] = []
        self.log_requests: list[LogOptions] = []

    # -- logs -------------------------------------------------------------------------------------------

    def log_path(self, pod: str, container: str, previous: bool = False) -> str:
        return os.path.join(self.workdir, f"{pod}_{container}{'.previous' if previous else ''}.log")

    def write_log(self, pod: str, container: str, *lines: str, at: float | None = None,
                  previous: bool = False) -> None:
        """Append lines to a container's log file (called from the test thread)."""
        with open(self.log_path(pod, container, previous), "a") as f:
            for line in lines:
                f.write(f"{_ts(at if at is not None else time.time())} {line}\n")

    async def logs(self, pod: Obj, opts: LogOptions) -> AsyncIterator[bytes]:
        self.log_requests.append(opts)
        name = pod["metadata"]["name"]
        path = self.log_path(name, opts.container, opts.previous)
        if not os.path.exists(path):
            if opts.previous:
                raise bad_request(f'previous terminated container "{opts.container}" in pod "{name}" not found')
            raise bad_request(f'container "{opts.container}" in pod "{name}" is waiting to start: ContainerCreating')
        since = None
        if opts.since_seconds is not None:
            since = time.time() - opts.since_seconds
        elif opts.since_time is not None:
            since = datetime.fromisoformat(opts.since_time.replace("Z", "+00:00")).timestamp()
        with open(path, "rb") as f:
            lines = f.read().splitlines(keepends=True)
            if since is not None:
                lines = [ln for ln in lines if _parse_ts(ln.decode()) >= since]
            if opts.tail_lines is not None:
                lines = lines[len(lines) - opts.tail_lines:] if opts.tail_lines else []
            sent = 0
            for ln in lines:
                out = self._line(ln, opts.timestamps)
                if opts.limit_bytes is not None:
                    out = out[:opts.limit_bytes - sent]
                sent += len(out)
                yield out
                if opts.limit_bytes is not None and sent >= opts.limit_bytes:
                    return
            if not opts.follow:
                return
            partial = b""
            while True:
                chunk = f.read()
                if not chunk:
                    await asyncio.sleep(0.05)
                    continue
                partial += chunk
                *complete, partial = partial.split(b"\n")
                for ln in complete:
                    yield self._line(ln + b"\n", opts.timestamps)

    @staticmethod
    def _line(raw: bytes, timestamps: bool) -> bytes:
        return raw if timestamps else raw.split(b" ", 1)[1]

    # -- exec and attach --------------------------------------------------------------------------------

    def _check_running(self, pod: Obj, container: str) -> None:
        if (pod.get("status") or {}).get("phase") != "Running":
            raise ApiError(400, "BadRequest", f'unable to upgrade connection: container not found ("{container}")')

    async def exec(self, pod: Obj, container: str, command: list[str], stdin: bool, stdout: bool,
                   stderr: bool, tty: bool) -> ExecSession:
        self._check_running(pod, container)
        try:
            proc = await _Proc.start(command, tty)
        except OSError as e:
            raise ApiError(500, "InternalError", f"failed to exec in container: {e}") from e
        session = ExecSession(proc)
        self.exec_sessions.append(session)
        return session

    async def attach(self, pod: Obj, container: str, stdin: bool, stdout: bool, stderr: bool,
                     tty: bool) -> AttachSession:
        self._check_running(pod, container)
        key = (pod["metadata"]["name"], container)
        target = self.attached.get(key)
        if target is None or target.proc.proc is None or target.proc.proc.returncode is not None:
            target = _Attached(await _Proc.start(self.attach_command, False))
            self.attached[key] = target
        return AttachSession(target)

    # -- port-forward -----------------------------------------------------------------------------------

    async def port_forward(self, pod: Obj, port: int) -> TcpDuplex:
        local = self.ports.get(port)
        if local is None:
            raise OSError(f"failed to connect to localhost:{port} inside the pod: connection refused")
        reader, writer = await asyncio.open_connection("127.0.0.1", local)
        return TcpDuplex(reader, writer)

    async def close(self) -> None:
        for target in self.attached.values():
            target.proc.kill()


def install(server_thread: Any, cluster: str, backend: Any) -> None:
    """Make `cluster` of the test server stream from `backend`; other clusters are unaffected."""
    app = server_thread.server.app
    table: dict[str, Any] | None = getattr(app.streams_for, "test_backends", None)
    if table is None:
        original = app.streams_for
        table = {}

        def streams_for(name: str) -> Any:
            found = table.get(name)
            return found if found is not None else original(name)

        streams_for.test_backends = table  # type: ignore[attr-defined]
        app.streams_for = streams_for
    table[cluster] = backend
