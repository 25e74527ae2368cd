"""Reading and writing one HDFS block over blocking sockets.

:func:`read_block` streams a byte range of a block from one DataNode and
checks its checksums. :class:`BlockWriter` streams a new block down a write
pipeline. The wire format lives in :mod:`pyarn.hdfs.datatransfer`; this module
only moves its bytes.

Failures a caller acts on:

* :class:`~pyarn.hdfs.datatransfer.DataNodeError` — this DataNode failed
  (refused the connection, answered with an error status, broke the protocol,
  closed early). For reads: try the next replica.
  :class:`~pyarn.hdfs.datatransfer.BlockTokenError` (a subclass) means the
  block token was refused: fetch the block locations again.
* :class:`~pyarn.hdfs.checksum.ChecksumError` — the data did not match its
  checksums: report the replica and read another one.
* :class:`~pyarn.hdfs.datatransfer.PipelineError` — a write pipeline failed;
  ``datanode`` and ``index`` name the DataNode blamed. There is no pipeline
  recovery: the caller abandons the block.
* :class:`~pyarn.hdfs.datatransfer_sasl.DataTransferProtectionError` — this
  client and the DataNode accept no common ``dfs.data.transfer.protection``: a
  configuration error that no other replica fixes.

Secure DataNodes: given a ``security``
(:class:`~pyarn.hdfs.transfer_security.DataTransferSecurity`), each connection
first runs the DataTransfer SASL handshake that the configuration calls for,
with the block token of the ``LocatedBlockProto``, and then goes through the
protected socket it returns.
"""
from __future__ import annotations

import select
import socket
import threading
import time
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Tuple

from hadoop_protos import datatransfer_pb2 as dt
from hadoop_protos import hdfs_pb2

from .checksum import CRC32C_512, ChecksumError, ChecksumType, DataChecksum
from .datatransfer import (
    HEARTBEAT_SEQNO,
    MAX_MESSAGE_SIZE,
    MAX_PACKET_SIZE,
    PKT_LENGTHS_LEN,
    PKT_MAX_HEADER_LEN,
    AckTracker,
    BlockTokenError,
    DataNodeError,
    DataTransferError,
    PacketHeader,
    PipelineError,
    Receiver,
    Stage,
    Status,
    check_response,
    decode_varint,
    encode_packet_prefix,
    encode_read_status,
    parse_message,
    parse_packet_header,
    parse_packet_lengths,
    read_block_op,
    status_name,
    write_block_op,
    xfer_addr,
)

if TYPE_CHECKING:
    from .transfer_security import DataTransferSecurity

__all__ = ["SockFactory", "connect_datanode", "read_block", "BlockWriter", "block_name",
           "DEFAULT_PACKET_SIZE", "DEFAULT_TIMEOUT",
           # the errors callers handle, re-exported
           "DataNodeError", "BlockTokenError", "PipelineError", "ChecksumError"]

#: ``dfs.client-write-packet-size`` default.
DEFAULT_PACKET_SIZE = 64 * 1024
#: ``dfs.client.socket-timeout`` default, seconds.
DEFAULT_TIMEOUT = 60.0
#: ``dfs.client.write.max-packets-in-flight`` default.
DEFAULT_MAX_PACKETS_IN_FLIGHT = 80
_READ_BUFFER = 256 * 1024

#: Opens a connected socket to a DataNode's transfer port, given its ``DatanodeInfoProto``.
SockFactory = Callable[[hdfs_pb2.DatanodeInfoProto], socket.socket]


def connect_datanode(datanode: hdfs_pb2.DatanodeInfoProto, timeout: float = DEFAULT_TIMEOUT,
                     use_hostname: bool = False) -> socket.socket:
    """The default :data:`SockFactory`: TCP to ``ipAddr:xferPort`` (or ``hostName`` when asked).

    ``use_hostname`` is ``dfs.client.use.datanode.hostname``.
    """
    host = datanode.id.hostName if use_hostname else datanode.id.ipAddr
    sock = socket.create_connection((host, datanode.id.xferPort), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def block_name(block: hdfs_pb2.ExtendedBlockProto) -> str:
    """``BP-…:blk_<id>_<genstamp>``, Hadoop's way of naming a block in messages."""
    return f"{block.poolId}:blk_{block.blockId}_{block.generationStamp}"


def _readable(sock: socket.socket) -> bool:
    """Whether ``sock`` has bytes (or EOF) to read right now."""
    if getattr(sock, "pending", False):  # a protected socket holding decoded bytes
        return True
    if _poll is None:  # pragma: no cover - platforms without poll()
        return bool(select.select([sock], [], [], 0)[0])
    poller = _poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


_poll = getattr(select, "poll", None)


def _send_buffers(sock: socket.socket, buffers: Tuple[bytes, ...]) -> None:
    """``sendall`` of several buffers in one system call each round, without joining them."""
    sendmsg = getattr(sock, "sendmsg", None)
    if sendmsg is None:  # pragma: no cover - platforms or wrapped sockets without sendmsg
        sock.sendall(b"".join(buffers))
        return
    views = [memoryview(b) for b in buffers if b]
    while views:
        sent = sendmsg(views)
        while views and sent >= len(views[0]):
            sent -= len(views.pop(0))
        if sent:
            views[0] = views[0][sent:]


def _open(sock_factory: SockFactory, datanode: hdfs_pb2.DatanodeInfoProto, token,
          security: Optional[DataTransferSecurity]) -> socket.socket:
    """Connect to ``datanode`` and run the SASL handshake ``security`` calls for.

    A DataNode that no longer knows the data encryption key gets one more try with a
    fresh key, as Java's clients do. Errors: ``OSError`` (connecting), and those of
    :meth:`DataTransferSecurity.secure <pyarn.hdfs.transfer_security.DataTransferSecurity.secure>`.
    """
    sock = sock_factory(datanode)
    if security is None:
        return sock
    from .transfer_security import InvalidEncryptionKeyError

    try:
        return security.secure(sock, datanode, token)  # type: ignore[return-value]
    except InvalidEncryptionKeyError:
        return security.secure(sock_factory(datanode), datanode, token)  # type: ignore[return-value]


class _Reader:
    """Exact reads from a socket through one buffered file."""

    def __init__(self, sock: socket.socket) -> None:
        self._file = sock.makefile("rb", buffering=_READ_BUFFER)

    def close(self) -> None:
        self._file.close()

    def exact(self, size: int) -> bytes:
        data = self._file.read(size)
        if data is None or len(data) != size:
            got = 0 if data is None else len(data)
            raise DataTransferError(f"connection closed after {got} of {size} bytes")
        return data

    def message(self, message_type):
        head = bytearray()
        while True:
            head += self.exact(1)
            decoded = decode_varint(head)
            if decoded is not None:
                break
        size = decoded[0]
        if size > MAX_MESSAGE_SIZE:
            raise DataTransferError(f"{message_type.DESCRIPTOR.name} of {size} bytes "
                                    f"exceeds the {MAX_MESSAGE_SIZE}-byte limit")
        return parse_message(message_type, self.exact(size))

    def packet(self) -> Tuple[PacketHeader, bytes, bytes]:
        """The next packet's header, checksums and data (read straight into their own bytes)."""
        payload_len, header_len = parse_packet_lengths(self.exact(PKT_LENGTHS_LEN), MAX_PACKET_SIZE)
        header, checksums_len = parse_packet_header(payload_len, self.exact(header_len))
        return header, self.exact(checksums_len), self.exact(header.data_len)


# -- reads -------------------------------------------------------------------


def read_block(sock_factory: SockFactory, located_block: hdfs_pb2.LocatedBlockProto, offset: int,
               length: int, client_name: str, verify: bool = True,
               datanode: Optional[hdfs_pb2.DatanodeInfoProto] = None,
               security: Optional[DataTransferSecurity] = None) -> Iterator[bytes]:
    """Stream ``length`` bytes of a block from ``offset`` (within the block), checked.

    Reads from ``datanode``, by default the first of ``located_block.locs``.
    Yields :class:`bytes` pieces, in order, that add up to ``length`` bytes.
    When every byte has arrived, it tells the DataNode ``CHECKSUM_OK``
    (``SUCCESS`` when ``verify`` is false), as Java's ``BlockReaderRemote`` does.

    Errors: :class:`DataNodeError` (or :class:`BlockTokenError`) when the
    DataNode fails, :class:`ChecksumError` when data does not match its
    checksums. Either may come after some pieces were yielded; the caller
    resumes at ``offset`` plus what it got, on another replica.
    Closing the generator early closes the connection. ``security`` secures the
    connection first (see the module notes).
    """
    if offset < 0 or length < 0:
        raise ValueError(f"offset and length must be non-negative (got {offset}, {length})")
    if length == 0:
        return
    if datanode is None:
        if not located_block.locs:
            raise DataNodeError(f"block {block_name(located_block.b)} has no locations")
        datanode = located_block.locs[0]
    addr = xfer_addr(datanode)
    name = block_name(located_block.b)
    try:
        sock = _open(sock_factory, datanode, located_block.blockToken, security)
    except OSError as exc:
        raise DataNodeError(f"cannot connect to DataNode {addr} to read {name}: {exc}", addr) from exc
    try:
        yield from _read_from(sock, located_block, offset, length, client_name, verify, addr, name)
    except ChecksumError as exc:
        exc.datanode, exc.block = addr, name
        exc.args = (f"{exc.args[0]} in block {name} from DataNode {addr}",)
        raise
    except _NoReply as exc:
        hint = security.unprotected_hint(datanode) if security is not None else ""
        raise DataNodeError(f"reading {name} from DataNode {addr} failed: {exc}{hint}", addr) from exc
    except DataTransferError as exc:
        raise DataNodeError(f"reading {name} from DataNode {addr} failed: {exc}", addr) from exc
    except OSError as exc:
        raise DataNodeError(f"reading {name} from DataNode {addr} failed: {exc}", addr) from exc
    finally:
        sock.close()


class _NoReply(DataTransferError):
    """The DataNode sent no reply to an op (it hung up at once)."""


def _read_from(sock: socket.socket, located_block, offset: int, length: int, client_name: str,
               verify: bool, addr: str, name: str) -> Iterator[bytes]:
    reader = _Reader(sock)
    try:
        sock.sendall(read_block_op(located_block.b, located_block.blockToken, client_name,
                                   offset, length, send_checksums=verify))
        try:
            response = reader.message(dt.BlockOpResponseProto)
        except (DataTransferError, OSError) as exc:
            raise _NoReply(str(exc)) from None
        check_response(response, addr, f"READ_BLOCK of {name}")
        if not response.HasField("readOpChecksumInfo"):
            raise DataTransferError("READ_BLOCK reply without readOpChecksumInfo")
        info = response.readOpChecksumInfo
        try:
            checksum = DataChecksum.from_proto(info.checksum)
        except ValueError as exc:
            raise DataTransferError(f"READ_BLOCK reply: {exc}") from None
        position = info.chunkOffset
        if not offset - checksum.bytes_per_checksum < position <= offset:
            raise DataTransferError(f"first chunk offset {position} does not fit read offset {offset} "
                                    f"with {checksum.bytes_per_checksum}-byte chunks")
        check = verify and checksum.type is not ChecksumType.NULL
        end = offset + length
        seqno = 0
        while position < end:
            header, checksums, data = reader.packet()
            if header.last_packet_in_block or header.data_len == 0:
                raise DataTransferError(f"block data ended at offset {position}, wanted up to {end}")
            if header.seqno != seqno:
                raise DataTransferError(f"packet seqno {header.seqno}, expected {seqno}")
            if header.offset_in_block != position:
                raise DataTransferError(
                    f"packet at offset {header.offset_in_block}, expected {position}")
            if len(checksums) != checksum.checksums_length(header.data_len):
                raise DataTransferError(f"{len(checksums)} bytes of checksums for {header.data_len} "
                                        f"bytes of data ({checksum!r})")
            if check:
                checksum.verify(data, checksums, position)
            start = offset - position if position < offset else 0
            stop = end - position
            yield data[start:stop] if start or stop < len(data) else data
            position += header.data_len
            seqno += 1
        trailer = reader.packet()[0]
        if not trailer.last_packet_in_block or trailer.data_len != 0:
            raise DataTransferError(f"expected the empty end-of-read packet, got {trailer}")
        try:
            sock.sendall(encode_read_status(Status.CHECKSUM_OK if verify else Status.SUCCESS))
        except OSError:
            pass  # as in Java: the data is complete; the DataNode only logs the missing status
    finally:
        reader.close()


# -- writes -------------------------------------------------------------------


class BlockWriter:
    """Write one new block down the pipeline of a ``LocatedBlockProto`` (from ``addBlock``).

    Connects to ``locs[0]`` and sends WRITE_BLOCK with the rest of ``locs`` as
    targets (stage PIPELINE_SETUP_CREATE). :meth:`write` cuts data into packets
    of whole chunks with their checksums; acks are read as they arrive, with at
    most ``max_packets_in_flight`` packets unacknowledged. :meth:`close` sends
    what is left, waits for every ack, sends the empty last packet and waits
    for its ack: only then is the block complete on every DataNode.

    Use as a context manager: an exception inside the ``with`` aborts the
    block (closes the connection) instead of finishing it.

    ``checksum`` and ``packet_size`` should come from the NameNode's server
    defaults (``bytesPerChecksum``, ``checksumType``, ``writePacketSize``).
    ``block_size`` caps what may be written and goes to the DataNode as Java
    sends it. ``first_seqno`` lets a file's packets keep counting across blocks.
    A writer that may stay idle for long should get :meth:`heartbeat` calls
    (safe from another thread): one is sent when nothing went out for
    ``heartbeat_interval`` seconds (default: half the socket's timeout, as
    Java's ``DataStreamer`` does). ``security`` secures the connection first (see
    the module notes): a refused block token raises
    :class:`~pyarn.hdfs.datatransfer.BlockTokenError`, other DataNode failures of
    the handshake a :class:`~pyarn.hdfs.datatransfer.PipelineError`.
    """

    def __init__(self, sock_factory: SockFactory, located_block: hdfs_pb2.LocatedBlockProto,
                 client_name: str, checksum: DataChecksum = CRC32C_512,
                 packet_size: int = DEFAULT_PACKET_SIZE, block_size: Optional[int] = None,
                 first_seqno: int = 0,
                 max_packets_in_flight: int = DEFAULT_MAX_PACKETS_IN_FLIGHT,
                 heartbeat_interval: Optional[float] = None,
                 security: Optional[DataTransferSecurity] = None) -> None:
        if not located_block.locs:
            raise ValueError(f"block {block_name(located_block.b)} has no DataNodes to write to")
        self.checksum = checksum
        self.block_size = block_size
        self.name = block_name(located_block.b)
        self._block = hdfs_pb2.ExtendedBlockProto()
        self._block.CopyFrom(located_block.b)
        self._targets = [xfer_addr(dn) for dn in located_block.locs]
        self._tracker = AckTracker(self._targets)
        self._receiver = Receiver()
        self._ack_buf = bytearray(64 * 1024)
        self._max_in_flight = max(1, max_packets_in_flight)
        chunk = checksum.bytes_per_checksum + checksum.checksum_size
        chunks = max(1, (packet_size - PKT_MAX_HEADER_LEN) // chunk)
        self.packet_data_size = chunks * checksum.bytes_per_checksum
        self._pending = bytearray()
        self._offset = 0
        self._seqno = first_seqno
        self._closed = False
        self._finished = False
        self._failed: Optional[BaseException] = None
        self._send_lock = threading.Lock()
        self._last_send = time.monotonic()
        first = self._targets[0]
        try:
            self._sock = _open(sock_factory, located_block.locs[0], located_block.blockToken, security)
        except OSError as exc:
            raise PipelineError(f"cannot connect to DataNode {first} to write {self.name}: {exc}",
                                first, None, 0) from exc
        except BlockTokenError:
            raise
        except DataNodeError as exc:
            raise PipelineError(f"cannot write {self.name}: {exc}", first, exc.status, 0) from exc
        self._hint = security.unprotected_hint(located_block.locs[0]) if security is not None else ""
        if heartbeat_interval is None:
            heartbeat_interval = (self._sock.gettimeout() or DEFAULT_TIMEOUT) / 2
        self.heartbeat_interval = heartbeat_interval
        try:
            self._setup(located_block, client_name)
        except BaseException:
            self._sock.close()
            self._closed = True
            raise

    # -- set-up -------------------------------------------------------------

    def _setup(self, located_block, client_name: str) -> None:
        first = self._targets[0]
        try:
            self._sock.sendall(write_block_op(located_block, client_name, self.checksum,
                                              Stage.PIPELINE_SETUP_CREATE, self.block_size))
            while True:
                response = self._receiver.next_message(dt.BlockOpResponseProto)
                if response is not None:
                    break
                if not self._recv(block=True):
                    raise DataTransferError("connection closed before the WRITE_BLOCK reply")
        except (OSError, DataTransferError) as exc:
            raise PipelineError(f"setting up the pipeline for {self.name} at DataNode {first} "
                                f"failed: {exc}{self._hint}", first, None, 0) from exc
        if response.status == Status.SUCCESS:
            return
        if response.status == Status.ERROR_ACCESS_TOKEN:
            check_response(response, first, f"WRITE_BLOCK of {self.name}")
        bad = response.firstBadLink
        index = self._targets.index(bad) if bad in self._targets else 0
        detail = f": {response.message}" if response.message else ""
        raise PipelineError(
            f"pipeline set-up for {self.name} failed: {status_name(response.status)}, "
            f"first bad DataNode {bad or first}{detail}",
            bad or first, response.status, index)

    # -- state --------------------------------------------------------------

    @property
    def bytes_written(self) -> int:
        """Bytes accepted by :meth:`write` so far."""
        return self._offset + len(self._pending)

    @property
    def bytes_acked(self) -> int:
        """Bytes every DataNode in the pipeline has acknowledged."""
        return self._tracker.bytes_acked

    @property
    def next_seqno(self) -> int:
        """The seqno the next packet (of this or the file's next block) takes."""
        return self._seqno

    @property
    def block(self) -> hdfs_pb2.ExtendedBlockProto:
        """The block with ``numBytes`` = bytes acknowledged (for ``addBlock``/``complete``)."""
        block = hdfs_pb2.ExtendedBlockProto()
        block.CopyFrom(self._block)
        block.numBytes = self._tracker.bytes_acked
        return block

    # -- writing ------------------------------------------------------------

    def write(self, data) -> int:
        """Queue ``data`` (any bytes-like object); full packets are sent at once."""
        self._check_open()
        size = memoryview(data).nbytes
        if self.block_size is not None and self.bytes_written + size > self.block_size:
            raise ValueError(f"writing {size} bytes would exceed the block size {self.block_size} "
                             f"({self.bytes_written} written)")
        step = self.packet_data_size
        pending = self._pending
        view = data if isinstance(data, bytes) else memoryview(data).cast("B")
        pos = 0
        if pending:  # top the pending partial packet up first
            pos = min(size, step - len(pending))
            pending += view[:pos]
            if len(pending) < step:
                return size
            self._send_data(bytes(pending))
            pending.clear()
        while size - pos >= step:  # then whole packets straight from the caller's buffer
            piece = view[pos:pos + step]
            self._send_data(piece if isinstance(piece, bytes) else bytes(piece))
            pos += step
        if pos < size:
            pending += view[pos:]
        return size

    def _send_data(self, data: bytes, last: bool = False) -> None:
        header = PacketHeader(self._offset, self._seqno, last, len(data))
        checksums = self.checksum.compute(data)
        self._send((encode_packet_prefix(header, len(checksums)), checksums, data))
        self._tracker.sent(self._seqno, self._offset + len(data), last)
        self._seqno += 1
        self._offset += len(data)
        self._pump_acks(block=False)
        while self._tracker.in_flight >= self._max_in_flight:
            self._pump_acks(block=True)

    def _send(self, buffers: Tuple[bytes, ...]) -> None:
        try:
            with self._send_lock:
                _send_buffers(self._sock, buffers)
                self._last_send = time.monotonic()
        except OSError as exc:
            self._fail(self._explain_send_failure(exc))

    def _explain_send_failure(self, exc: OSError) -> BaseException:
        """After a failed send, an error ack may already be waiting: prefer it as the cause."""
        try:
            self._sock.settimeout(1.0)
            self._pump_acks(block=True)
        except (PipelineError, DataTransferError) as better:
            return better
        except (OSError, DataNodeError):
            pass
        first = self._targets[0]
        error = PipelineError(f"sending {self.name} to DataNode {first} failed: {exc}", first, None, 0)
        error.__cause__ = exc
        return error

    def heartbeat(self) -> None:
        """Send a heartbeat packet if nothing was sent for ``heartbeat_interval`` seconds.

        Thread-safe; a no-op on a closed or failed writer.
        """
        if self._closed or self._failed is not None:
            return
        if time.monotonic() - self._last_send < self.heartbeat_interval:
            return
        header = PacketHeader(0, HEARTBEAT_SEQNO, False, 0)
        try:
            with self._send_lock:
                self._sock.sendall(encode_packet_prefix(header, 0))
                self._last_send = time.monotonic()
        except OSError:
            pass  # the writing thread sees the failure on its next send or ack

    # -- acks ---------------------------------------------------------------

    def _recv(self, block: bool) -> bool:
        """Move received bytes into the receiver; ``False`` at end of stream.

        Without ``block``, returns at once (``True``) when nothing has arrived.
        """
        sock = self._sock
        if not block and not _readable(sock):
            return True
        count = sock.recv_into(self._ack_buf)
        if count == 0:
            return False
        self._receiver.feed(memoryview(self._ack_buf)[:count])
        return True

    def _pump_acks(self, block: bool) -> None:
        """Handle the acks that have arrived; with ``block``, wait for more bytes first."""
        first = self._targets[0]
        try:
            open_ = self._recv(block)
        except OSError as exc:
            self._fail(PipelineError(f"reading acks for {self.name} from DataNode {first} "
                                     f"failed: {exc}", first, None, 0), exc)
        try:
            while True:
                ack = self._receiver.next_ack()
                if ack is None:
                    break
                self._tracker.received(ack)
        except PipelineError as exc:
            self._fail(exc)
        except DataTransferError as exc:
            self._fail(PipelineError(f"DataNode {first} sent a bad ack for {self.name}: {exc}",
                                     first, None, 0), exc)
        if not open_:
            self._fail(PipelineError(
                f"DataNode {first} closed the connection with {self._tracker.in_flight} "
                f"packet(s) of {self.name} unacknowledged", first, None, 0))

    def _wait_acked(self) -> None:
        while self._tracker.in_flight:
            self._pump_acks(block=True)

    # -- ending -------------------------------------------------------------

    def _fail(self, error: BaseException, cause: Optional[BaseException] = None) -> None:
        if cause is not None and error.__cause__ is None:
            error.__cause__ = cause
        self._failed = error
        self._abort()
        raise error

    def _check_open(self) -> None:
        if self._failed is not None:
            raise self._failed
        if self._closed:
            raise ValueError(f"the writer of {self.name} is closed")

    def close(self) -> hdfs_pb2.ExtendedBlockProto:
        """Finish the block: flush, wait for every ack, send the last packet and await its ack.

        Returns :attr:`block` (``numBytes`` set). A second call returns it again.
        """
        if self._finished:
            return self.block
        self._check_open()
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            self._send_data(data)
        self._wait_acked()
        self._send_data(b"", last=True)
        self._wait_acked()
        self._finished = self._closed = True
        self._sock.close()
        return self.block

    def _abort(self) -> None:
        self._closed = True
        try:
            self._sock.close()
        except OSError:  # pragma: no cover
            pass

    def abort(self) -> None:
        """Drop the connection without finishing the block (the caller abandons it)."""
        self._abort()

    def __enter__(self) -> BlockWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

