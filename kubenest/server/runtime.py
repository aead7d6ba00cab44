"""Assemble and run a kubenest server: store, clusters, registry, HTTP app, TLS and credentials.

`Server` is what `kubenest up` runs in the foreground and what tests and benchmarks start
in-process on a free port.
"""

from __future__ import annotations

import asyncio
import gc as pygc
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
import yaml

from kubenest import controllers
from kubenest.api import admission, crds, defaults_layer, gc, namespaces
from kubenest.api.clusters import ROOT, Clusters
from kubenest.api.rbac import RbacAuthorizer
from kubenest.api.registry import Registry
from kubenest.api.request import User
from kubenest.controllers.client import Client
from kubenest.host import HOST_CLUSTER
from kubenest.host.embedded import EmbeddedHost
from kubenest.platform import virtualclusters
from kubenest.podstreams import PodStreams
from kubenest.server import wsproto
from kubenest.server.app import App
from kubenest.server.auth import ADMIN_GROUPS, TokenAuthenticator
from kubenest.server.tls import ensure_certificates
from kubenest.server.tokens import ChainAuthenticator, SignedTokenAuthenticator, TokenIssuer
from kubenest.store.backend import Backend, MemoryBackend, SqliteBackend
from kubenest.store.store import Store
from kubenest.syncer.syncer import Syncer


def default_home() -> str:
    return os.environ.get("KUBENEST_HOME") or os.path.join(os.path.expanduser("~"), ".kubenest")


@dataclass
class ServerConfig:
    data_dir: str
    address: str = "127.0.0.1"
    port: int = 6443
    durable: bool = True  # False: in-memory store (tests and benchmarks of everything but the disk)
    log_level: str = "warning"
    # Where pods run (docs/hosts.md): a kubeconfig of any Kubernetes cluster, or None for the embedded host.
    host_kubeconfig: str | None = None
    host_context: str | None = None
    pod_api_address: str | None = None  # HOST[:PORT] where host pods reach this API (external hosts)
    # The embedded host's nodes: one process node (runs containers here) and N simulated nodes.
    process_node: bool = True
    simulated_nodes: int = 0


class Server:
    """One kubenest API server process."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        os.makedirs(config.data_dir, exist_ok=True)
        backend: Backend = (
            SqliteBackend(os.path.join(config.data_dir, "kubenest.db")) if config.durable else MemoryBackend()
        )
        self.store = Store(backend)
        self.clusters = Clusters(self.store)
        self.registry = Registry(self.store)
        self.static_tokens = TokenAuthenticator()
        self.admin_token = self._admin_token()
        self.static_tokens.add(self.admin_token, User("kubernetes-admin", ADMIN_GROUPS))
        self.tokens = TokenIssuer.from_dir(config.data_dir)
        self.authn = ChainAuthenticator(self.static_tokens, SignedTokenAuthenticator(self.tokens))
        defaults_layer.install(self.store, self.clusters)
        self.rbac = RbacAuthorizer(self.store)
        self.app = App(self.store, self.clusters, self.registry, self.authn, self.rbac, self.tokens)
        self.crds = crds.CrdController(self.store, self.clusters, self.registry)
        self.gc = gc.GarbageCollector(self.store, self.registry)
        self.namespaces = namespaces.NamespaceController(self.store, self.registry)
        self.ca_path, self.cert_path, self.key_path = ensure_certificates(config.data_dir, config.address)
        admission.install(self.registry, self.store)
        with open(self.ca_path) as f:
            self.controllers = controllers.build(self.store, self.clusters, self.registry, root_ca=f.read())
        self.controllers.add(virtualclusters.VirtualClusterController(
            Client(self.store, self.clusters, self.registry, manager="kubenest-platform"), self.clusters,
            self.tokens, self.url, open(self.ca_path, "rb").read()))
        self._uvicorn: uvicorn.Server | None = None
        self.port = config.port
        self.started = asyncio.Event()
        # Where pods run: the embedded host adds its scheduler and kubelets to the controllers; the syncer
        # reaches the host (embedded or not) only through its kubeconfig.
        self.embedded: EmbeddedHost | None = EmbeddedHost(self) if config.host_kubeconfig is None else None
        self.syncer = Syncer(self)
        self.app.streams_for = self.streams_for

    def streams_for(self, cluster: str) -> PodStreams | None:
        """Who streams logs/exec/attach/port-forward for pods of `cluster`."""
        if self.embedded is not None and cluster == HOST_CLUSTER:
            return self.embedded.streams
        return self.syncer.streams_for(cluster)

    def _admin_token(self) -> str:
        path = os.path.join(self.config.data_dir, "admin.token")
        if os.path.exists(path):
            return open(path).read().strip()
        token = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        return token

    @property
    def host_for_clients(self) -> str:
        a = self.config.address
        if a in ("0.0.0.0", "::", ""):
            return "127.0.0.1"
        return f"[{a}]" if ":" in a else a

    def url(self, cluster: str = ROOT) -> str:
        return f"https://{self.host_for_clients}:{self.port}/clusters/{cluster}"

    def kubeconfig(self, cluster: str = ROOT, token: str | None = None, context: str | None = None) -> dict:
        """A kubeconfig whose one context points at `cluster` with the admin (or given) token."""
        ctx = context or f"kubenest-{cluster}"
        ca = open(self.ca_path, "rb").read()
        import base64

        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": ctx, "cluster": {"server": self.url(cluster),
                                                   "certificate-authority-data": base64.b64encode(ca).decode()}}],
            "users": [{"name": ctx, "user": {"token": token or self.admin_token}}],
            "contexts": [{"name": ctx, "context": {"cluster": ctx, "user": ctx}}],
            "current-context": ctx,
        }

    def write_admin_kubeconfig(self) -> str:
        path = os.path.join(self.config.data_dir, "admin.kubeconfig")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(self.kubeconfig(ROOT, context="kubenest"), f)
        return path

    async def prepare(self) -> None:
        """Create the root cluster on first start and load custom resources."""
        root = await self.clusters.ensure(ROOT)
        virtualclusters.install(root)
        if self.embedded is not None:
            await self.embedded.prepare()
        # Everything loaded so far lives as long as the process: keep it out of the cyclic collector's
        # full collections, whose pauses otherwise grow with the number of stored objects.
        pygc.freeze()
        # A request allocates a few hundred containers; with the default nursery (700) the collector ran
        # every few requests, walked the requests in flight and promoted them, and full collections over
        # the growing cache followed: about a tenth of a write's CPU and its slowest latencies. A larger
        # nursery lets request garbage die by reference counting before any collection sees it.
        pygc.set_threshold(10_000, 10, 10)
        self.crds.start()
        self.gc.start()
        self.namespaces.start()
        self.controllers.start()

    def _socket(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.config.address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.address, self.config.port))
        self.port = sock.getsockname()[1]
        sock.listen(2048)
        sock.setblocking(False)
        return sock

    async def serve(self) -> None:
        """Serve until stopped (Ctrl-C, SIGTERM or `stop()`), then close the store cleanly."""
        sock = self._socket()  # first: controllers started by prepare() need the real port for URLs
        await self.prepare()
        config = uvicorn.Config(
            self.app,
            http="httptools",
            ws=wsproto.WebSocketProtocol,  # pods/exec, attach, portforward (kubenest/server/streams.py)
            loop="none",
            lifespan="off",
            log_level=self.config.log_level,
            access_log=False,
            ssl_certfile=self.cert_path,
            ssl_keyfile=self.key_path,
            timeout_keep_alive=120,
            timeout_graceful_shutdown=1,
        )
        # uvicorn captures SIGINT/SIGTERM itself when serving from the main thread; in a thread it leaves
        # signals alone, which is what embedding (tests, benchmarks) needs.
        self._uvicorn = _Uvicorn(config, self._wind_down)
        self.write_admin_kubeconfig()
        task = asyncio.create_task(self._uvicorn.serve(sockets=[sock]))
        while not self._uvicorn.started and not task.done():
            await asyncio.sleep(0.01)
        if not task.done():
            await self.syncer.start()
        self.started.set()
        try:
            await task
        finally:
            await self.syncer.stop()
            if self.embedded is not None:
                await self.embedded.close()
            self.store.close()

    def _wind_down(self) -> None:
        """Before connections are drained: end the watch streams and stop the controllers and the syncer
        (whose own watches run on this server), so every request can finish within the grace period."""
        self.syncer.halt()
        self.controllers.stop()
        self.store.close_watches()

    def stop(self) -> None:
        self._wind_down()
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True


class _Uvicorn(uvicorn.Server):
    """uvicorn, winding kubenest down first however the shutdown began (Ctrl-C, SIGTERM or `stop()`):
    open watches would otherwise hold their connections until uvicorn cancels them with a traceback each."""

    def __init__(self, config: uvicorn.Config, wind_down: Callable[[], None]) -> None:
        super().__init__(config)
        self._wind_down = wind_down

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._wind_down()
        await super().shutdown(sockets)
