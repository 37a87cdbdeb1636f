"""The optional Unicorn (QEMU) backend, for bulk golden generation of programs that do not trap.

It agrees with the reference core on registers, memory, status, exit code and steps as long as
nothing traps. Traps and CSRs are out of its scope: an exception (ecall, ebreak, an illegal
instruction, a misaligned jump, an access outside every mapped page) stops the run with
``StopReason.TRAP``, ``pc`` at the trapping instruction and ``steps`` counting it, as the
reference core counts a trapping instruction. Unicorn maps memory in 4 KiB pages, so each region
is mapped page-aligned; accesses just outside a region but inside its pages therefore succeed
here and fault on the reference core.

Speed: no Python runs per instruction or per block. The tohost write is caught by
write-protecting tohost's 4 KiB page: any memory-write hook, even one limited to a few bytes,
sends every store of the program through QEMU's slow path (a third slower on a store-heavy
loop). A store into that page faults into a Python hook; one that sets tohost's bit 0 halts the
run, and the backend performs it. A program that stores into that page for other reasons (data
beside tohost) would fault on each such store, so at the first one the backend switches, for
good, to a memory-write hook on the tohost word.

Steps are counted one of two ways (``counting`` says which):

- "native block counter" (numba installed; the default): one QEMU run with no count, under a
  compiled block hook (``block_counter``) that counts each block's instructions before it runs
  and stops the engine before a block that would pass the budget. A stop inside a block (the
  tohost store, a trap) is at an exact step: the instructions before the block, plus its
  position in the block. The last few instructions before a budget run with QEMU's count.
  A long run goes in segments of ``NATIVE_SEGMENT`` steps, so that a signal (Ctrl-C) is
  handled within a fraction of a second. About 0.9x the bare engine with no hooks at all.
- "qemu count" (no numba, and after the switch to a write hook, whose stop QEMU only takes at
  the end of a block): QEMU executes in chunks of at most ``CHUNK`` instructions
  (``emu_start(count=...)`` is the exact budget, and costs about a third of the engine's
  throughput). Hooks cannot tell how many instructions ran before they fired, so when a run
  stops inside a chunk the chunk is replayed from a snapshot taken at its start, halving the
  count each time (bisection): the stop is deterministic, so its exact step is found after
  about one more chunk's worth of fast execution and log2(CHUNK) snapshot restores.

One difference between the two: a store into the very block being run, with no fence.i between
it and the rewritten instruction, may run the old instruction under the native block counter
(QEMU does not re-translate the running block without a per-instruction hook). RISC-V allows
either without fence.i; code that rewrites a block it has left agrees on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bringup.emulator import block_counter
from bringup.emulator.core import RunResult, StopReason

_PAGE = 0x1000
_NEVER = 1  # an "until" address that no 4-byte-aligned program counter can equal
CHUNK = 1 << 20  # instructions per fast run between snapshots
# Steps per run under the native block counter before Python gets a look in (~0.2 s at
# 100 MIPS); far above a translated block's length (QEMU stops at 512 instructions).
NATIVE_SEGMENT = 1 << 24
_UNLIMITED = (1 << 64) - 1


@dataclass(frozen=True)
class _Snapshot:
    pc: int
    context: object  # unicorn.UcContext: registers and CPU state
    pages: list[bytes]  # the mapped memory, one bytes per mapped range


@dataclass(frozen=True)
class _Stop:
    """Why a fast run ended before its count: the tohost halt, an exception, or (protected
    mode) a store into tohost's page that the backend has to carry out."""

    status: StopReason | None  # None: a store into the protected page that does not halt
    exit_code: int | None = None
    store: tuple[int, bytes] | None = None  # (address, bytes) still to be written
    pc: int | None = None  # the stopping instruction, where QEMU's pc register is not it


class UnicornBackend:
    name = "unicorn"

    def __init__(self, regions: Sequence[tuple[int, int]], *, tohost: int | None = None,
                 misaligned: str = "allow") -> None:
        try:
            import unicorn
            from unicorn import riscv_const
        except ImportError as error:
            raise RuntimeError("the unicorn backend needs the 'unicorn' package: "
                               "pip install 'bringup[unicorn]'") from error
        if misaligned != "allow":
            raise ValueError("the unicorn backend cannot trap misaligned accesses; "
                             "use the python backend for misaligned='trap'")
        self._unicorn = unicorn
        self._pc_reg = riscv_const.UC_RISCV_REG_PC
        self._x_regs = [getattr(riscv_const, f"UC_RISCV_REG_X{i}") for i in range(32)]
        self._regions = list(regions)
        self._tohost = tohost
        self._uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
        self._mapped: list[tuple[int, int]] = []
        for base, size in self._regions:
            start = base & ~(_PAGE - 1)
            end = (base + size + _PAGE - 1) & ~(_PAGE - 1)
            self._uc.mem_map(start, end - start)
            self._mapped.append((start, end - start))
        self._uc.hook_add(unicorn.UC_HOOK_INTR, self._on_interrupt)
        self._tohost_page = None if tohost is None else tohost & ~(_PAGE - 1)
        self.protected = tohost is not None  # tohost's page write-protected (else a write hook)
        if tohost is not None:
            self._uc.mem_protect(self._tohost_page, _PAGE, self._read_exec)
            self._uc.hook_add(unicorn.UC_HOOK_MEM_WRITE_PROT, self._on_protected_write)
        self._pc = regions[0][0]
        self._stop: _Stop | None = None
        self._count_state = block_counter.State()
        self._counted = block_counter.attach(self._uc, self._count_state)

    @property
    def _read_exec(self) -> int:
        return self._unicorn.UC_PROT_READ | self._unicorn.UC_PROT_EXEC

    # Hooks run inside emu_start; they only record why the run stops.
    def _tohost_after(self, address: int, size: int, value: int) -> int:
        """The tohost word as it is once this store (not yet done) is done."""
        assert self._tohost is not None
        word = bytearray(self._uc.mem_read(self._tohost, 4))
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        for i, byte in enumerate(data):
            if 0 <= address + i - self._tohost < 4:
                word[address + i - self._tohost] = byte
        return int.from_bytes(word, "little")

    def _on_protected_write(self, uc: object, access: int, address: int, size: int, value: int,
                            user: object) -> bool:
        store = (address, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))
        word = self._tohost_after(address, size, value)
        self._stop = _Stop(StopReason.HALTED if word & 1 else None, word >> 1, store)
        return False  # not handled: QEMU stops the run with UC_ERR_WRITE_PROT

    def _on_tohost_write(self, uc: object, access: int, address: int, size: int, value: int,
                         user: object) -> None:
        word = self._tohost_after(address, size, value)  # the hook runs before the write
        if word & 1:
            self._stop = _Stop(StopReason.HALTED, word >> 1)
            self._uc.emu_stop()

    def _unprotect(self) -> None:
        """Data shares tohost's page: watch the tohost word with a write hook instead."""
        assert self._tohost is not None and self._tohost_page is not None
        self.protected = False
        self._uc.mem_protect(self._tohost_page, _PAGE, self._read_exec | self._unicorn.UC_PROT_WRITE)
        self._uc.hook_add(self._unicorn.UC_HOOK_MEM_WRITE, self._on_tohost_write,
                          begin=self._tohost, end=self._tohost + 3)
        self._uc.ctl_flush_tb()

    def _on_interrupt(self, uc: object, number: int, user: object) -> None:
        # Unicorn has already moved a RISC-V pc past the instruction that raised the exception
        # (so that a syscall hook returns after the ecall); the trap is the one before.
        trapped_at = (self._uc.reg_read(self._pc_reg) - 4) & 0xFFFF_FFFF
        self._stop = _Stop(StopReason.TRAP, pc=trapped_at)
        self._uc.emu_stop()

    @property
    def counting(self) -> str:
        """How this backend counts steps: "native block counter" or "qemu count"."""
        return "native block counter" if self._counted else "qemu count"

    @property
    def pc(self) -> int:
        return self._pc

    @pc.setter
    def pc(self, value: int) -> None:
        self._pc = value & 0xFFFF_FFFF

    @property
    def regs(self) -> list[int]:
        return [0] + [self._uc.reg_read(reg) & 0xFFFF_FFFF for reg in self._x_regs[1:]]

    def load(self, address: int, data: bytes) -> None:
        self._uc.mem_write(address, bytes(data))
        # QEMU does not notice a host-side write into code it has translated.
        self._uc.ctl_remove_cache(address, address + max(len(data), 1))

    def read_words(self, address: int, count: int) -> list[int]:
        raw = self.read_bytes(address, 4 * count)
        return [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)]

    def write_words(self, address: int, words: list[int]) -> None:
        self.load(address, b"".join((w & 0xFFFF_FFFF).to_bytes(4, "little") for w in words))

    def read_bytes(self, address: int, length: int) -> bytes:
        return bytes(self._uc.mem_read(address, length))

    def reset(self) -> None:
        for reg in self._x_regs[1:]:
            self._uc.reg_write(reg, 0)
        self._pc = self._regions[0][0]

    # ------------------------------------------------------------------------------ running
    def run(self, max_steps: int) -> RunResult:
        if max_steps < 0:
            raise ValueError(f"max_steps must be >= 0, not {max_steps}")
        if self._counted and self.protected and max_steps > 0:
            return self._run_counted(max_steps)
        return self._run_chunked(max_steps)

    def _run_counted(self, max_steps: int) -> RunResult:
        """QEMU runs with no count under the native block counter (see block_counter), in
        segments of at most NATIVE_SEGMENT steps: between two, Python runs again, so a signal
        handler (Ctrl-C) is not held off until a long budget is spent."""
        state = self._count_state
        done = 0
        while True:
            budget_left = max_steps - done
            segment = min(budget_left, NATIVE_SEGMENT)
            state[block_counter.TOTAL] = 0
            state[block_counter.OVER] = 0
            state[block_counter.LAST_LENGTH] = 0
            state[block_counter.LIMIT] = segment
            stop = self._fast_run(None)
            pc = self._uc.reg_read(self._pc_reg) & 0xFFFF_FFFF
            if state[block_counter.OVER]:  # stopped before a block that would pass the segment
                ran = state[block_counter.TOTAL] - state[block_counter.LAST_LENGTH]
                done += ran
                self._pc = pc
                if segment < budget_left and ran:
                    continue
                rest = self._run_chunked(max_steps - done)  # the last few steps, exactly
                return RunResult(rest.status, rest.exit_code, done + rest.steps, rest.pc)
            assert stop is not None, "a run without a count ended without a stop"
            if stop.pc is not None:
                pc = stop.pc
            return self._finish(stop, done + self._counted_step(pc), pc, max_steps)

    def _counted_step(self, pc: int) -> int:
        """The step number of the instruction at ``pc`` where a counted run stopped."""
        state = self._count_state
        total, last = state[block_counter.TOTAL], state[block_counter.LAST_LENGTH]
        start = state[block_counter.LAST_ADDRESS]
        if start <= pc < start + 4 * last:  # inside the block that was running
            return total - last + (pc - start) // 4 + 1
        return total + 1  # a fault fetching the next block: the last one ran whole

    def _finish(self, stop: _Stop, steps: int, pc: int, max_steps: int) -> RunResult:
        """The run stopped at ``pc``, its ``steps``-th instruction (counted from this run's
        start): perform what the stop asks and say how the run ended."""
        if stop.status is None:  # a data store into tohost's page: redo it unprotected
            self._unprotect()
            self._pc = pc
            rest = self._run_chunked(max_steps - (steps - 1))
            return RunResult(rest.status, rest.exit_code, steps - 1 + rest.steps, rest.pc)
        if stop.status is StopReason.HALTED:
            if stop.store is not None:  # the protected page refused it; do it here
                self.load(*stop.store)
            self._pc = (pc + 4) & 0xFFFF_FFFF
        else:
            self._pc = pc  # the trapping instruction, as mepc would say
        return RunResult(stop.status, stop.exit_code, steps, self._pc)

    def _run_chunked(self, max_steps: int) -> RunResult:
        """QEMU's exact ``count``, chunk by chunk, each stop located by replaying its chunk."""
        if self._counted:
            self._count_state[block_counter.LIMIT] = _UNLIMITED  # the native hook only counts
            # Unicorn compiles its count into blocks as it translates them, but does not drop
            # the blocks a run without a count translated: they would ignore the count.
            self._uc.ctl_flush_tb()
        done = 0
        while done < max_steps:
            length = min(CHUNK, max_steps - done)
            snapshot = self._snapshot()
            stop = self._fast_run(length)
            if stop is None:
                done += length
                continue
            steps, pc = self._locate_stop(snapshot, length)
            result = self._finish(stop, steps, pc, max_steps - done)
            return RunResult(result.status, result.exit_code, done + result.steps, result.pc)
        return RunResult(StopReason.BUDGET, None, max_steps, self._pc)

    def _fast_run(self, count: int | None) -> _Stop | None:
        """Run at most ``count`` instructions (None: until a stop or the native counter's
        budget) from ``self.pc``; why it stopped early, or None."""
        self._stop = None
        try:
            self._uc.emu_start(self._pc, _NEVER, count=0 if count is None else count)
        except self._unicorn.UcError:
            if self._stop is None:  # else the protected-page hook said why
                self._stop = _Stop(StopReason.TRAP)  # an access fault (unmapped memory)
        if self._stop is None:
            self._pc = self._uc.reg_read(self._pc_reg) & 0xFFFF_FFFF
        return self._stop

    def _locate_stop(self, snapshot: _Snapshot, length: int) -> tuple[int, int]:
        """Running ``length`` instructions from ``snapshot`` stops early; replay it to find the
        stopping instruction: (its 1-based step number from the snapshot, its pc). The machine
        is left in the state the stop leaves."""
        before = 0
        while length > 1:
            half = length // 2
            self._restore(snapshot)
            if self._fast_run(half) is None:
                before += half
                length -= half
                snapshot = self._snapshot()
            else:
                length = half
        self._restore(snapshot)
        stop = self._fast_run(1)
        assert stop is not None, "the unicorn run is not deterministic"
        return before + 1, snapshot.pc

    def _snapshot(self) -> _Snapshot:
        pages = [bytes(self._uc.mem_read(start, size)) for start, size in self._mapped]
        return _Snapshot(self._pc, self._uc.context_save(), pages)

    def _restore(self, snapshot: _Snapshot) -> None:
        self._uc.context_restore(snapshot.context)
        self._pc = snapshot.pc
        for (start, size), saved in zip(self._mapped, snapshot.pages, strict=True):
            current = self._uc.mem_read(start, size)
            for offset in range(0, size, _PAGE):  # rewrite only pages the replay changed
                end = offset + _PAGE
                if current[offset:end] != saved[offset:end]:
                    self.load(start + offset, saved[offset:end])
