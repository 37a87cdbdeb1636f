"""The spool: a local, append-only journal of every event the recorder accepts.

The recorder appends each batch of events here before it writes them to the database, so a
database that locks, fills its disk, disappears or drops off the network loses nothing: the
journal is replayed into the database later (:mod:`bringup.db.replay`), exactly once.

Format: one file per run, ``<run_id>.<journal_id>.journal``. A file is a sequence of records,
each ``length (u32 LE) | crc32 (u32 LE) | payload``: the first record is a JSON header
(``{"journal": id, "run_id": ..., "host": ..., "pid": ..., "codec": "flat-marshal4"}``), every later
one a batch of encoded events in ``marshal`` format 4. A record that is cut short (a crash
mid-write) or fails its checksum ends the readable part; everything before it is intact. A zero
length also ends it: the file is preallocated in chunks (see ``RESERVE_BYTES``) so that a disk
that fills up under the database still leaves the journal room to keep what is in flight.

Events are the frozen dataclasses of :mod:`bringup.events`, encoded as ``(kind, (value...))``:
the fields in order, enums as their values, a nested dataclass's fields spread in place
(RunStarted, whose instruments repeat, nests them as tuples instead); marshal keeps floats
bit-exact (NaN and infinities too), so :func:`decode` gives back events equal to the ones
written. The recorder's fast-path measurement tuples are encoded as ``("tuple", values)``.

The writer holds an exclusive ``flock`` on its file for its whole life; a file that can be
locked by someone else therefore belongs to a process that is gone, and can be replayed.
"""

from __future__ import annotations

import dataclasses
import enum
import fcntl
import json
import logging
import marshal
import operator
import os
import socket
import struct
import types
import typing
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bringup import events

log = logging.getLogger(__name__)

HEADER = struct.Struct("<II")
SUFFIX = ".journal"
RESERVE_BYTES = 1 << 20  # preallocated ahead of the write position, a chunk at a time
MAX_RECORD_BYTES = 1 << 30  # a length beyond this is garbage, not a record
TUPLE_KIND = "tuple"
MARSHAL_VERSION = 4
CODEC = f"flat-marshal{MARSHAL_VERSION}"  # the layout below, in marshal format 4


class JournalError(OSError):
    """The journal cannot be written (the spool folder's disk is full, or it is not writable)."""


# --- the codec -------------------------------------------------------------------------------


def _event_classes() -> dict[str, type]:
    # From the module, not RunEvent.__subclasses__(): a slotted dataclass is a new class, and
    # the class it replaced may linger among the subclasses.
    return {
        name: obj
        for name, obj in vars(events).items()
        if isinstance(obj, type) and issubclass(obj, events.RunEvent) and dataclasses.is_dataclass(obj)
    }


EVENT_CLASSES = _event_classes()


def _plain(hint: Any) -> Callable[[Any], Any] | None:
    """How to turn a value of type ``hint`` into marshal's plain types (None: it already is)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [_plain(a) for a in typing.get_args(hint) if a is not type(None)]
        one = inner[0] if len(inner) == 1 else None
        return None if one is None else (lambda v: None if v is None else one(v))
    if origin is tuple:
        item = _plain(typing.get_args(hint)[0])
        return None if item is None else (lambda v: tuple(item(x) for x in v))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return lambda v: v.value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _fields_encoder(hint)
    return None


def _fields_encoder(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving an instance's field values, in order, as plain values."""
    hints = typing.get_type_hints(cls, vars(events))
    names = [f.name for f in dataclasses.fields(cls)]
    getter = operator.attrgetter(*names)
    special = [(i, conv) for i, name in enumerate(names) if (conv := _plain(hints[name])) is not None]
    if len(names) == 1:
        return lambda obj: (getter(obj),)
    if not special:
        return getter

    def encode(obj: Any) -> tuple[Any, ...]:
        values = list(getter(obj))
        for i, conv in special:
            values[i] = conv(values[i])
        return tuple(values)

    return encode


def _flat_paths(cls: type) -> list[str] | None:
    """Dotted attribute paths that read an event as one flat tuple of plain values, or None.

    A plain field is its name; an enum field ``status.value``; a dataclass field of plain
    values ``conditions.vdd_core_v``, ... -- so ``operator.attrgetter(*paths)`` encodes the
    event in one C call. Events with optional or repeated nested values (RunStarted's
    instruments) return None and take the general encoder.
    """
    hints = typing.get_type_hints(cls, vars(events))
    paths = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            paths.append(f"{f.name}.value")
        elif isinstance(hint, type) and dataclasses.is_dataclass(hint):
            inner = _flat_paths(hint)
            if inner is None:
                return None
            paths.extend(f"{f.name}.{p}" for p in inner)
        elif _plain(hint) is None:
            paths.append(f.name)
        else:
            return None
    return paths


def _encoder(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    paths = _flat_paths(cls)
    if paths is None:
        return _fields_encoder(cls)
    if len(paths) == 1:  # attrgetter of one path gives the value, not a tuple
        one = operator.attrgetter(paths[0])
        return lambda obj: (one(obj),)
    return operator.attrgetter(*paths)


_ENCODERS = {cls: (name, _encoder(cls)) for name, cls in EVENT_CLASSES.items()}


def _encode(item: Any) -> tuple[Any, ...]:
    if type(item) is tuple:
        return (TUPLE_KIND, item)
    kind, fields = _ENCODERS[type(item)]
    return (kind, fields(item))


def _exactly_plain(value: Any) -> Any:
    """Subclasses of float/int/str (numpy scalars, enums) as the plain type marshal takes."""
    if isinstance(value, tuple | list):
        return tuple(_exactly_plain(v) for v in value)
    if isinstance(value, bool) or value is None:
        return value
    for plain in (int, float, str, bytes):
        if isinstance(value, plain):
            return plain(value)
    raise TypeError(f"the journal cannot encode {type(value).__name__}: {value!r}")


def encode_batch(items: list[Any]) -> bytes:
    """One journal payload for a batch of events (and fast-path measurement tuples).

    marshal, not JSON: it writes these plain tuples ~10x faster, and the recorder journals every
    event a run publishes. Its format (version 4) has not changed since Python 3.4; the header
    records it, and a damaged record fails its CRC before it is ever unmarshalled.
    """
    encoders = _ENCODERS
    encoded: list[tuple[Any, ...]] = []
    append = encoded.append
    for item in items:  # _encode(), inlined: it runs for every event a run publishes
        kind = type(item)
        if kind is tuple:
            append((TUPLE_KIND, item))
        else:
            name, fields = encoders[kind]
            append((name, fields(item)))
    try:
        return marshal.dumps(encoded, MARSHAL_VERSION)
    except ValueError:  # a value of a subclass (a numpy float): write it as the plain type
        return marshal.dumps(_exactly_plain(encoded), MARSHAL_VERSION)


def _decoder(hint: Any) -> Callable[[Any], Any]:
    """A function turning the JSON form of a value of type ``hint`` back into that value."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [_decoder(a) for a in typing.get_args(hint) if a is not type(None)]
        one = inner[0] if len(inner) == 1 else (lambda v: v)
        return lambda v: None if v is None else one(v)
    if origin is tuple:
        item = _decoder(typing.get_args(hint)[0])
        return lambda v: tuple(item(x) for x in v)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_decoder(hint)
    return lambda v: v


def _dataclass_decoder(cls: type) -> Callable[[Any], Any]:
    """The inverse of :func:`_encoder` for ``cls`` (flat or nested, as it was encoded)."""
    hints = typing.get_type_hints(cls, vars(events))
    names = [f.name for f in dataclasses.fields(cls)]
    if _flat_paths(cls) is None:
        decoders = [_decoder(hints[name]) for name in names]

        def decode_nested(values: Any) -> Any:
            return cls(**{n: d(v) for n, d, v in zip(names, decoders, values, strict=True)})

        return decode_nested
    # Flat: each field takes as many values as it was spread over.
    takers: list[tuple[str, int, Callable[[Any], Any]]] = []
    for name in names:
        hint = hints[name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            takers.append((name, len(_flat_paths(hint) or ()), _dataclass_decoder(hint)))
        else:
            decode_one = _decoder(hint)
            takers.append((name, 0, decode_one))

    # Fields added since a journal was written (at the end, with a default) take their default.
    defaulted = {f.name for f in dataclasses.fields(cls)
                 if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}

    def decode_flat(values: Any) -> Any:
        fields, at = {}, 0
        for name, width, decode_one in takers:
            if at == len(values) and name in defaulted:
                continue
            if width:
                fields[name] = decode_one(values[at : at + width])
                at += width
            else:
                fields[name] = decode_one(values[at])
                at += 1
        if at != len(values):
            raise ValueError(f"{cls.__name__}: {len(values)} values in the journal, {at} expected")
        return cls(**fields)

    return decode_flat


_DECODERS = {name: _dataclass_decoder(cls) for name, cls in EVENT_CLASSES.items()}


def decode(item: tuple[Any, ...]) -> Any:
    """An encoded event (or fast-path tuple) back as it was written."""
    kind, values = item
    if kind == TUPLE_KIND:
        return values
    try:
        return _DECODERS[kind](values)
    except KeyError:
        raise ValueError(f"unknown event kind {kind!r} in the journal (a newer bringup wrote it?)") from None


def item_run_id(item: Any) -> str:
    return item[0] if type(item) is tuple else item.run_id


# --- where journals live -------------------------------------------------------------------


def spool_dir(url: Any) -> Path:
    """The spool folder for a database URL.

    SQLite: ``<database file>.spool`` beside the file (same disk, found by whoever has the
    file). Otherwise (PostgreSQL, in-memory SQLite): a per-user folder,
    ``$XDG_STATE_HOME/bringup/spool/<backend>-<host>-<port>-<database>`` (``~/.local/state``
    when unset). ``$BRINGUP_SPOOL`` overrides both.
    """
    override = os.environ.get("BRINGUP_SPOOL")
    if override:
        return Path(override)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        return db.with_name(db.name + ".spool")
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    parts = (url.get_backend_name(), url.host or "local", url.port or "", url.database or "")
    where = "-".join(str(p) for p in parts)
    return state / "bringup" / "spool" / where.replace("/", "_")


def journal_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX))
    except FileNotFoundError:
        return []


# --- writing ---------------------------------------------------------------------------------


class JournalFile:
    """One run's journal, open for appending and locked against replay while we live."""

    def __init__(self, folder: Path, run_id: str, database: str = "") -> None:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.journal_id = uuid.uuid4().hex
        self.run_id = run_id
        self.path = folder / f"{run_id}.{self.journal_id}{SUFFIX}"
        self.seq = 0  # events written so far
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        self._offset = 0
        self._reserved = 0
        self._reserve(RESERVE_BYTES)
        header = {"journal": self.journal_id, "run_id": run_id, "host": socket.gethostname(),
                  "pid": os.getpid(), "codec": CODEC, "database": database}
        self._write(json.dumps(header).encode())
        os.fsync(self.fd)
        _fsync_dir(folder)

    def append(self, payload: bytes, count: int) -> None:
        self._write(payload)
        self.seq += count

    def sync(self) -> None:
        os.fdatasync(self.fd)

    def _write(self, payload: bytes) -> None:
        record = HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        if self._offset + len(record) > self._reserved:
            self._reserve(max(RESERVE_BYTES, len(record)))
        try:
            os.pwrite(self.fd, record, self._offset)
        except OSError as exc:
            raise JournalError(f"cannot write the journal {self.path}: {exc}") from exc
        self._offset += len(record)

    def _reserve(self, size: int) -> None:
        # Room claimed ahead: when the database fills the disk, what is in flight still fits.
        try:
            os.posix_fallocate(self.fd, self._offset, size)
            self._reserved = self._offset + size
        except OSError as exc:
            if self._reserved <= self._offset:
                log.warning("journal %s: cannot reserve space ahead (%s)", self.path, exc)
            self._reserved = max(self._reserved, self._offset)

    def close(self) -> None:
        if self.fd < 0:
            return
        try:
            os.ftruncate(self.fd, self._offset)  # drop the unused reserve
            os.fsync(self.fd)
        except OSError as exc:
            log.warning("journal %s: %s", self.path, exc)
        os.close(self.fd)  # releases the lock
        self.fd = -1

    def retire(self) -> None:
        """Everything in it is in the database: the journal is no longer needed."""
        self.close()
        self.path.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- reading ---------------------------------------------------------------------------------


@dataclasses.dataclass
class JournalContents:
    path: Path
    journal_id: str
    run_id: str
    host: str
    pid: int
    database: str  # database_identity() of where it was being recorded
    items: list[Any]
    torn: bool  # the last record was cut short or damaged (a crash mid-write)


def read_records(data: bytes) -> Iterator[bytes | None]:
    """Payloads in order; a final ``None`` when the tail is torn."""
    offset = 0
    while offset + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, offset)
        if length == 0:
            return  # the preallocated, never written reserve
        payload = data[offset + HEADER.size : offset + HEADER.size + length]
        if length > MAX_RECORD_BYTES or len(payload) < length or zlib.crc32(payload) != crc:
            yield None
            return
        yield payload
        offset += HEADER.size + length
    if offset < len(data) and any(data[offset:]):
        yield None


def read_journal(path: Path) -> JournalContents:
    records = list(read_records(path.read_bytes()))
    torn = bool(records) and records[-1] is None
    payloads = [r for r in records if r is not None]
    if not payloads:
        raise ValueError(f"{path}: no journal header (an empty or foreign file)")
    header = json.loads(payloads[0])
    if header.get("codec") != CODEC:
        raise ValueError(f"{path}: written as {header.get('codec')!r}, this bringup reads {CODEC!r}")
    items = [decode(item) for payload in payloads[1:] for item in marshal.loads(payload)]
    return JournalContents(path, header["journal"], header["run_id"], header.get("host", ""),
                           int(header.get("pid", 0)), header.get("database", ""), items, torn)


def try_lock(path: Path) -> int | None:
    """An fd holding ``path``'s lock, or None while its writer still lives (or it is gone)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
