"""The simulated chip on its UART: boots when the physics says so, runs the monitor firmware.

The executor interface that `RUN` needs is defined here (re-exported from monitor_firmware):

    executor(memory: bytearray, base_address: int, entry: int, max_steps: int[, tohost=int])
        -> RunOutcome(status, exit_code, steps)      # status: 'exit' | 'timeout' | 'trap'

`ReferenceCoreExecutor` runs programs on the reference core (bringup.emulator); SimLab plugs it
in unless given another (`SimLab(executor=fn)` or `lab.chip.executor = fn`). Without one, `RUN`
answers `ERR 501 run needs the reference core`. `lab.chip.disturbance` decides what an operating
point below Vmin does to a run; by default the die's own `MarginalSilicon` (silicon.py).
"""

from __future__ import annotations

import random
import threading

from bringup.emulator import Core, Memory, StopReason
from bringup.simlab.chip_power import DamageRecord
from bringup.simlab.monitor_firmware import (
    PROMPT,
    ChipHung,
    Executor,
    MonitorFirmware,
    RunDisturbance,
    RunOutcome,
    RunPoint,
)
from bringup.simlab.physics import DEFAULT_PLL_MULTIPLIER, Physics
from bringup.simlab.pty_uart import PtyUart
from bringup.simlab.silicon import MarginalSilicon

__all__ = ["Executor", "ReferenceCoreExecutor", "RunDisturbance", "RunOutcome", "RunPoint", "SimChip"]

DEFAULT_RAM_BASE = 0x8000_0000
DEFAULT_RAM_SIZE = 64 * 1024
BABBLE_LINE_BYTES = 48
ECALL_FROM_M = 11  # mcause of an ecall in machine mode
EXIT_SYSCALL = 93  # a7 value of the exit ecall (the Linux/newlib number the vector ABI borrows)
A0, A7 = 10, 17


class ReferenceCoreExecutor:
    """Runs `RUN` on the pure-Python reference core, in place in the chip's RAM.

    Each run gets a fresh Memory and Core (about 20 µs, against milliseconds for the run
    itself): a core that outlived its program would have to drop its translations on every
    `LOAD` anyway, and a fresh one cannot carry state from one vector into the next.

    Exits: a tohost store (when `tohost` is given) or an `ecall` with a7 = 93 while mtvec
    leads nowhere (the monitor's own trap handler, on a real chip); any other trap that the
    program does not handle is a 'trap' with mcause as the code.
    """

    def __call__(
        self, memory: bytearray, base_address: int, entry: int, max_steps: int,
        tohost: int | None = None,
    ) -> RunOutcome:
        ram = Memory(regions=[(base_address, len(memory))])
        ram.write_bytes(base_address, memory)
        core = Core(ram, tohost=tohost)
        core.pc = entry
        result = core.run(max_steps)
        memory[:] = ram.read_bytes(base_address, len(memory))
        if result.status is StopReason.HALTED:
            return RunOutcome("exit", result.exit_code or 0, result.steps)
        if result.status is StopReason.BUDGET:
            return RunOutcome("timeout", 0, result.steps)
        cause = core.read_csr("mcause")
        if cause == ECALL_FROM_M and core.regs[A7] == EXIT_SYSCALL:
            return RunOutcome("exit", core.regs[A0], result.steps)
        return RunOutcome("trap", cause, result.steps)


class SimChip:
    """The device under test as a test sees it: UART port, boot state, damage, Vmin, faults."""

    def __init__(
        self,
        serial: str,
        physics: Physics,
        *,
        ram_base: int = DEFAULT_RAM_BASE,
        ram_size: int = DEFAULT_RAM_SIZE,
        executor: Executor | None = None,
    ) -> None:
        self.serial = serial
        self.physics = physics
        self.memory = bytearray(ram_size)
        self.executor: Executor | None = executor
        self.disturbance: RunDisturbance = MarginalSilicon(serial)
        self._hung = False
        self._running = False  # firmware is up and listening (set on the UART thread)
        self._garbage = random.Random(serial)
        self._firmware = MonitorFirmware(
            serial, physics, self.memory, ram_base, lambda: self.executor, lambda: self.disturbance
        )
        self._uart = PtyUart(self._on_line, name=f"simlab-uart-{serial}")
        self._state_lock = threading.Lock()
        physics.subscribe(self._on_power_event)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> str:
        """The pty slave path, e.g. /dev/pts/7, that pyserial opens."""
        return self._uart.port

    def start(self) -> None:
        self._uart.start()

    def stop(self) -> None:
        self._uart.stop()

    # -- what tests read ---------------------------------------------------------------------

    @property
    def booted(self) -> bool:
        return self.physics.booted

    @property
    def damaged(self) -> bool:
        return self.physics.damage is not None

    @property
    def damage(self) -> DamageRecord | None:
        return self.physics.damage

    @property
    def latched_up(self) -> bool:
        return bool(self.physics.latched_rails)

    @property
    def corner(self) -> str:
        return self.physics.corner.name

    def vmin(self, core_mhz: float | None = None, die_c: float | None = None) -> float:
        """Vmin of this die; defaults to the present core clock and die temperature."""
        return self.physics.vmin(core_mhz, die_c)

    # -- faults --------------------------------------------------------------------------------

    def hang(self) -> None:
        """Stop answering on the UART until the next power cycle (or clear_faults())."""
        with self._state_lock:
            self._hung = True

    def babble(self, lines: int = 5) -> None:
        """Send `lines` lines of random bytes, as a chip with a broken clock or UART would."""
        garbage = bytearray()
        for _ in range(lines):
            garbage += bytes(self._garbage.randrange(0x80, 0x100) for _ in range(BABBLE_LINE_BYTES))
            garbage += b"\n"
        self._uart.send(bytes(garbage))

    def clear_faults(self) -> None:
        with self._state_lock:
            self._hung = False

    # -- UART thread ---------------------------------------------------------------------------

    def _on_power_event(self, event: str) -> None:
        # Runs in an instrument thread with the physics lock held: hand over, never block.
        if event == "boot":
            self._uart.call_soon(self._boot)
        elif event == "reset":
            self._uart.call_soon(self._power_lost)

    def _boot(self) -> None:
        with self._state_lock:
            self._hung = False
            if not self.physics.chip.booted:
                return  # lost power again before the boot ROM got going
            self._running = True
        self._firmware.restart()
        self._uart.discard_input()
        self._uart.send(f"{self._firmware.banner}\n{PROMPT}")

    def _power_lost(self) -> None:
        with self._state_lock:
            self._running = False
            self._hung = False

    def _on_line(self, line: str) -> None:
        with self._state_lock:
            listening = self._running and not self._hung
        if not listening:
            return
        try:
            reply = self._firmware.handle(line)
        except ChipHung:
            self.hang()  # wedged mid-run, as a real core below its Vmin does: silence
            return
        text = "".join(f"{reply_line}\n" for reply_line in reply.lines)
        if reply.then_reset:
            with self.physics.lock:
                self.physics.pll_multiplier = DEFAULT_PLL_MULTIPLIER
                self.physics.update()
            self._uart.send(f"{text}{self._firmware.banner}\n{PROMPT}")
        else:
            self._uart.send(text + PROMPT)
