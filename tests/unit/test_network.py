"""The embedded host's pod network (kubenest/host/network.py) on this machine's real kernel.

Pods are network namespaces with processes started by `nsenter --net=PATH`; the bridges are test-only
(`kntest0` on 10.89.0.0/16 with a real ServerThread, `kntest1` on 10.90.0.0/16 with a TCP stand-in), and
every namespace, veth, bridge and process the tests make is removed at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509

from kubenest.controllers.client import Client
from kubenest.host import HOST_CLUSTER
from kubenest.host.network import NETNS_DIR, PodNet, PodNetworks, ServiceProxy
from kubenest.server.tls import ensure_certificates
from kubenest.testing import ServerThread


def _why_no_netns() -> str | None:
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    for tool in ("ip", "nsenter"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    name = f"kntest-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    if made.returncode != 0:
        return f"this machine does not allow network namespaces: {made.stderr.strip()}"
    return None


WHY_NOT = _why_no_netns()
needs_netns = pytest.mark.skipif(WHY_NOT is not None, reason=f"pod networks need netns: {WHY_NOT}")

HTTP_PORT = 8080


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def _netns(prefix: str) -> set[str]:
    try:
        return {n for n in os.listdir(NETNS_DIR) if n.startswith(prefix)}
    except FileNotFoundError:
        return set()


def in_pod(net: PodNet, code: str, timeout: float = 20) -> str:
    """Run a Python snippet inside the pod's network namespace; returns its stdout."""
    assert net.netns is not None
    proc = subprocess.run(["nsenter", f"--net={net.netns}", sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"in pod {net.ip}: {proc.stderr}"
    return proc.stdout


def http_get(net: PodNet, url: str) -> str:
    return in_pod(net, f"import urllib.request; print(urllib.request.urlopen({url!r}, timeout=5).read().decode())")


class Pods:
    """Pod networks with an HTTP server in each: GET /name answers the pod's name."""

    def __init__(self, server: ServerThread, nets: PodNetworks) -> None:
        self.server = server
        self.nets = nets
        self.procs: list[subprocess.Popen[bytes]] = []
        self.dirs: list[str] = []

    def add(self, name: str) -> PodNet:
        net = self.server.call(self.nets.setup(f"{name}-{uuid.uuid4()}"))
        root = tempfile.mkdtemp(prefix="kntest-www-")
        self.dirs.append(root)
        with open(os.path.join(root, "name"), "w") as f:
            f.write(name)
        assert net.netns is not None
        self.procs.append(subprocess.Popen(
            ["nsenter", f"--net={net.netns}", sys.executable, "-m", "http.server", str(HTTP_PORT),
             "--bind", "0.0.0.0", "--directory", root], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while True:  # the pod's IP is reachable from the root namespace once the server listens
            try:
                socket.create_connection((net.ip, HTTP_PORT), timeout=1).close()
                return net
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def host() -> Iterator[tuple[ServerThread, PodNetworks]]:
    """A real server on a free port whose pods (bridge kntest0) reach it at the gateway over HTTPS."""
    if WHY_NOT is not None:
        pytest.skip(f"pod networks need netns: {WHY_NOT}")
    data_dir = tempfile.mkdtemp(prefix="kntest-")
    port = _free_port()
    # First start: find the gateway and put it in the serving certificate before the server loads it;
    # the second start (on the server's loop) adopts the bridge and the allocator state.
    first = asyncio.run(PodNetworks.create(data_dir, port, bridge="kntest0", subnet="10.89.0.0/16",
                                           service_device="kntest-svc"))
    assert first.enabled, first.reason
    asyncio.run(first.close())
    ensure_certificates(data_dir, "127.0.0.1", extra_ips=[first.gateway])
    st = ServerThread(data_dir=data_dir, port=port)
    nets = st.call(PodNetworks.create(data_dir, st.port, bridge="kntest0", subnet="10.89.0.0/16",
                                      service_device="kntest-svc"))
    try:
        yield st, nets
    finally:
        st.call(nets.destroy())
        st.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    assert nets.bridge not in _links() and not _netns(nets.bridge + "-")


@pytest.fixture
def pods(host: tuple[ServerThread, PodNetworks]) -> Iterator[Pods]:
    p = Pods(*host)
    try:
        yield p
    finally:
        p.stop()


@needs_netns
def test_two_pods_listen_on_the_same_port_and_reach_each_other(pods: Pods) -> None:
    a, b = pods.add("a"), pods.add("b")
    assert a.ip != b.ip and a.netns != b.netns
    assert a.netns is not None and a.netns.startswith(f"{NETNS_DIR}/{pods.nets.bridge}-")
    from urllib.request import urlopen

    assert urlopen(f"http://{a.ip}:{HTTP_PORT}/name", timeout=5).read() == b"a"  # from the root namespace
    assert urlopen(f"http://{b.ip}:{HTTP_PORT}/name", timeout=5).read() == b"b"
    assert http_get(a, f"http://{b.ip}:{HTTP_PORT}/name").strip() == "b"  # pod to pod across the bridge
    assert http_get(b, f"http://{a.ip}:{HTTP_PORT}/name").strip() == "a"
    assert http_get(a, f"http://127.0.0.1:{HTTP_PORT}/name").strip() == "a"  # its own loopback is up


@needs_netns
def test_setup_is_idempotent_and_fast(host: tuple[ServerThread, PodNetworks]) -> None:
    st, nets = host
    uids = [str(uuid.uuid4()) for _ in range(5)]
    mac = open(f"/sys/class/net/{nets.bridge}/address").read()

    async def timed() -> tuple[list[PodNet], float]:
        t0 = time.perf_counter()
        out = [await nets.setup(u) for u in uids]
        return out, (time.perf_counter() - t0) / len(uids)

    try:
        made, per_pod = st.call(timed())
        print(f"pod network setup: {per_pod * 1000:.1f} ms per pod")
        assert per_pod < 0.1, f"setting up a pod network took {per_pod * 1000:.0f} ms"
        again = [st.call(nets.setup(u)) for u in uids]
        assert again == made  # restart adoption: same IP, same namespace
        assert len({n.ip for n in made}) == len(uids)
        assert all(nets.get(u) == n for u, n in zip(uids, made, strict=True))
    finally:
        for u in uids:
            st.call(nets.teardown(u))
    assert not any(_netns(f"{nets.bridge}-{u}") for u in uids)
    # The gateway's MAC does not follow the bridge's ports: pods' ARP entries for it stay valid.
    assert open(f"/sys/class/net/{nets.bridge}/address").read() == mac
    assert all(nets.get(u) is None for u in uids)


@needs_netns
def test_pod_reaches_the_api_server_at_the_gateway_with_a_verified_certificate(
        host: tuple[ServerThread, PodNetworks]) -> None:
    st, nets = host
    gw, port = nets.api_endpoint
    assert (gw, port) == (nets.gateway, st.port)
    uid = str(uuid.uuid4())
    pod = st.call(nets.setup(uid))
    try:
        out = in_pod(pod, f"""
            import json, ssl, urllib.request
            ctx = ssl.create_default_context(cafile={st.ca_path!r})  # verifies the gateway IP SAN
            req = urllib.request.Request("https://{gw}:{port}/version",
                                         headers={{"Authorization": "Bearer {st.token}"}})
            print(json.dumps(json.load(urllib.request.urlopen(req, context=ctx, timeout=10))))
        """)
        assert json.loads(out)["gitVersion"].startswith("v1.")
        # The API itself stays on 127.0.0.1: only the gateway forwarder makes it reachable from pods.
        in_pod(pod, f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=2)
            except OSError:
                pass
            else:
                raise SystemExit("the pod reached the node's loopback")
        """)
    finally:
        st.call(nets.teardown(uid))


def _random_cluster_ip() -> str:
    """A ClusterIP of the Service range other servers on this machine (the session's) will not pick:
    the allocator is deterministic, so the same Service name would get the same address there."""
    import random

    return f"10.{random.randint(96, 111)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


def _service(name: str, cluster_ip: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": [{"name": "http", "port": 80, "targetPort": HTTP_PORT}]}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def _slice(service: str, ready: dict[str, bool]) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
        "metadata": {"name": f"{service}-abc12", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": service}},
        "ports": [{"name": "http", "port": HTTP_PORT, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": r}} for ip, r in ready.items()],
    }


@needs_netns
def test_service_cluster_ip_reaches_ready_endpoints_from_a_pod(pods: Pods) -> None:
    st, nets = pods.server, pods.nets
    server = st.server
    client = Client(server.store, server.clusters, server.registry)
    a, b = pods.add("a"), pods.add("b")
    st.call(server.clusters.ensure(HOST_CLUSTER))
    proxy = ServiceProxy(server.store, nets, HOST_CLUSTER)
    svc = st.call(client.create(HOST_CLUSTER, _service("web", _random_cluster_ip())))
    ip = svc["spec"]["clusterIP"]
    sl = st.call(client.create(HOST_CLUSTER, _slice("web", {a.ip: True, b.ip: True})))
    st.call(proxy.start())  # after the objects exist: it serves what is there, then follows changes
    try:
        st.call(proxy.synced())
        seen = [http_get(a, f"http://{ip}/name").strip() for _ in range(4)]
        assert sorted(set(seen)) == ["a", "b"], seen  # round robin over both ready endpoints
        # From the root namespace too: the ClusterIP is an address of this node.
        from urllib.request import urlopen

        assert urlopen(f"http://{ip}/name", timeout=5).read() in (b"a", b"b")

        sl["endpoints"][1]["conditions"]["ready"] = False
        st.call(client.update(HOST_CLUSTER, sl))
        st.call(proxy.synced())
        assert {http_get(a, f"http://{ip}/name").strip() for _ in range(3)} == {"a"}

        # A Service created while the proxy runs gets a listener.
        other = st.call(client.create(HOST_CLUSTER, _service("other", _random_cluster_ip())))
        st.call(client.create(HOST_CLUSTER, _slice("other", {b.ip: True})))
        st.call(proxy.synced())
        assert http_get(a, f"http://{other['spec']['clusterIP']}/name").strip() == "b"

        st.call(client.delete(HOST_CLUSTER, svc))
        st.call(proxy.synced())
        in_pod(a, f"""
            import socket
            try:
                socket.create_connection(({ip!r}, 80), timeout=2)
            except OSError:
                pass
            else:
                raise SystemExit("the deleted Service still answers")
        """)
        assert ip not in subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
    finally:
        st.call(proxy.close())
        for o in st.call(_list(client)):
            st.call(client.delete(HOST_CLUSTER, o))
    assert other["spec"]["clusterIP"] not in subprocess.run(["ip", "-4", "addr"], capture_output=True,
                                                            text=True).stdout


async def _list(client: Client) -> list[dict[str, Any]]:
    return [o for o in client.list(HOST_CLUSTER, "services", "default") if o["metadata"]["name"] != "kubernetes"]


# ---------------------------------------------------------------------------------------------------
# A bridge of its own (kntest1): the API forwarder against a stand-in, the allocator across restarts


async def _echo_server() -> asyncio.AbstractServer:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()  # until the client half-closes
        writer.write(b"echo:" + data)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(echo, "127.0.0.1", 0)


async def _in_pod(net: PodNet, code: str) -> str:
    assert net.netns is not None
    proc = await asyncio.create_subprocess_exec(
        "nsenter", f"--net={net.netns}", sys.executable, "-c", textwrap.dedent(code),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    return out.decode()


@needs_netns
async def test_gateway_forwards_tcp_to_the_api_address_with_half_close(tmp_path: Any) -> None:
    echo = await _echo_server()
    port = echo.sockets[0].getsockname()[1]
    nets = await PodNetworks.create(str(tmp_path), port, bridge="kntest1", subnet="10.90.0.0/16",
                                    service_device="kntest1-svc")
    try:
        assert nets.enabled, nets.reason
        gw, gport = nets.api_endpoint
        assert gport == port and gw == nets.gateway and gw.startswith("10.")
        pod = await nets.setup(str(uuid.uuid4()))
        out = await _in_pod(pod, f"""
            import socket
            s = socket.create_connection(({gw!r}, {port}), timeout=5)
            s.sendall(b"x" * 300000)
            s.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            print(len(data), data[:6].decode())
        """)
        assert out.split() == [str(300005), "echo:x"]
    finally:
        await nets.destroy()
        echo.close()
    assert nets.bridge not in _links() and not _netns(nets.bridge + "-")


@needs_netns
async def test_addresses_survive_a_restart_and_teardown_leaves_nothing_behind(tmp_path: Any) -> None:
    kw: dict[str, Any] = {"bridge": "kntest1", "subnet": "10.90.0.0/16", "service_device": "kntest1-svc"}
    nets = await PodNetworks.create(str(tmp_path), 1, **kw)
    made: list[PodNet] = []
    try:
        assert nets.enabled, nets.reason
        br = nets.bridge
        x, y = str(uuid.uuid4()), str(uuid.uuid4())
        px, py = await nets.setup(x), await nets.setup(y)
        made += [px, py]
        # Another server on this machine gets a bridge and a subnet of its own, not the same IPs.
        other = await PodNetworks.create(str(tmp_path / "other"), 1, **kw)
        try:
            assert other.enabled and other.bridge != br and other.subnet != nets.subnet
            po = await other.setup(x)
            assert po.ip not in (px.ip, py.ip) and po.host_interface != px.host_interface
        finally:
            await other.destroy()
        assert other.bridge not in _links() and po.host_interface not in _links()
        await nets.close()

        subprocess.run(["ip", "netns", "add", f"{br}-stray"], check=True)  # left by an earlier server
        nets = await PodNetworks.create(str(tmp_path), 1, **kw)  # a restart: same state dir, same bridge
        assert nets.bridge == br and nets.pods() == {x: px.ip, y: py.ip}
        assert _netns(f"{br}-") == {f"{br}-{x}", f"{br}-{y}"}
        assert await nets.setup(x) == px
        with open(os.path.join(tmp_path, "network.json")) as f:
            assert json.load(f)["pods"] == {x: px.ip, y: py.ip}

        await nets.teardown(x)
        await nets.teardown(x)  # idempotent
        assert not _netns(f"{br}-{x}") and nets.get(x) is None and px.host_interface not in _links()
        with open(os.path.join(tmp_path, "network.json")) as f:
            assert json.load(f)["pods"] == {y: py.ip}
        z = await nets.setup(str(uuid.uuid4()))
        made.append(z)
        assert z.ip not in (py.ip, nets.gateway)
        # A namespace the allocator does not know (a crash between the two) is pruned with the rest.
        subprocess.run(["ip", "netns", "add", f"{br}-orphan"], check=True)
        gone = await nets.prune(keep={y})
        assert "orphan" in gone and y not in gone
        assert _netns(f"{br}-") == {f"{br}-{y}"}
    finally:
        await nets.destroy()
    left = _links() & ({nets.bridge} | {p.host_interface for p in made if p.host_interface})
    assert not left, f"links left behind: {left}"
    assert not _netns(nets.bridge + "-")
    assert not os.path.exists(os.path.join(tmp_path, "network.json"))


def test_without_netns_pods_share_the_node_network_after_one_warning(tmp_path: Any) -> None:
    # A real process where `ip` cannot be found (and, as root, one without capabilities).
    code = textwrap.dedent(f"""
        import asyncio, logging
        from kubenest.host.network import PodNetworks
        logging.basicConfig(format="%(levelname)s %(message)s")
        async def main():
            nets = await PodNetworks.create({str(tmp_path)!r}, 6443, bridge="kntest9")
            pod = await nets.setup("u1")
            print("RESULT", nets.enabled, pod.ip, pod.netns, nets.api_endpoint)
            await nets.teardown("u1")
            await nets.close()
        asyncio.run(main())
    """)
    runs = [({"PATH": "/nonexistent"}, [])]
    if os.geteuid() == 0 and shutil.which("setpriv"):
        runs.append(({}, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]))
    for env, prefix in runs:
        proc = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                              env={**os.environ, **env}, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                                  os.path.abspath(__file__)))))
        assert proc.returncode == 0, proc.stderr
        assert "RESULT False 127.0.0.1 None ('127.0.0.1', 6443)" in proc.stdout
        warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("WARNING")]
        assert len(warnings) == 1, proc.stderr
        assert "pod network disabled" in warnings[0] and "same port" in warnings[0]
    assert "kntest9" not in _links()


def test_serving_certificate_gains_extra_ips_from_the_same_ca(tmp_path: Any) -> None:
    d = str(tmp_path)
    ca, crt, _ = ensure_certificates(d, "127.0.0.1")
    ca_before, crt_before = open(ca, "rb").read(), open(crt, "rb").read()
    ensure_certificates(d, "127.0.0.1", extra_ips=["10.89.0.1"])
    assert open(ca, "rb").read() == ca_before
    reissued = open(crt, "rb").read()
    assert reissued != crt_before

    def ips(pem: bytes) -> set[str]:
        san = x509.load_pem_x509_certificate(pem).extensions.get_extension_for_class(x509.SubjectAlternativeName)
        return {str(i) for i in san.value.get_values_for_type(x509.IPAddress)}

    assert "10.89.0.1" in ips(reissued) and "127.0.0.1" in ips(reissued)
    ensure_certificates(d, "127.0.0.1")  # a caller that does not know the gateway keeps the certificate
    assert open(crt, "rb").read() == reissued
    ensure_certificates(d, "127.0.0.2")  # reissued for another address: the gateway stays
    assert {"10.89.0.1", "127.0.0.2"} <= ips(open(crt, "rb").read())
