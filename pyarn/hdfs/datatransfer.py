"""DataTransferProtocol without I/O: op requests, replies, packets and acks as bytes.

The DataNode streaming port does not speak Hadoop IPC. A request is a 2-byte
big-endian version (28), one op byte and a varint-delimited ``Op*Proto``;
replies, pipeline acks and the client's read status are varint-delimited
protos. Block data travels in packets::

    PLEN    4 bytes, big-endian: 4 + len(CHECKSUMS) + len(DATA) (counts itself)
    HLEN    2 bytes, big-endian: len(HEADER)
    HEADER  PacketHeaderProto (not delimited)
    CHECKSUMS, DATA

(Hadoop: ``Sender``, ``PacketHeader``, ``PacketReceiver``, ``PipelineAck``,
``DataStreamer``; PROTOCOL-FACTS §6.3.) Everything here works on bytes: the
socket code is in :mod:`pyarn.hdfs.blocks`. Bad bytes from a peer raise
:class:`DataTransferError`; lengths are capped before anything is allocated.
"""
from __future__ import annotations

import enum
import struct
from collections import deque
from typing import Deque, NamedTuple, Optional, Sequence, Tuple, Type, TypeVar, Union

from google.protobuf.message import DecodeError, Message

from hadoop_protos import datatransfer_pb2 as dt
from hadoop_protos import hdfs_pb2
from hadoop_protos.security_pb2 import TokenProto
from pyarn import _varint
from pyarn.errors import PyarnError, RemoteProtocolError

from .checksum import DataChecksum

__all__ = [
    "DATA_TRANSFER_VERSION", "MAX_PACKET_SIZE", "HEARTBEAT_SEQNO", "UNKNOWN_SEQNO",
    "Op", "Status", "Stage",
    "DataTransferError", "DataNodeError", "BlockTokenError", "PipelineError",
    "PacketHeader", "Packet", "PipelineAck", "Receiver", "AckTracker",
    "encode_varint", "decode_varint", "encode_delimited", "decode_delimited", "parse_message",
    "encode_op", "decode_op", "read_block_op", "write_block_op", "check_response",
    "encode_packet", "encode_packet_prefix", "parse_packet_lengths", "parse_packet_header",
    "parse_packet_body",
    "encode_read_status", "status_name", "xfer_addr",
]

#: ``DataTransferProtocol.DATA_TRANSFER_VERSION``.
DATA_TRANSFER_VERSION = 28
#: ``PacketReceiver.MAX_PACKET_SIZE`` (``dfs.data.transfer.max.packet.size`` default): PLEN + HLEN cap.
MAX_PACKET_SIZE = 16 * 1024 * 1024
#: Cap on a varint-delimited reply/ack/request; real ones are a few hundred bytes.
MAX_MESSAGE_SIZE = 1024 * 1024
#: PLEN (4) + HLEN (2).
PKT_LENGTHS_LEN = 6
#: ``PacketHeader.PKT_MAX_HEADER_LEN``: the prefix plus the largest PacketHeaderProto.
PKT_MAX_HEADER_LEN = 33
#: seqno of a heartbeat packet (``DFSPacket.HEART_BEAT_SEQNO``).
HEARTBEAT_SEQNO = -1
#: seqno of an out-of-band ack (``PipelineAck.UNKOWN_SEQNO``).
UNKNOWN_SEQNO = -2

_OP_HEADER = struct.Struct(">HB")
_PKT_LENGTHS = struct.Struct(">IH")

M = TypeVar("M", bound=Message)
Buffer = Union[bytes, bytearray, memoryview]


class Op(enum.IntEnum):
    """Op codes (``protocol/datatransfer/Op.java``)."""

    WRITE_BLOCK = 80
    READ_BLOCK = 81
    READ_METADATA = 82
    REPLACE_BLOCK = 83
    COPY_BLOCK = 84
    BLOCK_CHECKSUM = 85
    TRANSFER_BLOCK = 86
    REQUEST_SHORT_CIRCUIT_FDS = 87
    RELEASE_SHORT_CIRCUIT_FDS = 88
    REQUEST_SHORT_CIRCUIT_SHM = 89
    BLOCK_GROUP_CHECKSUM = 90
    CUSTOM = 127


class Status(enum.IntEnum):
    """``hadoop.hdfs.Status`` (datatransfer.proto)."""

    SUCCESS = 0
    ERROR = 1
    ERROR_CHECKSUM = 2
    ERROR_INVALID = 3
    ERROR_EXISTS = 4
    ERROR_ACCESS_TOKEN = 5
    CHECKSUM_OK = 6
    ERROR_UNSUPPORTED = 7
    OOB_RESTART = 8
    OOB_RESERVED1 = 9
    OOB_RESERVED2 = 10
    OOB_RESERVED3 = 11
    IN_PROGRESS = 12
    ERROR_BLOCK_PINNED = 13


Stage = dt.OpWriteBlockProto.BlockConstructionStage


def status_name(status: int) -> str:
    """``SUCCESS``, ``ERROR_CHECKSUM``, ... or ``status 14`` for numbers Hadoop doesn't define."""
    try:
        return Status(status).name
    except ValueError:
        return f"status {status}"


# -- errors -----------------------------------------------------------------


class DataTransferError(RemoteProtocolError):
    """A DataNode (or a client, for a server) sent bytes that break the protocol."""


class DataNodeError(PyarnError):
    """An operation on one DataNode failed: connection, error status, or bad bytes.

    For reads this means "try the next replica". ``datanode`` is the DataNode's
    transfer address (``ip:port``) when known; ``status`` the Status it sent.
    """

    def __init__(self, message: str, datanode: Optional[str] = None,
                 status: Optional[int] = None) -> None:
        super().__init__(message)
        self.datanode = datanode
        self.status = status


class BlockTokenError(DataNodeError):
    """The DataNode refused the block token (``ERROR_ACCESS_TOKEN``): fetch new block locations."""


class PipelineError(DataNodeError):
    """A write pipeline failed. ``index`` is the bad DataNode's position in the pipeline."""

    def __init__(self, message: str, datanode: Optional[str] = None,
                 status: Optional[int] = None, index: Optional[int] = None) -> None:
        super().__init__(message, datanode, status)
        self.index = index


# -- varints and delimited messages ------------------------------------------


def encode_varint(value: int) -> bytes:
    """Protobuf base-128 varint of a non-negative integer."""
    if value < 0:
        raise ValueError(f"varint must be non-negative, got {value}")
    return _varint.encode_varint(value)


def decode_varint(buf: Buffer, pos: int = 0) -> Optional[Tuple[int, int]]:
    """``(value, next_pos)``, or ``None`` when ``buf`` ends inside the varint.

    A varint longer than 10 bytes or above 2**64 - 1 is a :class:`DataTransferError`.
    """
    try:
        return _varint.decode_varint(buf, pos)
    except _varint.VarintError as exc:
        raise DataTransferError(str(exc)) from None


def parse_message(message_type: Type[M], data: Buffer, what: Optional[str] = None) -> M:
    """Parse ``data`` as ``message_type``; malformed or incomplete → :class:`DataTransferError`."""
    message = message_type()
    name = what or message_type.DESCRIPTOR.name
    try:
        message.ParseFromString(bytes(data))
    except DecodeError as exc:
        raise DataTransferError(f"malformed {name}: {exc}") from None
    if not message.IsInitialized():
        missing = ", ".join(message.FindInitializationErrors())  # type: ignore[attr-defined]
        raise DataTransferError(f"{name} lacks required fields: {missing}")
    return message


def encode_delimited(message: Message) -> bytes:
    """``writeDelimitedTo``: varint length, then the message."""
    body = message.SerializeToString()
    return encode_varint(len(body)) + body


def decode_delimited(buf: Buffer, message_type: Type[M], pos: int = 0,
                     max_size: int = MAX_MESSAGE_SIZE) -> Optional[Tuple[M, int]]:
    """``(message, next_pos)`` from ``buf[pos:]``, or ``None`` if more bytes are needed."""
    head = decode_varint(buf, pos)
    if head is None:
        return None
    size, start = head
    if size > max_size:
        raise DataTransferError(
            f"{message_type.DESCRIPTOR.name} of {size} bytes exceeds the {max_size}-byte limit")
    end = start + size
    if end > len(buf):
        return None
    return parse_message(message_type, memoryview(buf)[start:end]), end


# -- op requests and replies ---------------------------------------------------

_OP_TYPES = {
    Op.WRITE_BLOCK: dt.OpWriteBlockProto,
    Op.READ_BLOCK: dt.OpReadBlockProto,
    Op.REPLACE_BLOCK: dt.OpReplaceBlockProto,
    Op.COPY_BLOCK: dt.OpCopyBlockProto,
    Op.BLOCK_CHECKSUM: dt.OpBlockChecksumProto,
    Op.TRANSFER_BLOCK: dt.OpTransferBlockProto,
    Op.BLOCK_GROUP_CHECKSUM: dt.OpBlockGroupChecksumProto,
}


def encode_op(op: Op, message: Message) -> bytes:
    """An op request: version 28, the op byte, the varint-delimited ``message``."""
    return _OP_HEADER.pack(DATA_TRANSFER_VERSION, op) + encode_delimited(message)


def decode_op(buf: Buffer, pos: int = 0) -> Optional[Tuple[Op, Message, int]]:
    """The server side of :func:`encode_op`: ``(op, message, next_pos)`` or ``None`` if incomplete."""
    if len(buf) - pos < _OP_HEADER.size:
        return None
    version, code = _OP_HEADER.unpack_from(buf, pos)
    if version != DATA_TRANSFER_VERSION:
        raise DataTransferError(f"data transfer version {version}, expected {DATA_TRANSFER_VERSION}")
    try:
        op = Op(code)
        message_type: Type[Message] = _OP_TYPES[op]
    except (ValueError, KeyError):
        raise DataTransferError(f"unsupported data transfer op {code}") from None
    decoded = decode_delimited(buf, message_type, pos + _OP_HEADER.size)
    if decoded is None:
        return None
    return op, decoded[0], decoded[1]


def _client_header(block, token, client_name: str, num_bytes: Optional[int] = None):
    block_copy = hdfs_pb2.ExtendedBlockProto()
    block_copy.CopyFrom(block)
    if num_bytes is not None:
        block_copy.numBytes = num_bytes
    base = dt.BaseHeaderProto(block=block_copy)
    if token is not None and token.IsInitialized():
        base.token.CopyFrom(token)
    else:  # as Java sends a block token that was never set: every field empty
        base.token.CopyFrom(TokenProto(identifier=b"", password=b"", kind="", service=""))
    return dt.ClientOperationHeaderProto(baseHeader=base, clientName=client_name)


def read_block_op(block, token, client_name: str, offset: int, length: int,
                  send_checksums: bool = True) -> bytes:
    """A READ_BLOCK request for ``length`` bytes of ``block`` at ``offset`` (Sender.readBlock)."""
    message = dt.OpReadBlockProto(
        header=_client_header(block, token, client_name),
        offset=offset, len=length, sendChecksums=send_checksums,
        cachingStrategy=dt.CachingStrategyProto())
    return encode_op(Op.READ_BLOCK, message)


def write_block_op(located_block, client_name: str, checksum: DataChecksum,
                   stage: int = Stage.PIPELINE_SETUP_CREATE, block_size: Optional[int] = None,
                   min_bytes_rcvd: int = 0, max_bytes_rcvd: int = 0,
                   latest_generation_stamp: int = 0) -> bytes:
    """A WRITE_BLOCK request for the pipeline ``located_block.locs`` (Sender.writeBlock).

    The request goes to ``locs[0]``; ``targets`` lists the DataNodes after it.
    ``block_size`` is put in the header's ``numBytes`` as Java does (the
    DataNode reserves that much space for the new replica).
    """
    locs = list(located_block.locs)
    if not locs:
        raise ValueError("the located block has no DataNodes to write to")
    storage_types = list(located_block.storageTypes)
    storage_ids = list(located_block.storageIDs)
    message = dt.OpWriteBlockProto(
        header=_client_header(located_block.b, located_block.blockToken, client_name, block_size),
        targets=locs[1:],
        stage=stage,  # type: ignore[arg-type]
        pipelineSize=len(locs),
        minBytesRcvd=min_bytes_rcvd,
        maxBytesRcvd=max_bytes_rcvd,
        latestGenerationStamp=latest_generation_stamp,
        requestedChecksum=checksum.to_proto(),
        cachingStrategy=dt.CachingStrategyProto(),
        allowLazyPersist=False,
        pinning=False,
        targetPinnings=[False],  # Java sends one False when no node is pinned
        targetStorageTypes=storage_types[1:],
        targetStorageIds=storage_ids[1:],
    )
    if storage_types:
        message.storageType = storage_types[0]
    if storage_ids:
        message.storageId = storage_ids[0]
    return encode_op(Op.WRITE_BLOCK, message)


def check_response(response, datanode: Optional[str] = None, what: str = "op") -> None:
    """Raise the right :class:`DataNodeError` unless a ``BlockOpResponseProto`` says SUCCESS."""
    status = response.status
    if status == Status.SUCCESS:
        return
    detail = f"{what} failed on DataNode {datanode or '?'}: {status_name(status)}"
    if response.message:
        detail += f": {response.message}"
    if status == Status.ERROR_ACCESS_TOKEN:
        raise BlockTokenError(detail, datanode, status)
    raise DataNodeError(detail, datanode, status)


def encode_read_status(status: int) -> bytes:
    """The ``ClientReadStatusProto`` a reader sends after the last packet (CHECKSUM_OK or SUCCESS)."""
    return encode_delimited(dt.ClientReadStatusProto(status=status))  # type: ignore[arg-type]


def xfer_addr(datanode) -> str:
    """``ip:xferPort`` of a ``DatanodeInfoProto`` or ``DatanodeIDProto`` (Hadoop's ``getXferAddr``)."""
    ident = datanode.id if hasattr(datanode, "id") else datanode
    return f"{ident.ipAddr}:{ident.xferPort}"


# -- packets -----------------------------------------------------------------


class PacketHeader(NamedTuple):
    """``PacketHeaderProto``."""

    offset_in_block: int
    seqno: int
    last_packet_in_block: bool
    data_len: int
    sync_block: bool = False

    def to_proto(self) -> dt.PacketHeaderProto:
        proto = dt.PacketHeaderProto(offsetInBlock=self.offset_in_block, seqno=self.seqno,
                                     lastPacketInBlock=self.last_packet_in_block,
                                     dataLen=self.data_len)
        if self.sync_block:  # only set when true, as Java does (HDFS-3721)
            proto.syncBlock = True
        return proto

    @classmethod
    def from_proto(cls, proto: dt.PacketHeaderProto) -> PacketHeader:
        return cls(proto.offsetInBlock, proto.seqno, proto.lastPacketInBlock, proto.dataLen,
                   proto.syncBlock)


class Packet(NamedTuple):
    """A received packet: its header and views of its checksums and data."""

    header: PacketHeader
    checksums: memoryview
    data: memoryview


def encode_packet_prefix(header: PacketHeader, checksums_len: int) -> bytes:
    """PLEN, HLEN and the header: what precedes the checksums and data of a packet."""
    if header.data_len < 0 or checksums_len < 0:
        raise ValueError("negative packet lengths")
    body = header.to_proto().SerializeToString()
    payload_len = 4 + checksums_len + header.data_len
    if payload_len + len(body) > MAX_PACKET_SIZE:
        raise ValueError(f"packet of {payload_len} bytes exceeds {MAX_PACKET_SIZE}")
    return _PKT_LENGTHS.pack(payload_len, len(body)) + body


def encode_packet(header: PacketHeader, checksums: Buffer = b"", data: Buffer = b"") -> bytes:
    """A whole packet as one byte string. ``header.data_len`` must equal ``len(data)``."""
    if header.data_len != len(data):
        raise ValueError(f"header says {header.data_len} data bytes, got {len(data)}")
    return b"".join((encode_packet_prefix(header, len(checksums)), checksums, data))


def parse_packet_lengths(prefix: Buffer, max_packet_size: int = MAX_PACKET_SIZE) -> Tuple[int, int]:
    """``(payload_len, header_len)`` from a packet's first 6 bytes, checked against the cap.

    The rest of the packet is ``payload_len - 4 + header_len`` bytes.
    """
    if len(prefix) < PKT_LENGTHS_LEN:
        raise DataTransferError(f"packet prefix of {len(prefix)} bytes, need {PKT_LENGTHS_LEN}")
    payload_len, header_len = _PKT_LENGTHS.unpack_from(prefix)
    if payload_len < 4:
        raise DataTransferError(f"invalid packet payload length {payload_len}")
    if payload_len + header_len > max_packet_size:
        raise DataTransferError(
            f"packet of {payload_len} + {header_len} bytes exceeds the {max_packet_size}-byte limit")
    if header_len == 0:
        raise DataTransferError("packet without a header")
    return payload_len, header_len


def parse_packet_header(payload_len: int, header: Buffer) -> Tuple[PacketHeader, int]:
    """The header of a packet whose PLEN is ``payload_len``, and its checksums' length."""
    parsed = PacketHeader.from_proto(parse_message(dt.PacketHeaderProto, header, "PacketHeaderProto"))
    data_len = parsed.data_len
    checksums_len = payload_len - 4 - data_len
    if data_len < 0 or checksums_len < 0:
        raise DataTransferError(
            f"packet header says {data_len} data bytes but the packet carries {payload_len - 4}")
    if parsed.offset_in_block < 0:
        raise DataTransferError(f"negative packet offset {parsed.offset_in_block}")
    return parsed, checksums_len


def parse_packet_body(payload_len: int, header_len: int, body: Buffer) -> Packet:
    """A :class:`Packet` from the ``payload_len - 4 + header_len`` bytes after the prefix."""
    view = memoryview(body)
    if len(view) != payload_len - 4 + header_len:
        raise DataTransferError(
            f"packet body of {len(view)} bytes, expected {payload_len - 4 + header_len}")
    header, checksums_len = parse_packet_header(payload_len, view[:header_len])
    data_start = header_len + checksums_len
    return Packet(header, view[header_len:data_start], view[data_start:])


# -- acks --------------------------------------------------------------------

#: ``PipelineAck.StatusFormat``: status in bits 0-3, 1 reserved bit, ECN in 5-6, SLOW in 7-8.
_STATUS_MASK = 0xF
_ECN_SHIFT = 5
_SLOW_SHIFT = 7


class PipelineAck(NamedTuple):
    """``PipelineAckProto``: one status per DataNode, first DataNode first.

    Hadoop 2.7+ DataNodes also send ``flags``: per node the status in the low
    4 bits plus ECN and SLOW bits. When ``flags`` are present they win over
    ``replies`` (``PipelineAck.getHeaderFlag``).
    """

    seqno: int
    replies: Tuple[int, ...]
    flags: Tuple[int, ...] = ()
    downstream_ack_time_nanos: int = 0

    @classmethod
    def make(cls, seqno: int, statuses: Sequence[int], downstream_ack_time_nanos: int = 0,
             ecn: int = 0, slow: int = 0) -> PipelineAck:
        """An ack as a Hadoop 3 DataNode builds it: ``reply`` and ``flag`` both filled."""
        flags = tuple((s & _STATUS_MASK) | (ecn << _ECN_SHIFT) | (slow << _SLOW_SHIFT)
                      for s in statuses)
        return cls(seqno, tuple(statuses), flags, downstream_ack_time_nanos)

    @property
    def statuses(self) -> Tuple[int, ...]:
        if self.flags:
            return tuple(f & _STATUS_MASK for f in self.flags)
        return self.replies

    def ecn(self, index: int) -> int:
        return (self.flags[index] >> _ECN_SHIFT) & 3 if self.flags else 0

    def slow(self, index: int) -> int:
        return (self.flags[index] >> _SLOW_SHIFT) & 3 if self.flags else 0

    @property
    def is_success(self) -> bool:
        return all(s == Status.SUCCESS for s in self.statuses)

    @property
    def oob_status(self) -> Optional[int]:
        """The out-of-band status (a DataNode restarting) of an ack with the unknown seqno."""
        if self.seqno != UNKNOWN_SEQNO:
            return None
        for status in self.statuses:
            if Status.OOB_RESTART <= status <= Status.OOB_RESERVED3:
                return status
        return None

    def to_proto(self) -> dt.PipelineAckProto:
        return dt.PipelineAckProto(seqno=self.seqno, reply=self.replies,  # type: ignore[arg-type]
                                   flag=self.flags,
                                   downstreamAckTimeNanos=self.downstream_ack_time_nanos)

    def encode(self) -> bytes:
        return encode_delimited(self.to_proto())

    @classmethod
    def from_proto(cls, proto: dt.PipelineAckProto) -> PipelineAck:
        replies = tuple(proto.reply)
        flags = tuple(proto.flag)
        if flags and len(flags) != len(replies):
            raise DataTransferError(f"pipeline ack with {len(replies)} replies but {len(flags)} flags")
        return cls(proto.seqno, replies, flags, proto.downstreamAckTimeNanos)


# -- incremental receive -------------------------------------------------------


class Receiver:
    """Bytes in, messages and packets out, for a peer that reads at its own pace.

    ``feed`` appends received bytes; ``next_message`` and ``next_packet`` return
    ``None`` until a whole item is buffered. Caps hold before any allocation.
    """

    def __init__(self, max_packet_size: int = MAX_PACKET_SIZE,
                 max_message_size: int = MAX_MESSAGE_SIZE) -> None:
        self._buf = bytearray()
        self._max_packet = max_packet_size
        self._max_message = max_message_size

    def feed(self, data: Buffer) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def next_message(self, message_type: Type[M]) -> Optional[M]:
        decoded = decode_delimited(self._buf, message_type, 0, self._max_message)
        if decoded is None:
            return None
        message, end = decoded
        del self._buf[:end]
        return message

    def next_ack(self) -> Optional[PipelineAck]:
        proto = self.next_message(dt.PipelineAckProto)
        return None if proto is None else PipelineAck.from_proto(proto)

    def next_op(self) -> Optional[Tuple[Op, Message]]:
        decoded = decode_op(self._buf)
        if decoded is None:
            return None
        op, message, end = decoded
        del self._buf[:end]
        return op, message

    def next_packet(self) -> Optional[Packet]:
        if len(self._buf) < PKT_LENGTHS_LEN:
            return None
        payload_len, header_len = parse_packet_lengths(self._buf[:PKT_LENGTHS_LEN], self._max_packet)
        end = PKT_LENGTHS_LEN + payload_len - 4 + header_len
        if len(self._buf) < end:
            return None
        body = bytes(self._buf[PKT_LENGTHS_LEN:end])
        del self._buf[:end]
        return parse_packet_body(payload_len, header_len, body)


# -- write pipeline bookkeeping ---------------------------------------------------


class AckTracker:
    """The client's view of a write pipeline: packets sent, acks expected, failures named.

    ``targets`` are the pipeline's DataNode names (``ip:port``), first first.
    """

    def __init__(self, targets: Sequence[str]) -> None:
        self.targets = list(targets)
        self._outstanding: Deque[Tuple[int, int, bool]] = deque()
        self.bytes_acked = 0
        self.last_acked = False

    @property
    def in_flight(self) -> int:
        return len(self._outstanding)

    def sent(self, seqno: int, end_offset: int, last: bool = False) -> None:
        """Record a data (or last) packet that ends at ``end_offset`` in the block."""
        self._outstanding.append((seqno, end_offset, last))

    def _name(self, index: int) -> str:
        return self.targets[index] if 0 <= index < len(self.targets) else f"#{index}"

    def received(self, ack: PipelineAck) -> None:
        """Account for one ack; raise :class:`PipelineError` or :class:`DataTransferError` on failure."""
        statuses = ack.statuses
        if len(statuses) > len(self.targets):
            raise DataTransferError(
                f"ack with {len(statuses)} statuses for a pipeline of {len(self.targets)}")
        oob = ack.oob_status
        if oob is not None:
            index = next(i for i, s in enumerate(statuses) if s == oob)
            raise PipelineError(f"DataNode {self._name(index)} is restarting ({status_name(oob)})",
                                self._name(index), oob, index)
        # Like DataStreamer.ResponseProcessor: the last bad node in the list is the one blamed.
        for index in range(len(statuses) - 1, -1, -1):
            if statuses[index] != Status.SUCCESS:
                listed = ", ".join(f"{self._name(i)}={status_name(s)}" for i, s in enumerate(statuses))
                raise PipelineError(
                    f"bad ack {status_name(statuses[index])} from DataNode {self._name(index)} "
                    f"for packet {ack.seqno} ({listed})",
                    self._name(index), statuses[index], index)
        if ack.seqno == HEARTBEAT_SEQNO:
            return
        if not self._outstanding:
            raise DataTransferError(f"ack for packet {ack.seqno} but no packet is outstanding")
        seqno, end_offset, last = self._outstanding[0]
        if ack.seqno != seqno:
            raise DataTransferError(f"ack for packet {ack.seqno}, expected {seqno}")
        self._outstanding.popleft()
        self.bytes_acked = end_offset
        self.last_acked = last
