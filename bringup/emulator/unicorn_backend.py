"""The optional Unicorn (QEMU) backend, for bulk golden generation of programs that do not trap.

It agrees with the reference core on registers, memory, status, exit code and steps as long as
nothing traps. Traps and CSRs are out of its scope: any exception stops the run with
``StopReason.TRAP`` (and ``steps`` then counts whole translated blocks, so it is approximate).
Unicorn maps memory in 4 KiB pages, so each region is mapped page-aligned; accesses just
outside a region but inside its pages therefore succeed here and fault on the reference core.
"""

from __future__ import annotations

from collections.abc import Sequence

from bringup.emulator.core import RunResult, StopReason

_PAGE = 0x1000
_NEVER = 1  # an "until" address that no 4-byte-aligned program counter can equal


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
        for base, size in self._regions:
            start = base & ~(_PAGE - 1)
            end = (base + size + _PAGE - 1) & ~(_PAGE - 1)
            self._uc.mem_map(start, end - start)
        self._uc.hook_add(unicorn.UC_HOOK_BLOCK, self._on_block)
        if tohost is not None:
            self._uc.hook_add(unicorn.UC_HOOK_MEM_WRITE, self._on_tohost_write,
                              begin=tohost, end=tohost + 3)
        self._pc = regions[0][0]
        self._executed = 0  # instructions in blocks entered so far during this run
        self._block_start = 0
        self._block_size = 0
        self._halt: tuple[int, int] | None = None  # (exit code, pc after the store)

    # Hooks run inside emu_start; they only count and record.
    def _on_block(self, uc: object, address: int, size: int, user: object) -> None:
        self._executed += size // 4
        self._block_start = address
        self._block_size = size // 4

    def _on_tohost_write(self, uc: object, access: int, address: int, size: int, value: int,
                         user: object) -> None:
        assert self._tohost is not None
        old = bytearray(self._uc.mem_read(self._tohost, 4))
        shift = address - self._tohost
        new = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        for i, byte in enumerate(new):
            if 0 <= shift + i < 4:
                old[shift + i] = byte
        word = int.from_bytes(old, "little")
        if word & 1:
            pc = self._uc.reg_read(self._pc_reg)
            done_in_block = (pc - self._block_start) // 4 + 1
            self._executed += done_in_block - self._block_size
            self._halt = (word >> 1, (pc + 4) & 0xFFFF_FFFF)
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

    def run(self, max_steps: int) -> RunResult:
        if max_steps <= 0:
            return RunResult(StopReason.BUDGET, None, 0, self._pc)
        self._executed = 0
        self._halt = None
        status = StopReason.BUDGET
        try:
            self._uc.emu_start(self._pc, _NEVER, count=max_steps)
        except self._unicorn.UcError:
            status = StopReason.TRAP
        if self._halt is not None:
            exit_code, self._pc = self._halt
            return RunResult(StopReason.HALTED, exit_code, self._executed, self._pc)
        self._pc = self._uc.reg_read(self._pc_reg) & 0xFFFF_FFFF
        steps = max_steps if status is StopReason.BUDGET else self._executed
        return RunResult(status, None, steps, self._pc)
