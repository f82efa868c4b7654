"""One run of the pipeline on a fresh work dir: workload in, faults injected, warehouse read.

The faults run in this (main) thread, one after another, while the feeder thread sends;
the broker is always started from this thread (it is tied to its starter's lifetime).
A supervisor step between faults and while draining restarts a process that exited or
a worker whose /health reports a dead agent, as a process manager would, and logs it.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.verify.feeder import Feeder
from bench.verify.plan import FaultKind, FaultRecord, PlannedFault
from bench.verify.services import Services
from bench.verify.snapshot import Snapshot, read_snapshot, table_counts
from foundation.settings import Settings
from infra.processes import ManagedProcess
from schemas.models import Event, IdentityLink

Log = Callable[[str], None]


@dataclass(frozen=True)
class RunOptions:
    rate: float  # events per second handed to the producer
    outage_s: float = 30.0  # warehouse down this long
    broker_outage_s: float = 5.0  # broker down this long after it stopped
    join_work_s: float = 5.0  # the second worker works this long before leaving
    drain_timeout_s: float = 300.0
    settle_s: float = 8.0  # warehouse counts unchanged this long = drained


@dataclass
class RunResult:
    name: str
    snapshot: Snapshot
    faults: list[FaultRecord]
    produce_errors: list[str]
    drained: bool
    elapsed_s: float
    supervisor: list[str] = field(default_factory=list)


def _health_port(proc: ManagedProcess) -> int | None:
    worker = json.loads(proc.env.get("ORBITSTREAM_WORKER", "{}"))
    port = worker.get("web_port")
    return int(port) if port else None


def _unhealthy(proc: ManagedProcess) -> str | None:
    """Why a worker's /health says it is not working (None: healthy or not answering yet)."""
    port = _health_port(proc)
    if port is None:
        return None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=5) as response:  # noqa: S310
            response.read()
            return None
    except urllib.error.HTTPError as exc:
        return exc.read().decode(errors="replace")[:300]
    except OSError:
        return None


class Pipeline:
    """Services plus the fault procedures and the supervisor, for one run."""

    def __init__(self, svc: Services, opts: RunOptions, log: Log, started: float) -> None:
        self.svc, self.opts, self.log, self.started = svc, opts, log, started
        self.supervisor: list[str] = []

    def now(self) -> float:
        return time.monotonic() - self.started

    def supervise(self) -> None:
        for name, proc in list(self.svc.workers.items()):
            why = None if proc.alive() else f"exited with code {proc.returncode}"
            why = why or _unhealthy(proc)
            if why:
                self.supervisor.append(f"{self.now():.1f}s {name} restarted: {why}")
                self.log(f"[yellow]supervisor[/] {name} restarted: {why}")
                proc.kill()
                self.svc.start_worker(name)
        sink = self.svc.sink
        if sink is not None and not sink.alive():
            self.supervisor.append(f"{self.now():.1f}s sink restarted: exited with code {sink.returncode}")
            self.log(f"[yellow]supervisor[/] sink restarted (code {sink.returncode})")
            self.svc.start_sink()

    def _members_before(self, group: str) -> set[str]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            members = self.svc.members(group)
            if members:
                return set(members)
            time.sleep(0.2)
        return set()

    def _kill_and_restart(
        self, rec: FaultRecord, group: str, proc: ManagedProcess, restart: Callable[[], object]
    ) -> None:
        before = self._members_before(group)
        t0 = time.monotonic()
        proc.kill()
        restart()
        resumed = self.svc.wait_resumed(group, before)
        if resumed is None:
            rec.notes.append("partitions not reassigned within 180 s")
        else:
            rec.resume_s = round(resumed - t0, 2)

    def inject(self, fault: PlannedFault, feeder: Feeder, rec: FaultRecord) -> None:
        svc = self.svc
        if fault.kind is FaultKind.WORKER_KILL:
            self._kill_and_restart(rec, svc.worker_group, svc.workers["worker-1"], svc.start_worker)
        elif fault.kind is FaultKind.SINK_KILL:
            assert svc.sink is not None
            self._kill_and_restart(rec, svc.sink_group, svc.sink, svc.start_sink)
        elif fault.kind is FaultKind.WAREHOUSE_DOWN:
            t0 = time.monotonic()
            svc.warehouse.stop(timeout=20)
            stopped = time.monotonic() - t0
            if stopped >= 19.5:
                rec.notes.append(f"did not exit within 20 s of SIGTERM (killed after {stopped:.1f} s)")
            time.sleep(max(0.0, self.opts.outage_s - (time.monotonic() - t0)))
            svc.warehouse.start()
            rec.notes.append(f"down {time.monotonic() - t0:.1f} s")
        elif fault.kind is FaultKind.BROKER_RESTART:
            feeder.paused.wait()
            t0 = time.monotonic()
            svc.broker.stop()
            feeder.resume.set()
            rec.notes.append(f"stopped in {time.monotonic() - t0:.1f} s; producer started while it was down")
            time.sleep(self.opts.broker_outage_s)
            svc.broker.start()
            rec.notes.append(f"down {time.monotonic() - t0:.1f} s")
            if not svc.wait_members(svc.worker_group, 1) or not svc.wait_members(svc.sink_group, 1):
                rec.notes.append("groups not stable within 180 s of the restart")
            else:
                rec.resume_s = round(time.monotonic() - t0, 2)
                rec.notes.append("resume_s: from the stop until both groups were stable again")
        elif fault.kind is FaultKind.WORKER_JOIN_LEAVE:
            second = svc.start_worker("worker-2")
            t0 = time.monotonic()
            joined = svc.wait_members(svc.worker_group, 2)
            rec.notes.append(f"joined in {time.monotonic() - t0:.1f} s" if joined else "never joined")
            time.sleep(self.opts.join_work_s)
            t1 = time.monotonic()
            second.stop()
            del svc.workers["worker-2"]
            left = svc.wait_members(svc.worker_group, 1)
            rec.notes.append(f"left in {time.monotonic() - t1:.1f} s" if left else "group never settled")

    def drain(self, activity: int, links: int) -> bool:
        """Until the warehouse has every event and link and nothing more arrives."""
        s = self.svc.settings
        deadline = time.monotonic() + self.opts.drain_timeout_s
        last: dict[str, int] = {}
        since = time.monotonic()
        while time.monotonic() < deadline:
            self.supervise()
            try:
                counts = table_counts(self.svc.warehouse.client(), s.warehouse.database)
            except Exception:  # restarting: ask again
                time.sleep(1)
                continue
            if counts != last:
                last, since = counts, time.monotonic()
            complete = counts["events"] >= activity and counts["identity_links"] >= links
            if complete and time.monotonic() - since >= self.opts.settle_s and self.svc.sink_lag() == 0:
                return True
            time.sleep(1)
        self.log(f"[red]not drained[/] after {self.opts.drain_timeout_s:.0f} s: {last}")
        return False


def run_pipeline(
    name: str,
    root: Path,
    settings: Settings,
    events: Sequence[Event],
    plan: list[PlannedFault],
    opts: RunOptions,
    log: Log,
) -> RunResult:
    shutil.rmtree(root, ignore_errors=True)
    links = sum(1 for e in events if isinstance(e, IdentityLink))
    with Services(root, settings) as svc:
        svc.start_worker()
        svc.start_sink()
        if not svc.wait_members(svc.worker_group, 1):
            raise RuntimeError(f"{name}: the worker never joined its group")
        pause_at = next((f.at_event for f in plan if f.kind is FaultKind.BROKER_RESTART), None)
        feeder = Feeder(svc.settings, events, opts.rate, pause_at)
        feeder.start()
        started = time.monotonic()
        pipe = Pipeline(svc, opts, log, started)
        records: list[FaultRecord] = []
        with (root / "faults.log").open("w") as fault_log:
            for fault in plan:
                feeder.wait_for(fault.at_event)
                pipe.supervise()
                rec = FaultRecord(
                    fault.kind,
                    at_event=feeder.sent,
                    at=datetime.now(UTC).isoformat(timespec="milliseconds"),
                    started_s=round(pipe.now(), 2),
                )
                log(f"{rec.started_s:7.1f}s [bold]{fault.kind.value}[/] at event {rec.at_event}")
                pipe.inject(fault, feeder, rec)
                rec.duration_s = round(pipe.now() - rec.started_s, 2)
                resume = "" if rec.resume_s is None else f", resumed in {rec.resume_s:.1f} s"
                log(f"{pipe.now():7.1f}s   done in {rec.duration_s:.1f} s{resume}; {'; '.join(rec.notes)}")
                fault_log.write(json.dumps(rec.to_json()) + "\n")
                records.append(rec)
        while not feeder.finished.wait(1):
            pipe.supervise()
        log(f"{pipe.now():7.1f}s all {feeder.sent} events handed to the producer; draining")
        drained = pipe.drain(len(events) - links, links)
        snapshot = read_snapshot(svc.warehouse.client(), svc.settings.warehouse.database)
        elapsed = pipe.now()
    return RunResult(name, snapshot, records, feeder.errors, drained, round(elapsed, 1), pipe.supervisor)
