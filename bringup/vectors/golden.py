"""Golden signatures: what the reference core (the pure-Python emulator) leaves in the signature.

Golden results are cached by vector content hash behind `GoldenCache`, a two-method protocol,
so that the results database can later stand in for the on-disk directory used here.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bringup.vectors.model import RAM_BASE, RAM_SIZE, Vector, VectorError

CACHE_ENV = "BRINGUP_GOLDEN_CACHE"
# Two different fills of the RAM outside the image: a vector whose signature depends on which
# one was there reads uninitialised memory, and a chip would give it a random result.
_FILLS = (0x00, 0xA5)


class GoldenError(VectorError):
    """The reference core cannot give a golden signature for a vector: the vector is wrong."""


class GoldenCache(Protocol):
    """Golden signatures by vector content hash."""

    def get(self, content_hash: str) -> bytes | None: ...

    def put(self, content_hash: str, signature: bytes) -> None: ...


class DirectoryCache:
    """One file per vector under `root` (default $BRINGUP_GOLDEN_CACHE or ~/.cache/bringup/golden)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    def _path(self, content_hash: str) -> Path:
        if len(content_hash) != 64 or not all(c in "0123456789abcdef" for c in content_hash):
            raise ValueError(f"'{content_hash}' is not a vector content hash (64 lowercase hex digits)")
        return self.root / content_hash[:2] / f"{content_hash}.sig"

    def get(self, content_hash: str) -> bytes | None:
        try:
            return self._path(content_hash).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, content_hash: str, signature: bytes) -> None:
        path = self._path(content_hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader (or a crash) never sees half a signature.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(signature)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def default_cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "bringup" / "golden"


@dataclass(frozen=True)
class Golden:
    vector: Vector
    signature: bytes
    from_cache: bool


def compute_golden(vectors: Iterable[Vector], cache: GoldenCache) -> list[Golden]:
    """The golden signature of each vector, from `cache` or else from the reference core (then cached)."""
    goldens = []
    for vector in vectors:
        cached = cache.get(vector.content_hash)
        if cached is not None and len(cached) == vector.signature_end - vector.signature_start:
            goldens.append(Golden(vector, cached, from_cache=True))
            continue
        signature = reference_signature(vector)
        cache.put(vector.content_hash, signature)
        goldens.append(Golden(vector, signature, from_cache=False))
    return goldens


def reference_signature(vector: Vector) -> bytes:
    """Run `vector` on the reference core; it must halt through tohost with exit code 0."""
    signatures = {_run_on_reference(vector, fill) for fill in _fills_for(vector)}
    if len(signatures) > 1:
        raise GoldenError(
            f"vector '{vector.name}': its signature changes with the RAM contents outside the image — "
            "it reads memory it never wrote; initialise that data in the image"
        )
    return signatures.pop()


def _fills_for(vector: Vector) -> tuple[int, ...]:
    covers_ram = vector.load_address == RAM_BASE and len(vector.image) == RAM_SIZE
    return _FILLS[:1] if covers_ram else _FILLS


def _run_on_reference(vector: Vector, fill: int) -> bytes:
    from bringup.emulator import Core, Memory, StopReason  # lazy: the emulator is only needed here

    core = Core(Memory(regions=[(RAM_BASE, RAM_SIZE)]), tohost=vector.tohost)
    if fill:
        core.load(RAM_BASE, bytes([fill]) * RAM_SIZE)
    core.load(vector.load_address, vector.image)
    core.pc = vector.entry
    result = core.run(max_steps=vector.max_steps)
    if result.status != StopReason.HALTED:
        raise GoldenError(
            f"vector '{vector.name}' did not reach tohost on the reference core ({result.status} after "
            f"{result.steps} steps, pc {result.pc:#010x}) — raise max_steps or fix the program's exit"
        )
    if result.exit_code != 0:
        raise GoldenError(
            f"vector '{vector.name}' fails its own check {result.exit_code} on the reference core — "
            "the vector's expected values are wrong; fix or regenerate it"
        )
    return core.read_bytes(vector.signature_start, vector.signature_end - vector.signature_start)
