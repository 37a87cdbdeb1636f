"""`bringup instruments check`: open every instrument of a station and say hello; and
`bringup instruments clear`: clear latched over-voltage/over-current protection.

The check only reads: identities, output states, protection latches, rail readbacks, and
whether the console answers a line. It never changes a setting, so it is safe to run against a
bench with a chip powered — and it says so when one is (a killed run leaves the rails up): the
bench is then not OK, and the way to make it safe is `bringup estop`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bringup.messages import first_line
from bringup.station import Station, StationSpec

CONSOLE_ANSWER_TIMEOUT_S = 1.0


@dataclass
class InstrumentCheck:
    name: str
    driver: str
    address: str
    identity: str | None = None
    error: str | None = None


@dataclass
class RailCheck:
    name: str
    output_on: bool | None = None
    volts: float | None = None
    amps: float | None = None
    protection: str | None = None  # 'OVP' or 'OCP' while latched
    error: str | None = None


@dataclass
class CheckReport:
    station: str
    instruments: list[InstrumentCheck] = field(default_factory=list)
    rails: list[RailCheck] = field(default_factory=list)
    console_reply: str | None = None
    clock_on: bool | None = None  # None: no clock source, or it did not say

    @property
    def live(self) -> list[str]:
        """Outputs that are on: a chip is powered (a run is going, or one was killed)."""
        return [r.name for r in self.rails if r.output_on] + (["clock"] if self.clock_on else [])

    @property
    def latched(self) -> list[str]:
        return [f"{r.name} {r.protection}" for r in self.rails if r.protection]

    @property
    def ok(self) -> bool:
        broken = any(i.error for i in self.instruments) or any(r.error for r in self.rails)
        return not broken and not self.live and not self.latched


def check_station(spec: StationSpec) -> CheckReport:
    report = CheckReport(spec.name)
    station, failures = Station.open_each(spec)
    try:
        for name, inst in spec.instruments.items():
            entry = InstrumentCheck(name, inst.driver, inst.address)
            if name in failures:
                entry.error = first_line(failures[name])
            else:
                entry.identity = _identity(station.instruments[name])
            report.instruments.append(entry)
        report.rails = [_read_rail(station, name) for name in spec.power_on_order]
        report.clock_on = _clock_on(station)
        report.console_reply = _console_reply(station)
    finally:
        station.close()
    return report


def _identity(driver: object) -> str:
    identity = getattr(driver, "identity", None)
    if identity is None:
        return "serial port open"
    return " ".join(str(part) for part in identity)


def _read_rail(station: Station, name: str) -> RailCheck:
    check = RailCheck(name)
    bound = station.rails.get(name)
    if bound is None:
        check.error = f"supply {station.spec.rails[name].supply} did not open"
        return check
    try:
        check.output_on = bound.channel.output_enabled()
        check.protection = bound.channel.protection_tripped()
        check.volts = bound.channel.measure_voltage()
        check.amps = bound.channel.measure_current()
    except Exception as exc:
        check.error = first_line(exc)
    return check


def _clock_on(station: Station) -> bool | None:
    clock = station.spec.clock
    source = station.instruments.get(clock.source) if clock else None
    try:
        return bool(source.output_enabled()) if source is not None else None
    except Exception:
        return None


def _console_reply(station: Station) -> str | None:
    """Send an empty line; whatever the chip prints back within a second is its answer."""
    console = station.console
    if console is None:
        return None
    try:
        console.write_line("")
        found = console.expect(r"\S[^\r\n]*", timeout=CONSOLE_ANSWER_TIMEOUT_S)
    except Exception:
        return None
    return found.match.group(0).strip()


def clear_protection(spec: StationSpec) -> list[tuple[str, str]]:
    """Clear every latched OVP/OCP of the station's rails (output left off); returns
    (rail, what was cleared). Raises if a latch does not clear."""
    cleared = []
    with Station.open(spec) as station:
        for name in spec.power_on_order:
            channel = station.rails[name].channel
            latched = channel.protection_tripped()
            if not latched:
                continue
            channel.set_output(False)
            channel.clear_protection()
            still = channel.protection_tripped()
            if still:
                raise RuntimeError(f"{name}: {still} still latched after clearing — check the supply")
            cleared.append((name, latched))
    return cleared


def latched_protection(spec: StationSpec) -> list[tuple[str, str]]:
    """(rail, 'OVP'/'OCP') for every latched protection; reads only."""
    with Station.open(spec) as station:
        found = [(name, station.rails[name].channel.protection_tripped()) for name in spec.power_on_order]
    return [(name, what) for name, what in found if what]


def print_report(report: CheckReport, station_path: str = "<station file>") -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console()
    table = Table(title=f"station {report.station}: instruments", title_justify="left")
    for column in ("name", "driver", "address", "identity"):
        table.add_column(column)
    for inst in report.instruments:
        answer = f"[red]FAILED: {inst.error}[/red]" if inst.error else str(inst.identity)
        table.add_row(inst.name, inst.driver, inst.address, answer)
    out.print(table)
    rails = Table(title="rails (readback)", title_justify="left")
    for column in ("rail", "output", "volts", "amps", "protection"):
        rails.add_column(column)
    for rail in report.rails:
        if rail.error:
            rails.add_row(rail.name, f"[red]FAILED: {rail.error}[/red]", "", "", "")
        else:
            state = "[red]ON[/red]" if rail.output_on else "off"
            latch = f"[red]{rail.protection} latched[/red]" if rail.protection else "-"
            rails.add_row(rail.name, state, f"{rail.volts:.4f} V", f"{rail.amps:.4f} A", latch)
    out.print(rails)
    if report.console_reply is None:
        out.print("console: no answer within 1 s (the chip is probably not powered yet)")
    else:
        out.print(f"console: answered {report.console_reply!r}")
    failed = [i.name for i in report.instruments if i.error] + [r.name for r in report.rails if r.error]
    if report.live:
        out.print(f"[red]bench LIVE: {', '.join(report.live)} output(s) ON — a chip is powered. If no "
                  f"run is going, make it safe with: bringup estop --station {station_path}[/red]",
                  soft_wrap=True)
    if report.latched:
        out.print(f"[red]protection latched: {', '.join(report.latched)} — find the cause, then: "
                  f"bringup instruments clear --station {station_path}[/red]", soft_wrap=True)
    if report.ok:
        out.print("[green]bench OK[/green]")
    elif failed:
        out.print(f"[red]bench NOT OK: {', '.join(failed)}[/red]")
    else:
        out.print("[red]bench NOT OK[/red]")
