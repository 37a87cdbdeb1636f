"""Validation vectors: model, loaders, random generator, golden signatures, comparator, runner.

    from bringup.vectors import load_vectors, run_vectors, DirectoryCache
    vectors = load_vectors("runbooks/vectors/directed.yaml")
    summary = run_vectors(dut, vectors, DirectoryCache(), progress=print_progress)

Modules: model (Vector, content hash), hexfile / elffile / suite (loaders; mistakes are
ConfigError lines with file:line and the fix), generator (seeded self-checking programs),
golden (reference-core signatures behind the GoldenCache protocol), compare (first mismatch,
flipped bits), runner (reset/load/run/compare on anything with the Dut methods).
"""

from bringup.vectors.compare import Comparison, WordMismatch, compare_signatures
from bringup.vectors.elffile import ElfVectorError, load_elf_vector
from bringup.vectors.golden import (
    DirectoryCache,
    Golden,
    GoldenCache,
    GoldenError,
    compute_golden,
    default_cache_dir,
    reference_signature,
)
from bringup.vectors.hexfile import dump_hex, load_hex, write_hex
from bringup.vectors.model import RAM_BASE, RAM_SIZE, Vector, VectorError
from bringup.vectors.runner import RunSummary, VectorOutcome, run_one, run_vectors
from bringup.vectors.suite import Suite, load_suite, load_vectors

__all__ = [
    "RAM_BASE",
    "RAM_SIZE",
    "Comparison",
    "DirectoryCache",
    "ElfVectorError",
    "Golden",
    "GoldenCache",
    "GoldenError",
    "RunSummary",
    "Suite",
    "Vector",
    "VectorError",
    "VectorOutcome",
    "WordMismatch",
    "compare_signatures",
    "compute_golden",
    "default_cache_dir",
    "dump_hex",
    "generate",
    "generate_program",
    "load_elf_vector",
    "load_hex",
    "load_suite",
    "load_vectors",
    "reference_signature",
    "run_one",
    "run_vectors",
    "write_hex",
]


def __getattr__(name: str) -> object:
    # The generator needs the emulator's encoder; import it only when asked for.
    if name in ("generate", "generate_program"):
        from bringup.vectors import generator

        return getattr(generator, name)
    raise AttributeError(f"module 'bringup.vectors' has no attribute '{name}'")
