"""The process runtime: each container of a pod bound to this node runs its `command` + `args` as a local
process (docs/hosts.md, "Process runtime").

- Isolation: every container runs under bubblewrap (`bwrap`) in its own mount, PID and UTS namespaces,
  inside the pod's network namespace (`PodNetworks.setup`, entered with `nsenter --net`). Its root is a
  tmpfs holding bind mounts of this machine's top-level directories, so a mountPath that does not exist
  is created in that tmpfs, or in a tmpfs laid over the nearest existing directory whose entries are
  bound back ("mirrored"): nothing is ever created on the real root filesystem. /tmp, /dev/shm (shared by
  the pod), /etc/hosts and /etc/hostname are the pod's own; the runtime's state directory is hidden.
- PID 1 is a tiny init (`_init.py`) that forwards signals to the command and reaps orphans. bwrap runs
  with --die-with-parent: containers never outlive the server.
- Where bwrap is missing or namespaces are not allowed, containers are plain processes (one warning,
  node annotation `kubenest.io/isolation=none`): volumes are then not visible at their mountPath.
- Logs: state_dir/pods/<uid>/logs/<container>/<instance>.log in the CRI format
  (`<RFC3339Nano> stdout|stderr F|P <line>`), one file per container instance, so `previous` works.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import datetime
import fcntl
import hashlib
import json
import logging
import os
import platform
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubenest.api.errors import ApiError
from kubenest.controllers.podutil import pod_condition, set_condition
from kubenest.host import probes as probing
from kubenest.host.runtime import RUNTIME_LABEL, StatusReporter
from kubenest.host.volumes import (
    ConfigError,
    Reader,
    Sources,
    TokenSource,
    VolumeManager,
    container_env,
    expand,
)
from kubenest.podstreams import STDERR, STDOUT, LogOptions, PodStreams, exit_status

if TYPE_CHECKING:
    from kubenest.host.network import PodNetworks

log = logging.getLogger("kubenest.host.process")

Obj = dict[str, Any]
# events(pod, type, reason, message): an Event about the pod (the kubelet records it); may be async.
EventSink = Callable[[Obj, str, str, str], Any]

GPU = "nvidia.com/gpu"
ISOLATION_ANNOTATION = "kubenest.io/isolation"
INSTANCE_TYPE = "kubenest-process"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_BACKOFF = 300.0
NO_COMMAND = ("kubenest runs containers as local processes and does not pull images: container {name!r} has no "
              "command; set command (and args) to the program to run on this machine")
_INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_init.py")
_SANDBOX_INIT = "/.kubenest/init.py"
_CLONE_NEWNET = 0x40000000
_CHUNK = 64 * 1024


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _nano(t: float) -> str:
    """RFC 3339 with nanoseconds, as CRI log lines and `kubectl logs --timestamps` print them."""
    dt = datetime.datetime.fromtimestamp(t, datetime.UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}000Z"


def _go_duration(seconds: float) -> str:
    """A duration as Go prints it: 10s, 1m20s, 5m0s, 200ms."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    s = round(seconds, 3)
    m, s = divmod(s, 60)
    text = f"{s:g}s"
    if m:
        h, m = divmod(int(m), 60)
        text = f"{m}m{text}"
        if h:
            text = f"{h}h{text}"
    return text


def _parse_ts(value: str) -> float:
    base, _, frac = value.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.UTC).timestamp()
    return t + (float("0." + frac) if frac else 0.0)


# -- machine -------------------------------------------------------------------------------------------------


def detect_gpus() -> list[str]:
    """GPU UUIDs from `nvidia-smi -L` in index order; [] without nvidia-smi."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    uuids = []
    for line in out.splitlines():
        if "(UUID:" in line:
            uuids.append(line.split("(UUID:", 1)[1].strip().rstrip(")").strip())
    return uuids


def _node_ip() -> str:
    """The address other machines would reach this one on (no packet is sent)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))
        return str(s.getsockname()[0])
    return "127.0.0.1"


def _meminfo_bytes() -> int:
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _read(path: str) -> str:
    with contextlib.suppress(OSError), open(path) as f:
        return f.read().strip()
    return ""


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.system()


def _arch() -> str:
    m = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}.get(m, m)


def sandbox_problem() -> str | None:
    """Why containers cannot run in namespaces on this machine, or None when they can."""
    if sys.platform != "linux":
        return f"Linux namespaces need Linux, this is {sys.platform}"
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    if shutil.which("nsenter") is None:
        return "nsenter (util-linux) is not installed"
    try:
        proc = subprocess.run(["bwrap", "--bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-pid",
                               "--unshare-uts", "--die-with-parent", "--", "true"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as e:
        return f"bwrap failed to run: {e}"
    if proc.returncode != 0:
        return f"bwrap cannot create namespaces here: {proc.stderr.strip() or proc.returncode}"
    return None


def qos_class(pod: Obj) -> str:
    """Guaranteed, Burstable or BestEffort (kube's GetPodQOS over cpu and memory)."""
    containers = [*((pod.get("spec") or {}).get("initContainers") or ()), *((pod.get("spec") or {}).get("containers") or ())]
    any_set, guaranteed = False, True
    for c in containers:
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        for r in ("cpu", "memory"):
            if r in limits or r in requests:
                any_set = True
            lim, req = limits.get(r), requests.get(r, limits.get(r))
            if lim is None or str(lim) != str(req):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


# -- containers ----------------------------------------------------------------------------------------------


async def read_fd(fd: int) -> AsyncIterator[bytes]:
    """Chunks read from a non-blocking file descriptor (a pty's master side) until EOF or an error
    (a pty whose other side closed answers EIO)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    def readable() -> None:
        try:
            data = os.read(fd, _CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        queue.put_nowait(data)
        if not data:
            loop.remove_reader(fd)

    loop.add_reader(fd, readable)
    try:
        while data := await queue.get():
            yield data
    finally:
        with contextlib.suppress(Exception):
            loop.remove_reader(fd)


@dataclass
class Container:
    """The runtime state of one container of a pod."""

    spec: Obj
    init: bool
    sidecar: bool = False
    restart_count: int = 0
    instance: int = -1  # log file number of the newest instance (-1: never created)
    state: Obj = field(default_factory=dict)
    last_state: Obj = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    container_id: str = ""
    proc: asyncio.subprocess.Process | None = None
    pid1: int = 0  # host pid of the container's PID 1 (nsenter target, signals)
    env: dict[str, str] = field(default_factory=dict)
    stdin: Any = None  # StreamWriter of the container's stdin (spec stdin: true)
    pty: int = -1  # master side when spec tty: true
    attached: set[asyncio.Queue[tuple[int, bytes] | None]] = field(default_factory=set)
    backoff: float = 0.0  # 0: no back-off entry yet (the next restart is immediate)
    stopping: bool = False  # the runtime is stopping it (probe failure, pod kill)
    done: bool = False  # will not run again
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    probes: list[asyncio.Task[None]] = field(default_factory=list)
    tail: bytes = b""  # last bytes of output, for start errors and FallbackToLogsOnError

    @property
    def name(self) -> str:
        return str(self.spec.get("name", ""))

    @property
    def running(self) -> bool:
        return "running" in self.state


class _LogWriter:
    """CRI-format log lines of one container instance."""

    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.f = open(path, "ab", buffering=0)  # noqa: SIM115 - lives as long as the instance

    def write(self, stream: str, data: bytes) -> None:
        ts = _nano(time.time()).encode()
        out = []
        lines = data.split(b"\n")
        for i, line in enumerate(lines):
            last = i == len(lines) - 1
            if last and not line:
                break
            out.append(b"%s %s %s %s\n" % (ts, stream.encode(), b"P" if last else b"F", line))
        self.f.write(b"".join(out))

    def close(self) -> None:
        self.f.close()


class _Pod:
    """One pod on this node: its network, volumes, containers and the task that drives them."""

    def __init__(self, rt: ProcessRuntime, pod: Obj) -> None:
        self.rt = rt
        self.pod = pod
        meta = pod["metadata"]
        self.uid: str = meta["uid"]
        self.namespace: str = meta.get("namespace", "")
        self.name: str = meta.get("name", "")
        self.dir = os.path.join(rt.state_dir, "pods", self.uid)
        self.ip = ""
        self.netns: str | None = None
        self.start_time = now_iso()
        self.ready_to_start = False
        self.terminating = False
        self.finished = False  # phase is terminal
        self.reason = ""
        self.message = ""
        # Conditions as a PodStatus holds them, so podutil.set_condition keeps their transition times.
        self.conds: Obj = {"conditions": [dict(c) for c in (pod.get("status") or {}).get("conditions") or ()
                                          if c.get("type") == "PodScheduled"]}
        spec = pod.get("spec") or {}
        self.init = [Container(c, True, sidecar=c.get("restartPolicy") == "Always")
                     for c in spec.get("initContainers") or ()]
        self.main = [Container(c, False) for c in spec.get("containers") or ()]
        for c in self.init:
            c.state = {"waiting": {"reason": "PodInitializing"}}
        for c in self.main:
            c.state = {"waiting": {"reason": "PodInitializing" if self.init else "ContainerCreating"}}
        self.volumes: VolumeManager | None = None
        self.gpus: dict[str, list[int]] = {}  # container -> GPU indexes
        self.task: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.wake = asyncio.Event()
        self.report_lock = asyncio.Lock()
        self.last_report: Obj | None = None

    @property
    def containers(self) -> list[Container]:
        return [*self.init, *self.main]

    def container(self, name: str) -> Container | None:
        return next((c for c in self.containers if c.name == name), None)

    def restart_policy(self, c: Container) -> str:
        if c.sidecar:
            return "Always"
        return str((self.pod.get("spec") or {}).get("restartPolicy") or "Always")

    def grace(self) -> float:
        return float((self.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- status -----------------------------------------------------------------------------------------------

    def phase(self) -> str:
        if self.reason == "DeadlineExceeded" or self.reason == "UnexpectedAdmissionError":
            return "Failed"
        init_pending = any(not c.done and not (c.sidecar and c.started) for c in self.init)
        policy = str((self.pod.get("spec") or {}).get("restartPolicy") or "Always")
        if any(_failed(c) and c.done for c in self.init if not c.sidecar) and policy == "Never":
            return "Failed"
        if init_pending and not self.terminating:
            return "Pending"
        running = waiting = stopped = succeeded = 0
        for c in self.main:
            if "running" in c.state:
                running += 1
            elif "terminated" in c.state:
                stopped += 1
                succeeded += c.state["terminated"].get("exitCode") == 0
            elif c.last_state.get("terminated"):
                stopped += 1
            else:
                waiting += 1
        if waiting:
            return "Pending"
        if running:
            return "Running"
        if stopped:
            if self.terminating or all(c.done for c in self.main):
                return "Succeeded" if stopped == succeeded else "Failed"
            if policy == "Always":
                return "Running"
            if stopped == succeeded:
                return "Succeeded"
            return "Failed" if policy == "Never" else "Running"
        return "Pending"

    def status(self) -> Obj:
        phase = self.phase()
        terminal = phase in ("Succeeded", "Failed")
        ts = now_iso()
        conds = self.conds
        set_condition(conds, pod_condition("PodReadyToStartContainers", self.ready_to_start and not terminal, ts))
        incomplete = [c.name for c in self.init if not c.done and not (c.sidecar and c.started)]
        if terminal:
            set_condition(conds, pod_condition("Initialized", True, ts, "PodCompleted"))
        elif incomplete:
            set_condition(conds, pod_condition("Initialized", False, ts, "ContainersNotInitialized",
                                       f"containers with incomplete status: [{' '.join(incomplete)}]"))
        else:
            set_condition(conds, pod_condition("Initialized", True, ts))
        unready = [c.name for c in [*(c for c in self.init if c.sidecar), *self.main] if not c.ready]
        for type_ in ("ContainersReady", "Ready"):
            if terminal:
                set_condition(conds, pod_condition(type_, False, ts, "PodCompleted"))
            elif unready:
                set_condition(conds, pod_condition(type_, False, ts, "ContainersNotReady",
                                           f"containers with unready status: [{' '.join(unready)}]"))
            else:
                set_condition(conds, pod_condition(type_, True, ts))
        order = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        conds["conditions"].sort(key=lambda c: order.index(c["type"]) if c["type"] in order else len(order))
        host_ip = self.rt.node_ip
        status: Obj = {
            "phase": phase,
            "conditions": [dict(c) for c in conds["conditions"]],
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "startTime": self.start_time,
            "qosClass": (self.pod.get("status") or {}).get("qosClass") or qos_class(self.pod),
            "containerStatuses": [self._cstatus(c) for c in self.main],
        }
        if self.ip:
            status["podIP"] = self.ip
            status["podIPs"] = [{"ip": self.ip}]
        if self.init:
            status["initContainerStatuses"] = [self._cstatus(c) for c in self.init]
        if self.reason:
            status["reason"] = self.reason
            status["message"] = self.message
        return status

    def _cstatus(self, c: Container) -> Obj:
        out: Obj = {
            "name": c.name,
            "state": json.loads(json.dumps(c.state)),
            "lastState": json.loads(json.dumps(c.last_state)),
            "ready": c.ready,
            "restartCount": c.restart_count,
            "image": c.spec.get("image") or "",
            "imageID": "",
            "started": c.started,
        }
        if c.container_id:
            out["containerID"] = c.container_id
            out["imageID"] = "kubenest://process"
        return out

    async def report(self) -> None:
        async with self.report_lock:
            status = self.status()
            comparable = json.dumps({k: v for k, v in status.items() if k != "conditions"}, sort_keys=True)
            conds = json.dumps([(c["type"], c["status"], c.get("reason")) for c in status["conditions"]])
            key = {"s": comparable, "c": conds}
            if key == self.last_report:
                return
            self.last_report = key
            if self.rt.reporter is not None:
                try:
                    await self.rt.reporter(self.namespace, self.name, self.uid, status)
                except Exception:  # the kubelet logs its own write failures; the pod keeps running
                    log.exception("reporting the status of pod %s/%s failed", self.namespace, self.name)

    async def event(self, type_: str, reason: str, message: str) -> None:
        if self.rt.events is None:
            return
        try:
            result = self.rt.events(self.pod, type_, reason, message)
            if asyncio.iscoroutine(result):
                await result
        except Exception:
            log.exception("recording event %s for pod %s/%s failed", reason, self.namespace, self.name)


def _failed(c: Container) -> bool:
    t = c.state.get("terminated") or {}
    return bool(t) and t.get("exitCode") != 0


# -- the runtime -------------------------------------------------------------------------------------------


class ProcessRuntime:
    """`NodeRuntime` that runs containers as local processes (see the module docstring)."""

    def __init__(self, node_name: str, state_dir: str, network: PodNetworks | None = None, *,
                 reader: Reader | None = None, token_for: TokenSource | None = None,
                 events: EventSink | None = None, gpus: list[str] | None = None,
                 node_ip: str | None = None, backoff_base: float = 10.0, retry_interval: float = 2.0,
                 volume_resync: float = 30.0, isolate: bool | None = None,
                 hidden_paths: list[str] | None = None) -> None:
        """`reader` gets ConfigMaps and Secrets of the host cluster; `token_for(pod, audience, expiry)` makes
        projected service account tokens; `gpus` replaces `nvidia-smi -L` (tests); `backoff_base` is the
        first crash-loop back-off (kube: 10 s, doubling to 5 min); `isolate` forces namespaces on or off."""
        self.node_name = node_name
        self.state_dir = os.path.abspath(state_dir)
        self.network = network
        self.reader = reader
        self.token_for = token_for
        self.events = events
        self.gpus = detect_gpus() if gpus is None else list(gpus)
        self.node_ip = node_ip or _node_ip()
        self.backoff_base = backoff_base
        self.retry_interval = retry_interval
        self.volume_resync = volume_resync
        self.hidden = [self.state_dir, *(os.path.abspath(p) for p in hidden_paths or ())]
        self.reporter: StatusReporter | None = None
        self.pods: dict[str, _Pod] = {}
        self.gpu_owner: dict[int, str] = {}  # GPU index -> pod uid
        os.makedirs(os.path.join(self.state_dir, "pods"), exist_ok=True)
        problem = None if isolate is False else sandbox_problem()
        self.isolated = isolate is not False and problem is None
        self.isolation_problem = "disabled" if isolate is False else (problem or "")
        if problem is not None and isolate is not False:
            log.warning("containers run as plain processes without namespaces: %s. They see this machine's "
                        "files and network, and volumes are not mounted at their mountPath (install "
                        "bubblewrap and run kubenest as root for isolation).", problem)
        self.streams: PodStreams = ProcessStreams(self)

    def set_reporter(self, report: StatusReporter) -> None:
        self.reporter = report

    # -- node -----------------------------------------------------------------------------------------------

    def node(self) -> Obj:
        """The Node object: labels, capacity/allocatable, addresses, nodeInfo."""
        try:
            usage = shutil.disk_usage(self.state_dir)
            disk = usage.total
        except OSError:
            disk = 0
        capacity = {
            "cpu": str(os.cpu_count() or 1),
            "memory": f"{_meminfo_bytes() // 1024}Ki",
            "ephemeral-storage": f"{disk // 1024}Ki",
            "pods": "110",
            GPU: str(len(self.gpus)),
        }
        hostname = socket.gethostname()
        annotations = {ISOLATION_ANNOTATION: "namespaces" if self.isolated else "none"}
        if not self.isolated:
            annotations[ISOLATION_ANNOTATION + "-reason"] = self.isolation_problem
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node_name,
                "labels": {
                    "kubernetes.io/hostname": self.node_name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": _arch(),
                    "beta.kubernetes.io/os": "linux",
                    "beta.kubernetes.io/arch": _arch(),
                    "node.kubernetes.io/instance-type": INSTANCE_TYPE,
                    RUNTIME_LABEL: "process",
                },
                "annotations": annotations,
            },
            "spec": {},
            "status": {
                "capacity": capacity,
                "allocatable": dict(capacity),
                "addresses": [{"type": "InternalIP", "address": self.node_ip},
                              {"type": "Hostname", "address": hostname}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "machineID": _read("/etc/machine-id"),
                    "systemUUID": _read("/sys/class/dmi/id/product_uuid") or _read("/etc/machine-id"),
                    "bootID": _read("/proc/sys/kernel/random/boot_id"),
                    "kernelVersion": platform.release(),
                    "osImage": _os_image(),
                    "containerRuntimeVersion": "kubenest-process://0.1.0",
                    "kubeletVersion": "v1.31.0",
                    "kubeProxyVersion": "",
                    "operatingSystem": "linux",
                    "architecture": _arch(),
                },
            },
        }

    def allocatable(self) -> dict[str, str]:
        return dict(self.node()["status"]["allocatable"])

    # -- NodeRuntime ----------------------------------------------------------------------------------------

    async def sync_pod(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        p = self.pods.get(uid)
        if p is not None:
            p.pod = pod
            p.wake.set()
            return
        p = _Pod(self, pod)
        self.pods[uid] = p
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            p.finished = True  # finished before a restart of the server: never run again
            for c in p.containers:
                c.done = True
            return
        p.task = asyncio.ensure_future(self._run_pod(p))

    async def kill_pod(self, pod: Obj, grace_seconds: int) -> None:
        p = self.pods.get(pod["metadata"]["uid"])
        if p is None:
            return
        p.pod = pod
        if p.finished and not any(c.running for c in p.containers):
            return
        p.terminating = True
        p.wake.set()
        await self._stop_all(p, float(grace_seconds))
        if p.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(p.task), 5)
        p.finished = True
        await p.report()

    async def forget_pod(self, uid: str) -> None:
        p = self.pods.pop(uid, None)
        if p is not None:
            p.terminating = True
            await self._stop_all(p, 0)
            if p.task is not None:
                p.task.cancel()
            for t in list(p.tasks):
                t.cancel()
            if p.volumes is not None:
                await p.volumes.teardown()
        self._release_gpus(uid)
        if self.network is not None:
            try:
                await self.network.teardown(uid)
            except Exception:
                log.exception("tearing down the network of pod %s failed", uid)
        path = os.path.join(self.state_dir, "pods", uid)
        await asyncio.to_thread(shutil.rmtree, path, True)

    async def close(self) -> None:
        pods = list(self.pods.values())
        for p in pods:
            p.terminating = True
            p.wake.set()
        await asyncio.gather(*(self._stop_all(p, 2.0) for p in pods), return_exceptions=True)
        tasks = [t for p in pods for t in [p.task, *p.tasks] if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the pod's life -------------------------------------------------------------------------------------

    async def _run_pod(self, p: _Pod) -> None:
        try:
            await self._run_pod_inner(p)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.exception("pod %s/%s failed in the runtime", p.namespace, p.name)
            p.reason, p.message = "RuntimeError", str(e)
            await p.report()

    async def _run_pod_inner(self, p: _Pod) -> None:
        await p.report()
        if not self._assign_gpus(p):
            p.finished = True
            await p.event("Warning", "UnexpectedAdmissionError", p.message)
            await p.report()
            return
        spec = p.pod.get("spec") or {}
        if self.network is not None and not spec.get("hostNetwork"):
            net = await self.network.setup(p.uid)
            p.ip, p.netns = net.ip, net.netns
        else:
            p.ip = self.node_ip
        os.makedirs(os.path.join(p.dir, "shm"), exist_ok=True)
        self._write_etc(p)
        p.volumes = VolumeManager(os.path.join(p.dir, "volumes"), p.pod, Sources(self.reader, p.namespace), p.ip,
                                  self.node_ip, self.allocatable(), self.token_for, self.isolated)
        while not p.terminating:
            p.volumes.sources = Sources(self.reader, p.namespace)
            try:
                await p.volumes.setup()
                break
            except ConfigError as e:
                await p.event("Warning", "FailedMount", str(e))
                for c in p.main:
                    c.state = {"waiting": {"reason": "ContainerCreating"}}
                await p.report()
                await self._sleep(p, self.retry_interval)
        if p.terminating:
            return
        p.ready_to_start = True
        await p.report()
        if spec.get("activeDeadlineSeconds"):
            p.spawn(self._deadline(p, float(spec["activeDeadlineSeconds"])))
        p.spawn(self._resync_volumes(p))
        for c in p.init:
            if c.sidecar:
                p.spawn(self._supervise(p, c))
                while not c.started and not p.terminating:
                    await self._sleep(p, 0.05)
                continue
            await self._supervise(p, c)
            if p.terminating or _failed(c):
                await p.report()
                return
        for c in p.main:
            c.state = {"waiting": {"reason": "ContainerCreating"}}
        await p.report()
        await asyncio.gather(*(self._supervise(p, c) for c in p.main))
        if not p.terminating:
            # Every regular container is done: sidecars are stopped, the pod is finished.
            await asyncio.gather(*(self._stop(p, c, p.grace()) for c in reversed(p.init) if c.sidecar))
            p.finished = True
            await p.report()

    async def _sleep(self, p: _Pod, seconds: float) -> None:
        """Sleep, cut short when the pod is being killed."""
        p.wake.clear()
        if p.terminating:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(p.wake.wait(), seconds)

    async def _deadline(self, p: _Pod, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if p.terminating or p.finished:
            return
        p.reason, p.message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
        await p.event("Normal", "DeadlineExceeded", p.message)
        p.terminating = True
        p.wake.set()
        await self._stop_all(p, p.grace())
        p.finished = True
        await p.report()

    async def _resync_volumes(self, p: _Pod) -> None:
        """ConfigMap, Secret and downward API volumes follow their sources, as the kubelet's periodic sync."""
        while not p.terminating and not p.finished:
            await asyncio.sleep(self.volume_resync)
            if p.volumes is not None and not p.terminating:
                p.volumes.pod = p.pod
                p.volumes.sources = Sources(self.reader, p.namespace)
                with contextlib.suppress(ConfigError, OSError):
                    await p.volumes.setup()

    async def _supervise(self, p: _Pod, c: Container) -> None:
        """Run a container until it need not run again: restarts with back-off as its restart policy says."""
        while not p.terminating:
            started = await self._start(p, c)
            if started is None:  # cannot be created (no command): stays waiting
                c.done = not c.init
                await p.report()
                while not p.terminating:
                    await self._sleep(p, 3600)
                return
            if started:
                await c.exited.wait()
            if p.terminating:
                break
            code = c.state.get("terminated", {}).get("exitCode", 0)
            policy = p.restart_policy(c)
            if policy == "Never" or (policy == "OnFailure" and code == 0) or (c.init and not c.sidecar and code == 0):
                c.done = True
                await p.report()
                return
            if c.backoff:
                delay = c.backoff
                c.last_state = {"terminated": c.state["terminated"]}
                c.state = {"waiting": {"reason": "CrashLoopBackOff",
                                       "message": f"back-off {_go_duration(delay)} restarting failed container="
                                                  f"{c.name} pod={p.name}_{p.namespace}({p.uid})"}}
                c.ready = c.started = False
                await p.report()
                await p.event("Warning", "BackOff", f"Back-off restarting failed container {c.name} in pod "
                                                    f"{p.name}_{p.namespace}({p.uid})")
                deadline = time.monotonic() + delay
                while not p.terminating and time.monotonic() < deadline:
                    await self._sleep(p, deadline - time.monotonic())
                if p.terminating:
                    break
                c.backoff = min(c.backoff * 2, MAX_BACKOFF)
            else:
                c.backoff = self.backoff_base
            c.restart_count += 1
        c.done = True

    async def _start(self, p: _Pod, c: Container) -> bool | None:
        """Create and start one instance; False when it failed to start (StartError, config error),
        None when it can never be created."""
        spec = c.spec
        c.exited = asyncio.Event()
        c.stopping = False
        if not spec.get("command"):
            msg = NO_COMMAND.format(name=c.name)
            c.state = {"waiting": {"reason": "CreateContainerError", "message": msg}}
            await p.event("Warning", "Failed", f"Error: {msg}")
            return None
        while True:
            try:
                env = await self._env(p, c)
                break
            except ConfigError as e:
                c.state = {"waiting": {"reason": "CreateContainerConfigError", "message": str(e)}}
                await p.report()
                await p.event("Warning", "Failed", f"Error: {e}")
                await self._sleep(p, self.retry_interval)
                if p.terminating:
                    c.exited.set()
                    return False
        command = [expand(str(a), env) for a in [*(spec.get("command") or ()), *(spec.get("args") or ())]]
        c.env = env
        if "terminated" in c.state:
            c.last_state = {"terminated": c.state["terminated"]}
        c.instance += 1
        self._prune_logs(p, c)
        c.container_id = "kubenest://" + hashlib.sha256(f"{p.uid}/{c.name}/{c.instance}".encode()).hexdigest()
        writer = _LogWriter(self._log_path(p, c, c.instance))
        cdir = os.path.join(p.dir, "containers", c.name)
        tmp = os.path.join(cdir, "tmp")
        os.makedirs(tmp, exist_ok=True)
        os.chmod(tmp, 0o1777)
        term_log = os.path.join(cdir, "termination-log")
        with open(term_log, "wb"):
            pass
        workdir = str(spec.get("workingDir") or "")
        tty = bool(spec.get("tty"))
        status_r, status_w = os.pipe()
        info_r, info_w = os.pipe() if self.isolated else (-1, -1)
        python = os.path.realpath(sys.executable)
        init_args = [str(status_w), workdir, "1" if tty else "0", "--", *command]
        if self.isolated:
            argv = [*self._sandbox_argv(p, c, tmp, term_log, info_w), python, "-I", "-S", _SANDBOX_INIT, *init_args]
            if p.netns:
                argv = ["nsenter", f"--net={p.netns}", "--", *argv]
        else:
            argv = [python, "-I", "-S", _INIT, *init_args]
        slave = -1
        if tty:
            c.pty, slave = os.openpty()
            stdio: dict[str, Any] = {"stdin": slave, "stdout": slave, "stderr": slave}
        else:
            stdio = {"stdin": subprocess.PIPE if spec.get("stdin") else subprocess.DEVNULL,
                     "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, env=env, pass_fds=[fd for fd in (status_w, info_w) if fd >= 0],
                start_new_session=True, **stdio)
        except OSError as e:
            for fd in (status_r, info_r, c.pty):
                if fd >= 0:
                    os.close(fd)
            c.pty = -1
            proc = None
            failure = f"failed to start container {c.name!r}: {e}"
        finally:
            for fd in (status_w, info_w, slave):
                if fd >= 0:
                    os.close(fd)
        started_at = now_iso()
        if proc is None:
            writer.close()
            self._terminated(c, 128, "StartError", failure, started_at)
            await p.event("Warning", "Failed", f"Error: {failure}")
            c.exited.set()
            return False
        c.proc = proc
        pumps = self._pump(p, c, proc, writer)
        info, status = await asyncio.gather(asyncio.to_thread(_read_json, info_r),
                                            asyncio.to_thread(_read_line, status_r))
        c.pid1 = int(info.get("child-pid") or 0) if self.isolated else proc.pid
        if spec.get("stdin") and not tty:
            c.stdin = proc.stdin
        if status != "started":
            code = await proc.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pumps, 2)
            writer.close()
            message = status or c.tail.decode(errors="replace").strip() or f"exit code {code}"
            self._terminated(c, 128, "StartError", f"failed to start container {c.name!r}: {message}", started_at)
            await p.event("Warning", "Failed", f"Error: {c.state['terminated']['message']}")
            c.exited.set()
            c.pid1, c.proc, c.stdin = 0, None, None
            if c.pty >= 0:
                os.close(c.pty)
                c.pty = -1
            return False
        c.state = {"running": {"startedAt": started_at}}
        c.started = not spec.get("startupProbe")
        c.ready = c.started and not spec.get("readinessProbe")
        await p.event("Normal", "Started", f"Started container {c.name}")
        self._start_probes(p, c)
        await p.report()
        p.spawn(self._wait(p, c, proc, pumps, writer, started_at, term_log))
        return True

    async def _wait(self, p: _Pod, c: Container, proc: asyncio.subprocess.Process, pumps: Awaitable[None],
                    writer: _LogWriter, started_at: str, term_log: str) -> None:
        code = await proc.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(pumps, 2)  # a daemonised grandchild may hold the pipes open
        writer.close()
        for t in c.probes:
            t.cancel()
        c.probes.clear()
        if code < 0:
            code = 128 - code
        message = ""
        with contextlib.suppress(OSError), open(term_log, "rb") as f:
            message = f.read(4096).decode(errors="replace")
        if not message and code != 0 and c.spec.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            message = b"\n".join(c.tail.splitlines()[-80:])[-2048:].decode(errors="replace")
        self._terminated(c, code, "Completed" if code == 0 else "Error", message, started_at)
        if c.pty >= 0:
            with contextlib.suppress(OSError):
                os.close(c.pty)
            c.pty = -1
        c.stdin, c.pid1, c.proc = None, 0, None
        for q in list(c.attached):
            q.put_nowait(None)
        # A clean run of twice the maximum back-off forgets the back-off, as the kubelet's GC of entries.
        with contextlib.suppress(ValueError):
            if time.time() - _parse_ts(started_at) > 2 * MAX_BACKOFF:
                c.backoff = 0.0
        c.exited.set()
        await p.report()

    def _terminated(self, c: Container, code: int, reason: str, message: str, started_at: str) -> None:
        t: Obj = {"exitCode": code, "reason": reason, "startedAt": started_at, "finishedAt": now_iso(),
                  "containerID": c.container_id}
        if message:
            t["message"] = message
        c.state = {"terminated": t}
        c.ready = False
        c.started = False

    def _pump(self, p: _Pod, c: Container, proc: asyncio.subprocess.Process, writer: _LogWriter) -> Awaitable[None]:
        def emit(stream: int, data: bytes) -> None:
            writer.write("stdout" if stream == STDOUT else "stderr", data)
            c.tail = (c.tail + data)[-8192:]
            for q in list(c.attached):
                q.put_nowait((stream, data))

        async def read(reader: asyncio.StreamReader | None, stream: int) -> None:
            if reader is None:
                return
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    return
                emit(stream, data)

        async def read_pty(fd: int) -> None:
            os.set_blocking(fd, False)
            async for data in read_fd(fd):
                emit(STDOUT, data)

        if c.pty >= 0:
            return p.spawn(read_pty(c.pty))
        async def read_both() -> None:
            await asyncio.gather(read(proc.stdout, STDOUT), read(proc.stderr, STDERR))

        return p.spawn(read_both())

    async def _env(self, p: _Pod, c: Container) -> dict[str, str]:
        hostname = (p.pod.get("spec") or {}).get("hostname") or p.name[:63]
        env = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname, "HOME": "/root"}
        if not self.isolated:
            env["HOME"] = os.environ.get("HOME", "/root")
        env.update(await container_env(p.pod, c.spec, Sources(self.reader, p.namespace), p.ip, self.node_ip,
                                       self.allocatable()))
        gpus = p.gpus.get(c.name) or []
        if gpus:
            uuids = ",".join(self.gpus[i] for i in gpus)
            env["NVIDIA_VISIBLE_DEVICES"] = uuids
            env["CUDA_VISIBLE_DEVICES"] = uuids
        else:
            env["NVIDIA_VISIBLE_DEVICES"] = "void"
            env["CUDA_VISIBLE_DEVICES"] = ""
        return env

    # -- GPUs -------------------------------------------------------------------------------------------------

    def _assign_gpus(self, p: _Pod) -> bool:
        """Give each container the GPUs its limits ask for; False (pod Failed) when not enough are free."""
        want = {c.name: int(((c.spec.get("resources") or {}).get("limits") or {}).get(GPU) or 0)
                for c in p.containers}
        total = sum(want.values())
        if not total:
            return True
        free = [i for i in range(len(self.gpus)) if i not in self.gpu_owner]
        if total > len(free):
            p.reason = "UnexpectedAdmissionError"
            p.message = (f"Allocate failed due to requested number of devices unavailable for {GPU}. "
                         f"Requested: {total}, Available: {len(free)}, which is unexpected")
            return False
        for name, n in want.items():
            if n:
                p.gpus[name], free = free[:n], free[n:]
                for i in p.gpus[name]:
                    self.gpu_owner[i] = p.uid
        return True

    def _release_gpus(self, uid: str) -> None:
        for i in [i for i, owner in self.gpu_owner.items() if owner == uid]:
            del self.gpu_owner[i]

    # -- sandbox ------------------------------------------------------------------------------------------------

    def _write_etc(self, p: _Pod) -> None:
        hostname = (p.pod.get("spec") or {}).get("hostname") or p.name[:63]
        lines = ["# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
                 f"{p.ip}\t{hostname}"]
        for alias in (p.pod.get("spec") or {}).get("hostAliases") or ():
            lines.append(f"{alias.get('ip', '')}\t{' '.join(alias.get('hostnames') or ())}")
        os.makedirs(p.dir, exist_ok=True)
        with open(os.path.join(p.dir, "hosts"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(p.dir, "hostname"), "w") as f:
            f.write(hostname + "\n")

    def _sandbox_argv(self, p: _Pod, c: Container, tmp: str, term_log: str, info_fd: int) -> list[str]:
        """bwrap's arguments: namespaces, the root view, volumes at their mountPaths."""
        hostname = (p.pod.get("spec") or {}).get("hostname") or p.name[:63]
        args = ["bwrap", "--die-with-parent", "--unshare-pid", "--unshare-uts", "--hostname", hostname,
                "--as-pid-1", "--info-fd", str(info_fd)]
        view = _View(args)
        for entry in sorted(os.listdir("/")):
            path = "/" + entry
            if entry in ("proc", "dev", "tmp", "sys"):
                continue
            view.add_host(path)
        view.own("/sys", ["--ro-bind", "/sys", "/sys"])
        view.own("/proc", ["--proc", "/proc"])
        view.own("/dev", ["--dev", "/dev"])
        view.own("/dev/shm", ["--bind", os.path.join(p.dir, "shm"), "/dev/shm"])
        view.own("/tmp", ["--bind", tmp, "/tmp"])
        for hidden in self.hidden:
            if os.path.isdir(hidden) and view.is_host(hidden):
                view.own(hidden, ["--tmpfs", hidden])
        for name in ("hosts", "hostname"):
            if os.path.isfile("/etc/" + name):
                view.mount(os.path.join(p.dir, name), "/etc/" + name, ro=True)
        for i in p.gpus.get(c.name) or ():
            for dev in (f"/dev/nvidia{i}", "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"):
                if os.path.exists(dev):
                    view.own(dev, ["--dev-bind", dev, dev])
        view.mount(term_log, str(c.spec.get("terminationMessagePath") or "/dev/termination-log"), ro=False)
        assert p.volumes is not None
        volumes = {v.get("name"): v for v in (p.pod.get("spec") or {}).get("volumes") or ()}
        mounts = sorted(c.spec.get("volumeMounts") or (), key=lambda m: str(m.get("mountPath", "")).rstrip("/").count("/"))
        for m in mounts:
            vol = volumes.get(m.get("name"))
            src = p.volumes.paths.get(str(m.get("name")))
            if vol is None or src is None:
                continue
            sub = m.get("subPath") or (expand(m["subPathExpr"], c.env) if m.get("subPathExpr") else "")
            if sub:
                src = os.path.join(src, sub.lstrip("/"))
                if not os.path.exists(src) and ("emptyDir" in vol or "hostPath" in vol):
                    os.makedirs(src, exist_ok=True)
            keyed = any(k in vol for k in ("configMap", "secret", "downwardAPI", "projected"))
            view.mount(src, str(m.get("mountPath", "")), ro=bool(m.get("readOnly")) or keyed,
                       dev="hostPath" in vol)
        args += ["--ro-bind", _INIT, _SANDBOX_INIT, "--"]
        return args

    # -- stopping ---------------------------------------------------------------------------------------------

    async def _stop_all(self, p: _Pod, grace: float) -> None:
        await asyncio.gather(*(self._stop(p, c, grace) for c in p.main))
        await asyncio.gather(*(self._stop(p, c, grace) for c in reversed(p.init)))
        for c in p.containers:
            if not c.running and "terminated" not in c.state and p.terminating:
                c.done = True

    async def _stop(self, p: _Pod, c: Container, grace: float, prestop: bool = True) -> None:
        """preStop, SIGTERM, SIGKILL after the grace period; returns once the instance has exited."""
        if not c.running or c.proc is None:
            return
        c.stopping = True
        deadline = time.monotonic() + grace
        hook = ((c.spec.get("lifecycle") or {}).get("preStop") or {}).get("exec")
        if prestop and hook and grace > 0:
            with contextlib.suppress(Exception):
                await self._exec_capture(p, c, list(hook.get("command") or ()), max(grace, 0.1))
        self._signal(c, signal.SIGTERM)
        remaining = deadline - time.monotonic()
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(c.exited.wait(), remaining)
        if not c.exited.is_set():
            self._signal(c, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(c.exited.wait(), 10)

    def _signal(self, c: Container, sig: int) -> None:
        targets = []
        if c.pid1:
            targets.append(c.pid1)
        if c.proc is not None and (sig == signal.SIGKILL or not self.isolated):
            targets.append(c.proc.pid)
        for pid in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if sig == signal.SIGKILL and not self.isolated:
                    os.killpg(pid, sig)
                else:
                    os.kill(pid, sig)

    # -- probes -----------------------------------------------------------------------------------------------

    def _start_probes(self, p: _Pod, c: Container, after_startup: bool = False) -> None:
        """Startup probe first; liveness and readiness once it passed (or right away without one)."""
        async def exec_fn(command: list[str], timeout: float) -> tuple[int, bytes]:
            return await self._exec_capture(p, c, command, timeout)

        def start(kind: str) -> None:
            async def on_change(ok: bool, message: str) -> None:
                await self._probe_result(p, c, kind, ok, message)

            async def on_failure(message: str) -> None:
                await p.event("Warning", "Unhealthy", f"{kind.capitalize()} probe failed: {message}")

            # With a network namespace the pod IP is routable from here; without, the pod is on localhost.
            prober = probing.Prober(kind, c.spec[kind + "Probe"], c.spec, p.ip if p.netns else "127.0.0.1",
                                    exec_fn, on_change, on_failure)
            c.probes.append(p.spawn(prober.run()))

        if c.spec.get("startupProbe") and not after_startup:
            start("startup")
            return
        for kind in ("liveness", "readiness"):
            if c.spec.get(kind + "Probe"):
                start(kind)

    async def _probe_result(self, p: _Pod, c: Container, kind: str, ok: bool, message: str) -> None:
        if not c.running or c.stopping:
            return
        if kind == "readiness":
            c.ready = ok
            await p.report()
        elif kind == "startup" and ok:
            c.started = True
            c.ready = not c.spec.get("readinessProbe")
            await p.report()
            self._start_probes(p, c, after_startup=True)
        elif not ok:  # liveness or startup failed: restart the container as its policy says
            await p.event("Normal", "Killing", f"Container {c.name} failed {kind} probe, will be restarted")
            probe = c.spec.get(kind + "Probe") or {}
            grace = float(probe.get("terminationGracePeriodSeconds") or p.grace())
            p.spawn(self._stop(p, c, grace))

    # -- exec -------------------------------------------------------------------------------------------------

    def exec_argv(self, c: Container, command: list[str]) -> list[str]:
        """How to run a command inside a running container."""
        if self.isolated and c.pid1:
            return ["nsenter", "-t", str(c.pid1), "-m", "-u", "-n", "-p", "-r", "-w", "--", *command]
        return list(command)

    async def _exec_capture(self, p: _Pod, c: Container, command: list[str], timeout: float) -> tuple[int, bytes]:
        if not command:
            return 126, b"no command"
        cwd = None if self.isolated else (c.spec.get("workingDir") or None)
        proc = await asyncio.create_subprocess_exec(*self.exec_argv(c, command), env=c.env or None, cwd=cwd,
                                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                    stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            raise
        return proc.returncode or 0, out

    def _log_path(self, p: _Pod, c: Container, instance: int) -> str:
        return os.path.join(p.dir, "logs", c.name, f"{instance}.log")

    def _prune_logs(self, p: _Pod, c: Container) -> None:
        """Keep the current and the previous instance's logs, as the kubelet does."""
        for old in range(max(c.instance - 4, 0), c.instance - 1):
            with contextlib.suppress(OSError):
                os.unlink(self._log_path(p, c, old))


def _read_line(fd: int) -> str:
    """The first line written to the pipe (not waiting for EOF: other processes may hold it open)."""
    out = b""
    try:
        while b"\n" not in out:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            out += chunk
    finally:
        os.close(fd)
    return out.split(b"\n", 1)[0].decode(errors="replace").strip()


def _read_json(fd: int) -> Obj:
    """bwrap's --info-fd document; {} when it wrote none."""
    if fd < 0:
        return {}
    out = b""
    try:
        while chunk := os.read(fd, 4096):
            out += chunk
    finally:
        os.close(fd)
    try:
        doc = json.loads(out or b"{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


class _View:
    """What a container's root looks like, to place mounts without creating anything on the real root.

    `host` paths are bind mounts of this machine's files: creating a missing mountPath below one would
    write to the real filesystem, so the nearest existing directory is first covered by a tmpfs whose
    entries are bound back ("mirrored"), and the sandbox's own mounts below it are made again on top.
    `owned` paths are the sandbox's own (its tmpfs root, the pod's directories, volumes).
    """

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.host: set[str] = set()
        self.owned: dict[str, list[str]] = {"/": []}  # path -> the bwrap arguments that mounted it

    def add_host(self, path: str) -> None:
        if os.path.islink(path):
            self.args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            self.args += ["--bind", path, path]
            self.host.add(path)

    def own(self, path: str, args: list[str]) -> None:
        self.args += args
        self.owned[path] = args

    def is_host(self, path: str) -> bool:
        """Whether the deepest mount holding `path` is a bind of this machine's files."""
        best, host = "", False
        for root, is_host in [*((h, True) for h in self.host), *((o, False) for o in self.owned)]:
            if path == root or path.startswith(root.rstrip("/") + "/"):
                if len(root) > len(best) or (len(root) == len(best) and not is_host):
                    best, host = root, is_host
        return host

    def mount(self, src: str, dest: str, ro: bool, dev: bool = False) -> None:
        dest = os.path.normpath("/" + dest.lstrip("/"))
        if self.is_host(dest):
            dest = os.path.realpath(dest)  # symlinks such as /var/run -> /run, as this machine has them
            if self.is_host(dest) and not os.path.lexists(dest):
                parent = os.path.dirname(dest)
                while not os.path.isdir(parent):
                    parent = os.path.dirname(parent)
                if parent != "/":
                    self._mirror(parent)
        flag = "--ro-bind" if ro else ("--dev-bind" if dev else "--bind")
        self.own(dest, [flag, src, dest])

    def _mirror(self, directory: str) -> None:
        below = [(path, args) for path, args in self.owned.items() if path.startswith(directory + "/")]
        self.args += ["--tmpfs", directory]
        self.host.discard(directory)
        self.owned[directory] = []
        try:
            entries = sorted(os.listdir(directory))
            mode = os.stat(directory).st_mode & 0o7777
        except OSError:
            entries, mode = [], 0o755
        for e in entries:
            self.add_host(os.path.join(directory, e))
        self.args += ["--chmod", oct(mode)[2:], directory]
        for path, args in sorted(below, key=lambda pa: pa[0].count("/")):
            self.own(path, args)


# -- streams -----------------------------------------------------------------------------------------------


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


class ProcessStreams:
    """`PodStreams` of the process runtime: logs from the CRI log files, exec by nsenter, attach to the
    container's own stdio, port-forward inside the pod's network namespace."""

    def __init__(self, rt: ProcessRuntime) -> None:
        self.rt = rt

    def _find(self, pod: Obj, container: str) -> tuple[_Pod, Container]:
        p = self.rt.pods.get(pod["metadata"]["uid"])
        name = pod["metadata"].get("name", "")
        if p is None:
            raise ApiError(404, "NotFound", f'pod "{name}" is not running on node "{self.rt.node_name}"')
        c = p.container(container)
        if c is None:
            raise _bad_request(f"container {container} is not valid for pod {name}")
        return p, c

    def logs(self, pod: Obj, opts: LogOptions) -> AsyncIterator[bytes]:
        p, c = self._find(pod, opts.container)
        if opts.previous:
            instance = c.instance - 1 if c.running or "terminated" in c.state else c.instance - 1
            if c.instance < 1 or not os.path.exists(self.rt._log_path(p, c, instance)):
                raise _bad_request(f'previous terminated container "{c.name}" in pod "{p.name}" not found')
        else:
            instance = c.instance
            if instance < 0:
                reason = (c.state.get("waiting") or {}).get("reason", "ContainerCreating")
                raise _bad_request(f'container "{c.name}" in pod "{p.name}" is waiting to start: {reason}')
        return self._read_logs(p, c, instance, opts)

    async def _read_logs(self, p: _Pod, c: Container, instance: int, opts: LogOptions) -> AsyncIterator[bytes]:
        path = self.rt._log_path(p, c, instance)
        since: float | None = None
        if opts.since_seconds is not None:
            since = time.time() - opts.since_seconds
        elif opts.since_time:
            since = _parse_ts(opts.since_time)
        remaining = opts.limit_bytes if opts.limit_bytes is not None else -1
        try:
            f = open(path, "rb")  # noqa: SIM115
        except FileNotFoundError:
            return
        try:
            data = f.read()
            entries = _parse_log(data[:data.rfind(b"\n") + 1])
            f.seek(data.rfind(b"\n") + 1)
            if since is not None:
                entries = [e for e in entries if e[0] >= since]
            if opts.tail_lines is not None:
                entries = _tail(entries, opts.tail_lines)
            pending = b""
            while True:
                out = b"".join(_render(e, opts.timestamps) for e in entries)
                if out:
                    if remaining >= 0:
                        out = out[:remaining]
                        remaining -= len(out)
                    yield out
                    if remaining == 0:
                        return
                if not opts.follow:
                    return
                following = c.instance == instance and c.running
                chunk = f.read()
                if not chunk:
                    if not following:
                        chunk = f.read()
                        if not chunk:
                            return
                    else:
                        await asyncio.sleep(0.1)
                        entries = []
                        continue
                pending += chunk
                cut = pending.rfind(b"\n") + 1
                entries, pending = _parse_log(pending[:cut]), pending[cut:]
                if since is not None:
                    entries = [e for e in entries if e[0] >= since]
        finally:
            f.close()

    async def exec(self, pod: Obj, container: str, command: list[str], stdin: bool, stdout: bool,
                   stderr: bool, tty: bool) -> _ProcSession:
        p, c = self._find(pod, container)
        if not c.running:
            raise _bad_request(f'container {c.name} is not running; unable to upgrade connection: container '
                               f'not found ("{c.name}")')
        if not command:
            raise _bad_request("you must specify at least 1 command")
        argv = self.rt.exec_argv(c, command)
        cwd = None if self.rt.isolated else (c.spec.get("workingDir") or None)
        env = dict(c.env)
        if tty:
            env.setdefault("TERM", "xterm")
            master, slave = os.openpty()

            def ctty() -> None:
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)

            try:
                proc = await asyncio.create_subprocess_exec(*argv, env=env, cwd=cwd, stdin=slave, stdout=slave,
                                                            stderr=slave, start_new_session=True, preexec_fn=ctty)
            except OSError as e:
                os.close(master)
                os.close(slave)
                raise _bad_request(str(e)) from None
            os.close(slave)
            return _ProcSession(proc, master=master)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, env=env, cwd=cwd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
                stderr=subprocess.PIPE if stderr else subprocess.DEVNULL, start_new_session=True)
        except OSError as e:
            raise _bad_request(str(e)) from None
        return _ProcSession(proc)

    async def attach(self, pod: Obj, container: str, stdin: bool, stdout: bool, stderr: bool,
                     tty: bool) -> _AttachSession:
        p, c = self._find(pod, container)
        if not c.running:
            raise _bad_request(f'container {c.name} is not running; unable to upgrade connection: container '
                               f'not found ("{c.name}")')
        return _AttachSession(c, stdin, stdout, stderr)

    async def port_forward(self, pod: Obj, port: int) -> _Conn:
        p = self.rt.pods.get(pod["metadata"]["uid"])
        if p is None or not p.ready_to_start:
            name = pod["metadata"].get("name", "")
            raise _bad_request(f'pod "{name}" does not have a sandbox yet')
        try:
            sock = await _connect_in(p.netns, port)
        except OSError as e:
            where = f' inside namespace "{p.netns}"' if p.netns else ""
            raise ApiError(500, "InternalError",
                           f"error forwarding port {port} to pod {p.uid}, uid : failed to connect to localhost:{port}"
                           f"{where}, IPv4: dial tcp4 127.0.0.1:{port}: connect: "
                           f"{(e.strerror or str(e)).lower()}") from None
        reader, writer = await asyncio.open_connection(sock=sock)
        return _Conn(reader, writer)


async def _connect_in(netns: str | None, port: int) -> socket.socket:
    """A TCP connection to localhost:port inside the network namespace (a thread that enters it)."""
    if netns is None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.setblocking(False)
        return sock
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[socket.socket] = loop.create_future()

    def work() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            with open(netns) as target:
                if libc.setns(target.fileno(), _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {netns}: {os.strerror(ctypes.get_errno())}")
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.setblocking(False)
            loop.call_soon_threadsafe(fut.set_result, sock)
        except OSError as e:
            loop.call_soon_threadsafe(fut.set_exception, e)

    # A thread of its own: it stays in the pod's namespace and ends with this one connection.
    threading.Thread(target=work, daemon=True, name="kubenest-portforward").start()
    return await fut


class _Conn:
    """One port-forward connection (`Duplex`)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def read(self) -> bytes:
        try:
            return await self.reader.read(_CHUNK)
        except OSError:
            return b""

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


class _ProcSession:
    """An exec'd process (`Session`)."""

    def __init__(self, proc: asyncio.subprocess.Process, master: int = -1) -> None:
        self.proc = proc
        self.master = master
        self._reader: asyncio.StreamReader | None = None
        self._writer: Any = None
        if master >= 0:
            os.set_blocking(master, False)

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        if self.master >= 0:
            async for data in read_fd(self.master):
                yield STDOUT, data
            return
        queue2: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()

        async def pump(reader: asyncio.StreamReader | None, stream: int) -> None:
            if reader is not None:
                while data := await reader.read(_CHUNK):
                    await queue2.put((stream, data))
            await queue2.put(None)

        tasks = [asyncio.ensure_future(pump(self.proc.stdout, STDOUT)),
                 asyncio.ensure_future(pump(self.proc.stderr, STDERR))]
        try:
            open_ = 2
            while open_:
                item = await queue2.get()
                if item is None:
                    open_ -= 1
                else:
                    yield item
        finally:
            for t in tasks:
                t.cancel()

    async def write_stdin(self, data: bytes) -> None:
        if self.master >= 0:
            os.set_blocking(self.master, True)
            try:
                await asyncio.to_thread(os.write, self.master, data)
            finally:
                os.set_blocking(self.master, False)
            return
        if self.proc.stdin is not None:
            self.proc.stdin.write(data)
            with contextlib.suppress(ConnectionError):
                await self.proc.stdin.drain()

    async def close_stdin(self) -> None:
        if self.master >= 0:
            with contextlib.suppress(OSError):
                os.write(self.master, b"\x04")
            return
        if self.proc.stdin is not None:
            self.proc.stdin.close()

    async def resize(self, width: int, height: int) -> None:
        if self.master >= 0:
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    async def wait(self) -> Obj:
        code = await self.proc.wait()
        if self.master >= 0:
            with contextlib.suppress(OSError):
                os.close(self.master)
            self.master = -1
        return exit_status(128 - code if code < 0 else code)

    async def close(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()
        if self.master >= 0:
            with contextlib.suppress(OSError):
                os.close(self.master)
            self.master = -1


class _AttachSession:
    """Attached to a running container's own stdio (`Session`): detaching leaves it running."""

    def __init__(self, c: Container, stdin: bool, stdout: bool, stderr: bool) -> None:
        self.c = c
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self.exited = c.exited
        c.attached.add(self.queue)

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if (item[0] == STDOUT and self.stdout) or (item[0] == STDERR and self.stderr):
                yield item

    async def write_stdin(self, data: bytes) -> None:
        if not self.stdin:
            return
        if self.c.pty >= 0:
            await asyncio.to_thread(_write_all, self.c.pty, data)
        elif self.c.stdin is not None:
            self.c.stdin.write(data)
            with contextlib.suppress(ConnectionError):
                await self.c.stdin.drain()

    async def close_stdin(self) -> None:
        if self.c.spec.get("stdinOnce") and self.c.stdin is not None:
            self.c.stdin.close()

    async def resize(self, width: int, height: int) -> None:
        if self.c.pty >= 0:
            fcntl.ioctl(self.c.pty, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    async def wait(self) -> Obj:
        await self.exited.wait()
        code = (self.c.state.get("terminated") or {}).get("exitCode", 0)
        return exit_status(int(code))

    async def close(self) -> None:
        self.c.attached.discard(self.queue)
        self.queue.put_nowait(None)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            n = os.write(fd, data)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        data = data[n:]


# -- CRI log files -----------------------------------------------------------------------------------------

_Entry = tuple[float, str, bytes, bool, bytes]  # (time, stream, content, full line, timestamp text)


def _parse_log(data: bytes) -> list[_Entry]:
    out = []
    for line in data.split(b"\n"):
        if not line:
            continue
        parts = line.split(b" ", 3)
        if len(parts) < 4:
            parts += [b""] * (4 - len(parts))
        ts, stream, tag, content = parts
        try:
            t = _parse_ts(ts.decode())
        except ValueError:
            continue
        out.append((t, stream.decode(), content, tag == b"F", ts))
    return out


def _tail(entries: list[_Entry], n: int) -> list[_Entry]:
    if n <= 0:
        return []
    full = 0
    for i in range(len(entries) - 1, -1, -1):
        if entries[i][3]:
            full += 1
            if full > n:
                return entries[i + 1:]
    return entries


def _render(e: _Entry, timestamps: bool) -> bytes:
    body = e[2] + (b"\n" if e[3] else b"")
    return e[4] + b" " + body if timestamps else body
