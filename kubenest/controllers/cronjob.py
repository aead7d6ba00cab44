"""CronJob controller and the cron schedule parser it uses.

As kube's cronjob controller (v2): each sync looks at the Jobs the CronJob controls, updates
`status.active`, `lastScheduleTime` and `lastSuccessfulTime`, trims finished Jobs to the history
limits, and starts the most recent missed schedule (if within `startingDeadlineSeconds` and
allowed by `concurrencyPolicy`) as a Job named `<cronjob>-<scheduled minutes since epoch>`.
It then requeues itself for the next scheduled time: no polling.

Schedules follow robfig/cron's standard parser (five fields, names, ranges, steps, `?`,
`@hourly`-style descriptors, `@every <duration>`, and a `TZ=`/`CRON_TZ=` prefix). "Now" comes
from the module-level `clock`, so tests can move time without waiting for it.
"""

from __future__ import annotations

import calendar
import datetime
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from kubenest.api.errors import ApiError
from kubenest.controllers import podutil
from kubenest.controllers.job import Timers, fmt_time, is_finished
from kubenest.controllers.runtime import Controller, Key

Obj = dict[str, Any]
UTC = datetime.UTC
RESOURCE = "cronjobs.batch"
COMPONENT = "cronjob-controller"
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_SCHEDULE_DELTA = 0.1  # seconds added to each requeue, as kube pads for clock skew


def _real_now() -> datetime.datetime:
    return datetime.datetime.now(UTC)


clock: Callable[[], datetime.datetime] = _real_now  # tests replace it to move time


# -- cron schedules ---------------------------------------------------------------------------------------

_STAR = 1 << 63
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
# (min, max, names) of minute, hour, day of month, month, day of week
_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 6, _DAYS))
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}


class ScheduleError(ValueError):
    """A schedule robfig/cron would not parse; the message is the one it gives."""


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: bit sets per field (bit 63 marks a `*`), or a constant delay."""

    minute: int = 0
    hour: int = 0
    dom: int = 0
    month: int = 0
    dow: int = 0
    location: datetime.tzinfo = UTC
    every: float = 0.0  # seconds, for `@every`

    def next(self, t: datetime.datetime) -> datetime.datetime | None:
        """The first activation strictly after `t`; None if none within five years."""
        if self.every:
            return t.replace(microsecond=0) + datetime.timedelta(seconds=self.every)
        return _next_time(self, t)


def parse_schedule(spec: str) -> Schedule:
    """Parse a schedule as robfig/cron's ParseStandard does."""
    if not spec:
        raise ScheduleError("empty spec string")
    location: datetime.tzinfo = UTC
    if spec.startswith("TZ=") or spec.startswith("CRON_TZ="):
        space = spec.find(" ")
        eq = spec.find("=")
        name = spec[eq + 1:space] if space >= 0 else spec[eq + 1:]
        location = load_location(name, f"provided bad location {name}: ")
        spec = spec[space:].strip() if space >= 0 else ""
    if spec.startswith("@"):
        return _descriptor(spec, location)
    fields = spec.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    bits = [_field(f, *_BOUNDS[i]) for i, f in enumerate(fields)]
    return Schedule(bits[0], bits[1], bits[2], bits[3], bits[4], location)


def load_location(name: str, prefix: str = "") -> datetime.tzinfo:
    """An IANA time zone as Go's time.LoadLocation finds it ("" and "UTC" are UTC)."""
    if name in ("", "UTC"):
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{prefix}unknown time zone {name}") from None


def _descriptor(spec: str, location: datetime.tzinfo) -> Schedule:
    if spec in _DESCRIPTORS:
        s = parse_schedule(_DESCRIPTORS[spec])
        return Schedule(s.minute, s.hour, s.dom, s.month, s.dow, location)
    if spec.startswith("@every "):
        text = spec[len("@every "):]
        try:
            seconds = parse_duration(text)
        except ValueError as e:
            raise ScheduleError(f"failed to parse duration {spec}: {e}") from None
        return Schedule(location=location, every=float(max(int(seconds), 1)))
    raise ScheduleError(f"unrecognized descriptor: {spec}")


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds of a Go duration string such as "1h30m" or "90s"."""
    s = text
    sign = 1.0
    if s[:1] in "+-" and s:
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f'time: invalid duration "{text}"')
    pos, out = 0, 0.0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None:
            if re.match(r"(\d+(?:\.\d*)?|\.\d+)", s[pos:]):
                rest = s[pos:].lstrip("0123456789.")
                if not rest:
                    raise ValueError(f'time: missing unit in duration "{text}"')
                raise ValueError(f'time: unknown unit "{re.match(r"[^0-9.]*", rest).group(0)}" in duration "{text}"')  # type: ignore[union-attr]
            raise ValueError(f'time: invalid duration "{text}"')
        out += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return sign * out


def _field(text: str, lo: int, hi: int, names: dict[str, int]) -> int:
    bits = 0
    for expr in text.split(","):
        bits |= _range(expr, lo, hi, names)
    return bits


def _range(expr: str, lo: int, hi: int, names: dict[str, int]) -> int:
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    single = len(low_high) == 1
    extra = 0
    if low_high[0] in ("*", "?"):
        start, end, extra = lo, hi, _STAR
    else:
        start = _int_or_name(low_high[0], names)
        if len(low_high) == 1:
            end = start
        elif len(low_high) == 2:
            end = _int_or_name(low_high[1], names)
        else:
            raise ScheduleError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _int(range_and_step[1])
        if single:
            end = hi  # "N/step" means "N-max/step"
        if step > 1:
            extra = 0
    else:
        raise ScheduleError(f"too many slashes: {expr}")
    if start < lo:
        raise ScheduleError(f"beginning of range ({start}) below minimum ({lo}): {expr}")
    if end > hi:
        raise ScheduleError(f"end of range ({end}) above maximum ({hi}): {expr}")
    if start > end:
        raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ScheduleError(f"step of range should be a positive number: {expr}")
    bits = 0
    for v in range(start, end + 1, step):
        bits |= 1 << v
    return bits | extra


def _int_or_name(text: str, names: dict[str, int]) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    return _int(text)


def _int(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ScheduleError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax')
    n = int(text)
    if n < 0:
        raise ScheduleError(f"negative number ({n}) not allowed: {text}")
    return n


def _day_matches(s: Schedule, t: datetime.datetime) -> bool:
    dom = bool(1 << t.day & s.dom)
    dow = bool(1 << ((t.weekday() + 1) % 7) & s.dow)
    if s.dom & _STAR or s.dow & _STAR:
        return dom and dow
    return dom or dow


def _wall(t: datetime.datetime, loc: datetime.tzinfo) -> datetime.datetime:
    """Normalize a wall-clock time in `loc` (times in a DST gap move forward, as Go's time.Date does)."""
    return t.replace(tzinfo=loc).astimezone(UTC).astimezone(loc)


def _plus(t: datetime.datetime, seconds: int) -> datetime.datetime:
    """Elapsed-time arithmetic (Python's own adds wall-clock time within one zone)."""
    return (t.astimezone(UTC) + datetime.timedelta(seconds=seconds)).astimezone(t.tzinfo)


def _next_time(s: Schedule, after: datetime.datetime) -> datetime.datetime | None:
    """robfig/cron's SpecSchedule.Next: advance month, day, hour and minute until all match."""
    loc = s.location
    origin = after.tzinfo or UTC
    t = after.astimezone(loc).replace(microsecond=0)
    t = _plus(t, 1)
    added = False
    year_limit = t.year + 5
    while True:
        if t.year > year_limit:
            return None
        wrapped = False
        while not (1 << t.month & s.month):
            if not added:
                added = True
                t = _wall(datetime.datetime(t.year, t.month, 1), loc)
            y, m = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
            t = _wall(datetime.datetime(y, m, 1, t.hour, t.minute, t.second), loc)
            if t.month == 1:
                wrapped = True
                break
        if wrapped:
            continue
        while not _day_matches(s, t):
            if not added:
                added = True
                t = _wall(datetime.datetime(t.year, t.month, t.day), loc)
            day = datetime.date(t.year, t.month, t.day) + datetime.timedelta(days=1)
            t = _wall(datetime.datetime(day.year, day.month, day.day, t.hour, t.minute, t.second), loc)
            # A DST change can leave the day starting at 23:00 or 01:00; go back to midnight.
            if t.hour != 0:
                t = _plus(t, (24 - t.hour) * 3600) if t.hour > 12 else _plus(t, -t.hour * 3600)
            if t.day == 1:
                wrapped = True
                break
        if wrapped:
            continue
        while not (1 << t.hour & s.hour):
            if not added:
                added = True
                t = _wall(datetime.datetime(t.year, t.month, t.day, t.hour), loc)
            t = _plus(t, 3600)
            if t.hour == 0:
                wrapped = True
                break
        if wrapped:
            continue
        while not (1 << t.minute & s.minute):
            if not added:
                added = True
                t = t.replace(second=0)
            t = _plus(t, 60)
            if t.minute == 0:
                wrapped = True
                break
        if wrapped:
            continue
        while t.second != 0:
            if not added:
                added = True
            t = _plus(t, 1)
            if t.second == 0:
                wrapped = True
                break
        if wrapped:
            continue
        return t.astimezone(origin)


def schedule_spec(cj: Obj) -> tuple[str, bool]:
    """The schedule to parse (with the timeZone as a TZ= prefix) and whether it embeds TZ itself."""
    spec = cj.get("spec") or {}
    schedule = str(spec.get("schedule") or "")
    if "TZ" in schedule:
        return schedule, True
    tz = spec.get("timeZone")
    if tz is not None:
        try:
            load_location(tz)
        except ScheduleError:
            return schedule, False
        return f"TZ={tz} {schedule}", False
    return schedule, False


def most_recent_schedule(cj: Obj, now: datetime.datetime, sched: Schedule, with_deadline: bool
                         ) -> tuple[datetime.datetime, datetime.datetime | None, int]:
    """(earliest time considered, the latest missed schedule or None, how many were missed)."""
    meta, spec, status = cj["metadata"], cj.get("spec") or {}, cj.get("status") or {}
    earliest = podutil.parse_time(status.get("lastScheduleTime")) or podutil.parse_time(
        meta.get("creationTimestamp")) or now
    if with_deadline and spec.get("startingDeadlineSeconds") is not None:
        deadline = now - datetime.timedelta(seconds=int(spec["startingDeadlineSeconds"]))
        if deadline > earliest:
            earliest = deadline
    t1 = sched.next(earliest)
    if t1 is None or now < t1:
        return earliest, None, 0
    t2 = sched.next(t1)
    if t2 is None or now < t2:
        return earliest, t1, 0
    between = round((t2 - t1).total_seconds())
    if between < 1:
        raise ScheduleError("time difference between two schedules is less than 1 second")
    missed = int((now - t1).total_seconds()) // between + 1
    recent: datetime.datetime | None = None
    t: datetime.datetime | None = sched.next(t1 + datetime.timedelta(seconds=(missed - 2) * between))
    while t is not None and t <= now:
        recent = t
        t = sched.next(t)
    return earliest, recent, missed


def next_schedule_delay(cj: Obj, now: datetime.datetime, sched: Schedule) -> float:
    """Seconds until the sync after the next scheduled time."""
    try:
        earliest, recent, missed = most_recent_schedule(cj, now, sched, False)
        base = recent if recent is not None else (earliest if missed == 0 else now)
    except ScheduleError:
        base = now
    nxt = sched.next(base)
    if nxt is None:
        return 365 * 24 * 3600.0
    return (nxt - now).total_seconds() + NEXT_SCHEDULE_DELTA


def job_name(cj: Obj, scheduled: datetime.datetime) -> str:
    return f"{cj['metadata']['name']}-{int(scheduled.timestamp()) // 60}"


def rfc3339(t: datetime.datetime) -> str:
    """Go's time.RFC3339: "Z" for a zero offset, "+hh:mm" otherwise."""
    offset = t.utcoffset() or datetime.timedelta(0)
    if not offset:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = t.strftime("%Y-%m-%dT%H:%M:%S%z")
    return text[:-2] + ":" + text[-2:]


def rfc1123z(t: datetime.datetime) -> str:
    return t.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def job_from_template(cj: Obj, scheduled: datetime.datetime, minor: int = 37) -> Obj:
    """The Job for one scheduled time (kube's getJobFromTemplate2)."""
    spec = cj.get("spec") or {}
    template = spec.get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    meta: Obj = {"name": job_name(cj, scheduled), "namespace": cj["metadata"].get("namespace", "")}
    annotations = dict(tmeta.get("annotations") or {})
    if minor >= 32:  # CronJobsScheduledAnnotation, on by default since 1.32
        loc = load_location(spec.get("timeZone") or "")
        annotations[SCHEDULED_TIMESTAMP] = rfc3339(scheduled.astimezone(loc))
    if annotations:
        meta["annotations"] = annotations
    meta["ownerReferences"] = [podutil.owner_reference(cj)]
    if tmeta.get("labels"):
        meta["labels"] = dict(tmeta["labels"])
    job_spec = orjson.loads(orjson.dumps(template.get("spec") or {}))
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": job_spec}


def object_reference(job: Obj) -> Obj:
    """A core/v1 ObjectReference to a Job, with Go's field order."""
    meta = job["metadata"]
    return {"kind": "Job", "namespace": meta.get("namespace", ""), "name": meta["name"], "uid": meta.get("uid"),
            "apiVersion": "batch/v1", "resourceVersion": meta.get("resourceVersion")}


# -- the controller -------------------------------------------------------------------------------------


class CronJobController(Controller):
    """Starts Jobs on schedule and keeps a CronJob's status and history, as kube's cronjob controller."""

    name = "cronjob"
    primary = RESOURCE
    component = COMPONENT
    watches = ("jobs.batch",)

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.timers = Timers(self)

    kind = "CronJob"

    async def reconcile(self, key: Key) -> None:
        cluster, namespace, name = key
        cached = self.client.get(cluster, RESOURCE, namespace, name)
        if cached is None:
            self.timers.forget(key)
            return
        jobs = [j for j in self.client.list(cluster, "jobs.batch", namespace)
                if (ref := podutil.controller_ref(j)) is not None and ref.get("name") == name]
        cj = self.client.copy(cached)
        cj.setdefault("status", {})
        changed = await self._cleanup_finished_jobs(cluster, cj, jobs)
        delay, synced = await self._sync(cluster, cj, jobs)
        if changed or synced:
            upd = self.client.copy(cj)
            if not upd["status"].get("active"):
                upd["status"].pop("active", None)
            await self.client.update_status(cluster, upd)
        if delay is not None:
            self.timers.after(key, delay)

    async def _sync(self, cluster: str, cj: Obj, jobs: list[Obj]) -> tuple[float | None, bool]:
        """Returns (seconds until the next sync or None, whether the status changed)."""
        now = clock()
        status, spec = cj["status"], cj.get("spec") or {}
        changed = False
        children = set()
        for j in jobs:
            uid = j["metadata"].get("uid")
            children.add(uid)
            found = _in_active(cj, uid)
            if not found and not is_finished(j):
                await self.event(cluster, cj, "Warning", "UnexpectedJob",
                                 f"Saw a job that the controller did not create or forgot: {j['metadata']['name']}")
            elif is_finished(j):
                condition = _finished_type(j)
                if found:
                    _remove_active(cj, uid)
                    await self.event(cluster, cj, "Normal", "SawCompletedJob",
                                     f"Saw completed job: {j['metadata']['name']}, condition: {condition}")
                    changed = True
                if condition == "Complete":
                    done = podutil.parse_time((j.get("status") or {}).get("completionTime"))
                    last = podutil.parse_time(status.get("lastSuccessfulTime"))
                    if done is not None and (last is None or done > last):
                        status["lastSuccessfulTime"] = fmt_time(done)
                        changed = True
        for ref in list(status.get("active") or ()):
            if ref.get("uid") in children:
                continue
            if self.client.get(cluster, "jobs.batch", ref.get("namespace", ""), ref.get("name", "")) is None:
                await self.event(cluster, cj, "Normal", "MissingJob", f"Active job went missing: {ref.get('name')}")
                _remove_active(cj, ref.get("uid"))
                changed = True
        if cj["metadata"].get("deletionTimestamp"):
            return None, changed
        tz = spec.get("timeZone")
        if tz is not None:
            try:
                load_location(tz)
            except ScheduleError as e:
                await self.event(cluster, cj, "Warning", "UnknownTimeZone", f'invalid timeZone: "{tz}": {e}')
                return None, changed
        if spec.get("suspend") is True:
            return None, changed
        text, embeds_tz = schedule_spec(cj)
        if embeds_tz:
            await self.event(cluster, cj, "Warning", "UnsupportedSchedule",
                             f'CRON_TZ or TZ used in schedule "{text}" is not officially supported, see '
                             "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details")
        try:
            sched = parse_schedule(text)
        except ScheduleError as e:
            await self.event(cluster, cj, "Warning", "UnparseableSchedule",
                             f'unparseable schedule: "{spec.get("schedule", "")}" : {e}')
            return None, changed
        try:
            _, scheduled, missed = most_recent_schedule(cj, now, sched, True)
        except ScheduleError as e:
            await self.event(cluster, cj, "Warning", "InvalidSchedule",
                             f"invalid schedule: {spec.get('schedule', '')} : {e}")
            return None, changed
        if missed > 100:
            await self.event(cluster, cj, "Warning", "TooManyMissedTimes",
                             "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check "
                             "clock skew")
        if scheduled is None:
            return next_schedule_delay(cj, now, sched), changed
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and scheduled + datetime.timedelta(seconds=int(deadline)) < now:
            await self.event(cluster, cj, "Warning", "MissSchedule",
                             f"Missed scheduled time to start a job: {rfc1123z(scheduled)}")
            return next_schedule_delay(cj, now, sched), changed
        name = job_name(cj, scheduled)
        if any(r.get("name") == name for r in status.get("active") or ()) or podutil.parse_time(
                status.get("lastScheduleTime")) == scheduled:
            return next_schedule_delay(cj, now, sched), changed
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and status.get("active"):
            await self.event(cluster, cj, "Normal", "JobAlreadyActive",
                             "Not starting job because prior execution is running and concurrency policy is Forbid")
            return next_schedule_delay(cj, now, sched), changed
        if policy == "Replace":
            for ref in list(status.get("active") or ()):
                job = self.client.get(cluster, "jobs.batch", ref.get("namespace", ""), ref.get("name", ""))
                if job is None:
                    await self.event(cluster, cj, "Warning", "FailedGet",
                                     f'Get job: jobs.batch "{ref.get("name")}" not found')
                    raise ApiError(404, "NotFound", f'jobs.batch "{ref.get("name")}" not found')
                if not await self._delete_job(cluster, cj, job):
                    raise ApiError(500, "InternalError", f"could not replace job {ref.get('namespace')}/{ref.get('name')}")
                changed = True
        return await self._start_job(cluster, cj, scheduled, now, sched, changed)

    async def _start_job(self, cluster: str, cj: Obj, scheduled: datetime.datetime, now: datetime.datetime,
                         sched: Schedule, changed: bool) -> tuple[float | None, bool]:
        request = job_from_template(cj, scheduled, self.minor(cluster))
        try:
            job = await self.client.create(cluster, request)
        except ApiError as e:
            if "being terminated" in e.message:
                raise
            if e.code != 409 or e.reason != "AlreadyExists":
                await self.event(cluster, cj, "Warning", "FailedCreate", f"Error creating job: {e.message}")
                raise
            existing = self.client.get(cluster, "jobs.batch", request["metadata"]["namespace"],
                                       request["metadata"]["name"])
            if existing is None:
                raise
            ref = podutil.controller_ref(existing)
            if ref is None or ref.get("uid") != cj["metadata"].get("uid"):
                return None, changed  # someone else's Job: assume they keep the status
            if _in_active(cj, existing["metadata"].get("uid")):
                return None, changed
            job = existing
        else:
            await self.event(cluster, cj, "Normal", "SuccessfulCreate", f"Created job {job['metadata']['name']}")
        cj["status"].setdefault("active", []).append(object_reference(job))
        cj["status"]["lastScheduleTime"] = fmt_time(scheduled)
        return next_schedule_delay(cj, now, sched), True

    async def _cleanup_finished_jobs(self, cluster: str, cj: Obj, jobs: list[Obj]) -> bool:
        spec = cj.get("spec") or {}
        if spec.get("successfulJobsHistoryLimit") is None and spec.get("failedJobsHistoryLimit") is None:
            return False
        succeeded = [j for j in jobs if _finished_type(j) == "Complete"]
        failed = [j for j in jobs if _finished_type(j) == "Failed"]
        changed = False
        for group, limit in ((succeeded, spec.get("successfulJobsHistoryLimit")),
                             (failed, spec.get("failedJobsHistoryLimit"))):
            if limit is None or len(group) <= int(limit):
                continue
            group.sort(key=_start_order)
            for job in group[:len(group) - int(limit)]:
                if await self._delete_job(cluster, cj, job):
                    changed = True
        return changed

    async def _delete_job(self, cluster: str, cj: Obj, job: Obj) -> bool:
        try:
            await self.client.delete(cluster, job, propagation="Background", uid_precondition=False)
        except ApiError as e:
            await self.event(cluster, cj, "Warning", "FailedDelete", f"Deleted job: {e.message}")
            return False
        _remove_active(cj, job["metadata"].get("uid"))
        await self.event(cluster, cj, "Normal", "SuccessfulDelete", f"Deleted job {job['metadata']['name']}")
        return True


def _finished_type(job: Obj) -> str:
    for c in (job.get("status") or {}).get("conditions") or ():
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return ""


def _in_active(cj: Obj, uid: Any) -> bool:
    return any(r.get("uid") == uid for r in (cj.get("status") or {}).get("active") or ())


def _remove_active(cj: Obj, uid: Any) -> None:
    status = cj.setdefault("status", {})
    status["active"] = [r for r in status.get("active") or () if r.get("uid") != uid]


def _start_order(job: Obj) -> tuple[int, str, str]:
    """Oldest start first, Jobs that never started last, names breaking ties."""
    started = (job.get("status") or {}).get("startTime")
    return (0 if started else 1, started or "", job["metadata"]["name"])


__all__ = ["CronJobController", "Schedule", "ScheduleError", "clock", "job_name", "next_schedule_delay",
           "parse_duration", "parse_schedule"]
