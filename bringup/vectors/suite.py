"""YAML vector descriptions: one vector, or a suite listing several.

A suite (paths are relative to the YAML file)::

    name: directed
    max_steps: 50000          # default budget for vectors that give none
    vectors:
      - file: alu.elf         # .elf, or .hex (bringup/vectors/hexfile.py)
      - name: march-c
        file: march.elf
        max_steps: 200000

A single vector is the same mapping as one list item, at the top level. Any of `load_address`
(hex only: an ELF places its own segments), `entry`, `signature: {start, end}`, `tohost` and
`max_steps` overrides what the file says. Every mistake is one line: file, line, fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bringup.vectors.elffile import load_elf_vector
from bringup.vectors.hexfile import load_hex
from bringup.vectors.model import ADDRESS_LIMIT, MAX_STEPS, Vector, VectorError
from bringup.yamlfile import ConfigError, ConfigErrors, LocatedYaml, errors_from_validation, load_located

Location = tuple[str | int, ...]


MAX_VECTORS = 10_000  # vectors of one suite; each is loaded, checked and given a golden before a run
Address = Annotated[int, Field(ge=0, lt=ADDRESS_LIMIT)]
Budget = Annotated[int, Field(gt=0, le=MAX_STEPS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=1024)


class SignatureSpec(_Strict):
    start: Address
    end: Address


class VectorSpec(_Strict):
    file: str = Field(min_length=1)
    name: str | None = Field(None, min_length=1, max_length=200)
    max_steps: Budget | None = None
    load_address: Address | None = None
    entry: Address | None = None
    signature: SignatureSpec | None = None
    tohost: Address | None = None


class SuiteSpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    max_steps: Budget | None = None
    vectors: list[VectorSpec] = Field(max_length=MAX_VECTORS)

    @field_validator("vectors")
    @classmethod
    def _not_empty(cls, vectors: list[VectorSpec]) -> list[VectorSpec]:
        if not vectors:
            raise ValueError("a suite needs at least one vector — list them as '- file: name.elf' lines")
        return vectors


@dataclass(frozen=True)
class Suite:
    name: str
    vectors: list[Vector]
    source: str = ""


def load_vectors(path: str | Path) -> list[Vector]:
    """The vectors in a .yaml/.yml suite or vector description, a .hex file or an .elf file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        return load_suite(path).vectors
    if suffix == ".hex":
        return [load_hex(path)]
    if suffix == ".elf":
        raise ConfigError(path, None, "an ELF carries no step budget",
                          "describe it in a YAML file with 'file:' and 'max_steps:'")
    raise ConfigError(path, None, f"unknown vector file type '{suffix or path.name}'",
                      "use a .yaml suite, a .hex vector or an ELF described in YAML")


def load_suite(path: str | Path) -> Suite:
    """Read a suite (or single-vector) YAML; raises ConfigErrors, one line per mistake."""
    source = load_located(path, what="vector file")
    data = source.data
    if not isinstance(data, dict):
        raise ConfigErrors([source.error((), "a vector file is a mapping",
                                         "start with 'name:' and 'vectors:' (or 'file:' for one vector)")])
    if "vectors" in data:
        spec = _validate(source, SuiteSpec, data)
        items = [((*("vectors",), index), item) for index, item in enumerate(spec.vectors)]
        name, default_steps = spec.name, spec.max_steps
    else:
        item = _validate(source, VectorSpec, data)
        items, name, default_steps = [((), item)], item.name or source.path.stem, None
    vectors, errors = [], []
    for location, item in items:
        try:
            vectors.append(_build(source, location, item, default_steps))
        except ConfigError as exc:
            errors.append(exc)
    errors.extend(_duplicate_names(source, items, vectors))
    if errors:
        raise ConfigErrors(errors)
    return Suite(name=name, vectors=vectors, source=str(source.path))


def _validate(source: LocatedYaml, model: type[_Strict], data: dict) -> _Strict:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors_from_validation(source, exc, model) from None


def _build(source: LocatedYaml, at: Location, spec: VectorSpec, default_steps: int | None) -> Vector:
    file = (source.path.parent / spec.file)
    try:
        found = file.is_file()
    except (OSError, ValueError):  # a name too long for the file system, say
        found = False
    shown = spec.file if len(spec.file) <= 80 else f"{spec.file[:77]}..."
    if not found:
        raise source.error((*at, "file"), f"vector file {shown} not found (looked in "
                           f"{file.parent if len(spec.file) <= 80 else source.path.parent})",
                           "give the path relative to this YAML file")
    kind = file.suffix.lower()
    if kind not in {".elf", ".hex"}:
        raise source.error((*at, "file"), f"{shown}: unknown vector file type '{kind[:20]}'",
                           "use an .elf or a .hex file")
    max_steps = spec.max_steps or default_steps
    try:
        if kind == ".elf":
            if spec.load_address is not None:
                raise source.error((*at, "load_address"), "an ELF places its own segments",
                                   "remove load_address")
            if max_steps is None:
                raise source.error((*at, "file"), f"no step budget for {spec.file}",
                                   "add max_steps: here or at the top of the suite")
            base = load_elf_vector(file, max_steps=max_steps)
        else:
            base = load_hex(file)
        return _override(base, spec)
    except VectorError as exc:
        raise source.error((*at, "file"), str(exc)) from None


def _override(base: Vector, spec: VectorSpec) -> Vector:
    signature = spec.signature
    return Vector(
        name=spec.name or base.name,
        image=base.image,
        load_address=base.load_address if spec.load_address is None else spec.load_address,
        entry=base.entry if spec.entry is None else spec.entry,
        signature_start=base.signature_start if signature is None else signature.start,
        signature_end=base.signature_end if signature is None else signature.end,
        tohost=base.tohost if spec.tohost is None else spec.tohost,
        max_steps=spec.max_steps or base.max_steps,
        source=base.source,
    )


def _duplicate_names(source: LocatedYaml, items: list, vectors: list[Vector]) -> list[ConfigError]:
    if len(vectors) != len(items):
        return []  # names of vectors that failed to load are unknown; report those errors first
    seen: dict[str, int] = {}
    errors = []
    for index, ((location, _), vector) in enumerate(zip(items, vectors, strict=True)):
        if vector.name in seen:
            errors.append(source.error(location, f"two vectors are named '{vector.name}' (the first is "
                          f"vector {seen[vector.name] + 1})", "give each vector its own 'name:'"))
        seen.setdefault(vector.name, index)
    return errors
