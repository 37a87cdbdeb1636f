"""The optional Unicorn (QEMU) backend, for bulk golden generation of programs that do not trap.

It agrees with the reference core on registers, memory, status, exit code and steps as long as
nothing traps. Traps and CSRs are out of its scope: an exception (ecall, ebreak, an illegal
instruction, a misaligned jump, an access outside every mapped page) stops the run with
``StopReason.TRAP``, ``pc`` at the trapping instruction and ``steps`` counting it, as the
reference core counts a trapping instruction. Unicorn maps memory in 4 KiB pages, so each region
is mapped page-aligned; accesses just outside a region but inside its pages therefore succeed
here and fault on the reference core.

Speed: no Python runs per instruction or per block. QEMU executes in chunks of at most
``CHUNK`` instructions (``emu_start(count=...)`` is the exact budget). The tohost write is
caught by write-protecting tohost's 4 KiB page: any memory-write hook, even one limited to a
few bytes, sends every store of the program through QEMU's slow path (a third slower on a
store-heavy loop). A store into that page faults into a Python hook; one that sets tohost's
bit 0 halts the run, and the backend performs it. A program that stores into that page for
other reasons (data beside tohost) would fault on each such store, so at the first one the
backend switches, for good, to a memory-write hook on the tohost word. Hooks cannot tell how
many instructions ran before they fired, so when a run stops inside a chunk the chunk is
replayed from a snapshot taken at its start, halving the count each time (bisection): the stop
is deterministic, so its exact step is found after about one more chunk's worth of fast
execution and log2(CHUNK) snapshot restores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bringup.emulator.core import RunResult, StopReason

_PAGE = 0x1000
_NEVER = 1  # an "until" address that no 4-byte-aligned program counter can equal
CHUNK = 1 << 20  # instructions per fast run between snapshots


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
        self._stop = _Stop(StopReason.TRAP)
        self._uc.emu_stop()

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
        done = 0
        while done < max_steps:
            length = min(CHUNK, max_steps - done)
            snapshot = self._snapshot()
            stop = self._fast_run(length)
            if stop is None:
                done += length
                continue
            steps, pc = self._locate_stop(snapshot, length)
            if stop.status is None:  # a data store into tohost's page: redo it unprotected
                self._unprotect()
                done += steps - 1
                self._pc = pc
                continue
            done += steps
            if stop.status is StopReason.HALTED:
                if stop.store is not None:  # the protected page refused it; do it here
                    self.load(*stop.store)
                self._pc = (pc + 4) & 0xFFFF_FFFF
            else:
                self._pc = pc  # the trapping instruction, as mepc would say
            return RunResult(stop.status, stop.exit_code, done, self._pc)
        return RunResult(StopReason.BUDGET, None, max_steps, self._pc)

    def _fast_run(self, count: int) -> _Stop | None:
        """Run at most ``count`` instructions from ``self.pc``; why it stopped early, or None."""
        self._stop = None
        try:
            self._uc.emu_start(self._pc, _NEVER, count=count)
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
