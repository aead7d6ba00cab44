"""The embedded host's pod network: a network namespace and an IP per pod, Services by ClusterIP.

As a CNI bridge plugin with host-local IPAM plus kube-proxy's old userspace mode, done with `ip` and
asyncio (docs/hosts.md, "Pod network"):

- `PodNetworks`: a Linux bridge (`kubenest0`) whose address is the pods' gateway, on a /16 that no
  existing route uses. `setup(uid)` creates the named netns `/run/netns/<bridge>-<uid>` with `eth0` (one
  end of a veth pair whose other end is a bridge port), an IP from a persistent allocator and a default
  route via the gateway. Pods reach each other across the bridge and the node's own addresses (the
  gateway, Service ClusterIPs) by local delivery: no forwarding, NAT or iptables.
- The API server listens on 127.0.0.1; a TCP forwarder on gateway:port makes it reachable from pods
  (`api_endpoint`), with the gateway in the serving certificate (`ensure_certificates(extra_ips=...)`).
- `ServiceProxy`: for every ClusterIP Service of the host cluster, a listener on ClusterIP:port (the
  address added to the `kubenest-svc` dummy device, or to the bridge where dummy devices are not
  available) that relays each TCP connection to a ready endpoint of its EndpointSlices, round robin.

Where the process may not create network namespaces (not root, no `ip`, a container without
CAP_SYS_ADMIN), `PodNetworks` is disabled: pods share the node's network, with one warning saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import ipaddress
import itertools
import json
import logging
import os
import shutil
import sys
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from kubenest.controllers.endpoints import SERVICE_NAME_LABEL, SLICES
from kubenest.host import HOST_CLUSTER
from kubenest.store.store import Event, Store, Watcher

log = logging.getLogger("kubenest.host.network")

Obj = dict[str, Any]

BRIDGE = "kubenest0"
SUBNET = "10.88.0.0/16"
SERVICE_DEVICE = "kubenest-svc"
NETNS_DIR = "/run/netns"
LOCK_DIR = "/run/kubenest"  # <bridge>.lock: which process owns a bridge
STATE_FILE = "network.json"
POD_INTERFACE = "eth0"
# ClusterIPs come from here (kubenest/api/strategy.py); a pod subnet must not overlap it.
SERVICE_CIDR = "10.96.0.0/12"
_CAP_NET_ADMIN, _CAP_SYS_ADMIN = 12, 21
_CONNECT_TIMEOUT = 5.0
_CHUNK = 256 * 1024


class NetworkError(Exception):
    """An `ip` command failed: the message holds what it printed."""


@dataclass(frozen=True, slots=True)
class PodNet:
    """A pod's network: its IP and the network namespace to run its processes in."""

    ip: str
    netns: str | None  # /run/netns/<name>: `nsenter --net=PATH` or setns(2); None: the node's network
    host_interface: str | None = None  # the veth end on the bridge (in the node's namespace)


class PodNetworks:
    """The bridge, per-pod namespaces and IPs, and the API forwarder of one embedded host."""

    def __init__(self, state_dir: str, api_port: int, api_address: str = "127.0.0.1", *,
                 bridge: str = BRIDGE, subnet: str = SUBNET, service_device: str = SERVICE_DEVICE) -> None:
        """Use `create`: a new instance is disabled until it has set up the bridge."""
        self.state_dir = state_dir
        self.api_port = api_port
        self.api_address = api_address
        self.bridge = bridge
        self.service_device = service_device
        self._requested_subnet = str(ipaddress.IPv4Network(subnet))
        self.enabled = False
        self.reason = ""  # why it is disabled
        self.subnet: ipaddress.IPv4Network | None = None
        self.gateway = ""
        self._pods: dict[str, str] = {}  # uid -> IP
        self._last = 1  # host index of the last IP handed out: new pods get the next free one
        self._locks: dict[str, asyncio.Lock] = {}
        self._save_lock = asyncio.Lock()
        self._servers: list[asyncio.AbstractServer] = []
        self._conns: set[asyncio.Task[None]] = set()
        self._service_dev = ""  # the device ClusterIPs are added to, once known
        self._lock_fd: int | None = None  # holds the bridge (see _claim_bridge)

    # -- start ----------------------------------------------------------------------------------------

    @classmethod
    async def create(cls, state_dir: str, api_port: int, api_address: str = "127.0.0.1", *,
                     bridge: str = BRIDGE, subnet: str = SUBNET,
                     service_device: str = SERVICE_DEVICE) -> PodNetworks:
        """Set up the bridge and the API forwarder, or (where this machine does not allow it) return a
        disabled instance whose pods use the node's network, after one warning saying so.

        `subnet` is preferred; when a route of this machine overlaps it, another free /16 is used.
        """
        self = cls(state_dir, api_port, api_address, bridge=bridge, subnet=subnet, service_device=service_device)
        why = await self._not_allowed()
        if why is None:
            try:
                await self._start()
            except (NetworkError, OSError) as e:
                why = f"setting up bridge {self.bridge} failed: {e}"
                await self.close()
        if why is not None:
            self.reason = why
            self.subnet, self.gateway = None, ""
            log.warning(
                "pod network disabled: %s. Pods share this machine's network: every pod's IP is 127.0.0.1, "
                "two pods listening on the same port clash, and Service ClusterIPs are not reachable. "
                "Run kubenest as root (or with CAP_NET_ADMIN and CAP_SYS_ADMIN) for a network per pod.",
                why)
            return self
        self.enabled = True
        log.info("pod network: bridge %s, pods in %s, gateway and API at %s:%d", self.bridge, self.subnet,
                 self.gateway, self.api_port)
        return self

    async def _not_allowed(self) -> str | None:
        """Why this machine does not allow pod networks, or None when it does."""
        if sys.platform != "linux":
            return f"network namespaces need Linux, this is {sys.platform}"
        if shutil.which("ip") is None:
            return "the `ip` command (iproute2) is not installed"
        caps = _effective_caps()
        missing = [n for n, bit in (("CAP_NET_ADMIN", _CAP_NET_ADMIN), ("CAP_SYS_ADMIN", _CAP_SYS_ADMIN))
                   if not caps >> bit & 1]
        if missing:
            return f"this process lacks {' and '.join(missing)}"
        # A trial namespace with a veth pair: a container may have the capabilities but not the devices.
        ns, veth = f"kubenest-probe-{os.getpid()}", f"knprobe{os.getpid()}"[:15]
        try:
            await _ip(["netns add " + ns, f"link add {veth} type veth peer name {POD_INTERFACE} netns {ns}"])
        except NetworkError as e:
            return f"creating a network namespace with a veth pair failed ({e})"
        finally:
            await _ip([f"link del {veth}", f"netns del {ns}"], force=True)
        return None

    async def _start(self) -> None:
        os.makedirs(self.state_dir, exist_ok=True)
        state = await asyncio.to_thread(self._load)
        self._claim_bridge(state.get("bridge"))
        if state.get("bridge") != self.bridge:
            state = {}
        taken = await _taken_networks(exclude=(self.bridge, self.service_device))
        preferred = [n for n in (state.get("subnet"), self._requested_subnet) if n]
        chosen = _free_subnet([ipaddress.ip_network(n) for n in preferred], taken)
        if chosen is None:
            raise NetworkError("no free /16 for pods in 10.88.0.0-10.95.0.0 or 10.128.0.0-10.254.0.0")
        if state.get("subnet") == str(chosen):
            self._pods = dict(state.get("pods") or {})
            self._last = int(state.get("last") or 1)
        elif state.get("pods"):
            log.warning("pod network moved from %s to %s (a route now overlaps it): pods get new IPs",
                        state.get("subnet"), chosen)
        if str(chosen) != self._requested_subnet:
            log.info("pod network uses %s: %s overlaps a route of this machine", chosen, self._requested_subnet)
        self.subnet = chosen
        self.gateway = str(chosen[1])
        gw = f"{self.gateway}/{chosen.prefixlen}"
        stale = [a for a in await _addresses(self.bridge) if a != gw and not a.endswith("/32")]
        cmds = [] if os.path.exists(f"/sys/class/net/{self.bridge}") else [f"link add {self.bridge} type bridge"]
        cmds += [f"addr del {a} dev {self.bridge}" for a in stale]
        # A fixed MAC: by default a bridge takes its lowest port's, which changes as pods come and go
        # and leaves every pod's ARP entry for the gateway stale (seconds of lost packets).
        mac = "02:" + ":".join(hashlib.sha256(self.bridge.encode()).hexdigest()[i:i + 2] for i in range(0, 10, 2))
        cmds += [f"link set {self.bridge} address {mac}", f"addr replace {gw} dev {self.bridge}",
                 f"link set {self.bridge} up"]
        await _ip(cmds)
        await self._remove_strays()
        await self._save()
        await self._start_api_forwarder()

    def _claim_bridge(self, saved: str | None) -> None:
        """Own a bridge for as long as this process runs (an flock under /run/kubenest): two servers on
        one machine must not hand out the same IPs on one bridge. The saved or requested name is
        preferred; when another process holds it, the next free <name><N> is used."""
        base = self.bridge.rstrip("0123456789") or self.bridge
        names = [n for n in (saved, self.bridge) if n and n.rstrip("0123456789") == base]
        names += [f"{base}{i}" for i in range(100) if len(f"{base}{i}") <= 15]
        os.makedirs(LOCK_DIR, exist_ok=True)
        for name in dict.fromkeys(names):
            fd = os.open(os.path.join(LOCK_DIR, f"{name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if name != self.bridge:
                log.info("pod network uses bridge %s: %s belongs to another kubenest process", name, self.bridge)
                if self.service_device == SERVICE_DEVICE:
                    self.service_device = f"{name}-svc"[:15]
            self.bridge = name
            self._lock_fd = fd
            return
        raise NetworkError(f"every bridge {base}0..{base}99 belongs to another kubenest process")

    async def _remove_strays(self) -> None:
        """Namespaces and bridge ports the allocator does not know (left by a crash, or by an earlier
        server with another state directory): their addresses would clash with new pods'."""
        ours = {self._names(uid)[1] for uid in self._pods}
        prefix = self.bridge + "-"
        cmds = [f"netns del {n}" for n in _netns_names(prefix) if n[len(prefix):] not in self._pods]
        cmds += [f"link del {link['ifname']}" for link in await _ip_json(["link", "show", "master", self.bridge])
                 if link.get("ifname") not in ours]
        if cmds:
            log.info("pod network: removing %d namespaces and ports of pods it does not know", len(cmds))
            await _ip(cmds, force=True)

    async def _start_api_forwarder(self) -> None:
        target = self.api_address
        if target in ("0.0.0.0", "::", "", self.gateway):
            return  # the API server itself listens on the gateway address
        server = await asyncio.start_server(
            lambda r, w: self._relay(r, w, [(target, self.api_port)]), host=self.gateway,
            port=self.api_port, reuse_address=True)
        self._servers.append(server)

    # -- what pods see ----------------------------------------------------------------------------------

    @property
    def api_endpoint(self) -> tuple[str, int]:
        """Where a pod reaches the kubenest API: (gateway, port), or the API's own address when disabled."""
        if not self.enabled:
            host = self.api_address if self.api_address not in ("0.0.0.0", "::", "") else "127.0.0.1"
            return host, self.api_port
        return self.gateway, self.api_port

    def pods(self) -> dict[str, str]:
        """uid -> IP of every pod that has a network."""
        return dict(self._pods)

    def get(self, uid: str) -> PodNet | None:
        ip = self._pods.get(uid)
        if ip is None:
            return None
        ns, veth = self._names(uid)
        return PodNet(ip, os.path.join(NETNS_DIR, ns), veth)

    # -- pods ---------------------------------------------------------------------------------------------

    async def setup(self, uid: str) -> PodNet:
        """The pod's network, created if missing: its namespace, veth pair, IP and default route.

        Idempotent; after a restart an existing namespace is adopted with the IP it had.
        """
        if not self.enabled:
            return PodNet("127.0.0.1", None)
        async with self._lock(uid):
            ns, veth = self._names(uid)
            path = os.path.join(NETNS_DIR, ns)
            ip = self._pods.get(uid)
            if ip is not None and os.path.exists(path) and os.path.exists(f"/sys/class/net/{veth}"):
                return PodNet(ip, path, veth)
            if ip is None:
                ip = self._allocate(uid)
                await self._save()
            assert self.subnet is not None
            if os.path.exists(path) or os.path.exists(f"/sys/class/net/{veth}"):
                await _ip([f"link del {veth}", f"netns del {ns}"], force=True)  # half-made: start over
            try:
                await _ip([f"netns add {ns}",
                           f"link add {veth} type veth peer name {POD_INTERFACE} netns {ns}",
                           f"link set {veth} master {self.bridge} up"])
                await _ip(["link set lo up",
                           f"addr add {ip}/{self.subnet.prefixlen} dev {POD_INTERFACE}",
                           f"link set {POD_INTERFACE} up",
                           f"route add default via {self.gateway}"], netns=ns)
            except NetworkError:
                await _ip([f"link del {veth}", f"netns del {ns}"], force=True)
                self._pods.pop(uid, None)
                await self._save()
                raise
            return PodNet(ip, path, veth)

    async def teardown(self, uid: str) -> None:
        """Remove the pod's namespace and veth pair and release its IP (idempotent)."""
        if not self.enabled:
            return
        async with self._lock(uid):
            ns, veth = self._names(uid)
            # Deleting the namespace takes its veth end along, unless a process still holds it open.
            if os.path.exists(os.path.join(NETNS_DIR, ns)):
                await _ip([f"netns del {ns}"], force=True)
            if os.path.exists(f"/sys/class/net/{veth}"):
                await _ip([f"link del {veth}"], force=True)
            if self._pods.pop(uid, None) is not None:
                await self._save()
        self._locks.pop(uid, None)

    async def prune(self, keep: Collection[str]) -> list[str]:
        """Tear down the networks of pods not in `keep` (pods deleted while kubenest was down),
        including namespaces of this bridge that the allocator does not know; returns their uids."""
        if not self.enabled:
            return []
        prefix = self.bridge + "-"
        found = set(self._pods) | {n[len(prefix):] for n in _netns_names(prefix)}
        gone = sorted(found - set(keep))
        await asyncio.gather(*(self.teardown(uid) for uid in gone))
        return gone

    def _names(self, uid: str) -> tuple[str, str]:
        """(netns name, host-side veth name); interface names have at most 15 characters."""
        digest = hashlib.sha256(f"{self.bridge}/{uid}".encode()).hexdigest()
        return f"{self.bridge}-{uid}", "kn" + digest[:12]

    def _lock(self, uid: str) -> asyncio.Lock:
        lock = self._locks.get(uid)
        if lock is None:
            lock = self._locks[uid] = asyncio.Lock()
        return lock

    # -- Service ClusterIPs ---------------------------------------------------------------------------------

    async def add_service_ip(self, ip: str) -> None:
        """Make `ip` an address of this node, so pods' packets to it (via the gateway) are delivered here."""
        await _ip([f"addr replace {ip}/32 dev {await self._service_device()}"])

    async def remove_service_ip(self, ip: str) -> None:
        await _ip([f"addr del {ip}/32 dev {await self._service_device()}"], force=True)

    async def flush_service_ips(self) -> None:
        """Remove every ClusterIP a previous run left (the /32 addresses of the service device)."""
        dev = await self._service_device()
        stale = [a for a in await _addresses(dev) if a.endswith("/32")]
        if stale:
            await _ip([f"addr del {a} dev {dev}" for a in stale], force=True)

    async def _service_device(self) -> str:
        if not self._service_dev:
            dev = self.service_device
            if not os.path.exists(f"/sys/class/net/{dev}"):
                try:
                    await _ip([f"link add {dev} type dummy", f"link set {dev} up"])
                except NetworkError as e:
                    # Any local address does: without dummy devices (no kernel module), the bridge holds them.
                    log.info("no dummy device %s (%s): Service ClusterIPs go on %s", dev, e, self.bridge)
                    dev = self.bridge
            self._service_dev = dev
        return self._service_dev

    # -- IP allocation --------------------------------------------------------------------------------------

    def _allocate(self, uid: str) -> str:
        assert self.subnet is not None
        used = set(self._pods.values())
        size = self.subnet.num_addresses - 3  # network, gateway (.1) and broadcast addresses excluded
        for step in range(1, size + 1):
            index = (self._last - 2 + step) % size + 2
            ip = str(self.subnet[index])
            if ip not in used:
                self._last = index
                self._pods[uid] = ip
                return ip
        raise NetworkError(f"pod network {self.subnet} has no free address")

    def _load(self) -> dict[str, Any]:
        try:
            with open(os.path.join(self.state_dir, STATE_FILE)) as f:
                state: dict[str, Any] = json.load(f)
        except (FileNotFoundError, ValueError):
            return {}
        return state

    async def _save(self) -> None:
        async with self._save_lock:
            state = {"bridge": self.bridge, "subnet": str(self.subnet), "last": self._last, "pods": dict(self._pods)}
            await asyncio.to_thread(_write_json, os.path.join(self.state_dir, STATE_FILE), state)

    # -- TCP relay -----------------------------------------------------------------------------------------

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     targets: list[tuple[str, int]]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conns.add(task)
        try:
            await relay(reader, writer, targets)
        finally:
            if task is not None:
                self._conns.discard(task)

    # -- stop ----------------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop the API forwarder. Pod namespaces stay: a restart adopts them with their IPs."""
        for server in self._servers:
            server.close()
        for task in list(self._conns):
            task.cancel()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock: the bridge may go to the next server
            self._lock_fd = None

    async def destroy(self) -> None:
        """Remove everything: every pod network, the service device, the bridge and the state file."""
        if self.enabled:
            await self.prune(())
            cmds = [f"link del {self.bridge}"]
            if self._service_dev and self._service_dev != self.bridge:
                cmds.insert(0, f"link del {self._service_dev}")
            await _ip(cmds, force=True)
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self.state_dir, STATE_FILE))
            self.enabled = False
        await self.close()


# ---------------------------------------------------------------------------------------------------
# The userspace Service proxy


class _Listener:
    __slots__ = ("key", "port_name", "server", "turn")

    def __init__(self, key: tuple[str, str], port_name: str, server: asyncio.AbstractServer) -> None:
        self.key = key  # (namespace, service name)
        self.port_name = port_name
        self.server = server
        self.turn = itertools.count()


class ServiceProxy:
    """kube-proxy's userspace mode for the embedded host: ClusterIP:port listeners relaying TCP to
    ready endpoints, round robin, following the host cluster's Services and EndpointSlices."""

    def __init__(self, store: Store, networks: PodNetworks, cluster: str = HOST_CLUSTER) -> None:
        self.store = store
        self.networks = networks
        self.cluster = cluster
        self._services: dict[tuple[str, str], Obj] = {}
        self._slices: dict[tuple[str, str], dict[str, Obj]] = {}  # (ns, service) -> slice name -> slice
        self._slice_owner: dict[tuple[str, str], str] = {}  # (ns, slice name) -> service name
        self._listeners: dict[tuple[str, int], _Listener] = {}
        self._ip_users: dict[str, int] = {}
        self._watchers: list[tuple[str, Watcher]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._conns: set[asyncio.Task[None]] = set()
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._pending: set[tuple[str, str]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        """Serve the Services that exist now and follow changes (nothing when pod networks are disabled)."""
        if not self.networks.enabled:
            return
        await self.networks.flush_service_ips()
        # Watch first, then read what exists: nothing runs in between, so no change falls in a gap.
        for resource in ("services", SLICES):
            self._watchers.append((resource, self.store.watch(self.cluster, resource, None, None)))
        for e in self.store.entries(self.cluster, SLICES):
            self._slice_changed("ADDED", e.obj)
        for e in self.store.entries(self.cluster, "services"):
            self._service_changed("ADDED", e.obj)
        for _, w in self._watchers:
            self._tasks.append(asyncio.ensure_future(self._pump(w)))
        self._tasks.append(asyncio.ensure_future(self._work()))

    async def synced(self, timeout: float = 10.0) -> None:
        """Wait until every Service change the store has published has its listeners (tests)."""

        async def drained() -> None:
            while any(not w.queue.empty() for _, w in self._watchers) or not self._idle.is_set():
                await asyncio.sleep(0.005)

        await asyncio.wait_for(drained(), timeout)

    async def close(self) -> None:
        for resource, w in self._watchers:
            self.store.unwatch(self.cluster, resource, w)
        self._watchers.clear()
        for t in [*self._tasks, *self._conns]:
            t.cancel()
        self._tasks.clear()
        for addr in list(self._listeners):
            await self._close_listener(addr)

    # -- following the store -------------------------------------------------------------------------------

    async def _pump(self, w: Watcher) -> None:
        while True:
            ev: Event | None = await w.queue.get()
            if ev is None:
                return
            if ev.resource == "services":
                self._service_changed(ev.type, ev.obj)
            else:
                self._slice_changed(ev.type, ev.obj)

    def _service_changed(self, type_: str, svc: Obj) -> None:
        meta = svc["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if type_ == "DELETED":
            self._services.pop(key, None)
        else:
            self._services[key] = svc
        if key not in self._pending:
            self._pending.add(key)
            self._idle.clear()
            self._queue.put_nowait(key)

    def _slice_changed(self, type_: str, sl: Obj) -> None:
        # Connections read the slices when they arrive: a change needs no listener work.
        meta = sl["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        old = self._slice_owner.pop((ns, name), None)
        if old is not None:
            self._slices.get((ns, old), {}).pop(name, None)
        service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if type_ != "DELETED" and service:
            self._slice_owner[(ns, name)] = service
            self._slices.setdefault((ns, service), {})[name] = sl

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            self._pending.discard(key)
            try:
                await self._sync(key)
            except Exception:  # noqa: BLE001 - one Service's failure must not stop the others
                log.exception("service proxy: syncing %s/%s failed", *key)
            if not self._pending:
                self._idle.set()

    async def _sync(self, key: tuple[str, str]) -> None:
        want = _listen_addresses(self._services.get(key))
        for addr, current in list(self._listeners.items()):
            if current.key == key and addr not in want:
                await self._close_listener(addr)
        for addr, port_name in want.items():
            listener = self._listeners.get(addr)
            if listener is not None and listener.key == key:
                listener.port_name = port_name
                continue
            if listener is not None:  # the address moved to this Service (the other one's change is queued)
                await self._close_listener(addr)
            await self._open_listener(key, addr, port_name)

    async def _open_listener(self, key: tuple[str, str], addr: tuple[str, int], port_name: str) -> None:
        ip, port = addr
        if self._ip_users.get(ip, 0) == 0:
            await self.networks.add_service_ip(ip)
        self._ip_users[ip] = self._ip_users.get(ip, 0) + 1
        try:
            server = await asyncio.start_server(lambda r, w: self._accept(addr, r, w), host=ip, port=port,
                                                reuse_address=True)
        except OSError as e:
            log.warning("service proxy: cannot listen on %s:%d for Service %s/%s: %s", ip, port, *key, e)
            await self._release_ip(ip)
            return
        self._listeners[addr] = _Listener(key, port_name, server)

    async def _close_listener(self, addr: tuple[str, int]) -> None:
        listener = self._listeners.pop(addr)
        listener.server.close()
        await self._release_ip(addr[0])

    async def _release_ip(self, ip: str) -> None:
        n = self._ip_users.get(ip, 0) - 1
        if n > 0:
            self._ip_users[ip] = n
            return
        self._ip_users.pop(ip, None)
        await self.networks.remove_service_ip(ip)

    # -- connections -----------------------------------------------------------------------------------------

    def endpoints(self, namespace: str, service: str, port_name: str) -> list[tuple[str, int]]:
        """Ready (address, port) pairs of the Service's port named `port_name`, in a stable order."""
        out: set[tuple[str, int]] = set()
        for sl in self._slices.get((namespace, service), {}).values():
            if sl.get("addressType", "IPv4") != "IPv4":
                continue
            port = next((p.get("port") for p in sl.get("ports") or ()
                         if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == "TCP"), None)
            if not isinstance(port, int):
                continue
            for ep in sl.get("endpoints") or ():
                if (ep.get("conditions") or {}).get("ready") is False:
                    continue
                out.update((a, port) for a in ep.get("addresses") or ())
        return sorted(out)

    async def _accept(self, addr: tuple[str, int], reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conns.add(task)
        try:
            listener = self._listeners.get(addr)
            targets = self.endpoints(*listener.key, listener.port_name) if listener is not None else []
            if targets and listener is not None:
                first = next(listener.turn) % len(targets)
                targets = targets[first:] + targets[:first]
            await relay(reader, writer, targets)
        finally:
            if task is not None:
                self._conns.discard(task)


def _listen_addresses(svc: Obj | None) -> dict[tuple[str, int], str]:
    """(ClusterIP, port) -> Service port name, for the TCP ports of a ClusterIP Service's IPv4 addresses."""
    if svc is None:
        return {}
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    out: dict[tuple[str, int], str] = {}
    for ip in ips:
        try:
            if ipaddress.ip_address(ip).version != 4:
                continue
        except ValueError:  # "None": headless
            continue
        for p in spec.get("ports") or ():
            if (p.get("protocol") or "TCP") == "TCP" and isinstance(p.get("port"), int):
                out[(ip, p["port"])] = p.get("name") or ""
    return out


# ---------------------------------------------------------------------------------------------------
# Helpers


async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, targets: list[tuple[str, int]]) -> None:
    """Connect to the first target that accepts and copy bytes both ways until both sides are done;
    closes the client connection when none accepts."""
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    for host, port in targets:
        try:
            upstream = await asyncio.wait_for(asyncio.open_connection(host, port), _CONNECT_TIMEOUT)
            break
        except (OSError, TimeoutError) as e:
            log.debug("relay: %s:%d refused: %s", host, port, e)
    if upstream is None:
        writer.close()
        return
    up_reader, up_writer = upstream
    try:
        await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))
    finally:
        for w in (writer, up_writer):
            w.close()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # half-close: the other direction may still carry the reply
    except (ConnectionError, OSError):
        writer.close()


async def _ip(commands: list[str], netns: str | None = None, force: bool = False) -> None:
    """Run `ip -batch` with these commands in one process (in `netns` when given); with `force`, keep
    going past failures and ignore them (idempotent removal)."""
    args = ["ip"]
    if netns is not None:
        args += ["-n", netns]
    if force:
        args.append("-force")
    args += ["-batch", "-"]
    proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate("\n".join(commands).encode() + b"\n")
    if proc.returncode != 0 and not force:
        lines = [ln for ln in err.decode(errors="replace").splitlines() if not ln.startswith("Command failed")]
        raise NetworkError("; ".join(lines) or f"ip exited {proc.returncode}")


async def _ip_json(args: list[str]) -> list[Obj]:
    proc = await asyncio.create_subprocess_exec("ip", "-j", *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL)
    out, _ = await proc.communicate()
    if proc.returncode != 0 or not out.strip():
        return []
    result: list[Obj] = json.loads(out)
    return result


async def _addresses(dev: str) -> list[str]:
    """The IPv4 addresses of `dev` as "IP/prefix" (none when it does not exist)."""
    if not os.path.exists(f"/sys/class/net/{dev}"):
        return []
    return [f"{a['local']}/{a['prefixlen']}" for link in await _ip_json(["-4", "addr", "show", "dev", dev])
            for a in link.get("addr_info") or () if a.get("family") == "inet"]


async def _taken_networks(exclude: Collection[str]) -> list[ipaddress.IPv4Network]:
    """Networks this machine already routes or has addresses in, except on the `exclude` devices."""
    taken: list[ipaddress.IPv4Network] = [ipaddress.IPv4Network(SERVICE_CIDR)]
    for r in await _ip_json(["-4", "route", "show", "table", "all"]):
        if r.get("dev") in exclude or r.get("dst") in (None, "default") or r.get("type") == "broadcast":
            continue
        if r.get("table") == "local" and r.get("dev") == "lo":
            continue  # 127.0.0.0/8
        with contextlib.suppress(ValueError):
            taken.append(ipaddress.IPv4Network(r["dst"], strict=False))
    for link in await _ip_json(["-4", "addr", "show"]):
        if link.get("ifname") in exclude:
            continue
        for a in link.get("addr_info") or ():
            with contextlib.suppress(ValueError, KeyError):
                taken.append(ipaddress.IPv4Network(f"{a['local']}/{a['prefixlen']}", strict=False))
    return taken


def _free_subnet(preferred: list[Any], taken: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network | None:
    candidates = [n for n in preferred if isinstance(n, ipaddress.IPv4Network)]
    candidates += [ipaddress.IPv4Network(f"10.{i}.0.0/16") for i in (*range(88, 96), *range(128, 255))]
    for net in candidates:
        if not any(net.overlaps(t) for t in taken):
            return net
    return None


def _netns_names(prefix: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(NETNS_DIR) if n.startswith(prefix))
    except FileNotFoundError:
        return []


def _effective_caps() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def _write_json(path: str, obj: Obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)
