"""The simulated chip on its UART: boots when the physics says so, runs the monitor firmware.

The executor interface that `RUN` needs is defined here (re-exported from monitor_firmware):

    executor(memory: bytearray, base_address: int, entry: int, max_steps: int)
        -> RunOutcome(status, exit_code, steps)      # status: 'exit' | 'timeout' | 'trap'

Plug the reference core in with `lab.chip.executor = fn` (or `SimLab(executor=fn)`); without
one, `RUN` answers `ERR 501 run needs the reference core`. `lab.chip.disturbance` is the hook
where results get corrupted below Vmin.
"""

from __future__ import annotations

import random
import threading

from bringup.simlab.chip_power import DamageRecord
from bringup.simlab.monitor_firmware import (
    PROMPT,
    Executor,
    MonitorFirmware,
    RunDisturbance,
    RunOutcome,
    no_disturbance,
)
from bringup.simlab.physics import DEFAULT_PLL_MULTIPLIER, Physics
from bringup.simlab.pty_uart import PtyUart

__all__ = ["Executor", "RunDisturbance", "RunOutcome", "SimChip"]

DEFAULT_RAM_BASE = 0x8000_0000
DEFAULT_RAM_SIZE = 64 * 1024
BABBLE_LINE_BYTES = 48


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
        self.disturbance: RunDisturbance = no_disturbance
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
        reply = self._firmware.handle(line)
        text = "".join(f"{reply_line}\n" for reply_line in reply.lines)
        if reply.then_reset:
            with self.physics.lock:
                self.physics.pll_multiplier = DEFAULT_PLL_MULTIPLIER
                self.physics.update()
            self._uart.send(f"{text}{self._firmware.banner}\n{PROMPT}")
        else:
            self._uart.send(text + PROMPT)
