"""A node runtime that runs nothing: pods move through their lifecycle in status only (KWOK-like stages).

A pod bound to a simulated node becomes Running with every container running and ready, an IP from the
node's pod range, and kube's conditions, after `start_delay` seconds (default 0). Annotations on the pod
change what happens next:

- `kubenest.io/simulate-exit-code: "N"`: the containers exit with N after `kubenest.io/simulate-duration`
  seconds (default 0). With restartPolicy Never (or OnFailure and N = 0) the pod completes: Succeeded for 0,
  Failed otherwise. Otherwise the kubelet would restart the containers: restartCount goes up, the last
  state records the exit, and the containers run again for the same duration.
- `kubenest.io/simulate-ready: "false"`: containers run but never become ready.

Deletion is immediate once the kubelet asks (no processes to stop). Logs are empty; exec, attach and
port-forward answer kube's 400 saying the node is simulated.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from kubenest.api.clusters import now_rfc3339
from kubenest.api.errors import ApiError
from kubenest.controllers.podutil import pod_condition
from kubenest.host.runtime import RUNTIME_LABEL, SIMULATED_TAINT, StatusReporter
from kubenest.podstreams import Duplex, LogOptions, PodStreams, Session

Obj = dict[str, Any]

EXIT_CODE_ANNOTATION = "kubenest.io/simulate-exit-code"
DURATION_ANNOTATION = "kubenest.io/simulate-duration"
READY_ANNOTATION = "kubenest.io/simulate-ready"

POD_NETWORK = ipaddress.ip_network("10.244.0.0/14")  # a /24 per simulated node: 10.244.0.0/24, 10.244.1.0/24, ...
NODE_NETWORK = ipaddress.ip_network("172.30.0.0/16")  # simulated nodes' InternalIPs


def _simulated_error(pod: Obj, what: str) -> ApiError:
    node = (pod.get("spec") or {}).get("nodeName", "")
    return ApiError(400, "BadRequest",
                    f'{what} is not supported: pod "{pod["metadata"]["name"]}" runs on simulated node "{node}", '
                    "which runs no containers")


class SimulatedStreams:
    """Streams of pods on a simulated node: empty logs, no exec/attach/port-forward."""

    async def _no_logs(self) -> AsyncIterator[bytes]:
        return
        yield b""  # an async generator that yields nothing

    def logs(self, pod: Obj, opts: LogOptions) -> AsyncIterator[bytes]:
        return self._no_logs()

    async def exec(self, pod: Obj, container: str, command: list[str], stdin: bool, stdout: bool,
                   stderr: bool, tty: bool) -> Session:
        raise _simulated_error(pod, "exec")

    async def attach(self, pod: Obj, container: str, stdin: bool, stdout: bool, stderr: bool,
                     tty: bool) -> Session:
        raise _simulated_error(pod, "attach")

    async def port_forward(self, pod: Obj, port: int) -> Duplex:
        raise _simulated_error(pod, "port-forward")


@dataclass
class _Pod:
    uid: str
    namespace: str
    name: str
    ip: str
    started: str
    restarts: int = 0
    last_exit: Obj | None = None
    done: bool = False
    timer: asyncio.TimerHandle | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class SimulatedRuntime:
    """A NodeRuntime for one simulated node (`kubenest.host.runtime.NodeRuntime`)."""

    capacity: dict[str, str] = {"cpu": "32", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": "8",
                                "ephemeral-storage": "1Ti", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}

    def __init__(self, node_name: str, index: int, capacity: dict[str, str] | None = None,
                 start_delay: float = 0.0, kubelet_version: str = "v1.37.0") -> None:
        self.node_name = node_name
        self.index = index
        if capacity is not None:
            self.capacity = dict(self.capacity, **capacity)
        self.start_delay = start_delay
        self.kubelet_version = kubelet_version
        self.streams: PodStreams = SimulatedStreams()
        self.pod_cidr = ipaddress.ip_network((int(POD_NETWORK.network_address) + 256 * index, 24))
        self.host_ip = str(NODE_NETWORK.network_address + index + 10)
        self._report: StatusReporter | None = None
        self._pods: dict[str, _Pod] = {}
        self._free_ips = [str(a) for a in reversed(list(self.pod_cidr.hosts())[1:])]  # .1 is the gateway

    def node(self) -> Obj:
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node_name,
                "labels": {"kubernetes.io/hostname": self.node_name, "kubernetes.io/os": "linux",
                           "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                           "beta.kubernetes.io/arch": "amd64", "type": "kwok", RUNTIME_LABEL: "simulated"},
                "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
            },
            "spec": {"podCIDR": str(self.pod_cidr), "podCIDRs": [str(self.pod_cidr)],
                     "taints": [{"key": SIMULATED_TAINT, "value": "true", "effect": "NoSchedule"}]},
            "status": {
                "capacity": dict(self.capacity),
                "allocatable": dict(self.capacity),
                "addresses": [{"type": "InternalIP", "address": self.host_ip},
                              {"type": "Hostname", "address": self.node_name}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {"architecture": "amd64", "bootID": "", "containerRuntimeVersion": "simulated://1.0",
                             "kernelVersion": "", "kubeProxyVersion": "", "kubeletVersion": self.kubelet_version,
                             "machineID": "", "operatingSystem": "linux", "osImage": "kubenest simulated node",
                             "systemUUID": ""},
            },
        }

    def set_reporter(self, report: StatusReporter) -> None:
        self._report = report

    # -- lifecycle ----------------------------------------------------------------------------------

    async def sync_pod(self, pod: Obj) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        if uid in self._pods:
            return
        status = pod.get("status") or {}
        phase = status.get("phase")
        ip = status.get("podIP") or ""
        if ip and ip in self._free_ips:
            self._free_ips.remove(ip)  # adopted after a restart: keep its address
        elif not ip:
            ip = self._free_ips.pop() if self._free_ips else str(self.pod_cidr.network_address + 1)
        state = _Pod(uid, meta.get("namespace", ""), meta["name"], ip, status.get("startTime") or now_rfc3339())
        self._pods[uid] = state
        if phase in ("Succeeded", "Failed"):
            state.done = True
            return
        if phase == "Running":
            state.restarts = max((c.get("restartCount", 0) for c in status.get("containerStatuses") or ()), default=0)
            self._plan_exit(pod, state)
            return
        if self.start_delay > 0:
            self._later(state, self.start_delay, lambda: self._start(pod, state))
        else:
            await self._start(pod, state)

    async def _start(self, pod: Obj, state: _Pod) -> None:
        state.started = now_rfc3339()
        await self._send(state, self._running_status(pod, state))
        self._plan_exit(pod, state)

    def _plan_exit(self, pod: Obj, state: _Pod) -> None:
        code = _exit_code(pod)
        if code is None:
            return
        self._later(state, _duration(pod), lambda: self._exit(pod, state, code))

    async def _exit(self, pod: Obj, state: _Pod, code: int) -> None:
        policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
        finished = now_rfc3339()
        terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                      "startedAt": state.started, "finishedAt": finished}
        if policy == "Never" or (policy == "OnFailure" and code == 0):
            state.done = True
            await self._send(state, self._finished_status(pod, state, terminated))
            return
        state.restarts += 1
        state.last_exit = terminated
        state.started = finished
        await self._send(state, self._running_status(pod, state))
        self._plan_exit(pod, state)

    def _later(self, state: _Pod, delay: float, step: Callable[[], Coroutine[Any, Any, None]]) -> None:
        loop = asyncio.get_running_loop()

        def fire() -> None:
            state.timer = None
            task = loop.create_task(step())
            state.tasks.add(task)
            task.add_done_callback(state.tasks.discard)

        state.timer = loop.call_later(delay, fire)

    async def _send(self, state: _Pod, status: Obj) -> None:
        if self._report is not None and self._pods.get(state.uid) is state:
            await self._report(state.namespace, state.name, state.uid, status)

    async def kill_pod(self, pod: Obj, grace_seconds: int) -> None:
        state = self._pods.get(pod["metadata"]["uid"])
        if state is not None:
            self._cancel(state)

    async def forget_pod(self, uid: str) -> None:
        state = self._pods.pop(uid, None)
        if state is None:
            return
        self._cancel(state)
        if ipaddress.ip_address(state.ip) in self.pod_cidr and state.ip not in self._free_ips:
            self._free_ips.append(state.ip)

    def _cancel(self, state: _Pod) -> None:
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        for t in list(state.tasks):
            t.cancel()

    async def close(self) -> None:
        for state in self._pods.values():
            self._cancel(state)

    # -- statuses -----------------------------------------------------------------------------------

    def _base(self, pod: Obj, state: _Pod, phase: str) -> Obj:
        status: Obj = {"phase": phase, "hostIP": self.host_ip, "hostIPs": [{"ip": self.host_ip}],
                       "podIP": state.ip, "podIPs": [{"ip": state.ip}], "startTime": state.started}
        qos = (pod.get("status") or {}).get("qosClass")
        if qos:
            status["qosClass"] = qos
        return status

    def _running_status(self, pod: Obj, state: _Pod) -> Obj:
        spec = pod.get("spec") or {}
        ready = (pod["metadata"].get("annotations") or {}).get(READY_ANNOTATION, "true") != "false"
        status = self._base(pod, state, "Running")
        now = state.started
        not_ready = ", ".join(c["name"] for c in spec.get("containers") or ())
        status["conditions"] = [
            pod_condition("PodReadyToStartContainers", True, now),
            pod_condition("Initialized", True, now),
            pod_condition("Ready", ready, now, "" if ready else "ContainersNotReady",
                  "" if ready else f"containers with unready status: [{not_ready}]"),
            pod_condition("ContainersReady", ready, now, "" if ready else "ContainersNotReady",
                  "" if ready else f"containers with unready status: [{not_ready}]"),
            pod_condition("PodScheduled", True, now),
        ]
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [
                self._container(state, c, {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now,
                                                          "finishedAt": now}}, ready=True, started=False)
                for c in spec["initContainers"]]
        status["containerStatuses"] = [
            self._container(state, c, {"running": {"startedAt": now}}, ready=ready, started=True)
            for c in spec.get("containers") or ()]
        return status

    def _finished_status(self, pod: Obj, state: _Pod, terminated: Obj) -> Obj:
        spec = pod.get("spec") or {}
        code = terminated["exitCode"]
        phase = "Succeeded" if code == 0 else "Failed"
        status = self._base(pod, state, phase)
        now = terminated["finishedAt"]
        names = ", ".join(c["name"] for c in spec.get("containers") or ())
        reason, message = "PodCompleted", ""
        if code != 0:
            reason, message = "ContainersNotReady", f"containers with unready status: [{names}]"
        status["conditions"] = [
            pod_condition("PodReadyToStartContainers", False, now),
            pod_condition("Initialized", True, state.started),
            pod_condition("Ready", False, now, reason, message),
            pod_condition("ContainersReady", False, now, reason, message),
            pod_condition("PodScheduled", True, state.started),
        ]
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [
                self._container(state, c, {"terminated": {"exitCode": 0, "reason": "Completed",
                                                          "startedAt": state.started, "finishedAt": state.started}},
                                ready=True, started=False)
                for c in spec["initContainers"]]
        status["containerStatuses"] = [
            self._container(state, c, {"terminated": dict(terminated, containerID=self._cid(state, c["name"]))},
                            ready=False, started=False)
            for c in spec.get("containers") or ()]
        return status

    def _container(self, state: _Pod, c: Obj, cstate: Obj, ready: bool, started: bool) -> Obj:
        cid = self._cid(state, c["name"])
        if "terminated" in cstate:
            cstate["terminated"].setdefault("containerID", cid)
        last: Obj = {}
        if state.last_exit is not None and "running" in cstate:
            last = {"terminated": dict(state.last_exit, containerID=cid)}
        return {"name": c["name"], "image": c.get("image", ""), "imageID": "", "containerID": cid,
                "ready": ready, "started": started, "restartCount": state.restarts, "state": cstate,
                "lastState": last}

    @staticmethod
    def _cid(state: _Pod, name: str) -> str:
        return "simulated://" + hashlib.sha256(f"{state.uid}/{name}/{state.restarts}".encode()).hexdigest()[:32]


def _exit_code(pod: Obj) -> int | None:
    value = (pod["metadata"].get("annotations") or {}).get(EXIT_CODE_ANNOTATION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _duration(pod: Obj) -> float:
    value = (pod["metadata"].get("annotations") or {}).get(DURATION_ANNOTATION, "0")
    try:
        return max(float(str(value).rstrip("s")), 0.0)
    except ValueError:
        return 0.0
