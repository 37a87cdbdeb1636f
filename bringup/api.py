"""The Python API for scripted validation runs; the CLI is a thin layer over it.

    from bringup.api import run_runbook
    report = run_runbook("runbooks/smoke.yaml", "simlab-station.yaml", chip="SIM-0001")
    print(report.run_id, report.status, report.reason)

or with steps built in code:

    from bringup.runbook import LoadedRunbook, Measure, PowerOff, PowerOn
    steps = [PowerOn(step="power_on"),
             Measure(step="measure", rail="VDD_CORE", quantity="current", high=1.0),
             PowerOff(step="power_off")]
    report = run_runbook(LoadedRunbook.from_steps("leakage", steps), "simlab-station.yaml", "SIM-0001")

Everything is validated (station, runbook, suites) before any instrument is touched; events go
to the database through the recorder and to any `watchers` (progress views, a TUI) you pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bringup.events import EventBus, RunEvent, StepStatus, new_run_id
from bringup.lease import StationLease, refuse_if_recorded_running
from bringup.process_guard import guard_run
from bringup.runbook import LoadedRunbook, load_runbook, parse_runbook
from bringup.sequencer import ChipInfo, ResumePoint, RunReport, Sequencer
from bringup.station import Station, StationSpec, load_station
from bringup.steps.base import RunControl
from bringup.vectors.library import VectorLibrary, check_suites
from bringup.watchdog import Watchdog, WatchdogConfig
from bringup.yamlfile import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Engine

Watcher = Callable[[Any], None]
log = logging.getLogger(__name__)
# How long a resume waits for the killed run's watchdog to finish its power-down and let go of
# the station lease (its power-down retries a silent supply for 5 s, the forcer park as long).
WATCHDOG_FINISH_S = 30.0
# The suites shipped with bringup (runbooks/vectors in the source tree).
SHIPPED_VECTORS = Path(__file__).resolve().parents[1] / "runbooks" / "vectors"


class ResumeRefused(ConfigError):
    """The run cannot be resumed (unknown, still running, or already finished)."""


def _golden_cache() -> Any:
    from bringup.vectors.golden import DirectoryCache

    return DirectoryCache()


def vector_library(runbook_path: str | Path | None, extra: Sequence[str | Path] = ()) -> VectorLibrary:
    """Suites are looked for in `vectors/` beside the runbook, then the shipped suites, then `extra`."""
    beside = [Path(runbook_path).parent / "vectors"] if runbook_path is not None else []
    return VectorLibrary([*beside, SHIPPED_VECTORS, *extra], _golden_cache())


def run_runbook(
    runbook: str | Path | LoadedRunbook,
    station: str | Path | StationSpec,
    chip: str | ChipInfo,
    *,
    db_url: str | None = None,
    operator: str = "",
    watchers: Iterable[Watcher] = (),
    control: RunControl | None = None,
    vector_dirs: Sequence[str | Path] = (),
    monitor_hz: float = 10.0,
    golden_cache: Any = None,
) -> RunReport:
    """Validate, open the station, run the runbook, record it; returns the run's id and outcome."""
    spec = station if isinstance(station, StationSpec) else load_station(station)
    if isinstance(runbook, LoadedRunbook):  # built in code: check it against this station too
        library = vector_library(None, vector_dirs)
        loaded = parse_runbook(runbook.text, str(runbook.path), spec)
    else:
        library = vector_library(runbook, vector_dirs)
        loaded = load_runbook(runbook, spec)
    if golden_cache is not None:
        library.cache = golden_cache
    check_suites(loaded, library)  # every vector loaded and checked before an instrument is opened
    chip_info = chip if isinstance(chip, ChipInfo) else ChipInfo(serial=chip)
    return _execute(spec, loaded, chip_info, library, db_url=db_url, operator=operator,
                    watchers=watchers, control=control, monitor_hz=monitor_hz)


def resume_run(
    run_id: str,
    station: str | Path | StationSpec,
    *,
    db_url: str | None = None,
    watchers: Iterable[Watcher] = (),
    control: RunControl | None = None,
    vector_dirs: Sequence[str | Path] = (),
    monitor_hz: float = 10.0,
) -> RunReport:
    """Continue an interrupted run after its last completed step, without repeating anything."""
    from bringup.db.engine import make_engine
    from bringup.db.queries import recorded_step_statuses, recorded_vector_passes, run_recipe, sweep_points
    from bringup.db.recorder import last_completed_step, recover

    spec = station if isinstance(station, StationSpec) else load_station(station)
    engine = make_engine(db_url)
    try:
        recover(engine)  # journals first: the run's last steps may be only there
        recipe = run_recipe(engine, run_id)
        if recipe is None:
            raise ResumeRefused("database", None, f"no run {run_id}", "list runs with `bringup query runs`")
        if recipe.status != "interrupted":
            raise ResumeRefused("database", None, f"run {run_id} is {recipe.status}, not interrupted",
                                "only a run that died (crash, power cut, kill -9) can be resumed")
        library = vector_library(None, vector_dirs)
        loaded = parse_runbook(recipe.runbook_text, f"run {run_id} runbook {recipe.runbook_name}", spec)
        check_suites(loaded, library)
        last = last_completed_step(engine, run_id)
        steps = recorded_step_statuses(engine, run_id)
        # One read of the vector results: which ran (not run again), which failed (the verdict
        # counts them all), and each one's outcome (a sweep replays it).
        passes = recorded_vector_passes(engine, run_id)
        point = ResumePoint(-1 if last is None else last, frozenset(passes),
                            step_verdicts={index: StepStatus(status) for index, status in steps.items()},
                            failed_vectors=frozenset(key for key, passed in passes.items() if not passed),
                            sweep_points=tuple(sweep_points(engine, run_id)),
                            vector_passes=passes)
    except BaseException:
        engine.dispose()
        raise
    return _execute(spec, loaded, ChipInfo(serial=recipe.chip_serial), library, engine=engine,
                    operator=recipe.operator, watchers=watchers, control=control, run_id=run_id,
                    resume=point, monitor_hz=monitor_hz)


def _execute(
    spec: StationSpec, loaded: LoadedRunbook, chip: ChipInfo, library: VectorLibrary, *,
    db_url: str | None = None, engine: Engine | None = None, operator: str,
    watchers: Iterable[Watcher], control: RunControl | None, monitor_hz: float,
    run_id: str | None = None, resume: ResumePoint | None = None,
) -> RunReport:
    """The one path of every command that powers a chip: guard, lease, watchdog, run.

    Everything (station, runbook, every vector of every suite: `check_suites`) was validated by
    the caller before this is reached; nothing here is opened before the lease is held."""
    from bringup.db.engine import make_engine
    from bringup.db.golden_cache import DatabaseGoldenCache
    from bringup.db.recorder import Recorder

    run_id = run_id or new_run_id()
    control = control or RunControl()
    with ExitStack() as stack:
        # Signals and dying threads abort the run from here on; the lease refuses a busy bench
        # before anything is opened (docs/safety.md).
        stack.enter_context(guard_run(control, station=spec.name))
        lease = stack.enter_context(StationLease(
            spec.name, run_id, listens_for_estop=_on_main_thread(),
            wait_for_same_run_s=WATCHDOG_FINISH_S if resume is not None else 0.0))
        engine = engine or make_engine(db_url)  # a resume has opened (and checked) it already
        stack.callback(engine.dispose)
        refuse_if_recorded_running(engine, spec.name, run_id)  # a run on another host, same database
        library.cache = DatabaseGoldenCache(engine, library.cache)  # goldens any station recorded
        watchdog = stack.enter_context(Watchdog(
            WatchdogConfig(run_id, spec.model_dump(mode="json"), engine.url.render_as_string(False)),
            lease_fd=lease.fd))
        bus = stack.enter_context(EventBus())
        # A database that stops taking writes ends the run (safely) rather than leave it unrecorded;
        # the recorder's journal keeps every event for `bringup db replay`.
        stop_run = control.fault
        recorder = Recorder(engine, on_failure=lambda why: stop_run(f"recording stopped: {why}"))
        stack.callback(_close_quietly, recorder)  # only on the way out by an exception
        # A database that cannot keep up: after the bus's bounded wait the run is faulted (and
        # powered down at once) instead of waiting on it; nothing queued is dropped.
        recorder.attach(bus).on_overflow = lambda why: stop_run(f"recording stalled: {why}")
        for watcher in watchers:
            bus.subscribe(watcher, name=getattr(watcher, "__name__", "watcher"))
        watchdog.wait_ready()  # nothing is powered until a kill -9 would be covered
        with Station.open(spec) as opened:
            sequencer = Sequencer(
                station=opened, runbook=loaded, chip=chip, publish=bus.publish, operator=operator,
                vector_source=library, control=control, monitor_hz=monitor_hz, resume=resume, run_id=run_id,
            )
            _forward_console(opened, sequencer.run_id, bus.publish)
            report = sequencer.run()
        return _recorded(report, recorder)


def _recorded(report: RunReport, recorder: Any) -> RunReport:
    """The report, once every event of the run is in the database (or loudly, once it is not).

    A run that the database failed already ends ``error`` with the database's reason; one that
    ended otherwise but whose last rows could not be written raises RecorderError (the journal
    keeps them), so that no caller reports success for a run the database does not hold.
    """
    from bringup.db.recorder import RecorderError
    from bringup.events import RunStatus

    try:
        recorder.close()
    except RecorderError:
        if report.status != RunStatus.ERROR or (recorder.failure or "") not in report.reason:
            raise
        # The run already ended `error` with the database's reason (and the journal's place).
    return report


def _close_quietly(recorder: Any) -> None:
    from bringup.db.recorder import RecorderError

    try:
        recorder.close()
    except RecorderError as exc:  # the exception on its way out matters more; the journal keeps all
        log.error("%s", exc)


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _forward_console(station: Station, run_id: str, publish: Callable[[RunEvent], None]) -> None:
    from bringup.events import ConsoleLine

    console = station.console
    if console is not None:
        console.on_line = lambda line: publish(ConsoleLine(run_id=run_id, text=line.text,
                                                           direction=line.direction))
