"""`EmbeddedHost`: the `host` logical cluster with its nodes, scheduler and kubelets (docs/hosts.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubenest.podstreams import PodStreams

if TYPE_CHECKING:
    from kubenest.server.runtime import Server


class EmbeddedHost:
    """Constructed by the Server before its controllers start (adds the scheduler and kubelets to them)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.streams: PodStreams | None = None  # routes to the runtime of the pod's node

    async def prepare(self) -> None:
        """Create the host cluster and register nodes; write DATA_DIR/host.kubeconfig."""

    async def close(self) -> None:
        """Stop every pod's processes."""
