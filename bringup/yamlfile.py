"""Files a person wrote, read safely, with errors that say file:line and the fix.

Station files, runbooks and vector suites are written by hand at a bench and copied between
benches. A mistake in one — or a hostile file — must read as one sentence naming the file, the
line and what to do, never a traceback, a hang or an exhausted memory. So every file bringup
reads goes through `read_file` (a regular file, size-capped before reading, read with a bound)
and every YAML file through `load_located`, which builds plain data from libyaml's event stream
in one pass: each node counted, nesting bounded by libyaml, aliases expanded only within a
small budget, and the line of every key and list item kept for messages.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Location = tuple[str | int, ...]

# A 10,000-step runbook is about 1 MiB; nothing a person writes by hand comes near 8 MiB.
MAX_YAML_BYTES = 8 * 1024 * 1024
# Keys, values and list items of one file (a 10,000-step runbook has ~100,000).
MAX_YAML_NODES = 1_000_000
# Values that aliases (`*name`) may add by repeating an anchored part; a "billion laughs" file
# needs millions, a person reusing a block of defaults a few hundred.
MAX_ALIAS_EXPANSION = 10_000
# libyaml itself refuses nesting deeper than 1000; bringup's formats need fewer than 10 levels.
MAX_YAML_DEPTH = 64

# C0 and C1 controls (tab, newline and carriage return are text), DEL, and the separators YAML
# would count as line breaks (which would put every later line number off by one).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
_STR_TAG = "tag:yaml.org,2002:str"
_COLLECTION_TAGS = {None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed


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


# ------------------------------------------------------------------------------- reading files
def read_file(path: str | Path, *, what: str = "file", limit: int = MAX_YAML_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; anything else is a ConfigError.

    The file is opened non-blocking (a FIFO would otherwise wait forever for a writer) and
    checked with fstat before a byte is read, so /dev/zero, a FIFO or a directory is refused
    at once; the read itself stops after `limit` + 1 bytes in case the file grows meanwhile.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError(path, None, f"no such {what}", "check the path") from None
    except OSError as exc:
        raise ConfigError(path, None, f"cannot open this {what}: {exc.strerror or exc}",
                          "check the path and its permissions") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(path, None, f"this {what} is not a regular file ({_file_kind(info.st_mode)})",
                              f"give the path of the {what} itself")
        if info.st_size > limit:
            raise ConfigError(path, None, f"this {what} is {info.st_size:,} bytes, more than the "
                              f"{limit:,} a {what} may have", f"check that this is the {what} you meant")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise ConfigError(path, None, f"this {what} grew past {limit:,} bytes while being read",
                              "wait until whatever writes it has finished")
        return b"".join(chunks)
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read this {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a plain file")


def read_text(path: str | Path, *, what: str = "file", limit: int = MAX_YAML_BYTES,
              encoding: str = "utf-8") -> str:
    """A regular text file (see `read_file`), decoded, with no control characters in it."""
    return decode_text(read_file(path, what=what, limit=limit), path, what=what, encoding=encoding)


def decode_text(raw: bytes, path: str | Path, *, what: str = "file", encoding: str = "utf-8") -> str:
    """`raw` as text; bytes that are not `encoding`, or control characters, name their line."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(path, line, f"byte {raw[exc.start]:#04x} is not {encoding} text",
                          f"save the {what} as {encoding} (a stray byte, or a binary file?)") from None
    check_characters(text.removeprefix("\ufeff"), path, what=what)
    return text.removeprefix("\ufeff")  # a byte-order mark some editors write is not content


def check_characters(text: str, path: str | Path, *, what: str = "file", line: int = 1) -> None:
    """Refuse control characters (NUL, escape, ...), naming the line of the first."""
    found = _CONTROL.search(text)
    if found:
        line += text.count("\n", 0, found.start())
        raise ConfigError(path, line, f"control character U+{ord(found.group()):04X} in the {what}",
                          "delete it (a corrupted copy, or a binary file?)")


# ------------------------------------------------------------------------------------- YAML
def load_located(path: str | Path, *, what: str = "file") -> LocatedYaml:
    """Read and parse a YAML file; every problem, from the disk to the syntax, is a ConfigError."""
    return parse_located(read_text(path, what=what), path, what=what)


def parse_located(text: str, path: str | Path, *, what: str = "file") -> LocatedYaml:
    """Parse YAML `text` that came from `path` (a file, or a label such as a database record)."""
    path = Path(path)
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(path, None, f"this {what} has {len(text):,} characters, more than "
                          f"{MAX_YAML_BYTES:,}", f"check that this is the {what} you meant")
    check_characters(text, path, what=what)
    builder = _Builder(path)
    loader = _LOADER(text)
    try:
        builder.feed(loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        raise ConfigError(path, line, f"YAML syntax: {problem}", "fix the indentation or quoting") from None
    except yaml.YAMLError as exc:  # the reader's own errors carry no mark
        raise ConfigError(path, None, f"YAML: {str(exc).splitlines()[0]}", "fix the file") from None
    finally:
        loader.dispose()
    return LocatedYaml(path, text, builder.root, builder.lines)


class _Frame:
    """A mapping or list being built: its location, where its next child goes, its size."""

    __slots__ = ("anchor", "key", "key_line", "keys", "loc", "merges", "size", "value")

    def __init__(self, value: dict | list, loc: Location, anchor: str | None) -> None:
        self.value = value
        self.loc = loc
        self.anchor = anchor
        self.size = 1
        self.key: Any = _NO_KEY
        self.key_line = 0
        self.merges: list[tuple[Any, int]] = []
        self.keys: dict[Any, int] = {}


_NO_KEY = object()
_MERGE_KEY = object()  # `<<`, YAML's merge key


class _Builder:
    """Plain data and line numbers from the YAML event stream, bounded at every step.

    Built from events rather than composed nodes: memory grows only with the data kept (a
    composed tree costs ~300 bytes a value), and the bounds stop a hostile file early.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[Location, int] = {(): 1}
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.root: Any = None
        self.nodes = 0
        self.expanded = 0
        self.documents = 0
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.plain_values: dict[str, Any] = {}
        self._last_line = 1  # of the last value counted: where a key that follows it sits

    def feed(self, loader: Any) -> None:
        """Build from `loader`'s events. Plain scalars — nine in ten events — take an inlined
        path (a 10,000-step runbook is ~100,000 of them); the rest go through the methods."""
        get_event, stack, lines, plain_values = loader.get_event, self.stack, self.lines, self.plain_values
        scalar_event, no_key, merge_key = yaml.ScalarEvent, _NO_KEY, _MERGE_KEY
        while (event := get_event()) is not None:
            kind = type(event)
            if kind is scalar_event and stack and event.tag is None and event.anchor is None:
                value = plain_values.get(event.value, no_key) if event.implicit[0] else no_key
                if value is no_key or value is merge_key or self.nodes >= MAX_YAML_NODES:
                    self._scalar(event)  # first sight of a word, a merge, or a limit to check
                    continue
                parent = stack[-1]
                self.nodes += 1
                parent.size += 1
                if type(parent.value) is list:
                    lines[(*parent.loc, len(parent.value))] = event.start_mark.line + 1
                    parent.value.append(value)
                elif parent.key is no_key:  # a key: remember its line, refuse a duplicate
                    line = event.start_mark.line + 1
                    first = parent.keys.get(value)
                    if first is not None:
                        raise ConfigError(self.path, line, f"duplicate key '{value}' (first on line "
                                          f"{first})", "keep one of them")
                    parent.keys[value] = line
                    parent.key, parent.key_line = value, line
                else:
                    key = parent.key
                    if key is merge_key:
                        parent.merges.append((value, parent.key_line))
                    else:
                        lines[(*parent.loc, key)] = parent.key_line
                        parent.value[key] = value
                    parent.key = no_key
            elif kind is scalar_event:
                self._scalar(event)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                self._start(event, {} if kind is yaml.MappingStartEvent else [])
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                self._end()
            elif kind is yaml.AliasEvent:
                self._alias(event)
            elif kind is yaml.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    raise self._error(event, "a second YAML document ('---')",
                                      "keep one document per file")

    # ---------------------------------------------------------------------------- values
    def _scalar(self, event: yaml.ScalarEvent) -> None:
        self._count(event, 1)
        plain = event.tag is None and event.implicit[0]
        value: Any = self.plain_values.get(event.value, _NO_KEY) if plain else _NO_KEY
        if value is _NO_KEY:
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
            value = event.value if tag == _STR_TAG else self._construct(event, tag)
            if event.style == '"' and isinstance(value, str):  # "\0" and "\e" escapes make controls
                check_characters(value, self.path, what="value", line=event.start_mark.line + 1)
            if plain and len(self.plain_values) < 10_000:  # the same words recur on every step
                self.plain_values[event.value] = value
        self._add(event, value, 1, event.anchor)

    def _construct(self, event: yaml.ScalarEvent, tag: str) -> Any:
        if tag == "tag:yaml.org,2002:merge":
            return _MERGE_KEY
        construct = self.constructor.yaml_constructors.get(tag)
        if construct is None or tag.startswith("tag:yaml.org,2002:python"):
            raise self._error(event, f"YAML tag {tag} is not allowed in bringup files",
                              "write the value without a tag")
        try:
            return construct(self.constructor, yaml.ScalarNode(tag, event.value, event.start_mark))
        except (ValueError, OverflowError, yaml.YAMLError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise self._error(event, f"cannot read {event.value[:40]!r} as {tag.rsplit(':', 1)[-1]} "
                              f"({reason[:80]})", "quote it to keep it as text, or correct it") from None

    def _start(self, event: yaml.CollectionStartEvent, value: dict | list) -> None:
        if event.tag not in _COLLECTION_TAGS:
            raise self._error(event, f"YAML tag {event.tag} is not allowed in bringup files",
                              "write the mapping or list without a tag")
        self._count(event, 1)
        if len(self.stack) >= MAX_YAML_DEPTH:
            raise self._error(event, f"nested deeper than {MAX_YAML_DEPTH} levels",
                              "flatten the file; bringup's formats need a few levels")
        loc = self._child_location(event, container=True)
        self.stack.append(_Frame(value, loc, event.anchor))

    def _end(self) -> None:
        frame = self.stack.pop()
        if frame.merges:
            _apply_merges(frame, self)
        self._attach(frame.value, frame.size, frame.anchor)

    def _alias(self, event: yaml.AliasEvent) -> None:
        if event.anchor not in self.anchors:
            raise self._error(event, f"alias *{event.anchor} has no anchor &{event.anchor} before it "
                              "(or refers to the block it is in)", "define the anchor first")
        value, size = self.anchors[event.anchor]
        self.expanded += size
        if self.expanded > MAX_ALIAS_EXPANSION:
            raise self._error(event, f"aliases repeat more than {MAX_ALIAS_EXPANSION:,} values "
                              "(a 'billion laughs' file?)", "write the values out, or reuse fewer")
        self._count(event, size)
        self._add(event, value, size, None)

    # ----------------------------------------------------------------------------- plumbing
    def _add(self, event: yaml.Event, value: Any, size: int, anchor: str | None) -> None:
        self._child_location(event, container=False)
        self._attach(value, size, anchor)

    def _child_location(self, event: yaml.Event, *, container: bool) -> Location:
        """Where the value starting at `event` goes; records its line; () for the root."""
        if not self.stack:
            return ()
        parent = self.stack[-1]
        line = event.start_mark.line + 1
        if isinstance(parent.value, list):
            loc = (*parent.loc, len(parent.value))
            self.lines[loc] = line
            return loc
        if parent.key is _NO_KEY:
            if container:
                raise self._error(event, "a key must be a plain word, not a mapping or a list",
                                  "write the key as text")
            return ()
        loc = (*parent.loc, parent.key)
        if parent.key is not _MERGE_KEY:
            self.lines[loc] = parent.key_line
        return loc

    def _attach(self, value: Any, size: int, anchor: str | None) -> None:
        if anchor is not None:
            self.anchors[anchor] = (value, size)
        if not self.stack:
            self.root = "<<" if value is _MERGE_KEY else value
            return
        parent = self.stack[-1]
        parent.size += size
        if (value is _MERGE_KEY and parent.key is not _NO_KEY) or isinstance(parent.value, list):
            value = "<<" if value is _MERGE_KEY else value  # `<<` is a merge only as a key
        if isinstance(parent.value, list):
            parent.value.append(value)
        elif parent.key is _NO_KEY:
            self._take_key(parent, value)
        else:
            if parent.key is _MERGE_KEY:
                parent.merges.append((value, parent.key_line))
            else:
                parent.value[parent.key] = value
            parent.key = _NO_KEY

    def _take_key(self, parent: _Frame, key: Any) -> None:
        line = self._last_line
        try:
            first = parent.keys.get(key)
        except TypeError:
            raise ConfigError(self.path, line, "a key must be a plain word, not a mapping or a list",
                              "write the key as text") from None
        if first is not None:
            raise ConfigError(self.path, line, f"duplicate key '{key}' (first on line {first})",
                              "keep one of them")
        if key is not _MERGE_KEY:
            parent.keys[key] = line
        parent.key, parent.key_line = key, line

    def _count(self, event: yaml.Event, size: int) -> None:
        self._last_line = event.start_mark.line + 1
        self.nodes += size
        if self.nodes > MAX_YAML_NODES:
            raise self._error(event, f"more than {MAX_YAML_NODES:,} values in one file",
                              "split it; no bench file needs this many")

    def _error(self, event: yaml.Event, message: str, fix: str) -> ConfigError:
        return ConfigError(self.path, event.start_mark.line + 1, message, fix)


def _apply_merges(frame: _Frame, builder: _Builder) -> None:
    """`<<: *defaults` (or a list of them): keys the mapping does not give itself come from them."""
    merged: dict[Any, Any] = {}
    for value, line in frame.merges:
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(source, dict) for source in sources):
            raise ConfigError(builder.path, line, "'<<' merges mappings only", "point it at a mapping")
        for source in reversed(sources):  # the first mapping listed wins
            merged.update(source)
    for key, value in merged.items():
        if key not in frame.value:
            frame.value[key] = value
            builder.lines.setdefault((*frame.loc, key), line)


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
    given = _short(problem.get("input"))
    if kind == "finite_number":
        return f"{dotted} must be a finite number, not {given}", f"write {dotted} as a number"
    if kind in {"too_long", "too_short", "string_too_long", "string_too_short"}:
        return f"{dotted}: {problem['msg'].lower()}", "shorten or complete it"
    if kind in {"float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"}:
        wanted = "a whole number" if kind.startswith("int") else "a number"
        return f"{dotted} must be {wanted}, not {given}", f"write {dotted} as {wanted}"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return f"{dotted} {problem['msg'].lower()}, got {given}", "correct the value"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"{dotted} must be a mapping of keys to values", "indent its keys under it"
    if kind == "list_type":
        return f"{dotted} must be a list", "write it as [a, b] or as '- item' lines"
    if kind == "string_type":
        return f"{dotted} must be text, not {given}", "quote the value"
    if kind in {"literal_error", "enum"}:
        return f"{dotted} {problem['msg'].lower()}, got {given}", "use one of those"
    if kind == "value_error":
        text = str(problem.get("ctx", {}).get("error", problem["msg"]))
        message, _, fix = text.partition(" — ")
        return message, fix
    return f"{dotted}: {problem['msg']}", "see the docs for the expected format"


def _short(value: Any) -> str:
    """A value as a message shows it: its repr, cut to fit one line."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


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
