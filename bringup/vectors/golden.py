"""Golden signatures: what the reference core (the pure-Python emulator) leaves in the signature.

Golden results are cached behind `GoldenCache`, a two-method protocol keyed by `golden_key`: a
hash of the vector's content hash *and* the reference core's fingerprint
(`bringup.emulator.emulator_fingerprint`: its semantics version and a hash of its source), so
a golden computed by another version of the core is never used; it is recomputed. Any cache
(the on-disk directory here, the results database in front of it) sees only those keys.
"""

from __future__ import annotations

import hashlib
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
    """Golden signatures by `golden_key` (64 lowercase hex digits)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, signature: bytes) -> None: ...


# Bump when how a golden is derived from a core run changes (the RAM fills, the checks).
GOLDEN_METHOD = 1


def golden_key(vector: Vector) -> str:
    """The cache key of `vector`'s golden: its content, this reference core, this method."""
    from bringup.emulator.version import fingerprint  # lazy: keeps `bringup --help` fast

    text = f"{vector.content_hash}:{fingerprint()}:{GOLDEN_METHOD}"
    return hashlib.sha256(text.encode()).hexdigest()


class DirectoryCache:
    """One file per vector under `root` (default $BRINGUP_GOLDEN_CACHE or ~/.cache/bringup/golden)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    def _path(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"'{key}' is not a golden key (64 lowercase hex digits)")
        return self.root / key[:2] / f"{key}.sig"

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, signature: bytes) -> None:
        path = self._path(key)
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
        cached = cached_golden(vector, cache)
        if cached is not None:
            goldens.append(Golden(vector, cached, from_cache=True))
            continue
        signature = reference_signature(vector)
        cache.put(golden_key(vector), signature)
        goldens.append(Golden(vector, signature, from_cache=False))
    return goldens


def cached_golden(vector: Vector, cache: GoldenCache) -> bytes | None:
    """`vector`'s golden from `cache` if this reference core computed one, else None."""
    cached = cache.get(golden_key(vector))
    if cached is not None and len(cached) == vector.signature_end - vector.signature_start:
        return cached
    return None


def reference_signatures(vectors: list[Vector]) -> list[bytes | str]:
    """For a worker process: each vector's golden, or the GoldenError's message (exceptions
    with arguments do not always survive pickling; a message does)."""
    results: list[bytes | str] = []
    for vector in vectors:
        try:
            results.append(reference_signature(vector))
        except GoldenError as error:
            results.append(str(error))
    return results


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
