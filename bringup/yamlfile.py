"""YAML files that remember where each value came from, and errors that say file:line and the fix.

Station and runbook files are written by hand at a bench. A mistake in one must read as one
sentence naming the file, the line and what to do — never a traceback — so every loader in
bringup goes through `load_located` and raises `ConfigError`.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Location = tuple[str | int, ...]


class ConfigError(Exception):
    """A mistake in a user's file: where it is and how to fix it, as one line."""

    def __init__(self, path: str | Path, line: int | None, message: str, fix: str = "") -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = f"{where}: {self.message}"
        return f"{text} — {self.fix}" if self.fix else text


class ConfigErrors(Exception):
    """Several mistakes found in one pass; each is its own line."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass(frozen=True)
class LocatedYaml:
    """The plain data of a YAML file plus the 1-based line of every key and list item."""

    path: Path
    text: str
    data: Any
    lines: dict[Location, int]

    def line_of(self, location: Iterable[str | int]) -> int | None:
        """Line of the deepest known part of `location` (a pydantic `loc` or a key path)."""
        loc = tuple(location)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def error(self, location: Iterable[str | int], message: str, fix: str = "") -> ConfigError:
        return ConfigError(self.path, self.line_of(location), message, fix)


def load_located(path: str | Path, *, what: str = "file") -> LocatedYaml:
    """Parse `path` safely; a syntax error or a duplicate key becomes a ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, None, f"no such {what}", "check the path") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot read this {what}: {exc}") from None
    return parse_located(text, path)


def parse_located(text: str, path: str | Path) -> LocatedYaml:
    """Parse YAML `text` that came from `path` (a file, or a label such as a database record)."""
    path = Path(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        fix = "fix the indentation or quoting"
        raise ConfigError(path, line, f"YAML syntax: {problem}", fix) from None
    lines: dict[Location, int] = {(): 1}
    if root is not None:
        _record_lines(root, (), lines, path)
    return LocatedYaml(path, text, data, lines)


def _record_lines(node: yaml.Node, loc: Location, lines: dict[Location, int], path: Path) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    path, line, f"duplicate key '{key}' (first on line {seen[key]})",
                    "keep one of them",
                )
            seen[key] = line
            lines[(*loc, key)] = line
            _record_lines(value_node, (*loc, key), lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            _record_lines(item, (*loc, index), lines, path)


def errors_from_validation(source: LocatedYaml, exc: Any, model: type) -> ConfigErrors:
    """Turn a pydantic ValidationError into one ConfigError per problem, each with a fix."""
    found = []
    # An unknown key usually explains a missing one next to it (a typo), so say it first.
    problems = sorted(exc.errors(include_url=False), key=lambda p: p["type"] != "extra_forbidden")
    for problem in problems:
        raw = tuple(problem["loc"])
        loc = _in_file(raw, source)
        found.append(source.error(loc, *_explain(problem, loc, raw, model)))
    return ConfigErrors(found)


def _in_file(raw: Location, source: LocatedYaml) -> Location:
    """Drop what pydantic adds to `loc` that the file has no key for (a tagged-union member's tag)."""
    kept: tuple[str | int, ...] = ()
    for index, part in enumerate(raw):
        if (*kept, part) in source.lines or index == len(raw) - 1:
            kept = (*kept, part)
    return kept


def _describe(loc: Location) -> str:
    """`steps.7.clock_mhz` as a person says it: `step 8 clock_mhz`."""
    words: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parent = words.pop() if words else "item"
            words.append(f"{parent.removesuffix('s')} {part + 1}")
        else:
            words.append(str(part))
    return " ".join(words) or "the file"


def _explain(problem: dict[str, Any], loc: Location, raw: Location, model: type) -> tuple[str, str]:
    kind = problem["type"]
    dotted = _describe(loc)
    if kind == "extra_forbidden":
        known = _field_names(_model_at(model, raw[:-1]))
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            fix = f"did you mean '{close[0]}'?"
        else:
            fix = f"remove it or use one of: {', '.join(known)}" if known else "remove it"
        return f"unknown key '{loc[-1]}' in {_describe(loc[:-1])}", fix
    if kind == "missing":
        return f"missing key '{loc[-1]}'", f"add '{loc[-1]}:' here"
    given = problem.get("input")
    if kind in {"float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"}:
        wanted = "a whole number" if kind.startswith("int") else "a number"
        return f"{dotted} must be {wanted}, not {given!r}", f"write {dotted} as {wanted}"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return f"{dotted} {problem['msg'].lower()}, got {given!r}", "correct the value"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"{dotted} must be a mapping of keys to values", "indent its keys under it"
    if kind == "list_type":
        return f"{dotted} must be a list", "write it as [a, b] or as '- item' lines"
    if kind == "string_type":
        return f"{dotted} must be text, not {given!r}", "quote the value"
    if kind in {"literal_error", "enum"}:
        return f"{dotted} {problem['msg'].lower()}, got {given!r}", "use one of those"
    if kind == "value_error":
        text = str(problem.get("ctx", {}).get("error", problem["msg"]))
        message, _, fix = text.partition(" — ")
        return message, fix
    return f"{dotted}: {problem['msg']}", "see the docs for the expected format"


def _model_at(model: Any, loc: Location) -> Any:
    """The model class that pydantic's `loc` points into: fields, dict values, list items, tags."""
    current = _unwrap_optional(model)
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if fields is not None and isinstance(part, str) and part in fields:
            current = fields[part].annotation
        elif _union_members(current):
            current = next((m for m in _union_members(current) if _has_tag(m, part)), None)
        else:  # a dict key or a list index: step into the value type
            args = typing.get_args(current)
            current = args[-1] if args else None
        current = _unwrap_optional(current)
    return current


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return ()


def _has_tag(member: Any, tag: str | int) -> bool:
    """Whether a union member is the one pydantic named by `tag` (its Literal discriminator)."""
    for field in getattr(member, "model_fields", {}).values():
        if typing.get_origin(field.annotation) is typing.Literal and tag in typing.get_args(field.annotation):
            return True
    return False


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _field_names(model: Any) -> list[str]:
    return list(getattr(model, "model_fields", {}) or {})
