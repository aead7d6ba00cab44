"""The contract between the embedded host's kubelet (`kubelet.py`) and a node runtime.

A runtime runs the pods bound to its node: the process runtime (`process.py`) as local processes in
Linux namespaces, the simulated runtime (`simulated.py`) by only advancing their status. The kubelet
owns the Node object, the watch of the node's pods, graceful deletion and status writes; the runtime
owns containers, volumes, probes, restarts, logs, and the pod status that follows from them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from kubenest.podstreams import PodStreams

Obj = dict[str, Any]

# Called by the runtime whenever a pod's status changed: (namespace, name, uid, full PodStatus).
# The kubelet writes it to the pods/status subresource (dropping it if the uid no longer matches).
StatusReporter = Callable[[str, str, str, Obj], Awaitable[None]]

RUNTIME_LABEL = "kubenest.io/runtime"  # node label: "process" or "simulated"
SIMULATED_TAINT = "kubenest.io/simulated"  # NoSchedule taint on simulated nodes


class NodeRuntime(Protocol):
    node_name: str
    streams: PodStreams

    def node(self) -> Obj:
        """The Node object to register (labels, taints, capacity/allocatable incl. nvidia.com/gpu,
        addresses, nodeInfo); the kubelet adds conditions and heartbeats."""
        ...

    def set_reporter(self, report: StatusReporter) -> None: ...

    async def sync_pod(self, pod: Obj) -> None:
        """Start the pod if new, else reconcile with its spec (idempotent; called on every change)."""
        ...

    async def kill_pod(self, pod: Obj, grace_seconds: int) -> None:
        """SIGTERM every container (preStop first), SIGKILL after the grace period; returns when all
        have stopped and the final status was reported."""
        ...

    async def forget_pod(self, uid: str) -> None:
        """The pod object is gone: release everything it held (processes, volumes, network, logs)."""
        ...

    async def close(self) -> None:
        """Server shutdown: stop all pods' processes."""
        ...
