"""RUN on the simulated chip (reference core, tohost and ecall exits) and the below-Vmin model."""

from __future__ import annotations

import pytest

from bringup.emulator import asm
from bringup.simlab.monitor_firmware import ChipHung, RunOutcome, RunPoint
from bringup.simlab.silicon import HANG_BELOW_V, MarginalSilicon

BASE = 0x8000_0000
TOHOST = 0x8000_0100


def load_words(booted, address: int, words: list[int]) -> None:
    assert booted.command(f"LOAD {address:x} " + " ".join(f"{w:x}" for w in words)) == ["OK"]


def test_a_tohost_store_ends_the_run_with_its_exit_code(booted) -> None:
    program = [*asm.li(5, TOHOST), asm.addi(6, 0, (21 << 1) | 1), asm.sw(6, 5, 0), asm.jal(0, 0)]
    load_words(booted, BASE, program)
    assert booted.command(f"RUN {BASE:x} 1000 {TOHOST:x}") == ["OK exit 21 4"]
    assert booted.command(f"DUMP {TOHOST:x} 1") == [f"{(21 << 1) | 1:08x}", "OK 1"]
    # Without the tohost field the same program spins until its budget is gone.
    assert booted.command(f"RUN {BASE:x} 1000") == ["OK timeout 0 1000"]


def test_the_exit_ecall_ends_the_run_with_a0(booted) -> None:
    load_words(booted, BASE, [asm.addi(10, 0, 1), asm.addi(17, 0, 93), asm.ecall()])
    assert booted.command(f"RUN {BASE:x} 1000") == ["OK exit 1 3"]  # the example of the protocol


def test_an_unhandled_trap_reports_mcause(booted) -> None:
    load_words(booted, BASE, [asm.addi(17, 0, 1), asm.ecall()])  # not the exit call
    assert booted.command(f"RUN {BASE:x} 1000") == ["OK trap 11 2"]
    load_words(booted, BASE, [0])  # an illegal instruction
    assert booted.command(f"RUN {BASE:x} 1000") == ["OK trap 2 1"]


def test_run_checks_its_tohost_field(booted) -> None:
    assert booted.command(f"RUN {BASE:x} 10 80000102")[0].startswith("ERR 416 ")
    assert booted.command(f"RUN {BASE:x} 10 xyz")[0].startswith("ERR 400 ")
    assert booted.command(f"RUN {BASE:x} 10 {TOHOST:x} 4")[0].startswith("ERR 400 ")


# -- the below-Vmin model, on its own --------------------------------------------------------

def run_point(margin_v: float, ram_before: bytes, *, digest: bytes = b"program") -> RunPoint:
    return RunPoint(margin_v, 500.0, digest, TOHOST, ram_before)


def disturbed(silicon: MarginalSilicon, margin_v: float, *, digest: bytes = b"program") -> bytearray:
    """RAM after a run that wrote 1024 words of results (and tohost) at `margin_v`."""
    before = bytes(4096)
    after = bytearray(b"\x5a" * 4096)
    silicon(after, BASE, RunOutcome("exit", 0, 100), run_point(margin_v, before, digest=digest))
    return after


def flipped_bits(ram: bytearray) -> list[int]:
    """The XOR mask of every word against what the run wrote."""
    return [int.from_bytes(ram[i:i + 4], "little") ^ 0x5A5A5A5A for i in range(0, len(ram), 4)]


def test_at_or_above_vmin_results_are_untouched() -> None:
    silicon = MarginalSilicon("SIM-0001")
    assert disturbed(silicon, 0.0) == bytearray(b"\x5a" * 4096)
    assert disturbed(silicon, 0.1) == bytearray(b"\x5a" * 4096)


def test_errors_are_reproducible_for_a_chip_program_and_operating_point() -> None:
    silicon = MarginalSilicon("SIM-0001")
    first = disturbed(silicon, -0.020)
    assert first != bytearray(b"\x5a" * 4096)
    assert disturbed(MarginalSilicon("SIM-0001"), -0.020) == first
    assert disturbed(silicon, -0.021) != first
    assert disturbed(silicon, -0.020, digest=b"another program") != first
    assert disturbed(MarginalSilicon("SIM-0002"), -0.020) != first


def test_the_error_rate_climbs_steeply_below_vmin() -> None:
    silicon = MarginalSilicon("SIM-0001")
    errors = [sum(mask.bit_count() for mask in flipped_bits(disturbed(silicon, -mv / 1000)))
              for mv in (2, 10, 20, 30, 40)]
    assert errors == sorted(errors)
    assert errors[0] < 30 and errors[-1] > 2000  # of 1024 written words
    assert MarginalSilicon.flips_per_word(-0.040) > 50 * MarginalSilicon.flips_per_word(-0.010)


def test_most_flips_land_on_the_dies_weak_bit_lines() -> None:
    silicon = MarginalSilicon("SIM-0001")
    masks = flipped_bits(disturbed(silicon, -0.025))
    weak = sum(1 << bit for bit in silicon.weak_bits)
    on_weak = sum((mask & weak).bit_count() for mask in masks)
    assert on_weak > 0.7 * sum(mask.bit_count() for mask in masks)
    assert silicon.weak_bits != MarginalSilicon("SIM-0002").weak_bits


def test_the_tohost_mailbox_is_spared() -> None:
    ram = disturbed(MarginalSilicon("SIM-0001"), -0.060)
    assert flipped_bits(ram)[(TOHOST - BASE) // 4] == 0


def test_far_below_vmin_the_core_hangs() -> None:
    silicon = MarginalSilicon("SIM-0001")
    with pytest.raises(ChipHung, match="SIM-0001: core 90 mV below Vmin"):
        disturbed(silicon, -(HANG_BELOW_V + 0.010))


def test_a_hung_chip_is_silent_until_power_cycled(booted) -> None:
    def wedge(memory, base, outcome, point):
        raise ChipHung("test")

    booted.lab.chip.disturbance = wedge
    booted.console.timeout = 0.3
    booted.console.write(f"RUN {BASE:x} 10\n".encode())
    assert booted.console.read_until(b"> ") == b""
    booted.power_down()
    booted.power_up()
    booted.console.timeout = 3
    assert booted.read_reply() == ["BRINGUP-MON 1.0 chip=SIM-0001"]
