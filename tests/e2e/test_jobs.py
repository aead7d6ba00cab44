"""Jobs and CronJobs with real kubectl; pod phases are advanced by the test (no host yet).

The server runs in this process, so back-off delays and the CronJob controller's clock are
module attributes the tests lower or move forward instead of waiting.
"""

from __future__ import annotations

import datetime
import json
import re
import textwrap
import time
from typing import Any

import pytest
import yaml

from kubenest.controllers import cronjob as cronjob_module
from kubenest.controllers import job as job_module
from kubenest.testing import ServerThread
from tests.conftest import Cluster, make_cluster
from tests.e2e.test_controllers import eventually, mark_running_and_ready, pods

JOB_TRACKING = "batch.kubernetes.io/job-tracking"


def job_manifest(name: str, spec: str = "") -> str:
    """A Job manifest: `spec` is YAML merged into a one-container, never-restarting Job spec."""
    full = yaml.safe_load(textwrap.dedent(spec)) or {}
    full["template"] = {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36"}]}}
    return json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": full})


def now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def set_pod_status(cluster: Cluster, name: str, status: dict[str, Any]) -> None:
    cluster.kubectl("patch", "pod", name, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status}))


def terminated(exit_code: int) -> list[dict[str, Any]]:
    now = now_rfc3339()
    return [{"name": "main", "ready": False, "restartCount": 0, "image": "busybox:1.36", "imageID": "",
             "state": {"terminated": {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                                      "startedAt": now, "finishedAt": now}}}]


def succeed(cluster: Cluster, name: str) -> None:
    set_pod_status(cluster, name, {"phase": "Succeeded", "containerStatuses": terminated(0)})


def fail(cluster: Cluster, name: str, exit_code: int = 1, conditions: list[dict[str, Any]] | None = None) -> None:
    status: dict[str, Any] = {"phase": "Failed", "containerStatuses": terminated(exit_code)}
    if conditions:
        status["conditions"] = conditions
    set_pod_status(cluster, name, status)


def job_pods(cluster: Cluster, job: str) -> list[dict[str, Any]]:
    return pods(cluster, f"batch.kubernetes.io/job-name={job}")


def pending(cluster: Cluster, job: str) -> list[dict[str, Any]]:
    return [p for p in job_pods(cluster, job) if p["status"].get("phase") in ("Pending", "Running")
            and not p["metadata"].get("deletionTimestamp")]


def job_status(cluster: Cluster, name: str) -> dict[str, Any]:
    status: dict[str, Any] = cluster.json("get", "job", name).get("status") or {}
    return status


def conditions(cluster: Cluster, kind: str, name: str) -> list[tuple[str, str, str]]:
    conds = (cluster.json("get", kind, name).get("status") or {}).get("conditions") or []
    return [(c["type"], c["status"], c.get("reason", "")) for c in conds]


def events(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cluster.json("get", "events", "--field-selector",
                                               f"involvedObject.name={name}")["items"]
    return items


def has_event(cluster: Cluster, name: str, reason: str, message: str | None = None) -> bool:
    return any(e["reason"] == reason and (message is None or e["message"] == message) for e in events(cluster, name))


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_module, "DEFAULT_BACKOFF", 0.01)
    monkeypatch.setattr(job_module, "SYNC_BATCH_PERIOD", 0.01)


def test_job_with_parallelism_runs_pods_until_completions_succeed(cluster: Cluster) -> None:
    cluster.apply(job_manifest("work", "parallelism: 2\ncompletions: 4"))
    job = cluster.json("get", "job", "work")
    uid = job["metadata"]["uid"]
    # Selector and labels as kube's job strategy generates them.
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels == {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "work",
                      "controller-uid": uid, "job-name": "work"}
    assert job["metadata"]["labels"] == labels and job["spec"]["manualSelector"] is False

    first = eventually(lambda: len(pending(cluster, "work")) == 2 and pending(cluster, "work"), what="2 pods")
    for p in first:
        assert p["metadata"]["finalizers"] == [JOB_TRACKING]
        assert p["metadata"]["ownerReferences"][0]["uid"] == uid and p["metadata"]["name"].startswith("work-")
    status = eventually(lambda: job_status(cluster, "work").get("active") == 2 and job_status(cluster, "work"))
    assert status["ready"] == 0 and status["terminating"] == 0 and status["uncountedTerminatedPods"] == {}
    assert "startTime" in status and "succeeded" not in status

    mark_running_and_ready(cluster, first[0]["metadata"]["name"])
    eventually(lambda: job_status(cluster, "work").get("ready") == 1, what="ready 1")
    done: set[str] = set()
    while len(done) < 4:
        running = [p["metadata"]["name"] for p in pending(cluster, "work") if p["metadata"]["name"] not in done]
        assert len(running) <= 2, "never more than parallelism pods at once"
        if running:
            succeed(cluster, running[0])
            done.add(running[0])
        time.sleep(0.05)
    cluster.kubectl("wait", "--for=condition=complete", "job/work", "--timeout=20s")
    status = job_status(cluster, "work")
    assert status["succeeded"] == 4 and "active" not in status and status["completionTime"]
    assert [(c["type"], c["reason"], c["message"]) for c in status["conditions"]] == [
        ("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods"),
        ("Complete", "CompletionsReached", "Reached expected number of succeeded pods")]
    # Counted pods lose their tracking finalizer but stay.
    eventually(lambda: all(not p["metadata"].get("finalizers") for p in job_pods(cluster, "work")), what="finalizers")
    assert len(job_pods(cluster, "work")) == 4
    assert has_event(cluster, "work", "Completed", "Job completed")
    assert has_event(cluster, "work", "SuccessfulCreate")
    table = cluster.kubectl("get", "job", "work").stdout
    assert re.search(r"work\s+Complete\s+4/4", table), table


def test_indexed_job_gives_each_pod_its_index_and_reports_completed_indexes(cluster: Cluster) -> None:
    cluster.apply(job_manifest("idx", "completionMode: Indexed\ncompletions: 4\nparallelism: 4"))
    created = eventually(lambda: len(pending(cluster, "idx")) == 4 and pending(cluster, "idx"), what="4 pods")
    by_index = {}
    for p in created:
        ix = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == ix
        assert re.fullmatch(rf"idx-{ix}-[a-z0-9]{{5}}", p["metadata"]["name"]), p["metadata"]["name"]
        assert p["spec"]["hostname"] == f"idx-{ix}"
        env = p["spec"]["containers"][0]["env"]
        assert env == [{"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.labels['batch.kubernetes.io/job-completion-index']"}}}]
        by_index[ix] = p["metadata"]["name"]
    assert sorted(by_index) == ["0", "1", "2", "3"]
    succeed(cluster, by_index["0"])
    succeed(cluster, by_index["1"])
    eventually(lambda: job_status(cluster, "idx").get("completedIndexes") == "0,1", what='completedIndexes "0,1"')
    succeed(cluster, by_index["3"])
    eventually(lambda: job_status(cluster, "idx").get("completedIndexes") == "0,1,3", what='"0,1,3"')
    succeed(cluster, by_index["2"])
    cluster.kubectl("wait", "--for=condition=complete", "job/idx", "--timeout=20s")
    status = job_status(cluster, "idx")
    assert status["completedIndexes"] == "0-3" and status["succeeded"] == 4


def test_backoff_limit_per_index_fails_only_the_index_that_used_its_retries(cluster: Cluster,
                                                                             fast_backoff: None) -> None:
    cluster.apply(job_manifest("per", "completionMode: Indexed\ncompletions: 3\nparallelism: 3\nbackoffLimitPerIndex: 1"))
    created = eventually(lambda: len(pending(cluster, "per")) == 3 and pending(cluster, "per"), what="3 pods")
    by_index = {p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]: p["metadata"]["name"]
                for p in created}
    fail(cluster, by_index["0"])

    def retry_of_index_0() -> Any:
        again = [p for p in pending(cluster, "per") if p["metadata"]["annotations"][
            "batch.kubernetes.io/job-completion-index"] == "0"]
        return again and again[0]

    retry = eventually(retry_of_index_0, what="a retry of index 0")
    assert retry["metadata"]["annotations"]["batch.kubernetes.io/job-index-failure-count"] == "1"
    fail(cluster, retry["metadata"]["name"])
    eventually(lambda: job_status(cluster, "per").get("failedIndexes") == "0", what='failedIndexes "0"')
    assert not retry_of_index_0(), "an index out of retries is not retried"
    succeed(cluster, by_index["1"])
    succeed(cluster, by_index["2"])
    cluster.kubectl("wait", "--for=condition=failed", "job/per", "--timeout=20s")
    status = job_status(cluster, "per")
    assert status["completedIndexes"] == "1,2" and status["failed"] == 2 and status["succeeded"] == 2
    assert [(c["type"], c["reason"]) for c in status["conditions"]] == [("FailureTarget", "FailedIndexes"),
                                                                        ("Failed", "FailedIndexes")]


def test_failing_job_backs_off_then_fails_at_backoff_limit(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_module, "SYNC_BATCH_PERIOD", 0.01)
    monkeypatch.setattr(job_module, "DEFAULT_BACKOFF", 3.0)
    cluster.apply(job_manifest("flaky", "backoffLimit: 2"))
    first = eventually(lambda: pending(cluster, "flaky"), what="a pod")[0]["metadata"]["name"]
    # The pod finished now: its replacement waits for the back-off (3 s after the failure).
    set_pod_status(cluster, first, {"phase": "Failed", "conditions": [
        {"type": "Ready", "status": "False", "lastTransitionTime": now_rfc3339()}]})
    eventually(lambda: job_status(cluster, "flaky").get("failed") == 1, what="failed 1")
    time.sleep(0.5)
    assert not pending(cluster, "flaky"), "the replacement waits for the back-off delay"
    monkeypatch.setattr(job_module, "DEFAULT_BACKOFF", 0.01)
    replacement = eventually(lambda: pending(cluster, "flaky"), timeout=10, what="a replacement")[0]
    fail(cluster, replacement["metadata"]["name"])
    third = eventually(lambda: pending(cluster, "flaky"), what="a second replacement")[0]
    fail(cluster, third["metadata"]["name"])
    cluster.kubectl("wait", "--for=condition=failed", "job/flaky", "--timeout=20s")
    status = job_status(cluster, "flaky")
    assert status["failed"] == 3 and "succeeded" not in status and "completionTime" not in status
    assert [(c["type"], c["reason"], c["message"]) for c in status["conditions"]] == [
        ("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
        ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]
    assert len(job_pods(cluster, "flaky")) == 3
    assert has_event(cluster, "flaky", "BackoffLimitExceeded", "Job has reached the specified backoff limit")


def test_jobs_in_clusters_before_1_31_finish_with_one_condition(server: ServerThread, bins: tuple[str, str]) -> None:
    old = make_cluster(server, bins, "jobs-1-28", version="1.28")
    old.apply(job_manifest("legacy", "completionMode: Indexed\ncompletions: 1"))
    pod = eventually(lambda: pending(old, "legacy"), what="a pod")[0]
    # PodIndexLabel is on since 1.28; status.terminating only since 1.29.
    assert pod["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == "0"
    succeed(old, pod["metadata"]["name"])
    old.kubectl("wait", "--for=condition=complete", "job/legacy", "--timeout=20s")
    status = job_status(old, "legacy")
    assert [(c["type"], c.get("reason")) for c in status["conditions"]] == [("Complete", None)]
    assert "terminating" not in status and status["completedIndexes"] == "0"


def test_active_deadline_fails_the_job_and_removes_its_pods(cluster: Cluster) -> None:
    # 4 s: the test must see both pods before the deadline removes them, on a loaded machine too.
    cluster.apply(job_manifest("slow", "activeDeadlineSeconds: 4\nparallelism: 2\ncompletions: 2"))
    eventually(lambda: len(pending(cluster, "slow")) == 2, what="2 pods")
    cluster.kubectl("wait", "--for=condition=failed", "job/slow", "--timeout=20s")
    status = job_status(cluster, "slow")
    assert [(t, r) for t, _, r in conditions(cluster, "job", "slow")] == [
        ("FailureTarget", "DeadlineExceeded"), ("Failed", "DeadlineExceeded")]
    assert status["conditions"][1]["message"] == "Job was active longer than specified deadline"
    assert status["failed"] == 2 and "active" not in status and status["terminating"] == 0
    eventually(lambda: not job_pods(cluster, "slow"), what="the active pods deleted")
    assert has_event(cluster, "slow", "DeadlineExceeded")


def test_suspended_job_has_no_pods_until_resumed(cluster: Cluster) -> None:
    cluster.apply(job_manifest("nap", "suspend: true\nparallelism: 2\ncompletions: 2"))
    eventually(lambda: ("Suspended", "True", "JobSuspended") in conditions(cluster, "job", "nap"), what="Suspended")
    assert not job_pods(cluster, "nap") and "startTime" not in job_status(cluster, "nap")
    cluster.kubectl("patch", "job", "nap", "--type=merge", "-p", '{"spec":{"suspend":false}}')
    eventually(lambda: len(pending(cluster, "nap")) == 2, what="2 pods after resume")
    eventually(lambda: ("Suspended", "False", "JobResumed") in conditions(cluster, "job", "nap"), what="resumed")
    assert job_status(cluster, "nap")["startTime"]
    cluster.kubectl("patch", "job", "nap", "--type=merge", "-p", '{"spec":{"suspend":true}}')
    eventually(lambda: not job_pods(cluster, "nap"), what="pods deleted on suspend")
    eventually(lambda: ("Suspended", "True", "JobSuspended") in conditions(cluster, "job", "nap"), what="suspended")
    status = job_status(cluster, "nap")
    assert "active" not in status and "failed" not in status, "pods removed by suspension are not failures"
    assert has_event(cluster, "nap", "Suspended", "Job suspended")
    assert has_event(cluster, "nap", "Resumed", "Job resumed")
    assert has_event(cluster, "nap", "SuccessfulDelete")


def test_pod_failure_policy_ignores_disruptions_and_fails_the_job_on_exit_codes(cluster: Cluster,
                                                                                 fast_backoff: None) -> None:
    cluster.apply(job_manifest("policy", """
        backoffLimit: 0
        podFailurePolicy:
          rules:
          - action: Ignore
            onPodConditions: [{type: DisruptionTarget}]
          - action: FailJob
            onExitCodes: {containerName: main, operator: In, values: [42]}
        """))
    first = eventually(lambda: pending(cluster, "policy"), what="a pod")[0]["metadata"]["name"]
    fail(cluster, first, 137, [{"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
                                "lastTransitionTime": now_rfc3339()}])
    # Ignored: not counted against backoffLimit 0, and the pod is replaced.
    second = eventually(lambda: pending(cluster, "policy"), what="a replacement")[0]["metadata"]["name"]
    assert second != first and "failed" not in job_status(cluster, "policy")
    fail(cluster, second, 42)
    cluster.kubectl("wait", "--for=condition=failed", "job/policy", "--timeout=20s")
    message = (f"Container main for pod {cluster.json('get', 'pod', second)['metadata']['namespace']}/{second} "
               "failed with exit code 42 matching FailJob rule at index 1")
    status = job_status(cluster, "policy")
    assert [(c["type"], c["reason"], c["message"]) for c in status["conditions"]] == [
        ("FailureTarget", "PodFailurePolicy", message), ("Failed", "PodFailurePolicy", message)]
    assert status["failed"] == 1


def test_ttl_after_finished_deletes_the_job_and_its_pods(cluster: Cluster) -> None:
    # 3 s: long enough to see the finished Job on a loaded machine, short enough for a test.
    cluster.apply(job_manifest("brief", "ttlSecondsAfterFinished: 3"))
    pod = eventually(lambda: pending(cluster, "brief"), what="a pod")[0]["metadata"]["name"]
    succeed(cluster, pod)
    eventually(lambda: ("Complete", "True", "CompletionsReached") in conditions(cluster, "job", "brief"))
    gone = cluster.kubectl("get", "job", "brief", check=False)
    assert gone.returncode == 0, "still there before the TTL expires"
    eventually(lambda: cluster.kubectl("get", "job", "brief", check=False).returncode != 0, timeout=15,
               what="the Job deleted")
    eventually(lambda: not job_pods(cluster, "brief"), what="its pods deleted")


def test_deleting_a_running_job_releases_and_deletes_its_pods(cluster: Cluster) -> None:
    cluster.apply(job_manifest("gone", "parallelism: 2\ncompletions: 2"))
    eventually(lambda: len(pending(cluster, "gone")) == 2, what="2 pods")
    cluster.kubectl("delete", "job", "gone")
    eventually(lambda: not job_pods(cluster, "gone"), what="pods deleted despite their tracking finalizer")


class FakeClock:
    def __init__(self) -> None:
        self.offset = datetime.timedelta(0)

    def __call__(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC) + self.offset


def cron_jobs(cluster: Cluster, cronjob: str) -> list[dict[str, Any]]:
    items = cluster.json("get", "jobs")["items"]
    return [j for j in items if any(r["name"] == cronjob for r in j["metadata"].get("ownerReferences") or ())]


def scheduled_minute(timestamp: str) -> int:
    """Minutes since the epoch of a scheduled-timestamp annotation (the Job name's suffix)."""
    t = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    return int(t.timestamp()) // 60


def kick(cluster: Cluster, name: str, n: int) -> None:
    """Touch the CronJob so its controller syncs now (time moved without a timer firing)."""
    cluster.kubectl("annotate", "cronjob", name, f"test/kick={n}", "--overwrite")


def complete_job(cluster: Cluster, job: str) -> None:
    pod = eventually(lambda: pending(cluster, job), what=f"a pod of {job}")[0]["metadata"]["name"]
    succeed(cluster, pod)
    cluster.kubectl("wait", "--for=condition=complete", f"job/{job}", "--timeout=20s")


CRONJOB = textwrap.dedent(
    """
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: tick}
    spec:
      schedule: "* * * * *"
      concurrencyPolicy: Forbid
      successfulJobsHistoryLimit: 1
      jobTemplate:
        metadata: {labels: {app: tick}}
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{name: main, image: busybox:1.36}]
    """
)


def test_cronjob_starts_jobs_on_schedule_forbids_overlap_and_keeps_history(cluster: Cluster,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(cronjob_module, "clock", clock)
    cluster.apply(CRONJOB)
    time.sleep(0.3)
    assert not cron_jobs(cluster, "tick"), "nothing runs before the first scheduled minute"

    clock.offset = datetime.timedelta(seconds=60)
    kick(cluster, "tick", 1)
    first = eventually(lambda: cron_jobs(cluster, "tick"), what="a Job")[0]
    cj = cluster.json("get", "cronjob", "tick")
    scheduled = first["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    assert first["metadata"]["name"] == f"tick-{scheduled_minute(scheduled)}" and scheduled.endswith(":00Z")
    ref = first["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == ("CronJob", "tick", cj["metadata"]["uid"], True)
    assert first["metadata"]["labels"]["app"] == "tick"
    status = eventually(lambda: cluster.json("get", "cronjob", "tick").get("status", {}).get("active") and
                        cluster.json("get", "cronjob", "tick")["status"], what="status.active")
    assert status["lastScheduleTime"] == scheduled
    assert status["active"][0]["name"] == first["metadata"]["name"] and status["active"][0]["kind"] == "Job"
    assert has_event(cluster, "tick", "SuccessfulCreate", f"Created job {first['metadata']['name']}")

    # Forbid: the next minute passes while the first Job still runs.
    clock.offset = datetime.timedelta(seconds=120)
    kick(cluster, "tick", 2)
    eventually(lambda: has_event(cluster, "tick", "JobAlreadyActive"), what="JobAlreadyActive")
    assert len(cron_jobs(cluster, "tick")) == 1

    # Once it finishes, the skipped schedule starts at once (no startingDeadlineSeconds to miss).
    complete_job(cluster, first["metadata"]["name"])
    second = eventually(lambda: [j for j in cron_jobs(cluster, "tick") if j["metadata"]["name"] != first[
        "metadata"]["name"]], what="the skipped run")[0]
    second_at = second["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    assert second_at > scheduled and second["metadata"]["name"] == f"tick-{scheduled_minute(second_at)}"
    status = eventually(lambda: cluster.json("get", "cronjob", "tick")["status"].get("lastScheduleTime") == second_at
                        and cluster.json("get", "cronjob", "tick")["status"], what="lastScheduleTime moved")
    assert [r["name"] for r in status["active"]] == [second["metadata"]["name"]]
    assert status["lastSuccessfulTime"] == job_status(cluster, first["metadata"]["name"])["completionTime"]
    complete_job(cluster, second["metadata"]["name"])
    # successfulJobsHistoryLimit 1: the older finished Job goes.
    eventually(lambda: [j["metadata"]["name"] for j in cron_jobs(cluster, "tick")] == [second["metadata"]["name"]],
               what="history trimmed to 1")
    eventually(lambda: not cluster.json("get", "cronjob", "tick")["status"].get("active"), what="active cleared")
    assert has_event(cluster, "tick", "SuccessfulDelete", f"Deleted job {first['metadata']['name']}")
    assert has_event(cluster, "tick", "SawCompletedJob")


def test_create_job_from_cronjob_runs_it_now(cluster: Cluster) -> None:
    cluster.apply(CRONJOB.replace('"* * * * *"', '"0 0 1 1 *"'))
    cluster.kubectl("create", "job", "adhoc", "--from=cronjob/tick")
    job = cluster.json("get", "job", "adhoc")
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    eventually(lambda: pending(cluster, "adhoc"), what="its pod")
    table = cluster.kubectl("get", "cronjob", "tick").stdout
    assert re.search(r"tick\s+0 0 1 1 \*\s+<none>\s+False\s+0", table), table


def test_cron_schedules_parse_and_advance_as_robfig_cron() -> None:
    start = datetime.datetime(2024, 1, 31, 23, 59, 30, tzinfo=datetime.UTC)

    def nxt(spec: str) -> str:
        t = cronjob_module.parse_schedule(spec).next(start)
        assert t is not None
        return t.isoformat()

    assert nxt("*/15 * * * *") == "2024-02-01T00:00:00+00:00"
    assert nxt("0 0 31 * *") == "2024-03-31T00:00:00+00:00"  # February has no 31st
    assert nxt("0 0 1,15 * sun") == "2024-02-01T00:00:00+00:00"  # day of month OR day of week
    assert nxt("5 4 * jan,JUL ?") == "2024-07-01T04:05:00+00:00"
    assert nxt("@weekly") == "2024-02-04T00:00:00+00:00"
    assert nxt("TZ=Europe/Berlin 30 8 * * *") == "2024-02-01T07:30:00+00:00"
    assert nxt("@every 1m30s") == "2024-02-01T00:01:00+00:00"
    for spec, message in [("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
                          ("61 * * * *", "end of range (61) above maximum (59): 61"),
                          ("*/0 * * * *", "step of range should be a positive number: */0"),
                          ("@fortnightly", "unrecognized descriptor: @fortnightly")]:
        with pytest.raises(cronjob_module.ScheduleError, match=re.escape(message)):
            cronjob_module.parse_schedule(spec)
