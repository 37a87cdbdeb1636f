"""The reference RV32IM core: golden results for validation vectors, in pure Python.

Everything here imports only the standard library (pyelftools is imported lazily by
``load_elf``; unicorn lazily by the optional ``"unicorn"`` backend).

Running a program::

    from bringup.emulator import Core, Memory, StopReason

    memory = Memory(regions=[(0x8000_0000, 0x10_0000)])       # (base, size) RAM regions
    core = Core(memory, tohost=0x8000_1000, misaligned="allow", trace=None)
    core.load(0x8000_0000, program_bytes)                       # little-endian image
    core.pc = 0x8000_0000
    result = core.run(max_steps=1_000_000)                      # a step budget is mandatory
    result.status      # StopReason.HALTED | BUDGET | DOUBLE_FAULT (| TRAP on unicorn only)
    result.exit_code   # int when HALTED (tohost value >> 1), else None
    result.steps       # instructions executed by this call (trapping ones included)
    result.pc          # pc where the run stopped (next instruction to execute)
    signature = core.read_words(begin_signature, count)         # list[int], 32-bit words

From an ELF (``begin_signature``/``end_signature``/``tohost`` symbols, riscv-tests style)::

    image = load_elf("vector.elf")          # or load_elf(elf_bytes)
    core = Core(Memory(regions=[(0x8000_0000, 0x10_0000)]), tohost=image.tohost)
    image.load_into(core)                   # writes every segment, sets core.pc = image.entry
    core.run(max_steps=100_000)
    golden = core.read_words(*image.signature_words())   # (address, count); needs both symbols

Public API (stable; other packages code against exactly this):

- ``Memory(regions: Sequence[tuple[int, int]])``: RAM regions, each ``(base, size)`` with base
  and size multiples of 4, not overlapping. Access outside every region is an access fault.
  ``memory.read_bytes(address, n) -> bytes``, ``memory.write_bytes(address, data)``,
  ``memory.regions -> list[tuple[int, int]]``. Raises ``MemoryAccessError`` from these
  host-side helpers when the range is not inside one region.
- ``Core(memory, *, tohost: int | None = None, misaligned: "allow" | "trap" = "allow",
  trace: Callable[[TraceRecord], None] | None = None, reset_pc: int | None = None)``.
  ``tohost`` (HTIF style): a store whose 32-bit word at ``tohost`` then has bit 0 set halts the
  run with ``exit_code = word >> 1`` (0 = pass). ``misaligned="trap"`` makes misaligned loads
  and stores trap (causes 4 and 6) instead of being performed byte by byte. ``trace`` receives
  one ``TraceRecord`` per executed instruction (``str(record)`` is a one-line log entry); with
  ``trace=None`` the translated fast path runs and tracing costs nothing.
  ``reset_pc`` defaults to the base of the first region.

  - ``core.pc`` (int, settable), ``core.regs`` (x0..x31: indexable, settable, iterable,
    ``list(core.regs)``; x0 always reads 0 and ignores writes).
  - ``core.load(address, data: bytes)``, ``core.read_words(address, count) -> list[int]``,
    ``core.write_words(address, words)``, ``core.read_bytes(address, n) -> bytes``.
  - ``core.run(max_steps: int) -> RunResult``; call again to continue from where it stopped.
  - ``core.read_csr(number_or_name) -> int`` (e.g. ``"mcause"``, ``0x341``).
  - ``core.reset()``: registers to 0, pc to ``reset_pc``, CSRs and counters to their reset
    values; memory is kept.
- ``RunResult(status: StopReason, exit_code: int | None, steps: int, pc: int)`` (frozen).
- ``StopReason`` (``str`` enum): ``HALTED`` ("halted", tohost written), ``BUDGET`` ("budget",
  max_steps executed), ``DOUBLE_FAULT`` ("double_fault": a trap vectored to an mtvec where no
  instruction can be fetched; mcause/mepc/mtval still describe the original trap),
  ``TRAP`` ("trap": a backend that cannot take traps, i.e. unicorn, met one; ``pc`` is the
  trapping instruction and ``steps`` counts it, as the reference core counts it).
- ``load_elf(path_or_bytes) -> ElfImage(segments: list[Segment(address, data)], entry: int,
  symbols: dict[str, int])`` with ``.tohost``, ``.begin_signature``, ``.end_signature``
  (``int | None``), ``.signature_words() -> (address, count)``, ``.load_into(core_or_backend)``.
  Raises ``ElfError`` (a ``ValueError``) naming the file and the problem.
- ``Backend`` (``typing.Protocol``): ``name``, ``pc``, ``load``, ``read_words``,
  ``write_words``, ``read_bytes``, ``regs -> list[int]``, ``run(max_steps) -> RunResult``,
  ``reset()``. ``make_backend("python" | "unicorn", regions, *, tohost=None,
  misaligned="allow") -> Backend``. Both backends agree bit for bit on registers, memory,
  status, exit code and steps for programs that do not trap. The Python core is the reference.
- ``bringup.emulator.asm``: an encoder, one function per instruction returning the 32-bit word,
  e.g. ``asm.addi(rd, rs1, imm)``, ``asm.lw(rd, rs1, imm)``, ``asm.sw(rs2, rs1, imm)``,
  ``asm.beq(rs1, rs2, offset)``, ``asm.jal(rd, offset)``, ``asm.csrrw(rd, csr, rs1)``,
  ``asm.ecall()``, ``asm.fence_i()`` (``asm.or_``/``asm.and_`` for OR/AND);
  ``asm.li(rd, value) -> [lui, addi]``; ``asm.program(words) -> bytes``.
- ``disassemble(word: int, pc: int = 0) -> str``.
- ``SEMANTICS_VERSION`` (int, bumped when any result changes) and ``emulator_fingerprint() ->
  str`` (that version plus a hash of the core's source files): golden caches key on it, so a
  golden from another core is never used (``version.py``).

Machine model: one hart, machine mode only, RV32IM + Zicsr + Zifencei. CSRs: mstatus (MIE,
MPIE; MPP reads 3), misa (RV32IM), mtvec (direct mode only), mepc, mcause, mtval, mscratch,
mhartid (0), mvendorid/marchid/mimpid (0), mie, mip (reads 0: no interrupt sources), mcycle,
minstret and their high halves (writable), the read-only views cycle/time/instret[h] (writing
one is an illegal instruction), hpm counters and events (read 0). One cycle per step; ``time``
equals ``cycle``. A trapping instruction counts as a step and a cycle but does not retire.
WFI is a no-op (nothing can wake it). Trap causes follow the privileged specification.

Speed: straight-line code is translated into Python functions (``translate.py``) once a pc has
run ``Core.translate_after`` times; stores into translated code and FENCE.I drop the stale
translations, and budgets and counters stay exact. Change a running core's memory through
``core.load``/``core.write_words`` (which drop translations), not through ``core.memory``.
"""

from bringup.emulator.backend import Backend, make_backend
from bringup.emulator.core import Core, RunResult, StopReason
from bringup.emulator.disasm import disassemble
from bringup.emulator.elf import ElfError, ElfImage, Segment, load_elf
from bringup.emulator.memory import Memory, MemoryAccessError
from bringup.emulator.trace import TraceRecord
from bringup.emulator.version import SEMANTICS_VERSION
from bringup.emulator.version import fingerprint as emulator_fingerprint

__all__ = [
    "SEMANTICS_VERSION",
    "Backend",
    "Core",
    "ElfError",
    "ElfImage",
    "Memory",
    "MemoryAccessError",
    "RunResult",
    "Segment",
    "StopReason",
    "TraceRecord",
    "disassemble",
    "emulator_fingerprint",
    "load_elf",
    "make_backend",
]
