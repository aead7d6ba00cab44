"""`Syncer`: one for all virtual clusters, event driven, reaching the host only through its API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubenest.podstreams import PodStreams

if TYPE_CHECKING:
    from kubenest.server.runtime import Server


class Syncer:
    def __init__(self, server: Server) -> None:
        self.server = server

    def streams_for(self, cluster: str) -> PodStreams | None:
        """The proxy to the host for pods of virtual cluster `cluster` (None for other clusters)."""
        return None

    async def start(self) -> None:
        """Connect to the host (the server is listening now), list+watch, resync."""

    async def stop(self) -> None:
        """Stop watches and close host connections."""
