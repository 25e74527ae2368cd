"""Reading and writing whole HDFS files: the streams behind ``HDFS.open``.

:class:`HdfsReader` reads a file block after block, each from one of its
replicas. A DataNode that fails (:class:`~pyarn.hdfs.blocks.DataNodeError`)
or sends data that fails its checksums
(:class:`~pyarn.hdfs.checksum.ChecksumError`) is marked dead for this stream
and the read resumes, at the same byte, from the next replica, as Java's
``DFSInputStream`` does. When every replica is dead it asks the NameNode for
the block's locations again, after a pause, up to
``dfs.client.max.block.acquire.failures`` times, then raises
:class:`BlockMissingError`. When every replica failed its checksum there is
nothing to wait for: it raises :class:`CorruptBlockError` at once, naming the
block and the file. A refused block token fetches fresh locations once.

:class:`HdfsWriter` writes a file block after block: ``addBlock``, then a
:class:`~pyarn.hdfs.blocks.BlockWriter` down the pipeline, then ``complete``
(retried while the NameNode waits for replicas). A pipeline that cannot be
set up is abandoned and ``addBlock`` is asked again without the DataNode
blamed, up to ``dfs.client.block.write.retries`` times (Java's
``DataStreamer.nextBlockOutputStream``). A pipeline that fails once data is
flowing is not recovered: the write fails.

**A failed write.** The block being written is abandoned. If this write
created the file, the file is deleted: a failed write leaves nothing behind
(with ``overwrite`` the old file was already replaced at create time; write
atomically to keep it). If it appended, the file is closed with the blocks
that were complete. Either way the error is raised.
"""
from __future__ import annotations

import bisect
import io
import logging
import random
import time
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from hadoop_protos import hdfs_pb2

from ..errors import PyarnError
from .blocks import (
    BlockTokenError,
    BlockWriter,
    ChecksumError,
    DataNodeError,
    PipelineError,
    SockFactory,
    block_name,
    read_block,
)
from .checksum import DataChecksum
from .datatransfer import xfer_addr

if TYPE_CHECKING:
    from .transfer_security import DataTransferSecurity

__all__ = ["HdfsReader", "HdfsWriter", "BlockMissingError", "CorruptBlockError"]

log = logging.getLogger(__name__)


class BlockMissingError(PyarnError, OSError):
    """No replica of a block could be read (Java's ``BlockMissingException``; also an ``OSError``).

    ``errors`` lists ``(datanode, error)`` for every failed attempt.
    """

    def __init__(self, message: str, path: str, block: str,
                 errors: Sequence[Tuple[str, BaseException]] = ()) -> None:
        super().__init__(message)
        self.path = path
        self.block = block
        self.errors: Tuple[Tuple[str, BaseException], ...] = tuple(errors)

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self):
        return (type(self), (self.args[0], self.path, self.block, self.errors))


class CorruptBlockError(BlockMissingError):
    """Every replica of a block failed its checksum: the block is corrupt."""


def _describe(errors: Sequence[Tuple[str, BaseException]]) -> str:
    return "; ".join(f"{node}: {error}" for node, error in errors) or "no DataNode holds it"


class HdfsReader(io.RawIOBase):
    """A seekable raw reader of one HDFS file (wrap it in ``io.BufferedReader`` for small reads).

    ``namenode`` is a :class:`~pyarn.hdfs.namenode.NameNodeClient` (or
    anything with its ``get_block_locations`` and ``client_name``).
    Block locations are fetched ``prefetch`` bytes at a time (Java's
    ``dfs.client.read.prefetch.size``). :meth:`chunks` streams the rest of the
    file without copying, for bulk transfers. Files still being written are
    read up to the length the NameNode reports (their complete blocks).
    """

    def __init__(self, namenode, path: str, sock_factory: SockFactory, *, verify: bool = True,
                 prefetch: Optional[int] = None, max_acquire_failures: int = 3, retry_window: float = 3.0,
                 sleep: Callable[[float], None] = time.sleep,
                 security: Optional[DataTransferSecurity] = None) -> None:
        super().__init__()
        self.name = path
        self._namenode = namenode
        self._factory = sock_factory
        self._security = security
        self._verify = verify
        self._prefetch = prefetch
        self._max_failures = max_acquire_failures
        self._window = retry_window
        self._sleep = sleep
        self._blocks: Dict[int, hdfs_pb2.LocatedBlockProto] = {}
        self._offsets: List[int] = []
        self._pos = 0
        self._buffer = memoryview(b"")
        self._stream: Optional[Iterator[bytes]] = None
        self._dead: Set[str] = set()
        located = namenode.get_block_locations(path, 0, prefetch)
        self.length: int = located.fileLength
        self._remember(located.blocks)

    def __repr__(self) -> str:
        return f"HdfsReader({self.name!r}, length={self.length}, position={self._pos})"

    # -- io.RawIOBase ---------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._check_closed()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_closed()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self.length + offset
        else:
            raise ValueError(f"invalid whence {whence!r}")
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if self._pos <= target <= self._pos + len(self._buffer):
            self._buffer = self._buffer[target - self._pos:]
        else:
            self._drop_stream()
        self._pos = target
        return target

    def readinto(self, buffer) -> int:
        self._check_closed()
        if not self._buffer and not self._fill():
            return 0
        out = memoryview(buffer).cast("B")
        count = min(len(out), len(self._buffer))
        out[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        self._pos += count
        return count

    def readall(self) -> bytes:
        return b"".join(self.chunks())

    def chunks(self) -> Iterator[bytes]:
        """The rest of the file as it arrives, piece by piece (the position advances with each)."""
        self._check_closed()
        while self._buffer or self._fill():
            piece, self._buffer = self._buffer, memoryview(b"")
            self._pos += len(piece)
            whole = isinstance(piece.obj, bytes) and len(piece) == len(piece.obj)
            yield piece.obj if whole else piece.tobytes()  # type: ignore[misc]

    def close(self) -> None:
        self._drop_stream()
        super().close()

    def _check_closed(self) -> None:
        if self.closed:
            raise ValueError(f"I/O operation on closed file {self.name}")

    # -- streaming ------------------------------------------------------------

    def _fill(self) -> bool:
        """Get the next piece at the position into the buffer; False at the end of the file."""
        if self._pos >= self.length:
            return False
        if self._stream is None:
            self._stream = self._read_from(self._pos)
        piece = next(self._stream, None)
        if piece is None:
            self._stream = None
            return False
        self._buffer = memoryview(piece)
        return True

    def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        self._buffer = memoryview(b"")
        if stream is not None:
            stream.close()  # type: ignore[attr-defined]

    def _read_from(self, pos: int) -> Iterator[bytes]:
        while pos < self.length:
            block = self._block_at(pos)
            start = pos - block.offset
            end = min(block.b.numBytes, self.length - block.offset)
            if end <= start:
                raise BlockMissingError(f"block {block_name(block.b)} of {self.name} ends at "
                                        f"{block.offset + end}, before offset {pos}", self.name,
                                        block_name(block.b))
            for piece in self._read_block(block, start, end - start):
                pos += len(piece)
                yield piece

    def _read_block(self, block: hdfs_pb2.LocatedBlockProto, offset: int, length: int) -> Iterator[bytes]:
        """``length`` bytes of ``block`` from ``offset``, from whichever replicas can give them."""
        failures = 0
        token_refreshed = False
        errors: List[Tuple[str, BaseException]] = []
        this_round: List[BaseException] = []
        while length > 0:
            node = next((dn for dn in block.locs if xfer_addr(dn) not in self._dead), None)
            if node is None:
                name = block_name(block.b)
                if this_round and all(isinstance(e, ChecksumError) for e in this_round):
                    raise CorruptBlockError(
                        f"block {name} of {self.name} is corrupt: every replica failed its checksum "
                        f"({_describe(errors)})", self.name, name, errors)
                if failures >= self._max_failures:
                    raise BlockMissingError(f"could not obtain block {name} of {self.name} "
                                            f"({_describe(errors)})", self.name, name, errors)
                pause = self._window * failures + self._window * (failures + 1) * random.random()
                log.info("no live replica of %s (%s); asking the NameNode again in %.1f s",
                         name, _describe(errors), pause)
                self._sleep(pause)
                failures += 1
                block = self._refetch(block)
                self._dead.clear()
                this_round = []
                continue
            addr = xfer_addr(node)
            try:
                for piece in read_block(self._factory, block, offset, length, self._namenode.client_name,
                                        verify=self._verify, datanode=node, security=self._security):
                    offset += len(piece)
                    length -= len(piece)
                    yield piece
            except BlockTokenError as exc:
                if not token_refreshed:
                    token_refreshed = True
                    block = self._refetch(block)
                    continue
                self._dead.add(addr)
                errors.append((addr, exc))
                this_round.append(exc)
            except (DataNodeError, ChecksumError) as exc:
                log.warning("reading %s of %s from %s failed (%s); trying another replica",
                            block_name(block.b), self.name, addr, exc)
                self._dead.add(addr)
                errors.append((addr, exc))
                this_round.append(exc)

    # -- block locations ---------------------------------------------------------

    def _remember(self, blocks: Sequence[hdfs_pb2.LocatedBlockProto]) -> None:
        for block in blocks:
            if block.offset not in self._blocks:
                bisect.insort(self._offsets, block.offset)
            self._blocks[block.offset] = block

    def _find(self, pos: int) -> Optional[hdfs_pb2.LocatedBlockProto]:
        index = bisect.bisect_right(self._offsets, pos) - 1
        if index < 0:
            return None
        block = self._blocks[self._offsets[index]]
        return block if pos < block.offset + block.b.numBytes else None

    def _block_at(self, pos: int) -> hdfs_pb2.LocatedBlockProto:
        block = self._find(pos)
        if block is None:
            self._remember(self._namenode.get_block_locations(self.name, pos, self._prefetch).blocks)
            block = self._find(pos)
        if block is None:
            raise BlockMissingError(f"the NameNode lists no block of {self.name} at offset {pos}",
                                    self.name, "")
        return block

    def _refetch(self, block: hdfs_pb2.LocatedBlockProto) -> hdfs_pb2.LocatedBlockProto:
        located = self._namenode.get_block_locations(self.name, block.offset, 1)
        self._remember(located.blocks)
        return self._blocks.get(block.offset, block)


class HdfsWriter(io.BufferedIOBase):
    """A file being written: ``write`` bytes, then ``close`` (or use ``with``).

    Made by ``HDFS.open(path, "wb")`` once the NameNode created the file
    ``path`` (id ``file_id``). ``previous`` is the file's last block when
    appending. ``created`` says whether this write created the file (then a
    failed write deletes it). ``commit`` runs after the file is complete
    (atomic writes rename the temporary file there); if it fails, the file
    is deleted. Leaving a ``with`` block by an exception abandons the write;
    so does :meth:`abort`.
    """

    def __init__(self, namenode, path: str, file_id: int, sock_factory: SockFactory, *,
                 block_size: int, checksum: DataChecksum, packet_size: int,
                 previous: Optional[hdfs_pb2.ExtendedBlockProto] = None, created: bool = True,
                 commit: Optional[Callable[[], None]] = None, block_write_retries: int = 3,
                 name: Optional[str] = None, security: Optional[DataTransferSecurity] = None) -> None:
        super().__init__()
        if block_size <= 0:
            raise ValueError(f"block_size must be positive, got {block_size}")
        self.name = name or path
        self.path = path
        self._namenode = namenode
        self._file_id = file_id
        self._factory = sock_factory
        self._block_size = block_size
        self._checksum = checksum
        self._packet_size = packet_size
        self._previous = previous
        self._created = created
        self._commit = commit
        self._retries = block_write_retries
        self._security = security
        self._writer: Optional[BlockWriter] = None
        self._located: Optional[hdfs_pb2.LocatedBlockProto] = None
        #: DataNodes that failed a pipeline set-up: not asked for again by this writer.
        self._excluded: List[hdfs_pb2.DatanodeInfoProto] = []
        self._seqno = 0
        self._written = 0
        self._failed: Optional[BaseException] = None
        namenode.lease.begin(self)

    def __repr__(self) -> str:
        return f"HdfsWriter({self.name!r}, written={self._written})"

    # -- io ---------------------------------------------------------------------

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        """Nothing to do: packets go out as they fill (``hflush`` is not offered)."""

    def write(self, data) -> int:  # type: ignore[override]
        """Send ``data`` (any bytes-like object) down the pipeline; returns its length."""
        self._check_writable()
        view = memoryview(data).cast("B")
        size = len(view)
        pos = 0
        try:
            while pos < size:
                if self._writer is None:
                    self._start_block()
                writer = self._writer
                assert writer is not None
                take = min(self._block_size - writer.bytes_written, size - pos)
                writer.write(view[pos:pos + take])
                pos += take
                if writer.bytes_written >= self._block_size:
                    self._end_block()
        except BaseException as exc:
            self._fail(exc)
            raise
        self._written += size
        return size

    def close(self) -> None:
        """Finish the last block, complete the file and commit it. Idempotent."""
        if self.closed:
            return
        if self._failed is not None:
            super().close()
            return
        try:
            if self._writer is not None:
                self._end_block()
            self._namenode.complete(self.path, self._file_id, self._previous)
        except BaseException as exc:
            self._fail(exc)
            raise
        self._namenode.lease.end(self)
        super().close()
        if self._commit is not None:
            try:
                self._commit()
            except BaseException:
                self._delete_quietly()
                raise

    def abort(self) -> None:
        """Abandon the write (see the module's notes on failed writes)."""
        if not self.closed and self._failed is None:
            self._fail(PyarnError("aborted"))

    def heartbeat(self) -> None:
        """Keep an idle pipeline alive (called by the lease renewer's thread)."""
        writer = self._writer
        if writer is not None:
            writer.heartbeat()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # Never complete a file nobody closed: drop the pipeline; the NameNode recovers the lease.
        writer = self._writer if hasattr(self, "_writer") else None
        if writer is not None:
            writer.abort()

    # -- blocks -------------------------------------------------------------------

    def _start_block(self) -> None:
        for attempt in range(self._retries + 1):
            located = self._namenode.add_block(self.path, self._file_id, self._previous, self._excluded)
            self._located = located
            try:
                self._writer = BlockWriter(self._factory, located, self._namenode.client_name,
                                           checksum=self._checksum, packet_size=self._packet_size,
                                           block_size=self._block_size, first_seqno=self._seqno,
                                           security=self._security)
                return
            except PipelineError as exc:
                if attempt == self._retries:
                    raise
                log.warning("%s; abandoning %s and asking for other DataNodes", exc, block_name(located.b))
                self._namenode.abandon_block(located.b, self.path, self._file_id)
                self._located = None
                if exc.index is not None and exc.index < len(located.locs):
                    self._excluded.append(located.locs[exc.index])

    def _end_block(self) -> None:
        writer = self._writer
        assert writer is not None
        self._previous = writer.close()
        self._seqno = writer.next_seqno
        self._writer = None
        self._located = None

    # -- failure --------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._failed is not None:
            raise ValueError(f"the write of {self.name} failed earlier: {self._failed}")
        if self.closed:
            raise ValueError(f"I/O operation on closed file {self.name}")

    def _fail(self, error: BaseException) -> None:
        """Abandon the block in flight, then delete (or, after an append, close) the file."""
        self._failed = error
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.abort()
        located, self._located = self._located, None
        try:
            if located is not None:
                self._namenode.abandon_block(located.b, self.path, self._file_id)
            if self._created:
                self._namenode.delete(self.path, False)
            else:
                self._namenode.complete(self.path, self._file_id, self._previous)
        except Exception as exc:
            log.warning("cleaning up after the failed write of %s failed: %s", self.name, exc)
        finally:
            self._namenode.lease.end(self)
            super().close()

    def _delete_quietly(self) -> None:
        try:
            self._namenode.delete(self.path, False)
        except Exception as exc:
            log.warning("deleting %s failed: %s", self.path, exc)
