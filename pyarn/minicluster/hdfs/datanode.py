"""A pure-Python DataNode: DataTransferProtocol on its own port, replicas on local disk.

Serves READ_BLOCK (stored checksums, ``ReadOpChecksumInfo``, any offset and
length, then the client's read status; the connection stays open for the next
op like Hadoop's keep-alive) and WRITE_BLOCK (new blocks and appends: packets
are checked against their checksums by the last DataNode of the pipeline, a
bad one is answered with an ``ERROR_CHECKSUM`` ack; data and checksums are
stored; acks carry both ``reply`` and ``flag`` like Hadoop 2.7+; packets are
forwarded down the pipeline; at the end the replica is finalized and reported
to the NameNode). Wire formats come from :mod:`pyarn.hdfs.datatransfer`.

With block tokens on (the NameNode's ``block_tokens``, ``dfs.block.access.token.enable``)
every READ_BLOCK, WRITE_BLOCK and BLOCK_CHECKSUM must carry a valid token for its block
and access mode, or is answered ``ERROR_ACCESS_TOKEN`` (``DataXceiver.checkAccess``).
With ``protection`` (``dfs.data.transfer.protection``) every connection first goes
through the DataTransfer SASL handshake (:mod:`.transfer_sasl`), and so does the
connection to the next DataNode of a pipeline; without, it speaks no SASL, as a secure
DataNode on a privileged port.

A peer that sends bad bytes has its connection closed with a log line; the
server goes on.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import shutil
import socket
import threading
import uuid
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence, Set, Tuple, TypeVar

from google.protobuf.message import Message

from hadoop_protos import datatransfer_pb2 as dt
from hadoop_protos import hdfs_pb2
from pyarn.errors import InvalidTokenError, PyarnError
from pyarn.hdfs.blocks import block_name
from pyarn.hdfs.checksum import ChecksumError, ChecksumType, DataChecksum
from pyarn.hdfs.datatransfer import (
    HEARTBEAT_SEQNO,
    DataTransferError,
    Op,
    Packet,
    PacketHeader,
    PipelineAck,
    Receiver,
    Stage,
    Status,
    encode_delimited,
    encode_op,
    encode_packet,
    status_name,
    xfer_addr,
)
from pyarn.ipc.constants import Qop

from .blocktokens import READ, WRITE
from .storage import Replica, Storage, StorageError

__all__ = ["DataNode"]

log = logging.getLogger(__name__)

T = TypeVar("T")
#: ``dfs.datanode.socket.reuse.keepalive`` default: how long an idle connection waits for the next op.
KEEPALIVE_TIMEOUT = 4.0
#: ``dfs.client.socket-timeout`` default.
SOCKET_TIMEOUT = 60.0
#: ``BlockSender``'s packet size with ``transferTo``: 64 KiB of data.
READ_PACKET_DATA = 64 * 1024
_RECV_SIZE = 256 * 1024


class HandshakeFailed(DataTransferError):
    """A client did not get through the DataTransfer SASL handshake (it was told why, if it could be)."""


class _PeerClosed(Exception):
    """The peer closed the connection where that is allowed (between ops)."""


class _Stream:
    """A socket read through :class:`~pyarn.hdfs.datatransfer.Receiver`."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.receiver = Receiver()

    def next(self, get: Callable[[], Optional[T]], what: str) -> T:
        while True:
            item = get()
            if item is not None:
                return item
            data = self.sock.recv(_RECV_SIZE)
            if not data:
                if self.receiver.buffered:
                    raise DataTransferError(f"connection closed in the middle of {what}")
                raise _PeerClosed(what)
            self.receiver.feed(data)

    def message(self, message_type: type) -> Message:
        return self.next(lambda: self.receiver.next_message(message_type), message_type.DESCRIPTOR.name)

    def packet(self) -> Packet:
        return self.next(self.receiver.next_packet, "a packet")


class DataNode:
    """One DataNode of the mini cluster, storing under ``directory``, reporting to ``namenode``.

    ``namenode`` is the in-process :class:`~.namenode.NameNode` (anything with
    ``register_datanode``, ``unregister_datanode`` and ``block_received``).
    ``protection``: the QOPs of ``dfs.data.transfer.protection`` (needs the NameNode's
    block tokens), most preferred first; empty for no DataTransfer SASL.
    """

    def __init__(self, directory: Path, namenode, host: str = "127.0.0.1", port: int = 0, *,
                 protection: Sequence[Qop] = ()) -> None:
        self.directory = Path(directory)
        self.namenode = namenode
        self.sasl = None
        if protection:
            from .transfer_sasl import SaslTransferServer  # the client's SASL pieces, only when asked for

            block_tokens = getattr(namenode, "block_tokens", None)
            if block_tokens is None:
                raise ValueError("a DataNode with dfs.data.transfer.protection needs the NameNode's block "
                                 "tokens (dfs.block.access.token.enable)")
            self.sasl = SaslTransferServer(protection, block_tokens)
        self.host = host
        self.datanode_uuid = str(uuid.uuid4())
        self.storage_id = f"DS-{uuid.uuid4()}"
        self.storage = Storage(self.directory)
        self._listener = socket.create_server((host, port), backlog=128)
        self.xfer_port: int = self._listener.getsockname()[1]
        self._connections: Set[socket.socket] = set()
        self._threads: List[threading.Thread] = []
        self._lock = threading.Lock()
        self._held_reports: Optional[List[Tuple[int, int, int]]] = None
        self._acceptor: Optional[threading.Thread] = None
        self._stopping = False

    def __repr__(self) -> str:
        return f"DataNode({self.host}:{self.xfer_port})"

    @property
    def xfer_address(self) -> str:
        return f"{self.host}:{self.xfer_port}"

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> DataNode:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.storage.format(self.namenode.register_datanode(self))
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"{self!r} acceptor", daemon=True)
        self._acceptor.start()
        log.info("mini DataNode %s serving on %s, storing in %s", self.datanode_uuid, self.xfer_address,
                 self.directory)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self.namenode.unregister_datanode(self.datanode_uuid)
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            connections = list(self._connections)
            threads = list(self._threads)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in [self._acceptor, *threads]:
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                sock, peer = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock, peer[:2]),
                                      name=f"{self!r} xceiver {peer[0]}:{peer[1]}", daemon=True)
            with self._lock:
                self._connections.add(sock)
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    # -- what the NameNode calls (in-process) ----------------------------------------------

    def usage(self) -> Tuple[int, int, int]:
        disk = shutil.disk_usage(self.directory)
        return disk.total, self.storage.used, disk.free

    def invalidate(self, block_ids) -> None:
        self.storage.delete(list(block_ids))

    def recover_replica(self, block_id: int, length: Optional[int]) -> Optional[int]:
        return self.storage.recover(block_id, length)

    # -- block reports ---------------------------------------------------------------------

    @contextlib.contextmanager
    def reports_held(self) -> Iterator[None]:
        """Delay block reports to the NameNode until the ``with`` ends (to test ``complete``)."""
        with self._lock:
            self._held_reports = []
        try:
            yield
        finally:
            with self._lock:
                held, self._held_reports = self._held_reports or [], None
            for report in held:
                self._send_report(*report)

    def _report(self, replica: Replica) -> None:
        report = (replica.block_id, replica.gen_stamp, replica.length)
        with self._lock:
            if self._held_reports is not None:
                self._held_reports.append(report)
                return
        self._send_report(*report)

    def _send_report(self, block_id: int, gen_stamp: int, length: int) -> None:
        if not self.namenode.block_received(self.datanode_uuid, block_id, gen_stamp, length):
            log.info("%r: the NameNode does not want blk_%d_%d any more: deleting it", self, block_id,
                     gen_stamp)
            self.storage.delete([block_id])

    def block_file(self, block_id: int) -> Optional[Path]:
        """Where the data of a replica lives (tests corrupt it)."""
        replica = self.storage.get(block_id)
        return replica.data_path if replica is not None else None

    # -- connections -------------------------------------------------------------------------

    def _serve(self, raw: socket.socket, peer: Tuple[str, int]) -> None:
        where = f"{peer[0]}:{peer[1]}"
        sock = raw
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.sasl is not None:
                raw.settimeout(SOCKET_TIMEOUT)
                sock = self.sasl.handshake(raw)  # type: ignore[assignment]
            stream = _Stream(sock)
            first = True
            while not self._stopping:
                sock.settimeout(SOCKET_TIMEOUT if first else KEEPALIVE_TIMEOUT)
                op, message = stream.next(stream.receiver.next_op, "an op request")
                sock.settimeout(SOCKET_TIMEOUT)
                first = False
                if op is Op.READ_BLOCK:
                    assert isinstance(message, dt.OpReadBlockProto)
                    if not self._read_block(stream, message):
                        return
                elif op is Op.WRITE_BLOCK:
                    assert isinstance(message, dt.OpWriteBlockProto)
                    self._write_block(stream, message, where)
                    return
                elif op is Op.BLOCK_CHECKSUM:
                    assert isinstance(message, dt.OpBlockChecksumProto)
                    self._block_checksum(sock, message)
                else:
                    self._respond(sock, Status.ERROR_UNSUPPORTED,
                                  f"{op.name} is not supported by this DataNode")
                    return
        except (_PeerClosed, socket.timeout):
            pass
        except HandshakeFailed as exc:
            log.info("%r: no SASL from %s: %s", self, where, exc)
        except (DataTransferError, ValueError) as exc:
            log.warning("%r: closing the connection from %s: bad bytes from the peer: %s", self, where, exc)
        except StorageError as exc:
            log.info("%r: closing the connection from %s: %s", self, where, exc)
        except OSError as exc:
            log.debug("%r: connection from %s broke: %s", self, where, exc)
        except Exception:
            log.exception("%r: serving %s failed", self, where)
        finally:
            with self._lock:
                self._connections.discard(raw)
            with contextlib.suppress(OSError):
                sock.close()
            with contextlib.suppress(OSError):
                raw.close()

    @staticmethod
    def _respond(sock: socket.socket, status: int, message: str = "", **fields) -> None:
        response = dt.BlockOpResponseProto(status=status, **fields)  # type: ignore[arg-type]
        if message:
            response.message = message
        sock.sendall(encode_delimited(response))

    def _access_denied(self, sock: socket.socket, token, block, mode: str, op: str,
                       reply: bool = True) -> bool:
        """``DataXceiver.checkAccess``: False when block tokens are on and ``token`` does not allow
        ``mode`` on ``block`` (the peer is told ``ERROR_ACCESS_TOKEN`` when ``reply``)."""
        manager = getattr(self.namenode, "block_tokens", None)
        if manager is None:
            return False
        try:
            manager.check(token, block, mode)
            return False
        except InvalidTokenError as exc:
            log.warning("%r: Block token verification failed: op=%s, message=%s", self, op, exc)
            if reply:
                fields = {"firstBadLink": self.xfer_address} if mode == WRITE else {}
                self._respond(sock, Status.ERROR_ACCESS_TOKEN, **fields)
            return True

    # -- READ_BLOCK ----------------------------------------------------------------------------

    def _read_block(self, stream: _Stream, op: dt.OpReadBlockProto) -> bool:
        """Send the range; ``True`` when the connection may serve another op."""
        sock = stream.sock
        block = op.header.baseHeader.block
        name = block_name(block)
        if self._access_denied(sock, op.header.baseHeader.token, block, READ, "READ_BLOCK"):
            return False
        replica = self.storage.get(block.blockId)
        try:
            if replica is None or replica.abandoned:
                raise StorageError(f"Replica not found for {name}",
                                   "org.apache.hadoop.hdfs.server.datanode.ReplicaNotFoundException")
            if replica.gen_stamp < block.generationStamp:
                raise StorageError(f"Replica gen stamp < block genstamp, block={name}, replica={replica!r}")
            end = replica.length
            if op.offset < 0 or op.len < 0 or op.offset + op.len > end:
                raise StorageError(f" Offset {op.offset} and length {op.len} don't match block {name} "
                                   f"( blockLen {end} )")
        except StorageError as exc:
            self._respond(sock, Status.ERROR, f"opReadBlock {name} received exception {exc}")
            return False
        stored = replica.checksum
        bpc = stored.bytes_per_checksum
        position = op.offset - op.offset % bpc
        stop = op.offset + op.len
        stop = min(end, stop + (-stop % bpc))
        sent = stored if op.sendChecksums else DataChecksum(ChecksumType.NULL, bpc)
        info = dt.ReadOpChecksumInfoProto(checksum=sent.to_proto(), chunkOffset=position)
        self._respond(sock, Status.SUCCESS, readOpChecksumInfo=info)
        step = max(1, READ_PACKET_DATA // bpc) * bpc
        seqno = 0
        while position < stop:
            length = min(step, stop - position)
            data, checksums = replica.read(position, length)
            if not op.sendChecksums:
                checksums = b""
            sock.sendall(encode_packet(PacketHeader(position, seqno, False, length), checksums, data))
            position += length
            seqno += 1
        sock.sendall(encode_packet(PacketHeader(position, seqno, True, 0)))
        try:
            status = stream.message(dt.ClientReadStatusProto)
        except _PeerClosed:
            return False
        if status.status not in (Status.SUCCESS, Status.CHECKSUM_OK):
            log.info("%r: client read %s with status %s", self, name, status_name(status.status))
        return True

    # -- BLOCK_CHECKSUM ----------------------------------------------------------------------------

    def _block_checksum(self, sock: socket.socket, op: dt.OpBlockChecksumProto) -> None:
        """The MD5 of a replica's chunk CRCs (``BlockChecksumHelper``'s MD5CRC, for ``getFileChecksum``)."""
        block = op.header.block
        name = block_name(block)
        if self._access_denied(sock, op.header.token, block, READ, "BLOCK_CHECKSUM"):
            return
        replica = self.storage.get(block.blockId)
        if op.HasField("blockChecksumOptions") and \
                op.blockChecksumOptions.blockChecksumType != hdfs_pb2.MD5CRC:
            self._respond(sock, Status.ERROR_UNSUPPORTED, "only MD5CRC block checksums are supported")
            return
        if replica is None or replica.abandoned:
            self._respond(sock, Status.ERROR, (
                f"opBlockChecksum {name} received exception "
                "org.apache.hadoop.hdfs.server.datanode.ReplicaNotFoundException: "
                f"Replica not found for {name}"))
            return
        checksum = replica.checksum
        length = min(block.numBytes, replica.length) if block.numBytes else replica.length
        data_tail = length % checksum.bytes_per_checksum
        crcs = replica.read(0, length - data_tail)[1]
        if data_tail:  # the CRC of the last, partial chunk of the requested length
            crcs += checksum.compute(replica.read(length - data_tail, data_tail)[0])
        result = dt.OpBlockChecksumResponseProto(
            bytesPerCrc=checksum.bytes_per_checksum, crcPerBlock=checksum.chunk_count(length),
            blockChecksum=hashlib.md5(crcs).digest(), crcType=int(checksum.type))
        self._respond(sock, Status.SUCCESS, checksumResponse=result)

    # -- WRITE_BLOCK -----------------------------------------------------------------------------

    def _write_block(self, stream: _Stream, op: dt.OpWriteBlockProto, where: str) -> None:
        sock = stream.sock
        block = op.header.baseHeader.block
        name = block_name(block)
        is_client = bool(op.header.clientName)
        if self._access_denied(sock, op.header.baseHeader.token, block, WRITE, "WRITE_BLOCK", is_client):
            return
        try:
            replica = self._open_replica(op)
        except (StorageError, ValueError, OSError) as exc:
            log.info("%r: opWriteBlock %s from %s refused: %s", self, name, where, exc)
            if is_client:
                self._respond(sock, Status.ERROR, f"opWriteBlock {name} received exception {exc}")
            return
        mirror: Optional[_Stream] = None
        try:
            if op.targets:
                mirror, status, bad_link = self._connect_mirror(op)
                if status != Status.SUCCESS:
                    if is_client:
                        self._respond(sock, status, firstBadLink=bad_link)
                    self.storage.delete([replica.block_id])
                    return
            if is_client:
                self._respond(sock, Status.SUCCESS, firstBadLink="")
            _BlockReceiver(self, stream, mirror, replica, op, where).run()
        finally:
            replica.close_files()
            if mirror is not None:
                with contextlib.suppress(OSError):
                    mirror.sock.close()

    def _open_replica(self, op: dt.OpWriteBlockProto) -> Replica:
        block = op.header.baseHeader.block
        checksum = DataChecksum.from_proto(op.requestedChecksum)
        if op.stage == Stage.PIPELINE_SETUP_CREATE:
            return self.storage.create_rbw(block.blockId, block.generationStamp, checksum)
        if op.stage == Stage.PIPELINE_SETUP_APPEND:
            replica = self.storage.append(block.blockId, block.generationStamp, op.latestGenerationStamp,
                                          op.minBytesRcvd)
            if replica.checksum != checksum:
                raise StorageError(f"append with checksum {checksum!r}, the replica has {replica.checksum!r}")
            return replica
        raise StorageError(f"pipeline stage {Stage.Name(op.stage)} is not supported by this DataNode")

    def _connect_mirror(self, op: dt.OpWriteBlockProto) -> Tuple[Optional[_Stream], int, str]:
        """Open the pipeline to the next DataNode: ``(stream, status, first bad link)``."""
        target = op.targets[0]
        address = xfer_addr(target)
        forwarded = dt.OpWriteBlockProto()
        forwarded.CopyFrom(op)
        del forwarded.targets[0]
        for name in ("targetStorageTypes", "targetStorageIds", "targetPinnings"):
            field = getattr(forwarded, name)
            if len(field):
                del field[0]
        if len(op.targetStorageTypes):
            forwarded.storageType = op.targetStorageTypes[0]
        if len(op.targetStorageIds):
            forwarded.storageId = op.targetStorageIds[0]
        try:
            sock = socket.create_connection((target.id.ipAddr, target.id.xferPort), timeout=SOCKET_TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            log.info("%r: cannot reach the next DataNode %s: %s", self, address, exc)
            return None, Status.ERROR, address
        if self.sasl is not None:
            try:
                sock = self.sasl.secure_mirror(sock, target, op.header.baseHeader.token)  # type: ignore[assignment]
            except (OSError, PyarnError) as exc:  # the socket is closed
                log.info("%r: the SASL handshake with the next DataNode %s failed: %s", self, address, exc)
                return None, Status.ERROR, address
        mirror = _Stream(sock)
        try:
            sock.sendall(encode_op(Op.WRITE_BLOCK, forwarded))
            if not op.header.clientName:
                return mirror, Status.SUCCESS, ""
            reply = mirror.message(dt.BlockOpResponseProto)
        except (OSError, DataTransferError, _PeerClosed) as exc:
            log.info("%r: setting up the pipeline to %s failed: %s", self, address, exc)
            sock.close()
            return None, Status.ERROR, address
        if reply.status != Status.SUCCESS:
            sock.close()
            return None, reply.status, reply.firstBadLink or address
        return mirror, Status.SUCCESS, ""


class _BlockReceiver:
    """Receives one block's packets (Hadoop's ``BlockReceiver`` with its ``PacketResponder``).

    This thread reads packets, forwards them downstream, checks and stores
    them; a responder thread sends one ack upstream per packet, in order,
    after the downstream DataNode's ack for it.
    """

    def __init__(self, datanode: DataNode, stream: _Stream, mirror: Optional[_Stream], replica: Replica,
                 op: dt.OpWriteBlockProto, where: str) -> None:
        self.datanode = datanode
        self.stream = stream
        self.mirror = mirror
        self.replica = replica
        self.where = where
        self.checksum = DataChecksum.from_proto(op.requestedChecksum)
        self.verify = mirror is None and self.checksum.type is not ChecksumType.NULL
        self.acks: queue.Queue = queue.Queue()

    def run(self) -> None:
        responder = threading.Thread(target=self._respond_loop, daemon=True,
                                     name=f"{self.datanode!r} responder {self.replica.name}")
        responder.start()
        try:
            self._receive_loop()
        finally:
            self.acks.put(None)
            responder.join(SOCKET_TIMEOUT)

    def _receive_loop(self) -> None:
        replica = self.replica
        while True:
            packet = self.stream.packet()
            header = packet.header
            if self.mirror is not None:
                self._forward(packet)
            if header.seqno == HEARTBEAT_SEQNO and header.data_len == 0 and not header.last_packet_in_block:
                self.acks.put((header.seqno, False, Status.SUCCESS))
                continue
            if len(packet.checksums) != self.checksum.checksums_length(header.data_len):
                raise DataTransferError(
                    f"packet {header.seqno} of {replica.name} has {len(packet.checksums)} bytes of checksums "
                    f"for {header.data_len} bytes of data")
            if self.verify:
                try:
                    self.checksum.verify(packet.data, packet.checksums, header.offset_in_block)
                except ChecksumError as exc:
                    log.warning("%r: checksum error in packet %d of %s from %s: %s", self.datanode,
                                header.seqno, replica.name, self.where, exc)
                    self.acks.put((header.seqno, False, Status.ERROR_CHECKSUM))
                    return
            if header.data_len:
                self._store(packet)
            if header.last_packet_in_block:
                self.datanode.storage.finalize(replica)
                self.datanode._report(replica)
                self.acks.put((header.seqno, True, Status.SUCCESS))
                return
            self.acks.put((header.seqno, False, Status.SUCCESS))

    def _forward(self, packet: Packet) -> None:
        assert self.mirror is not None
        try:
            self.mirror.sock.sendall(encode_packet(packet.header, packet.checksums, packet.data))
        except OSError as exc:
            log.info("%r: forwarding %s downstream failed: %s", self.datanode, self.replica.name, exc)
            # the responder reports the downstream failure when its ack does not come

    def _store(self, packet: Packet) -> None:
        header = packet.header
        offset, data = header.offset_in_block, bytes(packet.data)
        checksums: Optional[bytes] = bytes(packet.checksums)
        length = self.replica.length
        if offset > length:
            raise DataTransferError(f"packet {header.seqno} of {self.replica.name} starts at {offset}, "
                                    f"past the {length} bytes received")
        if offset < length:  # a resent packet: keep only what is new
            data, checksums, offset = data[length - offset:], None, length
        if data:
            self.replica.write(offset, data, checksums, header.sync_block)

    def _respond_loop(self) -> None:
        upstream = self.stream.sock
        try:
            while True:
                item = self.acks.get()
                if item is None:
                    return
                seqno, last, status = item
                statuses = [status]
                if self.mirror is not None and status == Status.SUCCESS:
                    statuses += self._downstream_ack(seqno)
                upstream.sendall(PipelineAck.make(seqno, statuses).encode())
                if any(s != Status.SUCCESS for s in statuses):
                    upstream.shutdown(socket.SHUT_RDWR)  # the pipeline failed: stop the receiving side too
                    return
                if last:
                    return
        except OSError as exc:
            log.debug("%r: sending acks for %s failed: %s", self.datanode, self.replica.name, exc)

    def _downstream_ack(self, seqno: int) -> List[int]:
        assert self.mirror is not None
        try:
            ack = PipelineAck.from_proto(self.mirror.message(dt.PipelineAckProto))  # type: ignore[arg-type]
            if ack.seqno != seqno:
                raise DataTransferError(f"downstream ack for packet {ack.seqno}, expected {seqno}")
            return list(ack.statuses)
        except (OSError, DataTransferError, _PeerClosed) as exc:
            log.info("%r: no ack from downstream for packet %d of %s: %s", self.datanode, seqno,
                     self.replica.name, exc)
            return [Status.ERROR]
