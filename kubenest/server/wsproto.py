"""uvicorn's WebSocket protocol, taking Kubernetes' subprotocol names as kube does.

kubectl's port-forward offers `SPDY/3.1+portforward.k8s.io`, which is not an RFC 7230 token (`/` is a
separator), so the `websockets` handshake refuses it with a 400 before the app sees the request. Here
the offered names are split on commas as gorilla/websocket and kube split them; the app picks one in
`websocket.accept` (see `kubenest/server/streams.py`). A refused upgrade (kube's Status through
`websocket.http.response`) is a complete exchange, not an error.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.datastructures import Headers
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol


class _KubeServerProtocol(ServerProtocol):
    def process_subprotocol(self, headers: Headers) -> Subprotocol | None:
        # No validation, no choice: uvicorn puts the app's choice in the response.
        return None


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """What `uvicorn.Config(ws=...)` gets: the sans-I/O `websockets` protocol with lenient subprotocols."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn.__class__ = _KubeServerProtocol  # same state, one method changed

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body", False):
            # A refused upgrade answered with kube's status is a finished handshake, not an app error
            # (uvicorn would log one and try to send a 500 on the closed connection).
            self.handshake_complete = True
