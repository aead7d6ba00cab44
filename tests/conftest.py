"""Shared fixtures: one real server per test session, one fresh logical cluster per test.

Logical clusters cost milliseconds, so every test gets its own and tests never see each other's
objects. Clients are the real ones: kubectl and helm binaries, the official Python client.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from kubenest.testing import ServerThread
from tests import binaries

_counter = itertools.count()


@pytest.fixture(scope="session")
def bins() -> tuple[str, str]:
    return binaries.ensure()


@pytest.fixture(scope="session")
def server() -> Iterator[ServerThread]:
    st = ServerThread()
    yield st
    st.stop()


@dataclass
class Cluster:
    """A logical cluster made for one test, with its kubeconfig and real clients."""

    server: ServerThread
    name: str
    kubeconfig: str
    kubectl_bin: str
    helm_bin: str

    def run(self, binary: str, *args: str, input: str | None = None, check: bool = True,
            timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        full_env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.server.data_dir, **(env or {}))
        proc = subprocess.run([binary, *args], input=input, capture_output=True, text=True, timeout=timeout,
                              env=full_env)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{os.path.basename(binary)} {' '.join(args)} exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc

    def kubectl(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.run(self.kubectl_bin, *args, **kw)

    def helm(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.run(self.helm_bin, *args, **kw)

    def json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def apply(self, manifest: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.kubectl("apply", "-f", "-", *args, input=manifest)


def make_cluster(server: ServerThread, bins: tuple[str, str], hint: str, version: str = "1.37") -> Cluster:
    base = re.sub(r"[^a-z0-9-]+", "-", hint.lower()).strip("-")[:40].strip("-")
    name = f"{base}-{next(_counter)}"
    server.create_cluster(name, version)
    return Cluster(server, name, server.write_kubeconfig(name), bins[0], bins[1])


@pytest.fixture
def cluster(server: ServerThread, bins: tuple[str, str], request: pytest.FixtureRequest) -> Cluster:
    return make_cluster(server, bins, request.node.name)


@pytest.fixture
def http(cluster: Cluster) -> Iterator[tuple[httpx.Client, str]]:
    """An HTTPS client with the admin token, and the base URL of the test's cluster."""
    srv = cluster.server
    ctx = ssl.create_default_context(cafile=srv.ca_path)
    with httpx.Client(verify=ctx, headers={"Authorization": f"Bearer {srv.token}"}, timeout=30) as c:
        yield c, srv.url(cluster.name)


@pytest.fixture(scope="session")
def sim_server() -> Iterator[ServerThread]:
    """A server whose embedded host has 4 simulated nodes `sim-0..3` and no process node (docs/hosts.md)."""
    st = ServerThread(simulated_nodes=4, process_node=False)
    yield st
    st.stop()


def host_cluster(server: ServerThread, bins: tuple[str, str], hint: str) -> Cluster:
    """The embedded host cluster of `server`, through a kubeconfig whose context namespace is a fresh one."""
    import yaml

    base = re.sub(r"[^a-z0-9-]+", "-", hint.lower()).strip("-")[:40].strip("-")
    namespace = f"{base}-{next(_counter)}"
    config = server.server.kubeconfig("host", context="kubenest-host")
    config["contexts"][0]["context"]["namespace"] = namespace
    path = os.path.join(server.data_dir, f"host-{namespace}.kubeconfig")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    host = Cluster(server, "host", path, bins[0], bins[1])
    host.kubectl("create", "namespace", namespace)
    return host


@pytest.fixture
def host(sim_server: ServerThread, bins: tuple[str, str], request: pytest.FixtureRequest) -> Cluster:
    """The `host` cluster of `sim_server`; kubectl works in a namespace made for this test."""
    return host_cluster(sim_server, bins, request.node.name)
