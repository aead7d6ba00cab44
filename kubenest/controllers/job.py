"""Job controller, the TTL-after-finished controller, and the cleanup of orphaned tracking finalizers.

As kube's pkg/controller/job: pods carry the `batch.kubernetes.io/job-tracking` finalizer while they
count; a finished pod is first recorded in `status.uncountedTerminatedPods`, then its finalizer is
removed, then it moves to `succeeded`/`failed`. Terminal conditions come in two steps
(SuccessCriteriaMet then Complete, FailureTarget then Failed) once no pod is left terminating.
Failed pods are replaced after an exponential back-off (`DEFAULT_BACKOFF` doubling up to
`MAX_BACKOFF`); tests lower these module constants, as the server runs in the test process.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kubenest.api.errors import ApiError
from kubenest.controllers import podutil
from kubenest.controllers.runtime import Controller, Key
from kubenest.store.store import Event

Obj = dict[str, Any]
Intervals = list[tuple[int, int]]

RESOURCE = "jobs.batch"
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count"
JOB_CONTROLLER = "kubernetes.io/job-controller"  # the spec.managedBy value this controller serves
COMPONENT = "job-controller"

DEFAULT_BACKOFF = 10.0  # seconds before the first replacement of a failed pod; doubles per failure
MAX_BACKOFF = 360.0
SYNC_BATCH_PERIOD = 1.0  # the least delay of a back-off requeue, as kube's syncJobBatchPeriod
MAX_UNCOUNTED_PODS = 500
MAX_POD_CREATE_DELETE_PER_SYNC = 500
UNKNOWN_INDEX = -1


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def fmt_time(t: datetime.datetime) -> str:
    return t.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- small predicates over Jobs and their pods --------------------------------------------------------


def condition_true(job: Obj, type_: str) -> Obj | None:
    c = podutil.condition(job, type_)
    return c if c is not None and c.get("status") == "True" else None


def finished_condition(job: Obj) -> str:
    """"Complete" or "Failed" when the Job has finished, else ""."""
    for c in (job.get("status") or {}).get("conditions") or ():
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return ""


def is_finished(job: Obj) -> bool:
    return bool(finished_condition(job))


def is_indexed(job: Obj) -> bool:
    return (job.get("spec") or {}).get("completionMode") == "Indexed"


def is_suspended(job: Obj) -> bool:
    return (job.get("spec") or {}).get("suspend") is True


def per_index_limit(job: Obj) -> int | None:
    v = (job.get("spec") or {}).get("backoffLimitPerIndex")
    return int(v) if isinstance(v, int) else None


def managed_elsewhere(job: Obj) -> bool:
    managed = (job.get("spec") or {}).get("managedBy")
    return bool(managed) and managed != JOB_CONTROLLER


def only_replace_failed(job: Obj) -> bool:
    """Pods are replaced once Failed, not while terminating (podReplacementPolicy Failed)."""
    spec = job.get("spec") or {}
    return spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None


def has_tracking_finalizer(pod: Obj) -> bool:
    return TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or ())


def phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp")) and phase(pod) not in ("Succeeded", "Failed")


def is_pod_failed(pod: Obj, job: Obj) -> bool:
    """Failed, or (unless only failed pods are replaced) deleted before it succeeded."""
    if phase(pod) == "Failed":
        return True
    if only_replace_failed(job):
        return False
    return bool(pod["metadata"].get("deletionTimestamp")) and phase(pod) != "Succeeded"


def completion_index(pod: Obj) -> int:
    value = (pod["metadata"].get("annotations") or {}).get(COMPLETION_INDEX)
    if not isinstance(value, str) or not value.isdigit():
        return UNKNOWN_INDEX
    return int(value)


def _int_annotation(pod: Obj, key: str) -> int:
    value = (pod["metadata"].get("annotations") or {}).get(key)
    if isinstance(value, str) and value.isdigit() and int(value) <= 2**31 - 1:
        return int(value)
    return 0


def finished_time(pod: Obj) -> datetime.datetime:
    """When a pod finished: its containers' last finish, Ready=False, deletion, else creation."""
    latest: datetime.datetime | None = None
    statuses = (pod.get("status") or {}).get("containerStatuses") or ()
    for cs in statuses:
        t = podutil.parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        if t is None:
            latest = None
            break
        latest = t if latest is None or t > latest else latest
    if latest is not None:
        return latest
    ready = podutil.condition(pod, "Ready")
    if ready is not None and ready.get("status") == "False":
        t = podutil.parse_time(ready.get("lastTransitionTime"))
        if t is not None:
            return t
    meta = pod["metadata"]
    deleted = podutil.parse_time(meta.get("deletionTimestamp"))
    if deleted is not None:
        return deleted - datetime.timedelta(seconds=int(meta.get("deletionGracePeriodSeconds") or 0))
    return podutil.parse_time(meta.get("creationTimestamp")) or utcnow()


def new_condition(type_: str, status: str, reason: str, message: str, now: str) -> Obj:
    c: Obj = {"type": type_, "status": status, "lastProbeTime": now, "lastTransitionTime": now}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def ensure_condition(status: Obj, type_: str, cstatus: str, reason: str, message: str, now: str) -> bool:
    """Set a condition as kube's ensureJobConditionStatus: never add one that is False."""
    conds = status.setdefault("conditions", [])
    for i, c in enumerate(conds):
        if c.get("type") == type_:
            if c.get("status") != cstatus or c.get("reason", "") != reason or c.get("message", "") != message:
                conds[i] = new_condition(type_, cstatus, reason, message, now)
                return True
            return False
    if cstatus != "False":
        conds.append(new_condition(type_, cstatus, reason, message, now))
        return True
    if not conds:
        del status["conditions"]
    return False


# -- pod failure policy ---------------------------------------------------------------------------------


def match_failure_policy(policy: Obj | None, pod: Obj) -> tuple[str | None, bool, str | None]:
    """(FailJob message, whether the failure counts, the matched action) for a failed pod."""
    if not policy:
        return None, True, None
    status = pod.get("status") or {}
    meta = pod["metadata"]
    for i, rule in enumerate(policy.get("rules") or ()):
        action = rule.get("action")
        on_exit = rule.get("onExitCodes")
        if on_exit is not None:
            cs = _matching_container(status, on_exit)
            if cs is None:
                continue
            if action == "FailJob":
                code = cs["state"]["terminated"].get("exitCode", 0)
                return (f"Container {cs.get('name')} for pod {meta.get('namespace')}/{meta.get('name')} failed with "
                        f"exit code {code} matching FailJob rule at index {i}"), True, action
        elif rule.get("onPodConditions") is not None:
            pc = _matching_condition(status, rule["onPodConditions"])
            if pc is None:
                continue
            if action == "FailJob":
                return (f"Pod {meta.get('namespace')}/{meta.get('name')} has condition {pc.get('type')} matching "
                        f"FailJob rule at index {i}"), True, action
        else:
            continue
        if action == "Ignore":
            return None, False, action
        if action in ("Count", "FailIndex"):
            return None, True, action
    return None, True, None


def _matching_container(status: Obj, req: Obj) -> Obj | None:
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(key) or ():
            term = (cs.get("state") or {}).get("terminated")
            if term is None:
                continue
            if req.get("containerName") and req["containerName"] != cs.get("name"):
                continue
            code = int(term.get("exitCode", 0) or 0)
            if code == 0:
                continue
            values = req.get("values") or ()
            if (req.get("operator") == "In" and code in values) or (req.get("operator") == "NotIn" and code not in values):
                return dict(cs)
    return None


def _matching_condition(status: Obj, patterns: list[Obj]) -> Obj | None:
    for c in status.get("conditions") or ():
        for p in patterns:
            if c.get("type") == p.get("type") and c.get("status") == p.get("status", "True"):
                return dict(c)
    return None


# -- completion index intervals ("0-3,5,7,8") ------------------------------------------------------------


def parse_indexes(text: str | None, completions: int) -> Intervals:
    """Intervals of a completedIndexes/failedIndexes string, cut at `completions`."""
    out: Intervals = []
    for part in (text or "").split(","):
        if not part:
            continue
        lo_hi = part.split("-")
        try:
            first = int(lo_hi[0])
            last = int(lo_hi[1]) if len(lo_hi) > 1 else first
        except ValueError:
            continue
        if first >= completions:
            break
        last = min(last, completions - 1)
        if out and out[-1][1] == first - 1:
            out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def merge_intervals(a: Intervals, b: Intervals) -> Intervals:
    out: Intervals = []
    for first, last in sorted(a + b):
        if out and first <= out[-1][1] + 1:
            if last > out[-1][1]:
                out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def with_indexes(iv: Intervals, indexes: Iterable[int]) -> Intervals:
    return merge_intervals(iv, [(i, i) for i in indexes])


def total(iv: Intervals | None) -> int:
    return sum(last - first + 1 for first, last in iv or ())


def has_index(iv: Intervals | None, ix: int) -> bool:
    return any(first <= ix <= last for first, last in iv or ())


def format_indexes(iv: Intervals) -> str:
    """kube's compressed form: ranges of three or more as "a-b", two neighbours as "a,b"."""
    parts = []
    for first, last in iv:
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
    return ",".join(parts)


def match_success_policy(policy: Obj | None, completions: int, succeeded: Intervals) -> str | None:
    """The SuccessCriteriaMet message when an Indexed Job's successPolicy is met."""
    if not policy or not succeeded:
        return None
    for i, rule in enumerate(policy.get("rules") or ()):
        count = rule.get("succeededCount")
        if rule.get("succeededIndexes") is not None:
            required = parse_indexes(rule["succeededIndexes"], completions)
            if not required:
                continue
            contains = sum(max(0, min(l1, l2) - max(f1, f2) + 1) for f1, l1 in required for f2, l2 in succeeded)
            if contains == total(required) or (count is not None and contains >= count):
                return f"Matched rules at index {i}"
        elif count is not None and total(succeeded) >= count:
            return f"Matched rules at index {i}"
    return None


# -- back-off ----------------------------------------------------------------------------------------------


@dataclass
class Backoff:
    """Failures since the last success and when the last one happened (kube's backoffRecord)."""

    failures: int = 0
    last_failure: datetime.datetime | None = None


def new_backoff(old: Backoff | None, succeeded: list[Obj], failed: list[Obj]) -> Backoff:
    b = Backoff(old.failures, old.last_failure) if old else Backoff()
    fail_times = sorted(finished_time(p) for p in failed)
    if not succeeded:
        if fail_times:
            b.failures += len(fail_times)
            b.last_failure = fail_times[-1]
        return b
    b = Backoff()
    last_success = max(finished_time(p) for p in succeeded)
    for t in reversed(fail_times):
        if t <= last_success:
            break
        if b.last_failure is None:
            b.last_failure = t
        b.failures += 1
    return b


def remaining_backoff(failures: int, last_failure: datetime.datetime | None, now: datetime.datetime) -> float:
    if failures == 0 or last_failure is None:
        return 0.0
    delay = DEFAULT_BACKOFF
    for _ in range(1, failures):
        delay *= 2
        if delay >= MAX_BACKOFF:
            delay = MAX_BACKOFF
            break
    elapsed = (now - last_failure).total_seconds()
    return 0.0 if delay < elapsed else delay - elapsed


# -- timers ------------------------------------------------------------------------------------------------


class Timers:
    """One pending requeue per key: a later or equal deadline is not scheduled twice."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self._due: dict[Key, float] = {}

    def after(self, key: Key, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + max(seconds, 0.0)
        pending = self._due.get(key)
        if pending is not None and pending <= due + 0.001:
            return
        self._due[key] = due
        loop.call_at(due, self._fire, key, due)

    def _fire(self, key: Key, due: float) -> None:
        # Loops may fire a timer a little early (uvloop rounds to milliseconds): the sync then
        # finds a few milliseconds left and asks again, which must not count as still pending.
        if self._due.get(key) == due:
            del self._due[key]
        if self.controller.manager is not None:
            self.controller.manager.enqueue(self.controller, key)

    def forget(self, key: Key) -> None:
        self._due.pop(key, None)


# -- the Job controller ------------------------------------------------------------------------------------


@dataclass
class _Sync:
    """One sync of one Job: its working copy and what was counted (kube's syncJobCtx)."""

    key: Key
    cluster: str
    job: Obj
    pods: list[Obj]
    active: list[Obj]
    ready: int
    terminating: int
    uncounted_succeeded: set[str]
    uncounted_failed: set[str]
    minor: int = 37  # the cluster's Kubernetes minor version: feature gates follow it
    succeeded: int = 0
    failed: int = 0
    finished: Obj | None = None
    backoff: Backoff = field(default_factory=Backoff)
    prev_succeeded_idx: Intervals = field(default_factory=list)
    succeeded_idx: Intervals = field(default_factory=list)
    failed_idx: Intervals | None = None
    delayed: dict[int, Obj] = field(default_factory=dict)

    @property
    def status(self) -> Obj:
        status: Obj = self.job["status"]
        return status

    @property
    def spec(self) -> Obj:
        spec: Obj = self.job.get("spec") or {}
        return spec

    @property
    def completions(self) -> int:
        return int(self.spec.get("completions") or 0)

    @property
    def delay_terminal(self) -> bool:
        """Since 1.31 (JobManagedBy/JobPodReplacementPolicy): FailureTarget and SuccessCriteriaMet
        come first, and Failed/Complete wait until no pod is terminating."""
        return self.minor >= 31

    @property
    def track_terminating(self) -> bool:
        """`status.terminating` exists since 1.29 (JobPodReplacementPolicy on by default)."""
        return self.minor >= 29

    def failure(self, reason: str, message: str, now: str) -> Obj:
        return new_condition("FailureTarget" if self.delay_terminal else "Failed", "True", reason, message, now)

    def success(self, now: str) -> Obj:
        if self.delay_terminal:
            return new_condition("SuccessCriteriaMet", "True", "CompletionsReached",
                                 "Reached expected number of succeeded pods", now)
        return new_condition("Complete", "True", "", "", now)


def _uid(obj: Obj) -> str:
    return str(obj["metadata"].get("uid", ""))


def _deletion_rank(pod: Obj) -> tuple[int, int, int, int, str]:
    """kube's ActivePods order: unscheduled, pending, not ready, most restarts, newest first."""
    status = pod.get("status") or {}
    scheduled = 1 if (pod.get("spec") or {}).get("nodeName") else 0
    ph = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase", "Pending"), 0)
    ready = 1 if podutil.is_ready(pod) else 0
    restarts = -sum(int(cs.get("restartCount", 0) or 0) for cs in status.get("containerStatuses") or ())
    created = pod["metadata"].get("creationTimestamp", "")
    return (scheduled, ph, ready, restarts, created.translate(_NEWEST_FIRST))


_NEWEST_FIRST = str.maketrans("0123456789", "9876543210")


class JobController(Controller):
    """Runs a Job's pods to completion and reports its status as kube's job controller does."""

    name = "job"
    primary = RESOURCE
    component = COMPONENT
    watches = ("pods",)

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self._backoff: dict[Key, Backoff] = {}
        self.timers = Timers(self)

    kind = "Job"

    def orphan_keys(self, ev: Event) -> Iterable[Key]:
        # An orphan pod: a Job whose selector matches may adopt it.
        if podutil.controller_ref(ev.obj) is None:
            yield from self.selector_keys(ev, podutil.selector_of)

    # -- sync -------------------------------------------------------------------------------------------

    async def reconcile(self, key: Key) -> None:
        cluster, namespace, name = key
        cached = self.client.get(cluster, RESOURCE, namespace, name)
        if cached is None:
            self._backoff.pop(key, None)
            self.timers.forget(key)
            return
        if managed_elsewhere(cached):
            return
        if is_finished(cached):
            self._backoff.pop(key, None)
            self.timers.forget(key)
            # A backup: pods of a finished Job keep no tracking finalizer.
            await self._remove_finalizers(cluster, [p for p in podutil.owned_pods(self.client, cluster, cached)
                                                    if has_tracking_finalizer(p)])
            return
        job = self.client.copy(cached)
        status = job.setdefault("status", {})
        if status.get("uncountedTerminatedPods") is None:
            status["uncountedTerminatedPods"] = {}
        pods = await self._claim_pods(cluster, job)
        active = [p for p in pods if podutil.is_active(p)]
        uncounted = status["uncountedTerminatedPods"]
        s = _Sync(key, cluster, job, pods, active, sum(1 for p in active if podutil.is_ready(p)),
                  sum(1 for p in pods if is_terminating(p)), set(uncounted.get("succeeded") or ()),
                  set(uncounted.get("failed") or ()), self.minor(cluster))
        await self._sync(s)

    async def _sync(self, s: _Sync) -> None:
        spec, status, job = s.spec, s.status, s.job
        now = utcnow()
        now_s = fmt_time(now)
        active = len(s.active)
        new_succeeded, new_failed = self._new_finished_pods(s)
        policy = spec.get("podFailurePolicy")
        s.succeeded = int(status.get("succeeded", 0)) + len(new_succeeded) + len(s.uncounted_succeeded)
        s.failed = (int(status.get("failed", 0)) + sum(1 for p in new_failed if match_failure_policy(policy, p)[1])
                    + len(s.uncounted_failed))
        if not status.get("startTime") and not is_suspended(job):
            status["startTime"] = now_s
        s.backoff = new_backoff(self._backoff.get(s.key), new_succeeded, new_failed)

        s.finished = condition_true(job, "SuccessCriteriaMet")
        if s.finished is None:
            target = condition_true(job, "FailureTarget")
            if target is not None:
                s.finished = new_condition("Failed", "True", target.get("reason", ""), target.get("message", ""),
                                           now_s)
            elif (message := self._fail_job_message(job, s.pods)) is not None:
                s.finished = new_condition("FailureTarget", "True", "PodFailurePolicy", message, now_s)
        if s.finished is None:
            if s.failed > int(spec.get("backoffLimit", 6)) or self._past_backoff_limit_on_failure(job, s.pods):
                s.finished = s.failure("BackoffLimitExceeded", "Job has reached the specified backoff limit", now_s)
            elif self._past_active_deadline(job, now):
                s.finished = s.failure("DeadlineExceeded", "Job was active longer than specified deadline", now_s)
            elif spec.get("activeDeadlineSeconds") is not None and not is_suspended(job):
                started = podutil.parse_time(status.get("startTime")) or now
                left = int(spec["activeDeadlineSeconds"]) - (now - started).total_seconds()
                self.timers.after(s.key, left)

        if is_indexed(job):
            s.prev_succeeded_idx = parse_indexes(status.get("completedIndexes"), s.completions)
            s.succeeded_idx = with_indexes(s.prev_succeeded_idx, sorted({
                completion_index(p) for p in s.pods
                if phase(p) == "Succeeded" and has_tracking_finalizer(p)
                and UNKNOWN_INDEX != completion_index(p) < s.completions}))
            s.succeeded = total(s.succeeded_idx)
            limit = per_index_limit(job)
            if limit is not None:
                s.failed_idx = self._failed_indexes(s, limit)
                if s.finished is None:
                    max_failed = spec.get("maxFailedIndexes")
                    if max_failed is not None and total(s.failed_idx) > int(max_failed):
                        s.finished = s.failure("MaxFailedIndexesExceeded",
                                               "Job has exceeded the specified maximal number of failed indexes", now_s)
                    elif total(s.failed_idx) > 0 and total(s.failed_idx) + total(s.succeeded_idx) >= s.completions:
                        s.finished = s.failure("FailedIndexes", "Job has failed indexes", now_s)
                s.delayed = self._delayed_deletion_per_index(s)
            if s.finished is None and s.minor >= 31:  # JobSuccessPolicy, on by default since 1.31
                message = match_success_policy(spec.get("successPolicy"), s.completions, s.succeeded_idx)
                if message is not None:
                    s.finished = new_condition("SuccessCriteriaMet", "True", "SuccessPolicy", message, now_s)

        suspend_changed = False
        manage_error: ApiError | None = None
        if s.finished is not None:
            deleted_ready, deleted, manage_error = await self._delete_active_pods(s, s.active)
            if deleted != active:
                s.finished = None
            active -= deleted
            s.terminating += deleted
            s.ready -= deleted_ready
        else:
            managed = False
            if not job["metadata"].get("deletionTimestamp"):
                active, manage_error = await self._manage(s)
                managed = True
            completions = spec.get("completions")
            if completions is None:
                complete = s.succeeded > 0 and active == 0
            else:
                complete = s.succeeded >= int(completions) and active == 0
            if complete:
                s.finished = s.success(now_s)
            elif managed:
                suspend_changed = await self._suspend_condition(s, now_s)

        terminating = s.terminating if s.track_terminating else None
        needs_flush = (suspend_changed or active != int(status.get("active", 0))
                       or s.ready != status.get("ready") or terminating != status.get("terminating"))
        status["active"] = active
        status["ready"] = s.ready
        if terminating is None:
            status.pop("terminating", None)
        else:
            status["terminating"] = terminating
        await self._track_status(s, needs_flush)
        if manage_error is not None:
            raise manage_error

    async def _suspend_condition(self, s: _Sync, now_s: str) -> bool:
        if is_suspended(s.job):
            if ensure_condition(s.status, "Suspended", "True", "JobSuspended", "Job suspended", now_s):
                await self.event(s.cluster, s.job, "Normal", "Suspended", "Job suspended")
                return True
            return False
        if ensure_condition(s.status, "Suspended", "False", "JobResumed", "Job resumed", now_s):
            await self.event(s.cluster, s.job, "Normal", "Resumed", "Job resumed")
            # The active deadline counts from the resume, as it does from a first start.
            s.status["startTime"] = now_s
            return True
        return False

    def _new_finished_pods(self, s: _Sync) -> tuple[list[Obj], list[Obj]]:
        """Succeeded and failed pods not yet counted: they still hold the finalizer and are not uncounted."""
        succeeded, failed = [], []
        for p in s.pods:
            if not self._valid(s, p):
                continue
            uid = _uid(p)
            if phase(p) == "Succeeded" and uid not in s.uncounted_succeeded:
                succeeded.append(p)
            elif is_pod_failed(p, s.job) and uid not in s.uncounted_failed:
                failed.append(p)
        return succeeded, failed

    def _valid(self, s: _Sync, pod: Obj) -> bool:
        if not has_tracking_finalizer(pod):
            return False
        if is_indexed(s.job):
            ix = completion_index(pod)
            return UNKNOWN_INDEX != ix < s.completions
        return True

    @staticmethod
    def _fail_job_message(job: Obj, pods: list[Obj]) -> str | None:
        policy = (job.get("spec") or {}).get("podFailurePolicy")
        if not policy:
            return None
        for p in pods:
            if is_pod_failed(p, job):
                message = match_failure_policy(policy, p)[0]
                if message is not None:
                    return message
        return None

    @staticmethod
    def _past_backoff_limit_on_failure(job: Obj, pods: list[Obj]) -> bool:
        spec = job.get("spec") or {}
        if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
            return False
        restarts = 0
        for p in pods:
            if phase(p) in ("Running", "Pending"):
                status = p.get("status") or {}
                for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
                    restarts += int(cs.get("restartCount", 0) or 0)
        limit = int(spec.get("backoffLimit", 6))
        return restarts > 0 if limit == 0 else restarts >= limit

    @staticmethod
    def _past_active_deadline(job: Obj, now: datetime.datetime) -> bool:
        spec, status = job.get("spec") or {}, job.get("status") or {}
        started = podutil.parse_time(status.get("startTime"))
        if spec.get("activeDeadlineSeconds") is None or started is None or is_suspended(job):
            return False
        return (now - started).total_seconds() >= int(spec["activeDeadlineSeconds"])

    # -- per-index back-off -----------------------------------------------------------------------------

    def _failed_indexes(self, s: _Sync, limit: int) -> Intervals:
        prev = parse_indexes(s.status.get("failedIndexes"), s.completions) if s.status.get(
            "failedIndexes") is not None else []
        policy = s.spec.get("podFailurePolicy")
        new = set()
        for p in s.pods:
            ix = completion_index(p)
            if UNKNOWN_INDEX == ix or ix >= s.completions or not has_tracking_finalizer(p) or not is_pod_failed(p, s.job):
                continue
            _, counts, action = match_failure_policy(policy, p)
            if action == "FailIndex" or (counts and _int_annotation(p, INDEX_FAILURE_COUNT) >= limit):
                new.add(ix)
        return with_indexes(prev, sorted(new))

    def _delayed_deletion_per_index(self, s: _Sync) -> dict[int, Obj]:
        """The last failed pod of each index still to be retried: its finalizer waits for the replacement."""
        active_idx = {completion_index(p) for p in s.active}
        out: dict[int, Obj] = {}
        for p in s.pods:
            if not self._valid(s, p) or not is_pod_failed(p, s.job):
                continue
            ix = completion_index(p)
            if has_index(s.succeeded_idx, ix) or has_index(s.failed_idx, ix) or ix in active_idx:
                continue
            last = out.get(ix)
            if last is None or (_absolute_failures(last) <= _absolute_failures(p)
                                and finished_time(p) >= finished_time(last)):
                out[ix] = p
        return out

    def _creatable_indexes(self, indexes: list[int], delayed: dict[int, Obj]) -> tuple[list[int], float]:
        now_ = utcnow()
        ready: list[int] = []
        soonest: float | None = None
        for ix in indexes:
            pod = delayed.get(ix)
            left = 0.0 if pod is None else remaining_backoff(_absolute_failures(pod) + 1, finished_time(pod), now_)
            if left == 0:
                ready.append(ix)
            elif soonest is None or left < soonest:
                soonest = left
        return (ready, 0.0) if ready else (ready, soonest or 0.0)

    # -- pods -------------------------------------------------------------------------------------------

    async def _claim_pods(self, cluster: str, job: Obj) -> list[Obj]:
        """Pods this Job controls, after adopting matching orphans and releasing pods that no longer match."""
        sel = podutil.selector_of(job)
        uid = _uid(job)
        deleting = bool(job["metadata"].get("deletionTimestamp"))
        out = []
        for pod in self.client.list(cluster, "pods", job["metadata"].get("namespace", "")):
            ref = podutil.controller_ref(pod)
            matches = sel is not None and not sel.empty() and sel.matches(pod["metadata"].get("labels") or {})
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if not matches and not deleting:
                    await podutil.release(self.client, cluster, pod, uid)
                    continue
                out.append(pod)
            elif matches and not deleting and not pod["metadata"].get("deletionTimestamp"):
                adopted = await podutil.adopt(self.client, cluster, job, pod, TRACKING_FINALIZER)
                if adopted is not None:
                    out.append(adopted)
        return out

    async def _manage(self, s: _Sync) -> tuple[int, ApiError | None]:
        """Create or delete pods towards the wanted number of active ones (kube's manageJob)."""
        spec, job = s.spec, s.job
        active = len(s.active)
        if is_suspended(job):
            ready, removed, err = await self._delete_job_pods(s, self._pods_for_removal(s, s.active, active))
            s.terminating += removed
            s.ready -= ready
            return active - removed, err
        parallelism = int(spec.get("parallelism", 1))
        completions = spec.get("completions")
        if completions is None:
            want = active if s.succeeded > 0 else parallelism
        else:
            want = max(min(int(completions) - s.succeeded, parallelism), 0)
        doomed = self._pods_for_removal(s, s.active, max(active - want, 0))[:MAX_POD_CREATE_DELETE_PER_SYNC]
        if doomed:
            ready, removed, err = await self._delete_job_pods(s, doomed)
            s.terminating += removed
            s.ready -= ready
            return active - removed, err
        diff = want - (s.terminating if only_replace_failed(job) else 0) - active
        if diff <= 0:
            return active, None
        if per_index_limit(job) is None:
            left = remaining_backoff(s.backoff.failures, s.backoff.last_failure, utcnow())
            if left > 0:
                self.timers.after(s.key, max(left, SYNC_BATCH_PERIOD))
                return 0, None
        diff = min(diff, MAX_POD_CREATE_DELETE_PER_SYNC)
        indexes: list[int] = []
        if is_indexed(job):
            indexes = self._first_pending_indexes(s, diff)
            if per_index_limit(job) is not None:
                indexes, left = self._creatable_indexes(indexes, s.delayed)
                if left > 0:
                    self.timers.after(s.key, max(left, SYNC_BATCH_PERIOD))
                    return 0, None
            diff = len(indexes)
        return await self._create_pods(s, active, diff, indexes)

    async def _create_pods(self, s: _Sync, active: int, diff: int, indexes: list[int]) -> tuple[int, ApiError | None]:
        job = s.job
        template = self.client.copy(s.spec.get("template") or {})
        tmeta = template.setdefault("metadata", {})
        if TRACKING_FINALIZER not in (tmeta.get("finalizers") or ()):
            tmeta["finalizers"] = [*(tmeta.get("finalizers") or ()), TRACKING_FINALIZER]
        if is_indexed(job):
            _add_index_env(template, "labels" if s.minor >= 28 else "annotations")
        active += diff
        first_error: ApiError | None = None
        batch = min(diff, 1)
        while diff > 0:
            errors_in_batch = 0
            for _ in range(batch):
                index = indexes.pop(0) if indexes else UNKNOWN_INDEX
                pod = self._new_pod(s, template, index)
                try:
                    made = await self.client.create(s.cluster, pod)
                except ApiError as e:
                    if "being terminated" in e.message:
                        continue  # the namespace goes away; every later create fails alike
                    await self.event(s.cluster, job, "Warning", "FailedCreate", f"Error creating: {e.message}")
                    active -= 1
                    errors_in_batch += 1
                    first_error = first_error or e
                    continue
                await self.event(s.cluster, job, "Normal", "SuccessfulCreate", f"Created pod: {made['metadata']['name']}")
            skipped = diff - batch
            if errors_in_batch and skipped > 0:
                # Slow start: a failing batch stops the rest; the next sync tries again.
                active -= skipped
                break
            diff -= batch
            batch = min(2 * batch, diff)
        return active, first_error

    def _new_pod(self, s: _Sync, template: Obj, index: int) -> Obj:
        name = s.job["metadata"]["name"]
        if index == UNKNOWN_INDEX:
            return podutil.pod_from_template(s.job, template, _generate_name(name))
        t = self.client.copy(template)
        tmeta = t.setdefault("metadata", {})
        tmeta.setdefault("annotations", {})[COMPLETION_INDEX] = str(index)
        if s.minor >= 28:  # PodIndexLabel
            tmeta.setdefault("labels", {})[COMPLETION_INDEX] = str(index)
        t.setdefault("spec", {})["hostname"] = f"{name}-{index}"
        if per_index_limit(s.job) is not None:
            failures, ignored = self._index_failure_counts(s.job, s.delayed.get(index))
            tmeta["annotations"][INDEX_FAILURE_COUNT] = str(failures)
            if ignored > 0:
                tmeta["annotations"][INDEX_IGNORED_FAILURE_COUNT] = str(ignored)
        suffix = f"-{index}-"
        prefix = name + suffix
        if len(prefix) > 58:
            prefix = prefix[:58 - len(suffix)] + suffix
        return podutil.pod_from_template(s.job, t, prefix)

    @staticmethod
    def _index_failure_counts(job: Obj, replaced: Obj | None) -> tuple[int, int]:
        if replaced is None:
            return 0, 0
        failures = _int_annotation(replaced, INDEX_FAILURE_COUNT)
        ignored = _int_annotation(replaced, INDEX_IGNORED_FAILURE_COUNT)
        if match_failure_policy((job.get("spec") or {}).get("podFailurePolicy"), replaced)[1]:
            failures += 1
        else:
            ignored += 1
        return failures, ignored

    def _first_pending_indexes(self, s: _Sync, count: int) -> list[int]:
        """The lowest `count` indexes neither succeeded, failed, running nor (when waited for) terminating."""
        if count == 0:
            return []
        taken = with_indexes(s.succeeded_idx, sorted({i for i in map(completion_index, s.active) if i >= 0}))
        if only_replace_failed(s.job):
            taken = with_indexes(taken, sorted({completion_index(p) for p in s.pods
                                                 if is_terminating(p) and completion_index(p) >= 0}))
        if s.failed_idx is not None:
            taken = merge_intervals(taken, s.failed_idx)
        out: list[int] = []
        candidate = 0
        for first, last in taken:
            while candidate < s.completions and len(out) < count and candidate < first:
                out.append(candidate)
                candidate += 1
            candidate = max(candidate, last + 1)
        while candidate < s.completions and len(out) < count:
            out.append(candidate)
            candidate += 1
        return out

    def _pods_for_removal(self, s: _Sync, pods: list[Obj], at_least: int) -> list[Obj]:
        """Surplus pods: duplicated or out-of-range indexes first, then the least advanced."""
        rm: list[Obj] = []
        left = list(pods)
        if is_indexed(s.job):
            left = []
            groups: dict[int, list[Obj]] = {}
            for p in pods:
                groups.setdefault(completion_index(p), []).append(p)
            for ix, group in sorted(groups.items()):
                if ix == UNKNOWN_INDEX or ix >= s.completions:
                    rm.extend(group)
                    continue
                group.sort(key=_deletion_rank)
                rm.extend(group[:-1])
                left.append(group[-1])
        if len(rm) < at_least:
            left.sort(key=_deletion_rank)
            rm.extend(left[:at_least - len(rm)])
        return rm

    async def _delete_active_pods(self, s: _Sync, pods: list[Obj]) -> tuple[int, int, ApiError | None]:
        """DELETE the pods, keeping their finalizers (removed once they are counted)."""
        return await self._delete_pods(s, pods, drop_finalizer=False)

    async def _delete_job_pods(self, s: _Sync, pods: list[Obj]) -> tuple[int, int, ApiError | None]:
        """Remove the tracking finalizer (these pods are not counted), then DELETE."""
        return await self._delete_pods(s, pods, drop_finalizer=True)

    async def _delete_pods(self, s: _Sync, pods: list[Obj],
                           drop_finalizer: bool) -> tuple[int, int, ApiError | None]:
        """(ready ones deleted, deleted, first error) of deleting `pods`, with an event for each."""
        ready = deleted = 0
        first: ApiError | None = None
        for pod in pods:
            try:
                if drop_finalizer and has_tracking_finalizer(pod):
                    await self._remove_finalizer(s.cluster, pod)
                await self.client.delete(s.cluster, pod)
            except ApiError as e:
                first = first or e
                continue
            deleted += 1
            ready += 1 if podutil.is_ready(pod) else 0
            await self.event(s.cluster, s.job, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
        return ready, deleted, first

    async def _remove_finalizer(self, cluster: str, pod: Obj) -> None:
        """Drop the tracking finalizer; a pod already gone counts as done. Retries on conflicts."""
        meta = pod["metadata"]
        for _ in range(5):
            current = self.client.get(cluster, "pods", meta.get("namespace", ""), meta["name"])
            if current is None or current["metadata"].get("uid") != meta.get("uid"):
                return
            if not has_tracking_finalizer(current):
                return
            upd = self.client.copy(current)
            rest = [f for f in upd["metadata"].get("finalizers") or () if f != TRACKING_FINALIZER]
            if rest:
                upd["metadata"]["finalizers"] = rest
            else:
                upd["metadata"].pop("finalizers", None)
            try:
                await self.client.update(cluster, upd)
                return
            except ApiError as e:
                if e.code == 404:
                    return
                if e.code != 409:
                    raise
        raise ApiError(409, "Conflict", f"could not remove the tracking finalizer of pod {meta['name']}")

    async def _remove_finalizers(self, cluster: str, pods: list[Obj]) -> tuple[list[bool], ApiError | None]:
        done, first = [], None
        for pod in pods:
            try:
                await self._remove_finalizer(cluster, pod)
                done.append(True)
            except ApiError as e:
                done.append(False)
                first = first or e
        return done, first

    # -- status tracking --------------------------------------------------------------------------------

    def _can_remove_finalizer(self, s: _Sync, pod: Obj, failed: bool) -> bool:
        if s.job["metadata"].get("deletionTimestamp") or s.finished is not None or phase(pod) == "Succeeded":
            return True
        if not failed:
            return False
        if per_index_limit(s.job) is not None:
            waiting = s.delayed.get(completion_index(pod))
            if waiting is not None and _uid(waiting) == _uid(pod):
                return False
        return True

    async def _track_status(self, s: _Sync, needs_flush: bool) -> None:
        """Record finished pods as uncounted, remove their finalizers, count them, finish the Job."""
        job, status = s.job, s.status
        indexed = is_indexed(job)
        pods = sorted(s.pods, key=completion_index) if indexed else s.pods
        with_finalizer = {_uid(p) for p in pods if has_tracking_finalizer(p)}
        if _clean_uncounted(status, with_finalizer):
            needs_flush = True
        uncounted = status["uncountedTerminatedPods"]
        unc_succeeded = list(uncounted.get("succeeded") or ())
        unc_failed = list(uncounted.get("failed") or ())
        policy = s.spec.get("podFailurePolicy")
        to_remove: list[Obj] = []
        new_indexes: list[int] = []
        reached_max = False
        failing = s.finished is not None and s.finished["type"] != "SuccessCriteriaMet"
        for pod in pods:
            if not has_tracking_finalizer(pod):
                continue
            failed = is_pod_failed(pod, job)
            if not self._can_remove_finalizer(s, pod, failed):
                continue
            to_remove.append(pod)
            uid = _uid(pod)
            if phase(pod) == "Succeeded" and uid not in s.uncounted_failed:
                if indexed:
                    ix = completion_index(pod)
                    if UNKNOWN_INDEX != ix < s.completions and not has_index(s.prev_succeeded_idx, ix):
                        new_indexes.append(ix)
                        needs_flush = True
                elif uid not in s.uncounted_succeeded:
                    needs_flush = True
                    unc_succeeded.append(uid)
            elif failed or failing:
                ix = completion_index(pod)
                if uid not in s.uncounted_failed and (not indexed or UNKNOWN_INDEX != ix < s.completions):
                    if match_failure_policy(policy, pod)[1]:
                        needs_flush = True
                        unc_failed.append(uid)
            if len(new_indexes) + len(unc_succeeded) + len(unc_failed) >= MAX_UNCOUNTED_PODS:
                reached_max = True
                break
        _set_uncounted(status, unc_succeeded, unc_failed)
        if indexed:
            s.succeeded_idx = with_indexes(s.succeeded_idx, new_indexes)
            text = format_indexes(s.succeeded_idx)
            if text != status.get("completedIndexes", ""):
                needs_flush = True
            status["succeeded"] = total(s.succeeded_idx)
            status["completedIndexes"] = text
            failed_text = format_indexes(s.failed_idx) if s.failed_idx is not None else None
            if failed_text != status.get("failedIndexes"):
                status["failedIndexes"] = failed_text
                needs_flush = True
        now_s = fmt_time(utcnow())
        if s.finished is not None and s.finished["type"] == "FailureTarget":
            status.setdefault("conditions", []).append(s.finished)
            needs_flush = True
            s.finished = new_condition("Failed", "True", s.finished.get("reason", ""), s.finished.get("message", ""),
                                       now_s)
        if s.finished is not None and s.finished["type"] == "SuccessCriteriaMet":
            if condition_true(job, "SuccessCriteriaMet") is None:
                status.setdefault("conditions", []).append(s.finished)
                needs_flush = True
            s.finished = new_condition("Complete", "True", s.finished.get("reason", ""),
                                       s.finished.get("message", ""), now_s)
        needs_flush = await self._flush_and_remove_finalizers(s, to_remove, with_finalizer, needs_flush)
        finished = not reached_max and self._enact_finished(s)
        if finished or needs_flush:
            await self._write_status(s)
            if finished:
                await self._record_finished(s)

    async def _flush_and_remove_finalizers(self, s: _Sync, to_remove: list[Obj], with_finalizer: set[str],
                                           needs_flush: bool) -> bool:
        """Write uncounted pods first, then drop finalizers, then count the pods that lost theirs."""
        if needs_flush:
            await self._write_status(s)
            self._backoff[s.key] = s.backoff
            needs_flush = False
        error: ApiError | None = None
        if to_remove:
            done, error = await self._remove_finalizers(s.cluster, to_remove)
            for pod, ok in zip(to_remove, done, strict=True):
                if ok:
                    with_finalizer.discard(_uid(pod))
        if _clean_uncounted(s.status, with_finalizer):
            needs_flush = True
        if error is not None:
            if needs_flush:
                await self._write_status(s)
            raise error
        return needs_flush

    def _enact_finished(self, s: _Sync) -> bool:
        if s.finished is None:
            return False
        uncounted = s.status.get("uncountedTerminatedPods") or {}
        if uncounted.get("succeeded") or uncounted.get("failed"):
            return False
        if s.delay_terminal and s.terminating > 0:
            return False
        f = s.finished
        ensure_condition(s.status, f["type"], f["status"], f.get("reason", ""), f.get("message", ""),
                         fmt_time(utcnow()))
        if f["type"] == "Complete":
            s.status["completionTime"] = f["lastTransitionTime"]
        return True

    async def _record_finished(self, s: _Sync) -> None:
        f = s.finished
        assert f is not None
        if f["type"] == "Complete":
            completions = s.spec.get("completions")
            if completions is not None and int(s.status.get("succeeded", 0)) > int(completions):
                await self.event(s.cluster, s.job, "Warning", "TooManySucceededPods",
                                 "Too many succeeded pods running after completion count reached")
            await self.event(s.cluster, s.job, "Normal", "Completed", "Job completed")
        else:
            await self.event(s.cluster, s.job, "Warning", f.get("reason", ""), f.get("message", ""))
        self._backoff.pop(s.key, None)
        self.timers.forget(s.key)

    async def _write_status(self, s: _Sync) -> None:
        upd = self.client.copy(s.job)
        upd["status"] = _wire_status(s.status)
        written = await self.client.update_status(s.cluster, upd)
        s.job = self.client.copy(written)
        status = s.job.setdefault("status", {})
        # Keep the in-memory zero values the rest of the sync compares against.
        status.setdefault("uncountedTerminatedPods", {})


def _absolute_failures(pod: Obj) -> int:
    return _int_annotation(pod, INDEX_FAILURE_COUNT) + _int_annotation(pod, INDEX_IGNORED_FAILURE_COUNT)


def _generate_name(job_name: str) -> str:
    prefix = job_name + "-"
    return prefix if len(prefix) <= 58 else prefix[:58]


def _add_index_env(template: Obj, source: str) -> None:
    """JOB_COMPLETION_INDEX from the pod's index label (or annotation), on every (init) container."""
    spec = template.setdefault("spec", {})
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or ():
            env = c.setdefault("env", [])
            if not any(v.get("name") == "JOB_COMPLETION_INDEX" for v in env):
                env.append({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                    "apiVersion": "v1", "fieldPath": f"metadata.{source}['{COMPLETION_INDEX}']"}}})


def _set_uncounted(status: Obj, succeeded: list[str], failed: list[str]) -> None:
    unc: Obj = {}
    if succeeded:
        unc["succeeded"] = succeeded
    if failed:
        unc["failed"] = failed
    status["uncountedTerminatedPods"] = unc


def _clean_uncounted(status: Obj, with_finalizer: set[str]) -> bool:
    """Count uncounted pods whose finalizer is gone; True when the status changed."""
    unc = status.setdefault("uncountedTerminatedPods", {})
    changed = False
    for key in ("succeeded", "failed"):
        uids = list(unc.get(key) or ())
        kept = [u for u in uids if u in with_finalizer]
        if len(kept) != len(uids):
            changed = True
            status[key] = int(status.get(key, 0)) + len(uids) - len(kept)
            if kept:
                unc[key] = kept
            else:
                unc.pop(key, None)
    return changed


def _wire_status(status: Obj) -> Obj:
    """The status as kube serializes it: zero counters and empty strings omitted, pointers kept."""
    out = dict(status)
    for key in ("active", "succeeded", "failed"):
        if not out.get(key):
            out.pop(key, None)
    if not out.get("completedIndexes"):
        out.pop("completedIndexes", None)
    if out.get("failedIndexes") is None:
        out.pop("failedIndexes", None)
    if not out.get("conditions"):
        out.pop("conditions", None)
    return out


# -- orphaned tracking finalizers ----------------------------------------------------------------------


class JobPodFinalizerController(Controller):
    """Removes the tracking finalizer from pods whose Job is gone, finished, or no longer theirs.

    kube's job controller keeps a separate orphan queue for these; here pods are the primary
    resource, and only pods that still carry the finalizer are looked at.
    """

    name = "job-pod-finalizers"
    primary = "pods"

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.type != "DELETED" and has_tracking_finalizer(ev.obj):
            yield (ev.cluster, ev.namespace, ev.name)

    async def reconcile(self, key: Key) -> None:
        cluster, namespace, name = key
        pod = self.client.get(cluster, "pods", namespace, name)
        if pod is None or not has_tracking_finalizer(pod):
            return
        ref = podutil.controller_ref(pod)
        if ref is not None:
            if ref.get("kind") != "Job" or ref.get("apiVersion") != "batch/v1":
                return  # not a Job's pod: its finalizer is someone else's business
            job = self.client.get(cluster, RESOURCE, namespace, ref.get("name", ""))
            if job is not None and job["metadata"].get("uid") == ref.get("uid"):
                if managed_elsewhere(job) or not is_finished(job):
                    return  # the Job's own sync counts this pod first
        upd = self.client.copy(pod)
        rest = [f for f in upd["metadata"].get("finalizers") or () if f != TRACKING_FINALIZER]
        if rest:
            upd["metadata"]["finalizers"] = rest
        else:
            upd["metadata"].pop("finalizers", None)
        try:
            await self.client.update(cluster, upd)
        except ApiError as e:
            if e.code != 404:
                raise


# -- TTL after finished -----------------------------------------------------------------------------------


class TTLAfterFinishedController(Controller):
    """Deletes finished Jobs `ttlSecondsAfterFinished` after they finished (foreground, UID precondition)."""

    name = "ttl-after-finished"
    primary = RESOURCE

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.timers = Timers(self)

    async def reconcile(self, key: Key) -> None:
        cluster, namespace, name = key
        job = self.client.get(cluster, RESOURCE, namespace, name)
        if job is None:
            self.timers.forget(key)
            return
        left = self.time_left(job, utcnow())
        if left is None:
            return
        if left > 0:
            self.timers.after(key, left)
            return
        self.timers.forget(key)
        await self.client.delete(cluster, job, propagation="Foreground", uid_precondition=True)

    @staticmethod
    def time_left(job: Obj, now: datetime.datetime) -> float | None:
        """Seconds until the Job expires; None when it is not up for cleanup."""
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None or job["metadata"].get("deletionTimestamp"):
            return None
        for c in (job.get("status") or {}).get("conditions") or ():
            if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
                finished_at = podutil.parse_time(c.get("lastTransitionTime"))
                if finished_at is None:
                    return None
                return (finished_at + datetime.timedelta(seconds=int(ttl)) - now).total_seconds()
        return None


__all__ = ["JobController", "JobPodFinalizerController", "TTLAfterFinishedController", "DEFAULT_BACKOFF",
           "MAX_BACKOFF", "SYNC_BATCH_PERIOD", "TRACKING_FINALIZER", "format_indexes", "parse_indexes"]
