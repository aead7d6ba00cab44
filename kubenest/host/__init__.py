"""The embedded host: a logical cluster named `host` with nodes, a scheduler and node runtimes.

It stands in for a real Kubernetes cluster on a workstation. The syncer reaches it exactly as it
reaches a real host: over HTTPS with a kubeconfig (`DATA_DIR/host.kubeconfig`). See docs/hosts.md.
"""

from __future__ import annotations

HOST_CLUSTER = "host"
