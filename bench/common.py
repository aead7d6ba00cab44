"""Shared helpers of the kubenest benchmarks: server processes, percentiles, tables, machine facts.

Run as a script, this module is also the server runner the benchmarks start in a separate process
(so the load generator never shares the server's interpreter lock):

    python bench/common.py kubenest --data-dir DIR [--memory] [--cluster NAME ...]
    python bench/common.py hello --data-dir DIR

Either prints one JSON line (port, token, CA and certificate paths) once it is serving, then serves
until SIGTERM. `hello` is a bare ASGI hello-world served by the same stack as kubenest (uvicorn,
httptools, uvloop, TLS with kubenest's serving certificate): the baseline of the HTTP benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)

# -- numbers ----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by nearest rank; `values` need not be sorted. NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(value: float, baseline: float) -> str:
    """`value` as a percentage of `baseline`, for the "vs baseline" column."""
    if not baseline or math.isnan(value) or math.isnan(baseline):
        return "-"
    return f"{100 * value / baseline:.0f}%"


def fmt_ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f} ms"


def fmt_num(value: float, unit: str = "") -> str:
    if math.isnan(value):
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}".rstrip()


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a small aligned text table (also valid Markdown, for pasting into the README)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    print(f"\n{title}")

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    sys.stdout.flush()


# -- the machine ------------------------------------------------------------------------------------


def machine() -> str:
    """One line naming the CPU, core count, memory, kernel and Python: printed with every result."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{os.cpu_count()} x {model}{mem}, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def today() -> str:
    return datetime.date.today().isoformat()


def header(name: str, args: argparse.Namespace) -> None:
    """Print what runs, where and with which arguments, before any figure."""
    print(f"{name} - {today()} - {machine()}")
    print("arguments: " + " ".join(f"{k}={v}" for k, v in sorted(vars(args).items())))
    load = os.getloadavg()
    print(f"load average before start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          "(other work on the machine skews every figure)")
    sys.stdout.flush()


def rss_kib() -> int:
    """Resident memory of this process in KiB, from /proc/self/status (VmRSS)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("VmRSS not found in /proc/self/status")


def settled_rss_kib() -> int:
    """RSS after a full garbage collection, so that garbage waiting for collection is not counted."""
    gc.collect()
    gc.collect()
    return rss_kib()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time consumed so far by process `pid` (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # Fields after the command name: state is fields[0], utime and stime are fields 11 and 12.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of reaped child processes (the load generator, once it has exited)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def raise_open_files_limit() -> int:
    """Raise this process's soft limit of open files to the hard limit (1,000 watch streams need it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_pinning(cpu: int | None) -> list[str]:
    """A `taskset` prefix that pins a child to one CPU, or nothing when it cannot be done."""
    if cpu is None or shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        return []
    return ["taskset", "-c", str(cpu)]


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a benchmark's main coroutine on a fresh (uvloop) event loop, closed afterwards."""
    loop = new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


# -- a minimal HTTP/1.1 client over asyncio TLS streams -------------------------------------------------
# Faster than a general client library, so that the client process is not what the benchmark measures.


def ssl_context(ca_path: str) -> ssl.SSLContext:
    """A client context that trusts the server's CA (and checks its name, as kubectl would)."""
    return ssl.create_default_context(cafile=ca_path)


async def connect(port: int, ctx: ssl.SSLContext, host: str = "127.0.0.1") -> tuple[asyncio.StreamReader,
                                                                                     asyncio.StreamWriter]:
    """One keep-alive TLS connection."""
    return await asyncio.open_connection(host, port, ssl=ctx, server_hostname=host, limit=1 << 20)


def request_bytes(method: str, path: str, token: str, body: bytes = b"", host: str = "127.0.0.1") -> bytes:
    """An HTTP/1.1 request with a bearer token (and a JSON body when given)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: application/json", "User-Agent: kubenest-bench"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """Status code and lower-cased headers of one response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One response with a Content-Length body (every non-watch kubenest response has one)."""
    status, headers = await read_head(reader)
    length = int(headers.get("content-length", "0"))
    return status, await reader.readexactly(length)


async def read_chunk(reader: asyncio.StreamReader) -> bytes:
    """The next chunk of a chunked response body; b"" at its end."""
    size_line = await reader.readuntil(b"\r\n")
    size = int(size_line.split(b";", 1)[0], 16)
    data = await reader.readexactly(size + 2)
    return data[:-2]


async def watch_events(reader: asyncio.StreamReader) -> AsyncIterator[tuple[float, dict[str, Any]]]:
    """The events of a watch response (chunked JSON lines), each with the `time.perf_counter()` at which
    its chunk arrived, until the stream ends."""
    buf = b""
    while chunk := await read_chunk(reader):
        arrived = time.perf_counter()
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line:
                yield arrived, json.loads(line)


# -- server processes -------------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """A server running in a child process, started by `start_kubenest` or `start_hello`."""

    proc: subprocess.Popen[str]
    info: dict[str, Any]
    data_dir: str
    owns_data_dir: bool = field(default=False)

    @property
    def port(self) -> int:
        return int(self.info["port"])

    @property
    def token(self) -> str:
        return str(self.info.get("token", ""))

    @property
    def ca_path(self) -> str:
        return str(self.info["ca"])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def url(self, cluster: str) -> str:
        return f"{self.base()}/clusters/{cluster}"

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def rss_kib(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def syncer_bytes(self) -> int:
        """What the server's syncer keeps in memory (`Syncer.state_bytes`), asked for with SIGUSR1."""
        assert self.proc.stdout is not None
        self.proc.send_signal(signal.SIGUSR1)
        return int(json.loads(self.proc.stdout.readline())["syncer_bytes"])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def _start(args: list[str], data_dir: str, owns: bool, cpu: int | None, timeout: float) -> ServerProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (REPO_DIR, os.environ.get("PYTHONPATH")) if p))
    cmd = cpu_pinning(cpu) + [sys.executable, os.path.join(BENCH_DIR, "common.py"), *args, "--data-dir", data_dir]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = ""
    # The runner prints exactly one line when it serves; anything else means it failed to start.
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line or proc.poll() is not None:
            break
    if not line.startswith("{"):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"server runner {' '.join(args)} did not start (exit {proc.returncode}): {line!r}")
    return ServerProcess(proc, json.loads(line), data_dir, owns)


def start_kubenest(data_dir: str | None = None, durable: bool = True, clusters: Sequence[str] = (),
                   cpu: int | None = None, timeout: float = 120, simulated_nodes: int = 0,
                   process_node: bool = False, host_kubeconfig: str | None = None) -> ServerProcess:
    """Start a kubenest server in a child process, with `clusters` created before it reports ready.

    Its embedded host has `simulated_nodes` simulated nodes and, only when asked, the process node;
    with `host_kubeconfig` it uses that cluster as its host instead.
    """
    owns = data_dir is None
    data_dir = data_dir or tempfile.mkdtemp(prefix="kubenest-bench-")
    args = ["kubenest"] + ([] if durable else ["--memory"])
    for c in clusters:
        args += ["--cluster", c]
    args += ["--simulated-nodes", str(simulated_nodes)]
    if process_node:
        args.append("--process-node")
    if host_kubeconfig:
        args += ["--host-kubeconfig", host_kubeconfig]
    return _start(args, data_dir, owns, cpu, timeout)


def start_hello(data_dir: str, cpu: int | None = None, timeout: float = 60) -> ServerProcess:
    """Start the hello-world baseline with the serving certificate found in (or created under) data_dir."""
    return _start(["hello"], data_dir, False, cpu, timeout)


# -- the runner (child process side) ----------------------------------------------------------------

HELLO_BODY = b'{"hello":"world"}'


async def hello_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The smallest useful ASGI app: the same two `send` calls kubenest makes for a GET."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(HELLO_BODY)).encode())]})
    await send({"type": "http.response.body", "body": HELLO_BODY})


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


async def _serve_hello(data_dir: str) -> None:
    import uvicorn

    from kubenest.server.tls import ensure_certificates

    os.makedirs(data_dir, exist_ok=True)
    ca, cert, key = ensure_certificates(data_dir, "127.0.0.1")
    sock = _listen()
    # The same uvicorn settings as kubenest.server.runtime.Server.serve, so only the app differs.
    config = uvicorn.Config(hello_app, http="httptools", loop="none", lifespan="off", log_level="warning",
                            access_log=False, ssl_certfile=cert, ssl_keyfile=key, timeout_keep_alive=120,
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    print(json.dumps({"port": sock.getsockname()[1], "ca": ca, "pid": os.getpid()}), flush=True)
    await task


async def _serve_kubenest(data_dir: str, durable: bool, clusters: list[str], args: argparse.Namespace) -> None:
    from kubenest.server.runtime import Server, ServerConfig

    server = Server(ServerConfig(data_dir=data_dir, port=0, durable=durable, simulated_nodes=args.simulated_nodes,
                                 process_node=args.process_node, host_kubeconfig=args.host_kubeconfig))
    task = asyncio.create_task(server.serve())
    while not server.started.is_set() and not task.done():
        await asyncio.sleep(0.01)
    if task.done():
        await task
        return
    for name in clusters:
        await server.clusters.ensure(name)
    asyncio.get_running_loop().add_signal_handler(
        signal.SIGUSR1, lambda: print(json.dumps({"syncer_bytes": server.syncer.state_bytes()}), flush=True))
    print(json.dumps({"port": server.port, "token": server.admin_token, "ca": server.ca_path,
                      "pid": os.getpid()}), flush=True)
    await task


def runner_main(argv: list[str] | None = None) -> None:
    """Entry point of the server child process."""
    parser = argparse.ArgumentParser(description="kubenest benchmark server runner")
    parser.add_argument("what", choices=["kubenest", "hello"])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--memory", action="store_true", help="in-memory store instead of SQLite")
    parser.add_argument("--cluster", action="append", default=[], help="logical cluster to create first")
    parser.add_argument("--simulated-nodes", type=int, default=0, help="simulated nodes of the embedded host")
    parser.add_argument("--process-node", action="store_true", help="the embedded host's process node too")
    parser.add_argument("--host-kubeconfig", default=None, help="use this cluster as the host")
    args = parser.parse_args(argv)
    raise_open_files_limit()
    if args.what == "hello":
        coro = _serve_hello(args.data_dir)
    else:
        coro = _serve_kubenest(args.data_dir, not args.memory, args.cluster, args)
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(coro)
    except KeyboardInterrupt:
        pass
    finally:
        loop.close()


if __name__ == "__main__":
    runner_main()
