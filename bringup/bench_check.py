"""`bringup instruments check`: open every instrument of a station and say hello.

It only reads: identities, output states, rail readbacks, and whether the console answers a
line. It never changes a setting, so it is safe to run against a bench with a chip powered.
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
    error: str | None = None


@dataclass
class CheckReport:
    station: str
    instruments: list[InstrumentCheck] = field(default_factory=list)
    rails: list[RailCheck] = field(default_factory=list)
    console_reply: str | None = None

    @property
    def ok(self) -> bool:
        return not any(i.error for i in self.instruments) and not any(r.error for r in self.rails)


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
        check.volts = bound.channel.measure_voltage()
        check.amps = bound.channel.measure_current()
    except Exception as exc:
        check.error = first_line(exc)
    return check


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


def print_report(report: CheckReport) -> None:
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
    for column in ("rail", "output", "volts", "amps"):
        rails.add_column(column)
    for rail in report.rails:
        if rail.error:
            rails.add_row(rail.name, f"[red]FAILED: {rail.error}[/red]", "", "")
        else:
            state = "on" if rail.output_on else "off"
            rails.add_row(rail.name, state, f"{rail.volts:.4f} V", f"{rail.amps:.4f} A")
    out.print(rails)
    if report.console_reply is None:
        out.print("console: no answer within 1 s (the chip is probably not powered yet)")
    else:
        out.print(f"console: answered {report.console_reply!r}")
    failed = [i.name for i in report.instruments if i.error] + [r.name for r in report.rails if r.error]
    out.print("[green]bench OK[/green]" if report.ok else f"[red]bench NOT OK: {', '.join(failed)}[/red]")
