"""Stand-ins for a kubelet in e2e tests: make pods Running and Ready, and watch pod counts.

There is no node yet, so pods stay Pending until a test patches their status. `PodSim` does that in
a background thread for every Pending pod of a label selector (pause it to hold a rollout where it
is); `PodSampler` records what the pods looked like over time, for checks that must hold throughout.
Both talk HTTP to the test cluster directly, which is much faster than a kubectl process per pod.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import Cluster


def _client(cluster: Cluster) -> httpx.Client:
    srv = cluster.server
    ctx = ssl.create_default_context(cafile=srv.ca_path)
    return httpx.Client(verify=ctx, headers={"Authorization": f"Bearer {srv.token}"}, timeout=30,
                        base_url=srv.url(cluster.name))


def is_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def list_pods(http: httpx.Client, selector: str, namespace: str = "default") -> list[dict[str, Any]]:
    resp = http.get(f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": selector})
    resp.raise_for_status()
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def mark_ready(http: httpx.Client, pod: dict[str, Any]) -> None:
    """Patch a pod's status to Running with Ready and ContainersReady conditions, as a kubelet would."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = {"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": now},
        {"type": "ContainersReady", "status": "True", "lastTransitionTime": now}]}}
    meta = pod["metadata"]
    resp = http.patch(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status", json=body,
                      headers={"Content-Type": "application/merge-patch+json"})
    if resp.status_code not in (200, 404):  # a pod deleted meanwhile is fine
        resp.raise_for_status()


class PodSim:
    """Marks every Pending pod matching `selector` Running and Ready, until paused or stopped.

    Use as a context manager: `with PodSim(cluster, "app=web"): ...`.
    """

    def __init__(self, cluster: Cluster, selector: str, namespace: str = "default", interval: float = 0.05,
                 start_paused: bool = False) -> None:
        self.cluster = cluster
        self.selector = selector
        self.namespace = namespace
        self.interval = interval
        self._running = threading.Event()
        if not start_paused:
            self._running.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="podsim", daemon=True)
        self.errors: list[BaseException] = []

    def __enter__(self) -> PodSim:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pause(self) -> None:
        """Stop marking pods (a rollout then stalls once it needs new pods to be ready)."""
        self._running.clear()
        time.sleep(self.interval * 3)  # let a pass in flight finish

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()
        if self._thread.is_alive():
            self._thread.join(10)
        if self.errors:
            raise AssertionError(f"pod simulator failed: {self.errors[0]!r}")

    def ready_some(self, count: int) -> list[str]:
        """Mark up to `count` not-ready pods ready now (while paused); returns their names."""
        with _client(self.cluster) as http:
            todo = [p for p in list_pods(http, self.selector, self.namespace)
                    if not is_ready(p) and not p["metadata"].get("deletionTimestamp")]
            todo.sort(key=lambda p: p["metadata"]["name"])
            for pod in todo[:count]:
                mark_ready(http, pod)
            return [p["metadata"]["name"] for p in todo[:count]]

    def _loop(self) -> None:
        try:
            with _client(self.cluster) as http:
                while not self._stop.is_set():
                    self._running.wait()
                    if self._stop.is_set():
                        return
                    for pod in list_pods(http, self.selector, self.namespace):
                        if not self._running.is_set():
                            break
                        if is_ready(pod) or pod["metadata"].get("deletionTimestamp"):
                            continue
                        if (pod.get("status") or {}).get("phase", "Pending") == "Pending":
                            mark_ready(http, pod)
                    time.sleep(self.interval)
        except BaseException as e:  # noqa: BLE001 - reported by stop()
            self.errors.append(e)


@dataclass
class Snapshot:
    at: float
    pods: list[tuple[str, dict[str, str], bool]]  # name, labels, ready


class PodSampler:
    """Records the pods of a selector every `interval` seconds in a background thread."""

    def __init__(self, cluster: Cluster, selector: str, namespace: str = "default", interval: float = 0.02) -> None:
        self.cluster = cluster
        self.selector = selector
        self.namespace = namespace
        self.interval = interval
        self.snapshots: list[Snapshot] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="podsampler", daemon=True)

    def __enter__(self) -> PodSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        with _client(self.cluster) as http:
            while not self._stop.is_set():
                pods = [p for p in list_pods(http, self.selector, self.namespace)
                        if not p["metadata"].get("deletionTimestamp")]
                self.snapshots.append(Snapshot(time.time(), [
                    (p["metadata"]["name"], dict(p["metadata"].get("labels") or {}), is_ready(p)) for p in pods]))
                time.sleep(self.interval)
