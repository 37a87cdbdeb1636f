"""A native Unicorn block hook that counts instructions and ends a run at a step budget.

Unicorn's own exact budget, ``emu_start(count=...)``, calls a helper before every instruction
and costs about a third of the engine's throughput; a Python block hook costs far more (one
ctypes round trip per block). This hook is machine code compiled once per process by numba
(about 0.5 s, paid on the first Unicorn backend of a process) and called by QEMU at the start of
every translated block, before the block runs. It keeps, in a small array the backend owns:

- ``TOTAL``: instructions of every block started so far, the current one included;
- ``LAST_ADDRESS`` / ``LAST_LENGTH``: where the current block starts and how many instructions
  it holds, so that a stop inside it (the tohost store, a trap) gives its exact step;
- ``LIMIT`` / ``OVER``: a block that would take ``TOTAL`` past ``LIMIT`` is not run: the hook
  sets ``OVER`` and stops the engine before the block's first instruction, so the backend
  knows exactly how many ran and finishes the last few with an exact ``count``.

Instructions are 4 bytes (RV32IM, no compressed instructions), as in the reference core.
numba is optional (``pip install 'bringup[unicorn]'`` brings it); without it
``native_block_hook()`` is None and the backend counts with QEMU's exact ``count``.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from typing import Any

from bringup.messages import first_line

log = logging.getLogger(__name__)

TOTAL, LAST_ADDRESS, LAST_LENGTH, LIMIT, OVER = range(5)
STATE_WORDS = 5

State = ctypes.c_uint64 * STATE_WORDS


@functools.cache
def native_block_hook() -> int | None:
    """The address of the compiled ``uc_cb_hookcode_t``, or None where numba is missing."""
    try:
        from numba import cfunc, types
        from unicorn.unicorn_py3.unicorn import uclib
    except ImportError:
        return None
    # Called from the compiled hook: numba takes a ctypes function it closes over as a constant
    # address (which is also why the hook is compiled per process, not cached on disk).
    emu_stop = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)(
        ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value)
    signature = types.void(types.voidptr, types.uint64, types.uint32,
                           types.CPointer(types.uint64))

    def on_block(uc: Any, address: int, size: int, state: Any) -> None:
        length = size >> 2
        total = state[TOTAL] + length
        state[TOTAL] = total
        state[LAST_ADDRESS] = address
        state[LAST_LENGTH] = length
        if total > state[LIMIT]:
            state[OVER] = 1
            emu_stop(uc)

    try:
        return cfunc(signature, nopython=True)(on_block).address
    except Exception as exc:  # a numba that cannot compile here: QEMU's count still works
        log.warning("unicorn backend: the native block counter did not compile (%s); counting "
                    "steps with QEMU's count instead, about half as fast", first_line(exc))
        return None


def attach(uc: Any, state: ctypes.Array) -> bool:
    """Add the counting hook to ``uc`` (every block, from now on); False where unavailable."""
    address = native_block_hook()
    if address is None:
        return False
    import unicorn
    from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib

    # Uc.hook_add wraps Python callables only; the engine handle it passes to C is Uc._uch.
    handle = uc_hook_h()
    status = uclib.uc_hook_add(uc._uch, ctypes.byref(handle), unicorn.UC_HOOK_BLOCK,
                               ctypes.c_void_p(address), ctypes.cast(state, ctypes.c_void_p),
                               ctypes.c_uint64(1), ctypes.c_uint64(0))
    if status != unicorn.UC_ERR_OK:
        raise unicorn.UcError(status)
    uc.ctl_flush_tb()  # blocks translated before the hook existed would not call it
    return True
