"""A runbook's shape — how much work each step is — and the ETA it gives with the rate so far.

The shape is read from the runbook's text as plain YAML (not the strict model), so step kinds
this TUI has never heard of still get a title and a default weight. Work is counted in units:
one per vector or sweep point, one for every other step. The ETA is the time per unit so far
times the units left, so a slow bench or a hot soak stretches it honestly as the run goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

SHIPPED_SUITES = Path(__file__).resolve().parents[2] / "runbooks" / "vectors"
UNKNOWN_STEP_WEIGHT = 20  # a step whose size only its first progress event tells (a sweep)


@dataclass(frozen=True)
class StepShape:
    title: str
    kind: str
    total: int | None = None  # vectors or sweep points, where known before the step runs
    set_rail: tuple[str, float] | None = None  # a set_rail step moves that rail's set point

    @property
    def weight(self) -> int:
        if self.total is not None:
            return max(1, self.total)
        return UNKNOWN_STEP_WEIGHT if "sweep" in self.kind or "shmoo" in self.kind else 1


def runbook_shape(runbook_text: str, suites_dir: Path = SHIPPED_SUITES) -> list[StepShape]:
    """Each step's title, kind and size; [] when the text does not parse (the run checked it)."""
    try:
        document = yaml.safe_load(runbook_text)
    except yaml.YAMLError:
        return []
    steps = document.get("steps") if isinstance(document, dict) else None
    if not isinstance(steps, list):
        return []
    return [_step_shape(step, suites_dir) for step in steps if isinstance(step, dict)]


def _step_shape(step: dict[str, object], suites_dir: Path) -> StepShape:
    kind = str(step.get("step", "?"))
    title = str(step.get("name") or kind)
    if kind == "run_vectors":
        return StepShape(title, kind, total=_vector_count(step, suites_dir))
    if kind == "set_rail":
        try:
            return StepShape(title, kind, set_rail=(str(step["rail"]), float(step["volts"])))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError):
            return StepShape(title, kind)
    return StepShape(title, kind)


def _vector_count(step: dict[str, object], suites_dir: Path) -> int | None:
    repeat = _int(step.get("repeat"), 1)
    suite = str(step.get("suite", ""))
    if suite == "random":
        return _int(step.get("count"), 20) * repeat
    try:  # a named suite: its vector list, where the shipped suites have it
        document = yaml.safe_load((suites_dir / f"{suite}.yaml").read_text())
        return len(document["vectors"]) * repeat
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def eta_seconds(shape: list[StepShape], finished: set[int], current: int | None,
                current_fraction: float, elapsed_s: float) -> float | None:
    """Seconds left at the rate so far; None until some work is done to measure the rate by."""
    if not shape:
        return None
    weights = [s.weight for s in shape]
    done = sum(weights[i] for i in finished if i < len(weights))
    if current is not None and current not in finished and current < len(weights):
        done += weights[current] * min(max(current_fraction, 0.0), 1.0)
    total = sum(weights)
    if done <= 0 or elapsed_s <= 0:
        return None
    return max(0.0, elapsed_s / done * (total - done))


def clock_text(seconds: float | None) -> str:
    """12:05 or 1:02:03; "--:--" when unknown."""
    if seconds is None:
        return "--:--"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
