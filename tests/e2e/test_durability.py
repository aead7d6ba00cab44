"""Durability: restarts keep data, and a kill -9 at any moment loses no acknowledged write."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UpProcess:
    """`kubenest up` as a real separate process."""

    def __init__(self, data_dir: str, port: int) -> None:
        self.data_dir, self.port = data_dir, port
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kubenest", "up", "--data-dir", data_dir, "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "kubenest is up at" not in line:
            self.proc.kill()
            raise AssertionError(f"kubenest up did not start: {line!r} {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.first_line = line
        self.token = open(os.path.join(data_dir, "admin.token")).read().strip()
        self.ca = os.path.join(data_dir, "ca.crt")
        self.base = f"https://127.0.0.1:{port}/clusters/root"

    def client(self) -> httpx.Client:
        return httpx.Client(verify=self.ssl(), headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(verify=self.ssl(), headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca)

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(30)


def _cm(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}}


def test_up_prints_where_to_connect_and_writes_a_kubeconfig(tmp_path: object) -> None:
    data = tempfile.mkdtemp()
    up = UpProcess(data, _free_port())
    try:
        assert up.first_line.startswith(f"kubenest is up at https://127.0.0.1:{up.port}/clusters/root")
        kubeconfig = open(os.path.join(data, "admin.kubeconfig")).read()
        assert f"server: https://127.0.0.1:{up.port}/clusters/root" in kubeconfig
        with httpx.Client(verify=up.ssl()) as anon:
            r = anon.get(up.base + "/api/v1/namespaces")
            assert r.status_code == 401 and r.json()["reason"] == "Unauthorized"
        with up.client() as c:
            assert c.get(up.base + "/api/v1/namespaces").status_code == 200
    finally:
        started = time.monotonic()
        assert up.stop() == 0
    # Ctrl-C is quiet and quick, with the syncer's and the host's watches open on this very server.
    assert time.monotonic() - started < 5
    stderr = up.proc.stderr.read() if up.proc.stderr else ""
    assert "Traceback" not in stderr and "graceful shutdown exceeded" not in stderr, stderr


def test_restart_keeps_all_data(tmp_path: object) -> None:
    data = tempfile.mkdtemp()
    port = _free_port()
    up = UpProcess(data, port)
    with up.client() as c:
        for i in range(20):
            r = c.post(up.base + "/api/v1/namespaces/default/configmaps", json=_cm(f"cm-{i}"))
            assert r.status_code == 201, r.text
        rv_before = c.get(up.base + "/api/v1/namespaces/default/configmaps").json()["metadata"]["resourceVersion"]
    assert up.stop() == 0  # Ctrl-C: clean shutdown
    up = UpProcess(data, port)
    try:
        with up.client() as c:
            items = c.get(up.base + "/api/v1/namespaces/default/configmaps").json()
            names = sorted(i["metadata"]["name"] for i in items["items"])
            assert names == sorted([f"cm-{i}" for i in range(20)] + ["kube-root-ca.crt"])
            r = c.post(up.base + "/api/v1/namespaces/default/configmaps", json=_cm("after-restart"))
            assert int(r.json()["metadata"]["resourceVersion"]) > int(rv_before)
    finally:
        up.stop()


def test_a_second_server_on_the_same_data_directory_is_refused() -> None:
    data = tempfile.mkdtemp()
    up = UpProcess(data, _free_port())
    try:
        second = subprocess.run(
            [sys.executable, "-m", "kubenest", "up", "--data-dir", data, "--port", str(_free_port())],
            capture_output=True, text=True, timeout=60,
        )
        assert second.returncode == 1
        assert "in use by another kubenest server" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
        with up.client() as c:  # the first one is unharmed
            assert c.get(up.base + "/api/v1/namespaces/default").status_code == 200
    finally:
        up.stop()


@pytest.mark.parametrize("delay", [0.3, 0.8])
def test_kill_9_loses_no_acknowledged_write(delay: float) -> None:
    data = tempfile.mkdtemp()
    port = _free_port()
    up = UpProcess(data, port)
    acked: list[str] = []

    async def writer(client: httpx.AsyncClient, wid: int) -> None:
        i = 0
        while True:
            name = f"w{wid}-{i}"
            try:
                r = await client.post(up.base + "/api/v1/namespaces/default/configmaps", json=_cm(name))
            except httpx.HTTPError:
                return  # the server died mid-request: not acknowledged
            if r.status_code == 201:
                acked.append(name)
            i += 1

    async def run() -> None:
        async with up.async_client() as client:
            tasks = [asyncio.create_task(writer(client, w)) for w in range(16)]
            await asyncio.sleep(delay)
            os.kill(up.proc.pid, signal.SIGKILL)
            await asyncio.gather(*tasks)

    asyncio.run(run())
    up.proc.wait(10)
    assert len(acked) > 10, "the writers should have been acknowledged before the kill"
    up = UpProcess(data, port)
    try:
        with up.client() as c:
            names = {i["metadata"]["name"] for i in
                     c.get(up.base + "/api/v1/namespaces/default/configmaps").json()["items"]}
        lost = [n for n in acked if n not in names]
        assert not lost, f"{len(lost)} acknowledged writes lost: {lost[:5]}"
    finally:
        up.stop()
        time.sleep(0.1)
