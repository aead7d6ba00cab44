"""Run a kubenest server in a background thread: for tests, benchmarks and embedding.

The server gets its own event loop (uvloop when available) in a daemon thread and a free port;
`call` runs a coroutine on that loop, for internal APIs such as creating logical clusters.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import yaml

from kubenest.server.runtime import Server, ServerConfig

T = TypeVar("T")


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


class ServerThread:
    """A started server on 127.0.0.1:<free port>; `stop()` shuts it down cleanly."""

    def __init__(self, data_dir: str | None = None, durable: bool = True, port: int = 0, **config: Any) -> None:
        """`config`: further ServerConfig fields, e.g. `ServerThread(simulated_nodes=4, process_node=False)`."""
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="kubenest-")
        self.loop = new_loop()
        self.server = Server(ServerConfig(data_dir=self.data_dir, port=port, durable=durable, **config))
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="kubenest-server", daemon=True)
        self.thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("kubenest server did not start within 60 s")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            task = asyncio.create_task(self.server.serve())
            while not self.server.started.is_set() and not task.done():
                await asyncio.sleep(0.01)
            self._ready.set()
            await task

        try:
            self.loop.run_until_complete(main())
        except BaseException as e:  # noqa: BLE001 - reported to the starting thread
            self._error = e
            self._ready.set()

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def token(self) -> str:
        return self.server.admin_token

    @property
    def ca_path(self) -> str:
        return self.server.ca_path

    def url(self, cluster: str = "root") -> str:
        return self.server.url(cluster)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def create_cluster(self, name: str, version: str = "1.37") -> None:
        self.call(self.server.clusters.create(name, version))

    def write_kubeconfig(self, cluster: str = "root", path: str | None = None, token: str | None = None) -> str:
        """Write a kubeconfig for `cluster` and return its path."""
        path = path or os.path.join(self.data_dir, f"{cluster}.kubeconfig")
        with open(path, "w") as f:
            yaml.safe_dump(self.server.kubeconfig(cluster, token=token), f)
        return path

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.server.stop)
            self.thread.join(30)
