"""The ApplicationMaster's journal: its state, written as it changes, read back by the next attempt.

The journal is a directory (:mod:`pyarn.am.journalstore`: local or HDFS) of
snapshots and logs, grouped in *generations*::

    snapshot.<G>      the whole state, as of some moment after generation G began
    log.<G>.<S>       the records of generation G, in order (S = 0, 1, ...)

Every file is :data:`HEADER` (``b"pyarn-am journal 1\\n"``) then frames::

    length   4 bytes, big-endian: the size of the payload (at most MAX_FRAME)
    crc      4 bytes, big-endian: zlib.crc32 of the payload
    payload  a UTF-8 JSON object

A snapshot holds one frame, the state; a log holds one frame per record.
What the state and the records say is :mod:`pyarn.am.recovery`'s business;
records are *upserts*: each carries the full new value of everything it
touches, so replaying a generation's records over any snapshot taken after
the generation began gives the same state.

**Generations.** :meth:`Journal.start` begins a new generation with a
snapshot of the state it is given (written at once), then deletes the older
generations: a new attempt never appends to its predecessor's files. When a
generation's logs outgrow ``max(compact_bytes, 2 x the last snapshot)`` (or,
in HDFS, :data:`MAX_SEGMENTS` files), a background thread *compacts*: new
records go to the next generation at once, then the snapshot of that
generation is written and the older files are deleted. A crash at any point
leaves a readable chain: the newest good snapshot, then every log of its
generation and later ones.

**Writing.** On the local disk a record is appended to ``log.<G>.0`` where it
is made, under the caller's lock (one ``write(2)``); once :meth:`~Journal.append`
returns, it survives the AM process's death. HDFS cannot flush an open file
with pyarn's client, so there records are batched: a background thread
writes every record made since its last batch as the next ``log.<G>.<S>``
(each file appears whole or not at all). :meth:`~Journal.sync` waits until
every record appended so far is written; the AM calls it before answering a
client whose call changed something, so what a client was told is durable.

**Failures.** A failed write keeps the records in memory, in order, and the
background thread retries (every :data:`RETRY_INTERVAL` seconds) until the
store works again; meanwhile :meth:`~Journal.sync` does not wait, so a
failing store never blocks the AM's clients. Errors are logged.

**Reading.** :meth:`Journal.load` finds the newest snapshot that reads
cleanly and the records after it:

* a *torn* last record (the file ends inside a frame, or its last frame's
  checksum fails: a write cut short by the AM's death) is ignored;
* *corruption* (a bad header, a bad frame followed by more data, a torn
  record in a file that is not the last one, a missing log segment) ends
  the recovery at the last good record: the state recovered is the
  consistent state the application had then. A snapshot that does not read
  gives way to an older one, if one is left, else to the empty state (the
  logs alone describe no state). Damaged and unusable files are renamed
  aside (``<name>.corrupt``, kept for inspection) and an error is logged.
  With ``strict=True``, :class:`JournalCorruptError` is raised instead,
  naming the file and the offset.
* a journal of another format version raises :class:`JournalError` (an AM
  must not guess at a newer pyarn's journal).
"""
from __future__ import annotations

import json
import logging
import re
import struct
import threading
import zlib
from typing import Any, Callable, Dict, List, Optional, Tuple

import attrs

from ..errors import PyarnError
from .journalstore import JournalStore

log = logging.getLogger(__name__)

__all__ = ["Journal", "Loaded", "JournalError", "JournalCorruptError", "HEADER", "encode_frame",
           "decode_file", "COMPACT_BYTES", "MAX_SEGMENTS", "MAX_FRAME"]

HEADER = b"pyarn-am journal 1\n"
_MAGIC = b"pyarn-am journal "
_FRAME = struct.Struct(">II")
_ENCODER = json.JSONEncoder(separators=(",", ":"))
#: Largest frame read back (a larger length is corruption, not an allocation).
MAX_FRAME = 1 << 30
#: Least log size (bytes) before a compaction.
COMPACT_BYTES = 4 << 20
#: Most log files (HDFS batches) in one generation before a compaction.
MAX_SEGMENTS = 256
#: Seconds between retries while the store fails.
RETRY_INTERVAL = 2.0
#: Times :meth:`Journal.load` starts again when a file it listed is gone (a writer compacted it).
_LOAD_TRIES = 3
#: Seconds :meth:`Journal.close` waits for the last records to be written.
CLOSE_TIMEOUT = 30.0

_SNAPSHOT = re.compile(r"snapshot\.(\d+)")
_LOG = re.compile(r"log\.(\d+)\.(\d+)")


class JournalError(PyarnError):
    """The journal cannot be used (e.g. it was written by an incompatible pyarn)."""


class JournalCorruptError(JournalError):
    """A journal file is damaged; names the file and the offset of the damage. ``frames`` are the
    good ones before it."""

    def __init__(self, name: str, offset: int, reason: str,
                 frames: Optional[List[Dict[str, Any]]] = None) -> None:
        super().__init__(f"journal file {name} is corrupt at byte {offset}: {reason}")
        self.name = name
        self.offset = offset
        self.reason = reason
        self.frames = frames or []


def encode_frame(obj: Dict[str, Any]) -> bytes:
    """One frame holding ``obj`` as JSON."""
    payload = _ENCODER.encode(obj).encode("utf-8")
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def decode_file(data: bytes, name: str = "journal file") -> Tuple[List[Dict[str, Any]], bool]:
    """The objects framed in a journal file, and whether its last frame was torn (and dropped).

    :class:`JournalCorruptError` for damage that is not a torn tail;
    :class:`JournalError` for a file of another format version.
    """
    if not data.startswith(HEADER):
        if len(data) < len(HEADER) and HEADER.startswith(data):
            return [], True  # cut short while its header was written
        if data.startswith(_MAGIC):
            version = data[len(_MAGIC):].split(b"\n", 1)[0][:20].decode("ascii", "replace")
            raise JournalError(f"journal file {name} has format version {version!r}; this pyarn-am reads "
                               f"version 1 only")
        raise JournalCorruptError(name, 0, "it does not start with the journal header")
    frames: List[Dict[str, Any]] = []
    pos, size = len(HEADER), len(data)
    while pos < size:
        if size - pos < _FRAME.size:
            return frames, True
        length, crc = _FRAME.unpack_from(data, pos)
        if length > MAX_FRAME:
            raise JournalCorruptError(name, pos, f"a frame claims {length} bytes", frames)
        end = pos + _FRAME.size + length
        if end > size:
            return frames, True
        payload = data[pos + _FRAME.size:end]
        if zlib.crc32(payload) != crc:
            if end == size:
                return frames, True
            raise JournalCorruptError(name, pos, "checksum mismatch", frames)
        try:
            obj = json.loads(payload)
        except ValueError as exc:
            raise JournalCorruptError(name, pos, f"not JSON ({exc})", frames) from None
        if not isinstance(obj, dict):
            raise JournalCorruptError(name, pos, "not a JSON object", frames)
        frames.append(obj)
        pos = end
    return frames, False


@attrs.frozen
class Loaded:
    """What :meth:`Journal.load` found: the base ``snapshot`` (None: none) and the ``records`` after it."""

    snapshot: Optional[Dict[str, Any]]
    records: List[Dict[str, Any]]
    #: Files set aside as corrupt.
    set_aside: List[str] = attrs.field(factory=list)

    @property
    def empty(self) -> bool:
        return self.snapshot is None and not self.records


def _generation(name: str) -> Optional[Tuple[int, int]]:
    """(generation, segment) of a log, (generation, -1) of a snapshot, None for anything else."""
    match = _SNAPSHOT.fullmatch(name)
    if match:
        return int(match.group(1)), -1
    match = _LOG.fullmatch(name)
    if match:
        return int(match.group(1)), int(match.group(2))
    return None


class Journal:
    """The journal in ``store``; see the module docstring.

    Call :meth:`load` (optional), then :meth:`start` with the function that
    dumps the whole state, then :meth:`append` records; :meth:`close` at the end.
    """

    def __init__(self, store: JournalStore, *, compact_bytes: int = COMPACT_BYTES,
                 max_segments: int = MAX_SEGMENTS, retry_interval: float = RETRY_INTERVAL) -> None:
        self.store = store
        self._compact_bytes = compact_bytes
        self._max_segments = max_segments
        self._retry_interval = retry_interval
        self._direct = store.appends
        self._cond = threading.Condition(threading.Lock())
        self._generation = 0
        self._segments: Dict[int, int] = {}  # generation -> its next log segment (HDFS)
        self._started_logs: set = set()  # logs whose header is written (local)
        self._pending: List[Tuple[int, bytes]] = []  # (generation, frame) not written yet
        self._appended = 0  # records appended so far
        self._written = 0  # ... of which written
        self._log_bytes = 0
        self._threshold = compact_bytes
        self._compact = False  # a compaction is wanted
        self._due: Optional[int] = None  # the generation whose snapshot is to be written
        self._failing: Optional[BaseException] = None
        self._dump: Optional[Callable[[], Dict[str, Any]]] = None
        self._accepting = False
        self._closing = False
        self._stopped = False
        self._thread: Optional[threading.Thread] = None

    def __repr__(self) -> str:
        return f"Journal({self.store!r}, generation={self._generation})"

    # ------------------------------------------------------------------ reading

    def load(self, strict: bool = False) -> Loaded:
        """The newest good snapshot and the records after it (see the module docstring)."""
        for _ in range(_LOAD_TRIES - 1):
            try:
                return self._load(strict)
            except FileNotFoundError:  # compacted away while being read: read the newer files
                continue
        return self._load(strict)

    def _load(self, strict: bool) -> Loaded:
        files = sorted((key, name) for name in self.store.names() if (key := _generation(name)) is not None)
        self._generation = max((key[0] for key, _ in files), default=0)
        set_aside: List[str] = []
        snapshot, base = None, 0
        for (generation, _), name in reversed([f for f in files if f[0][1] == -1]):
            try:
                frames, torn = decode_file(self.store.read(name), name)
                if torn or len(frames) != 1:
                    raise JournalCorruptError(name, 0, "a snapshot holds exactly one whole frame")
            except JournalCorruptError as exc:
                self._damaged(exc, strict, [name], set_aside)
                continue
            snapshot, base = frames[0], generation
            break
        logs = [(key, name) for key, name in files if key[1] >= 0]
        if snapshot is None:  # records are changes: without a base they describe no state
            if logs:
                self._damaged(JournalCorruptError(logs[0][1], 0, "no snapshot to apply it to"), strict,
                              [name for _, name in logs], set_aside)
            return Loaded(None, [], set_aside)
        chain = [(key, name) for key, name in logs if key[0] >= base]
        records: List[Dict[str, Any]] = []
        expected: Dict[int, int] = {}
        for index, ((generation, segment), name) in enumerate(chain):
            try:
                if segment != expected.get(generation, 0):
                    raise JournalCorruptError(name, 0, f"log segment {expected.get(generation, 0)} of "
                                                       f"generation {generation} is missing")
                expected[generation] = segment + 1
                frames, torn = decode_file(self.store.read(name), name)
                if torn and index != len(chain) - 1:
                    raise JournalCorruptError(name, -1, "a torn record in a log that is not the last one",
                                              frames)
            except JournalCorruptError as exc:
                self._damaged(exc, strict, [n for _, n in chain[index:]], set_aside)
                records.extend(exc.frames)
                break
            if torn:
                log.warning("ignoring the torn last record of journal file %s (a write cut short)", name)
            records.extend(frames)
        return Loaded(snapshot, records, set_aside)

    def _damaged(self, error: JournalCorruptError, strict: bool, names: List[str],
                 set_aside: List[str]) -> None:
        if strict:
            raise error
        log.error("%s; recovering the state up to the last good record and setting aside %s",
                  error, ", ".join(names))
        for name in names:
            try:
                self.store.rename(name, f"{name}.corrupt")
                set_aside.append(name)
            except Exception as exc:  # a store that cannot rename: the files stay, later starts skip them
                log.warning("cannot set aside journal file %s: %s", name, exc)

    # ------------------------------------------------------------------ writing

    def start(self, dump: Callable[[], Dict[str, Any]]) -> None:
        """Begin a new generation: write ``dump()`` as its snapshot now, delete the older ones, and
        accept records. ``dump`` is called again (from a background thread) at each compaction."""
        if self._thread is not None:
            raise JournalError("the journal is already started")
        if not self._generation:
            self._generation = max((key[0] for name in self.store.names()
                                    if (key := _generation(name)) is not None), default=0)
        self._dump = dump
        self._generation += 1
        self._write_snapshot(self._generation, dump())
        with self._cond:
            self._accepting = True
        self._thread = threading.Thread(target=self._run, name="pyarn-am journal", daemon=True)
        self._thread.start()

    def append(self, record: Dict[str, Any]) -> None:
        """Journal ``record`` (see the module docstring for when it is durable). Thread-safe;
        callers keep their own order by calling this under their own lock."""
        frame = encode_frame(record)
        with self._cond:
            if not self._accepting:
                return
            self._appended += 1
            self._log_bytes += len(frame)
            if self._direct and not self._pending:
                try:
                    self._append_now(self._generation, frame)
                    self._written += 1
                except Exception as exc:
                    self._failed(exc)
                    self._pending.append((self._generation, frame))
            else:
                self._pending.append((self._generation, frame))
            if (self._log_bytes >= self._threshold
                    or self._segments.get(self._generation, 0) >= self._max_segments):
                self._compact = True
            if self._pending or self._compact:
                self._cond.notify_all()

    def sync(self) -> None:
        """Wait until every record appended so far is written (not while the store fails)."""
        with self._cond:
            target = self._appended
            while self._written < target and self._failing is None and not self._stopped:
                self._cond.wait()

    def close(self, snapshot: Optional[Dict[str, Any]] = None) -> None:
        """Stop taking records and write those still pending. With ``snapshot``, the journal's
        history is replaced by it instead (a new generation holding only that state)."""
        with self._cond:
            self._accepting = False
            if snapshot is not None:
                self._pending.clear()
                self._compact = False
                self._due = None
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(CLOSE_TIMEOUT)
            if self._thread.is_alive():
                log.error("the journal could not write its last records within %.0f s", CLOSE_TIMEOUT)
        if snapshot is not None:
            with self._cond:
                self._generation += 1
            try:
                self._write_snapshot(self._generation, snapshot)
            except Exception as exc:
                log.error("cannot write the journal's final snapshot: %s", exc)
        self.store.close()

    # ----------------------------------------------------------------- internals

    def _append_now(self, generation: int, data: bytes) -> None:
        """Append to the generation's local log (lock held)."""
        name = f"log.{generation}.0"
        if name not in self._started_logs:
            data = HEADER + data
        self.store.append(name, data)
        self._started_logs.add(name)

    def _failed(self, exc: BaseException) -> None:
        if self._failing is None:
            log.error("cannot write the journal in %s (%s); keeping its records in memory and retrying",
                      self.store.url, exc)
        self._failing = exc
        self._cond.notify_all()

    def _write_snapshot(self, generation: int, state: Dict[str, Any]) -> None:
        data = HEADER + encode_frame(state)
        self.store.write_atomic(f"snapshot.{generation}", data)
        with self._cond:
            self._threshold = max(self._compact_bytes, 2 * len(data))
        # Older snapshots first: a snapshot left behind by a crash still has all its logs.
        older = [(key[1], name) for name in self.store.names()
                 if (key := _generation(name)) is not None and key[0] < generation]
        for _, name in sorted(older):
            self.store.delete(name)

    def _run(self) -> None:
        try:
            while self._step():
                pass
        finally:
            with self._cond:
                self._stopped = True
                if self._pending:
                    log.error("%d journal records could not be written", len(self._pending))
                self._cond.notify_all()

    def _step(self) -> bool:
        """Write one batch of records or one snapshot; False when the journal is closed and done."""
        with self._cond:
            while not (self._pending or self._compact or self._due or self._closing):
                self._cond.wait()
            if self._failing is not None and not self._closing:
                self._cond.wait(self._retry_interval)
            if self._compact and self._due is None and not self._closing:
                self._compact = False
                self._generation += 1  # new records go to the next generation from now on
                self._log_bytes = 0
                self._due = self._generation
            # Older records first, then the due snapshot, then newer records. Frames stay
            # pending until written, so appends cannot overtake them.
            generation = self._pending[0][0] if self._pending else None
            frames: List[bytes] = []
            if generation is not None and (self._due is None or generation < self._due or self._closing):
                frames = [f for g, f in self._pending if g == generation]
            elif self._due is not None and not self._closing:
                generation = self._due
            elif self._closing:
                return False
            else:
                return True
        try:
            if frames:
                self._write_batch(generation, frames)
            else:
                self._write_snapshot(generation, self._dump())  # type: ignore[misc]
                log.info("compacted the journal into snapshot.%d", generation)
        except Exception as exc:
            with self._cond:
                self._failed(exc)
                return not self._closing
        with self._cond:
            if frames:
                del self._pending[:len(frames)]
                self._written += len(frames)
            elif self._due == generation:
                self._due = None
            if self._failing is not None:
                log.info("the journal in %s is written again", self.store.url)
                self._failing = None
            self._cond.notify_all()
        return True

    def _write_batch(self, generation: int, frames: List[bytes]) -> None:
        data = b"".join(frames)
        if self._direct:
            with self._cond:
                self._append_now(generation, data)
            return
        with self._cond:
            segment = self._segments.get(generation, 0)
        self.store.write_atomic(f"log.{generation}.{segment}", HEADER + data)
        with self._cond:
            self._segments[generation] = segment + 1
