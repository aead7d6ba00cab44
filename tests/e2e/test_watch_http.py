"""Watch semantics over raw HTTP, as client-go's reflector and informers use them."""

from __future__ import annotations

import json
import ssl
import threading
import time
from typing import Any

import httpx
import pytest

from kubenest.testing import ServerThread
from tests.conftest import Cluster


def _cm(name: str, labels: dict[str, str] | None = None, data: str = "1") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
            "data": {"v": data}}


def _events(c: httpx.Client, url: str, params: dict[str, str], stop_after: int | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with c.stream("GET", url, params=params) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if not line:
                continue
            out.append(json.loads(line))
            if stop_after is not None and len(out) >= stop_after:
                break
    return out


CMS = "/api/v1/namespaces/default/configmaps"


def test_watch_from_zero_replays_state_as_added(http: tuple[httpx.Client, str]) -> None:
    c, base = http
    for n in ("a", "b"):
        assert c.post(base + CMS, json=_cm(n)).status_code == 201
    evs = _events(c, base + CMS, {"watch": "true", "resourceVersion": "0", "timeoutSeconds": "1"})
    # kube-root-ca.crt is in every namespace, as in kube.
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [
        ("ADDED", "a"), ("ADDED", "b"), ("ADDED", "kube-root-ca.crt")]


def test_watch_resumes_after_a_resource_version(http: tuple[httpx.Client, str]) -> None:
    c, base = http
    first = c.post(base + CMS, json=_cm("a")).json()
    c.post(base + CMS, json=_cm("b"))
    c.delete(base + CMS + "/a")
    evs = _events(c, base + CMS, {"watch": "1", "resourceVersion": first["metadata"]["resourceVersion"],
                                  "timeoutSeconds": "1"})
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [("ADDED", "b"), ("DELETED", "a")]
    deleted_rv = int(evs[1]["object"]["metadata"]["resourceVersion"])
    assert deleted_rv > int(evs[0]["object"]["metadata"]["resourceVersion"])


def test_send_initial_events_ends_with_a_bookmark(http: tuple[httpx.Client, str]) -> None:
    c, base = http
    c.post(base + CMS, json=_cm("a"))
    evs = _events(c, base + CMS, {"watch": "1", "sendInitialEvents": "true", "allowWatchBookmarks": "true",
                                  "resourceVersionMatch": "NotOlderThan", "timeoutSeconds": "1"})
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in evs[:2]] == [
        ("ADDED", "a"), ("ADDED", "kube-root-ca.crt")]
    assert evs[2]["type"] == "BOOKMARK"
    assert evs[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    missing = c.get(base + CMS, params={"watch": "1", "sendInitialEvents": "true"})
    assert missing.status_code == 422 and missing.json()["reason"] == "Invalid"


def test_label_selector_watch_reports_objects_leaving_and_entering(http: tuple[httpx.Client, str]) -> None:
    c, base = http
    c.post(base + CMS, json=_cm("a", {"team": "x"}))
    rv = c.get(base + CMS).json()["metadata"]["resourceVersion"]
    results: list[dict[str, Any]] = []

    def watch() -> None:
        results.extend(_events(c, base + CMS, {"watch": "1", "labelSelector": "team=x", "resourceVersion": rv,
                                               "timeoutSeconds": "3"}, stop_after=2))

    t = threading.Thread(target=watch)
    t.start()
    time.sleep(0.3)
    c.patch(base + CMS + "/a", json={"metadata": {"labels": {"team": "y"}}},
            headers={"Content-Type": "application/merge-patch+json"})
    c.patch(base + CMS + "/a", json={"metadata": {"labels": {"team": "x"}}},
            headers={"Content-Type": "application/merge-patch+json"})
    t.join(10)
    assert [e["type"] for e in results] == ["DELETED", "ADDED"]


def test_watch_events_are_isolated_per_cluster(cluster: Cluster, http: tuple[httpx.Client, str],
                                               bins: tuple[str, str]) -> None:
    from tests.conftest import make_cluster

    c, base = http
    other = make_cluster(cluster.server, bins, "watch-other")
    other_base = cluster.server.url(other.name)
    rv = c.get(base + CMS).json()["metadata"]["resourceVersion"]
    c.post(other_base + CMS, json=_cm("same"))
    c.post(base + CMS, json=_cm("same", data="mine"))
    evs = _events(c, base + CMS, {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "1"})
    assert [(e["type"], e["object"]["data"]["v"]) for e in evs] == [("ADDED", "mine")]


def test_too_old_resource_version_answers_an_expired_error_event(tmp_path: Any) -> None:
    st = ServerThread(durable=False)
    try:
        st.server.store._history = type(st.server.store._history)(maxlen=5)
        ctx = ssl.create_default_context(cafile=st.ca_path)
        with httpx.Client(verify=ctx, headers={"Authorization": f"Bearer {st.token}"}) as c:
            base = st.url()
            first = c.post(base + CMS, json=_cm("first")).json()["metadata"]["resourceVersion"]
            for i in range(10):
                c.post(base + CMS, json=_cm(f"n{i}"))
            # As the watch cache does: the stream opens, sends one ERROR event with a 410 Status, and ends.
            evs = _events(c, base + CMS, {"watch": "1", "resourceVersion": first})
            assert [e["type"] for e in evs] == ["ERROR"]
            status = evs[0]["object"]
            assert status["kind"] == "Status" and status["code"] == 410 and status["reason"] == "Expired"
            assert status["message"].startswith(f"too old resource version: {first} (")
    finally:
        st.stop()


def test_timeout_seconds_ends_the_stream(http: tuple[httpx.Client, str]) -> None:
    c, base = http
    t0 = time.monotonic()
    _events(c, base + CMS, {"watch": "1", "timeoutSeconds": "1"})
    assert 0.9 <= time.monotonic() - t0 < 5


def test_kubectl_get_watch_prints_table_rows(cluster: Cluster) -> None:
    import os
    import subprocess

    cluster.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\ndata: {a: b}\n")
    env = dict(os.environ, KUBECONFIG=cluster.kubeconfig)
    proc = subprocess.Popen([cluster.kubectl_bin, "get", "cm", "-w", "--request-timeout=4s"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.0)
    cluster.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: second}\ndata: {a: b, c: d}\n")
    try:
        out, _ = proc.communicate(timeout=15)
    finally:
        proc.kill()
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE"]
    assert any(line.split()[:2] == ["first", "1"] for line in lines)
    assert any(line.split()[:2] == ["second", "2"] for line in lines)


def test_idle_watch_sends_periodic_bookmarks(http: tuple[httpx.Client, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from kubenest.api import watch

    monkeypatch.setattr(watch, "BOOKMARK_INTERVAL", 0.3)
    c, base = http
    rv = c.post(base + CMS, json=_cm("a")).json()["metadata"]["resourceVersion"]
    evs = _events(c, base + CMS, {"watch": "1", "allowWatchBookmarks": "true", "resourceVersion": rv,
                                  "timeoutSeconds": "1"})
    assert len(evs) >= 2 and {e["type"] for e in evs} == {"BOOKMARK"}
    assert all(int(e["object"]["metadata"]["resourceVersion"]) >= int(rv) for e in evs)
    assert evs[0]["object"]["kind"] == "ConfigMap"
