"""`EmbeddedHost`: the `host` logical cluster with its nodes, scheduler and kubelets (docs/hosts.md)."""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import yaml

from kubenest.api import schema
from kubenest.api.errors import ApiError
from kubenest.controllers.client import CONTROLLER_USER, Client
from kubenest.host import HOST_CLUSTER
from kubenest.host.kubelet import Kubelet
from kubenest.host.runtime import NodeRuntime
from kubenest.host.scheduler import Scheduler
from kubenest.host.simulated import SimulatedRuntime
from kubenest.podstreams import Duplex, LogOptions, PodStreams, Session

if TYPE_CHECKING:
    from kubenest.server.runtime import Server

log = logging.getLogger("kubenest.host")

Obj = dict[str, Any]


def node_name_for_host(hostname: str | None = None) -> str:
    """This machine's hostname as a node name: lowercased, a DNS label (kubelet's --hostname-override rule)."""
    name = (hostname or socket.gethostname()).split(".")[0].lower()
    name = re.sub(r"[^a-z0-9-]+", "-", name).strip("-")[:63].strip("-")
    return name or "localhost"


class NodeStreams:
    """PodStreams of the host cluster: each call goes to the runtime of the pod's node."""

    def __init__(self, runtimes: dict[str, NodeRuntime]) -> None:
        self.runtimes = runtimes

    def _streams(self, pod: Obj) -> PodStreams:
        node = (pod.get("spec") or {}).get("nodeName") or ""
        rt = self.runtimes.get(node)
        if rt is None:
            name = pod["metadata"]["name"]
            if not node:
                raise ApiError(400, "BadRequest", f"pod {name} does not have a host assigned")
            raise ApiError(400, "BadRequest", f'pod {name} runs on node "{node}", which no kubelet of this '
                                              "kubenest serves")
        return rt.streams

    def logs(self, pod: Obj, opts: LogOptions) -> AsyncIterator[bytes]:
        return self._streams(pod).logs(pod, opts)

    async def exec(self, pod: Obj, container: str, command: list[str], stdin: bool, stdout: bool,
                   stderr: bool, tty: bool) -> Session:
        return await self._streams(pod).exec(pod, container, command, stdin, stdout, stderr, tty)

    async def attach(self, pod: Obj, container: str, stdin: bool, stdout: bool, stderr: bool,
                     tty: bool) -> Session:
        return await self._streams(pod).attach(pod, container, stdin, stdout, stderr, tty)

    async def port_forward(self, pod: Obj, port: int) -> Duplex:
        return await self._streams(pod).port_forward(pod, port)


class EmbeddedHost:
    """Constructed by the Server before its controllers start (adds the scheduler and kubelets to them)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.runtimes: dict[str, NodeRuntime] = {}
        self.streams: PodStreams | None = NodeStreams(self.runtimes)  # routes to the runtime of the pod's node
        self.network: Any = None  # kubenest.host.network.PodNetworks when the process node has one
        self.service_proxy: Any = None  # kubenest.host.network.ServiceProxy, with an enabled pod network
        client = Client(server.store, server.clusters, server.registry, manager="kubenest-host", user=CONTROLLER_USER)
        self.scheduler = Scheduler(client)
        self.kubelet = Kubelet(client, ())
        server.controllers.add(self.scheduler)
        server.controllers.add(self.kubelet)
        self.kubeconfig_path = os.path.join(server.config.data_dir, "host.kubeconfig")

    async def prepare(self) -> None:
        """Create the host cluster and register nodes; write DATA_DIR/host.kubeconfig."""
        config = self.server.config
        cluster = await self.server.clusters.ensure(HOST_CLUSTER, schema.SUPPORTED_VERSIONS[-1])
        version = f"v{cluster.version}.0"
        if config.process_node:
            await self._process_node()
        for i in range(max(config.simulated_nodes, 0)):
            rt = SimulatedRuntime(f"sim-{i}", i, kubelet_version=version)
            self.add_runtime(rt)
        await self.kubelet.register_nodes()
        self.kubelet.start_heartbeat()
        self.scheduler.prime()
        self._write_kubeconfig()

    def add_runtime(self, rt: NodeRuntime) -> None:
        self.runtimes[rt.node_name] = rt
        self.kubelet.add_runtime(rt)

    async def _process_node(self) -> None:
        """The node that runs containers on this machine (kubenest/host/process.py), when it is there."""
        data_dir = self.server.config.data_dir
        try:
            from kubenest.host.process import ProcessRuntime  # type: ignore[import-not-found,unused-ignore]
        except ImportError as e:
            log.warning("no process node: the process runtime is not available (%s)", e)
            return
        try:
            from kubenest.host.network import PodNetworks

            self.network = await PodNetworks.create(os.path.join(data_dir, "host", "network"), self.server.port,
                                                    self.server.config.address)
        except Exception:  # noqa: BLE001 - pods then use this machine's network
            log.exception("pod network unavailable; the process node runs pods in this machine's network")
            self.network = None
        if self.network is not None and getattr(self.network, "enabled", False):
            from kubenest.host.network import ServiceProxy
            from kubenest.server.tls import ensure_certificates

            # pods reach the API at the bridge's gateway: the serving certificate must name it (before
            # uvicorn loads it, which is after prepare)
            ensure_certificates(data_dir, self.server.config.address, extra_ips=[self.network.gateway])
            self.service_proxy = ServiceProxy(self.server.store, self.network)
            await self.service_proxy.start()
        try:
            rt = ProcessRuntime(node_name_for_host(), os.path.join(data_dir, "host", "process"), self.network,
                                reader=self._read, token_for=self._token_for, events=self._event,
                                hidden_paths=[data_dir])  # containers never see the store, keys or tokens
        except Exception:  # noqa: BLE001 - the server still serves simulated nodes and virtual clusters
            log.exception("no process node: the process runtime failed to start")
            return
        self.add_runtime(rt)

    def _read(self, kind: str, namespace: str, name: str) -> Obj | None:
        """ConfigMaps and Secrets of the host cluster, for the process runtime's volumes and env."""
        resource = {"ConfigMap": "configmaps", "Secret": "secrets"}.get(kind, kind.lower() + "s")
        return self.kubelet.client.get(HOST_CLUSTER, resource, namespace, name)

    def _token_for(self, pod: Obj, audience: str, seconds: int) -> str | None:
        """A projected service account token for `pod` (as the kubelet gets through TokenRequest)."""
        meta, spec = pod["metadata"], pod.get("spec") or {}
        ns, sa_name = meta.get("namespace", ""), spec.get("serviceAccountName") or "default"
        sa = self.kubelet.client.get(HOST_CLUSTER, "serviceaccounts", ns, sa_name)
        if sa is None:
            return None
        sa_uid = sa["metadata"].get("uid", "")
        token, _ = self.server.tokens.issue(
            HOST_CLUSTER, f"system:serviceaccount:{ns}:{sa_name}",
            ("system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"), uid=sa_uid,
            expires_in=max(seconds, 600), audiences=[audience] if audience else None,
            extra={"kubernetes.io": {"namespace": ns, "serviceaccount": {"name": sa_name, "uid": sa_uid},
                                     "pod": {"name": meta["name"], "uid": meta.get("uid", "")},
                                     "node": {"name": spec.get("nodeName", "")}}})
        return token

    async def _event(self, pod: Obj, type_: str, reason: str, message: str) -> None:
        await self.kubelet.client.event(HOST_CLUSTER, pod, type_, reason, message, component="kubelet")

    def _write_kubeconfig(self) -> None:
        path = self.kubeconfig_path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(self.server.kubeconfig(HOST_CLUSTER, context="kubenest-host"), f)

    def pod_api_endpoint(self) -> tuple[str, int]:
        """Where pods of the host reach this API server."""
        if self.network is not None:
            endpoint: tuple[str, int] = self.network.api_endpoint
            return endpoint
        return "127.0.0.1", self.server.port

    async def close(self) -> None:
        """Stop every pod's processes."""
        await self.kubelet.close()
        for rt in self.runtimes.values():
            try:
                await rt.close()
            except Exception:  # noqa: BLE001 - close the others
                log.exception("closing node %s", rt.node_name)
        if self.service_proxy is not None:
            try:
                await self.service_proxy.close()
            except Exception:  # noqa: BLE001
                log.exception("closing the service proxy")
        if self.network is not None:
            try:
                await self.network.close()
            except Exception:  # noqa: BLE001
                log.exception("closing the pod network")
