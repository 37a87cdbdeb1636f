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

from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bringup.events import EventBus, RunEvent
from bringup.runbook import LoadedRunbook, load_runbook, parse_runbook
from bringup.sequencer import ChipInfo, ResumePoint, RunReport, Sequencer
from bringup.station import Station, StationSpec, load_station
from bringup.steps.base import RunControl
from bringup.vectors.library import VectorLibrary
from bringup.yamlfile import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Engine

Watcher = Callable[[Any], None]
# The suites shipped with bringup (runbooks/vectors in the source tree).
SHIPPED_VECTORS = Path(__file__).resolve().parents[1] / "runbooks" / "vectors"


class ResumeRefused(ConfigError):
    """The run cannot be resumed (unknown, still running, or already finished)."""


def _golden_cache() -> Any:
    from bringup.vectors.golden import DirectoryCache

    return DirectoryCache()


def vector_library(runbook_path: str | Path, extra: Sequence[str | Path] = ()) -> VectorLibrary:
    """Suites live in `vectors/` beside the runbook (and any `extra` folders)."""
    return VectorLibrary([*extra, Path(runbook_path).parent / "vectors"], _golden_cache())


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
) -> RunReport:
    """Validate, open the station, run the runbook, record it; returns the run's id and outcome."""
    spec = station if isinstance(station, StationSpec) else load_station(station)
    if isinstance(runbook, LoadedRunbook):  # built in code: check it against this station too
        library = VectorLibrary([*vector_dirs, SHIPPED_VECTORS], _golden_cache())
        loaded = parse_runbook(runbook.text, str(runbook.path), spec, suites=library.names())
    else:
        library = vector_library(runbook, vector_dirs)
        loaded = load_runbook(runbook, spec, suites=library.names())
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
    from bringup.db.queries import recorded_vector_passes, run_recipe, sweep_points
    from bringup.db.recorder import last_completed_step, mark_stale_runs, recorded_vector_keys

    spec = station if isinstance(station, StationSpec) else load_station(station)
    engine = make_engine(db_url)
    try:
        mark_stale_runs(engine)
        recipe = run_recipe(engine, run_id)
        if recipe is None:
            raise ResumeRefused("database", None, f"no run {run_id}", "list runs with `bringup query runs`")
        if recipe.status != "interrupted":
            raise ResumeRefused("database", None, f"run {run_id} is {recipe.status}, not interrupted",
                                "only a run that died (crash, power cut, kill -9) can be resumed")
        library = VectorLibrary([*vector_dirs, SHIPPED_VECTORS], _golden_cache())
        loaded = parse_runbook(recipe.runbook_text, f"run {run_id} runbook {recipe.runbook_name}", spec,
                               suites=library.names())
        last = last_completed_step(engine, run_id)
        point = ResumePoint(-1 if last is None else last, frozenset(recorded_vector_keys(engine, run_id)),
                            sweep_points=tuple(sweep_points(engine, run_id)),
                            vector_passes=recorded_vector_passes(engine, run_id))
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
    from bringup.db.engine import make_engine
    from bringup.db.golden_cache import DatabaseGoldenCache
    from bringup.db.recorder import Recorder

    with ExitStack() as stack:
        engine = engine or make_engine(db_url)  # a resume has opened (and checked) it already
        stack.callback(engine.dispose)
        library.cache = DatabaseGoldenCache(engine, library.cache)  # goldens any station recorded
        control = control or RunControl()
        bus = stack.enter_context(EventBus())
        # A database that stops taking writes ends the run (safely) rather than leave it unrecorded.
        stop_run = control.fault
        recorder = stack.enter_context(
            Recorder(engine, on_failure=lambda why: stop_run(f"recording stopped: {why}"))
        )
        recorder.attach(bus)
        for watcher in watchers:
            bus.subscribe(watcher, name=getattr(watcher, "__name__", "watcher"))
        opened = stack.enter_context(Station.open(spec))
        sequencer = Sequencer(
            station=opened, runbook=loaded, chip=chip, publish=bus.publish, operator=operator,
            vector_source=library, control=control, monitor_hz=monitor_hz,
            resume=resume, **({"run_id": run_id} if run_id else {}),
        )
        _forward_console(opened, sequencer.run_id, bus.publish)
        return sequencer.run()


def _forward_console(station: Station, run_id: str, publish: Callable[[RunEvent], None]) -> None:
    from bringup.events import ConsoleLine

    console = station.console
    if console is not None:
        console.on_line = lambda line: publish(ConsoleLine(run_id=run_id, text=line.text,
                                                           direction=line.direction))
