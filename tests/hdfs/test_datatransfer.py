"""DataTransferProtocol framing, byte by byte against frames written by hand.

The expected bytes are built here from the protobuf wire format (tag = field
number << 3 | wire type; varints; little-endian fixed fields) and the
DataTransfer layout in PROTOCOL-FACTS §6.3, not with pyarn's encoders. CRCs
come from the ``crc32c`` package, not from ``google_crc32c``.
"""
from __future__ import annotations

import struct

import crc32c
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hadoop_protos import datatransfer_pb2 as dt
from hadoop_protos import hdfs_pb2
from hadoop_protos.security_pb2 import TokenProto
from pyarn.errors import PyarnError, RemoteProtocolError
from pyarn.hdfs.checksum import CRC32C_512, ChecksumType, DataChecksum
from pyarn.hdfs.datatransfer import (
    MAX_PACKET_SIZE,
    AckTracker,
    BlockTokenError,
    DataNodeError,
    DataTransferError,
    Op,
    PacketHeader,
    PipelineAck,
    PipelineError,
    Receiver,
    Stage,
    Status,
    check_response,
    decode_delimited,
    decode_op,
    decode_varint,
    encode_delimited,
    encode_op,
    encode_packet,
    encode_packet_prefix,
    encode_read_status,
    encode_varint,
    parse_packet_body,
    parse_packet_lengths,
    read_block_op,
    status_name,
    write_block_op,
    xfer_addr,
)

# -- hand encoders, straight from the protobuf encoding spec ---------------------


def varint(n: int) -> bytes:
    out = b""
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out += bytes([low | 0x80])
        else:
            return out + bytes([low])


def ld(field: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def vi(field: int, value: int) -> bytes:
    """A varint field (wire type 0)."""
    return varint(field << 3) + varint(value)


BLOCK = hdfs_pb2.ExtendedBlockProto(poolId="BP-1", blockId=1073741825, generationStamp=1001)
EMPTY_TOKEN = TokenProto(identifier=b"", password=b"", kind="", service="")
BLOCK_BYTES = ld(1, b"BP-1") + bytes([0x10, 0x81, 0x80, 0x80, 0x80, 0x04]) + bytes([0x18, 0xE9, 0x07])
TOKEN_BYTES = bytes([0x0A, 0x00, 0x12, 0x00, 0x1A, 0x00, 0x22, 0x00])


def datanode(ip: str, port: int, uuid: str = "u") -> hdfs_pb2.DatanodeInfoProto:
    return hdfs_pb2.DatanodeInfoProto(id=hdfs_pb2.DatanodeIDProto(
        ipAddr=ip, hostName="h-" + ip, datanodeUuid=uuid, xferPort=port, infoPort=1, ipcPort=2))


# -- varints and delimited messages -----------------------------------------------


@pytest.mark.parametrize("value,encoded", [
    (0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02"),
    (2**64 - 1, b"\xff" * 9 + b"\x01"),
])
def test_varint(value, encoded):
    assert encode_varint(value) == encoded
    assert decode_varint(encoded) == (value, len(encoded))
    assert decode_varint(b"junk" + encoded + b"more", 4) == (value, 4 + len(encoded))


def test_varint_truncated_needs_more():
    assert decode_varint(b"") is None
    assert decode_varint(b"\x80") is None
    assert decode_varint(b"\xff" * 9) is None


@pytest.mark.parametrize("bad", [b"\x80" * 10 + b"\x01", b"\xff" * 9 + b"\x7f", b"\xff" * 20])
def test_varint_too_long(bad):
    with pytest.raises(DataTransferError):
        decode_varint(bad)


def test_negative_varint_is_a_local_error():
    with pytest.raises(ValueError):
        encode_varint(-1)


def test_delimited_round_trip_and_cap():
    message = dt.ClientReadStatusProto(status=Status.CHECKSUM_OK)
    assert encode_delimited(message) == b"\x02\x08\x06"
    assert decode_delimited(b"\x02\x08", dt.ClientReadStatusProto) is None
    decoded, end = decode_delimited(b"\x02\x08\x06rest", dt.ClientReadStatusProto)
    assert decoded.status == Status.CHECKSUM_OK and end == 3
    with pytest.raises(DataTransferError, match="exceeds"):
        decode_delimited(varint(10**9) + b"x", dt.ClientReadStatusProto)


def test_delimited_missing_required_field():
    with pytest.raises(DataTransferError, match="lacks required fields: status"):
        decode_delimited(b"\x00", dt.BlockOpResponseProto)


def test_delimited_garbage():
    with pytest.raises(DataTransferError, match="malformed"):
        decode_delimited(b"\x03\xff\xff\xff", dt.BlockOpResponseProto)


def test_errors_are_pyarn_errors():
    assert issubclass(DataTransferError, RemoteProtocolError)
    assert issubclass(DataNodeError, PyarnError)
    assert issubclass(PipelineError, DataNodeError) and issubclass(BlockTokenError, DataNodeError)


# -- op requests ---------------------------------------------------------------------


def test_read_block_op_bytes():
    frame = read_block_op(BLOCK, EMPTY_TOKEN, "c", offset=0, length=1200)
    header = ld(1, ld(1, BLOCK_BYTES) + ld(2, TOKEN_BYTES)) + ld(2, b"c")
    body = ld(1, header) + vi(2, 0) + bytes([0x18, 0xB0, 0x09]) + vi(4, 1) + ld(5, b"")
    assert frame == b"\x00\x1c\x51" + varint(len(body)) + body


def test_missing_token_is_sent_empty():
    frame = read_block_op(BLOCK, None, "c", offset=0, length=1200)
    assert frame == read_block_op(BLOCK, EMPTY_TOKEN, "c", offset=0, length=1200)
    unset = hdfs_pb2.LocatedBlockProto().blockToken
    assert read_block_op(BLOCK, unset, "c", 0, 1200) == frame


def test_read_block_op_without_checksums():
    frame = read_block_op(BLOCK, EMPTY_TOKEN, "c", offset=512, length=7, send_checksums=False)
    op, message, end = decode_op(frame)
    assert (op, end) == (Op.READ_BLOCK, len(frame))
    assert (message.offset, message.len, message.sendChecksums) == (512, 7, False)


def test_write_block_op_fields():
    lb = hdfs_pb2.LocatedBlockProto(b=BLOCK, offset=0, corrupt=False, blockToken=EMPTY_TOKEN,
                                    locs=[datanode("10.0.0.1", 9866, "a"), datanode("10.0.0.2", 9866, "b"),
                                          datanode("10.0.0.3", 50010, "c")],
                                    storageTypes=[hdfs_pb2.SSD, hdfs_pb2.DISK, hdfs_pb2.ARCHIVE],
                                    storageIDs=["s1", "s2", "s3"])
    frame = write_block_op(lb, "DFSClient_x", CRC32C_512, block_size=134217728)
    assert frame[:3] == bytes([0x00, 28, 80])
    size, start = decode_varint(frame, 3)
    assert start + size == len(frame)
    message = dt.OpWriteBlockProto.FromString(frame[start:])
    assert message.header.clientName == "DFSClient_x"
    assert message.header.baseHeader.block.blockId == 1073741825
    assert message.header.baseHeader.block.numBytes == 134217728
    assert message.header.baseHeader.token == EMPTY_TOKEN
    assert [t.id.datanodeUuid for t in message.targets] == ["b", "c"]
    assert message.stage == Stage.PIPELINE_SETUP_CREATE == 6
    assert message.pipelineSize == 3
    assert (message.minBytesRcvd, message.maxBytesRcvd, message.latestGenerationStamp) == (0, 0, 0)
    assert (message.requestedChecksum.type, message.requestedChecksum.bytesPerChecksum) == (2, 512)
    assert message.storageType == hdfs_pb2.SSD and message.storageId == "s1"
    assert list(message.targetStorageTypes) == [hdfs_pb2.DISK, hdfs_pb2.ARCHIVE]
    assert list(message.targetStorageIds) == ["s2", "s3"]
    assert list(message.targetPinnings) == [False]
    assert message.HasField("cachingStrategy") and not message.pinning and not message.allowLazyPersist
    assert lb.b.numBytes == 0, "the caller's block is not modified"


def test_write_block_op_needs_a_datanode():
    lb = hdfs_pb2.LocatedBlockProto(b=BLOCK, offset=0, corrupt=False, blockToken=EMPTY_TOKEN)
    with pytest.raises(ValueError):
        write_block_op(lb, "c", CRC32C_512)


def test_decode_op_incremental_and_bad():
    frame = encode_op(Op.READ_BLOCK, dt.OpReadBlockProto(
        header=dt.ClientOperationHeaderProto(baseHeader=dt.BaseHeaderProto(block=BLOCK), clientName="c"),
        offset=1, len=2))
    for cut in range(len(frame)):
        assert decode_op(frame[:cut]) is None
    with pytest.raises(DataTransferError, match="version 27"):
        decode_op(b"\x00\x1b\x51\x00")
    with pytest.raises(DataTransferError, match="unsupported data transfer op 99"):
        decode_op(b"\x00\x1c\x63\x00")


def test_xfer_addr():
    dn = datanode("10.1.2.3", 50010)
    assert xfer_addr(dn) == xfer_addr(dn.id) == "10.1.2.3:50010"


# -- replies -------------------------------------------------------------------------------


def test_block_op_response_error_with_first_bad_link():
    raw = vi(1, 1) + ld(2, b"127.0.0.1:9866") + ld(5, b"boom")
    response, end = decode_delimited(varint(len(raw)) + raw, dt.BlockOpResponseProto)
    assert end == len(raw) + 1
    assert (response.status, response.firstBadLink, response.message) == (1, "127.0.0.1:9866", "boom")
    with pytest.raises(DataNodeError) as info:
        check_response(response, "10.0.0.1:9866", "WRITE_BLOCK")
    assert info.value.datanode == "10.0.0.1:9866" and info.value.status == Status.ERROR
    assert "ERROR: boom" in str(info.value)


def test_block_op_response_read_checksum_info():
    info = ld(1, vi(1, 2) + vi(2, 512)) + vi(2, 1024)
    raw = vi(1, 0) + ld(4, info)
    response, _ = decode_delimited(varint(len(raw)) + raw, dt.BlockOpResponseProto)
    check_response(response)
    checksum = DataChecksum.from_proto(response.readOpChecksumInfo.checksum)
    assert checksum == CRC32C_512
    assert response.readOpChecksumInfo.chunkOffset == 1024


def test_access_token_error_has_its_own_type():
    with pytest.raises(BlockTokenError):
        check_response(dt.BlockOpResponseProto(status=Status.ERROR_ACCESS_TOKEN), "dn")


def test_unknown_status_in_response_is_a_protocol_error():
    raw = vi(1, 99)
    with pytest.raises(DataTransferError, match="status"):
        decode_delimited(varint(len(raw)) + raw, dt.BlockOpResponseProto)


def test_read_status_bytes():
    assert encode_read_status(Status.CHECKSUM_OK) == b"\x02\x08\x06"
    assert encode_read_status(Status.SUCCESS) == b"\x02\x08\x00"


def test_status_names():
    assert status_name(0) == "SUCCESS" and status_name(8) == "OOB_RESTART"
    assert status_name(15) == "status 15"


# -- packets ------------------------------------------------------------------------------------


def hand_packet(offset: int, seqno: int, data: bytes, last: bool = False, bpc: int = 512,
                sums: bytes | None = None) -> bytes:
    header = (b"\x09" + struct.pack("<q", offset) + b"\x11" + struct.pack("<q", seqno)
              + bytes([0x18, int(last)]) + b"\x25" + struct.pack("<i", len(data)))
    if sums is None:
        sums = b"".join(struct.pack(">I", crc32c.crc32c(data[i:i + bpc])) for i in range(0, len(data), bpc))
    return struct.pack(">IH", 4 + len(sums) + len(data), len(header)) + header + sums + data


DATA_1200 = bytes((i * 7) % 251 for i in range(1200))   # three chunks: 512, 512, 176


def test_packet_of_three_chunks_bytes():
    expected = hand_packet(1024, 7, DATA_1200)
    assert expected[:6] == bytes([0, 0, 0x04, 0xC0, 0, 25])        # PLEN 1216, HLEN 25
    sums = CRC32C_512.compute(DATA_1200)
    assert encode_packet(PacketHeader(1024, 7, False, 1200), sums, DATA_1200) == expected


def test_packet_decode_three_chunks():
    frame = hand_packet(1024, 7, DATA_1200)
    receiver = Receiver()
    for byte in frame[:-1]:   # one byte at a time: nothing until the whole packet is there
        receiver.feed(bytes([byte]))
        assert receiver.next_packet() is None
    receiver.feed(frame[-1:])
    packet = receiver.next_packet()
    assert packet.header == PacketHeader(1024, 7, False, 1200, False)
    assert bytes(packet.data) == DATA_1200
    assert bytes(packet.checksums) == b"".join(
        struct.pack(">I", crc32c.crc32c(DATA_1200[i:i + 512])) for i in (0, 512, 1024))
    CRC32C_512.verify(packet.data, packet.checksums, packet.header.offset_in_block)
    assert receiver.buffered == 0 and receiver.next_packet() is None


def test_last_empty_packet_and_sync_flag():
    frame = hand_packet(70000, 3, b"", last=True)
    assert frame == bytes([0, 0, 0, 4, 0, 25]) + frame[6:]
    assert encode_packet(PacketHeader(70000, 3, True, 0)) == frame
    synced = encode_packet_prefix(PacketHeader(0, 1, False, 0, sync_block=True), 0)
    assert synced[4:6] == b"\x00\x1b" and synced.endswith(b"\x28\x01")


def test_heartbeat_packet():
    frame = encode_packet(PacketHeader(0, -1, False, 0))
    assert frame[6 + 9:6 + 18] == b"\x11" + b"\xff" * 8


def test_encode_packet_checks_lengths():
    with pytest.raises(ValueError):
        encode_packet(PacketHeader(0, 0, False, 5), b"", b"1234")
    with pytest.raises(ValueError):
        encode_packet_prefix(PacketHeader(0, 0, False, MAX_PACKET_SIZE), 4)


@pytest.mark.parametrize("prefix,match", [
    (struct.pack(">IH", 0xFFFFFFFF, 25), "exceeds"),
    (struct.pack(">IH", MAX_PACKET_SIZE, 25), "exceeds"),
    (struct.pack(">IH", 3, 25), "invalid packet payload length 3"),
    (struct.pack(">IH", 0, 25), "invalid packet payload length 0"),
    (struct.pack(">IH", 100, 0), "without a header"),
    (b"\x00\x00", "need 6"),
])
def test_hostile_packet_lengths(prefix, match):
    with pytest.raises(DataTransferError, match=match):
        parse_packet_lengths(prefix)
    if len(prefix) == 6:
        receiver = Receiver()
        receiver.feed(prefix)
        with pytest.raises(DataTransferError):
            receiver.next_packet()


def test_data_length_beyond_packet():
    frame = bytearray(hand_packet(0, 0, DATA_1200))
    frame[6 + 21:6 + 25] = struct.pack("<i", 5000)          # dataLen 5000 in a 1216-byte payload
    with pytest.raises(DataTransferError, match="5000 data bytes"):
        parse_packet_body(1216, 25, frame[6:])


def test_negative_data_length():
    frame = bytearray(hand_packet(0, 0, b""))
    frame[6 + 21:6 + 25] = struct.pack("<i", -1)
    with pytest.raises(DataTransferError):
        parse_packet_body(4, 25, frame[6:])


def test_header_longer_than_packet_body():
    with pytest.raises(DataTransferError, match="expected"):
        parse_packet_body(4, 25, b"\x09" * 10)


def test_packet_header_garbage_and_missing_fields():
    with pytest.raises(DataTransferError, match="PacketHeaderProto"):
        parse_packet_body(4, 3, b"\xff\xff\xff")
    only_offset = b"\x09" + b"\0" * 8
    with pytest.raises(DataTransferError, match="lacks required fields"):
        parse_packet_body(4, len(only_offset), only_offset)


def test_custom_packet_cap():
    receiver = Receiver(max_packet_size=1000)
    receiver.feed(hand_packet(0, 0, DATA_1200))
    with pytest.raises(DataTransferError, match="1000-byte limit"):
        receiver.next_packet()


# -- acks ----------------------------------------------------------------------------------------


def test_ack_bytes_hadoop3_style():
    ack = PipelineAck.make(5, [Status.SUCCESS, Status.ERROR])
    body = (vi(1, 10)                       # seqno 5, sint64 zigzag-encoded
            + vi(2, 0) + vi(2, 1)           # reply, one varint per DataNode (not packed)
            + vi(3, 0)                      # downstreamAckTimeNanos
            + ld(4, b"\x00\x01"))           # flag, packed
    assert ack.encode() == varint(len(body)) + body
    receiver = Receiver()
    receiver.feed(varint(len(body)) + body)
    decoded = receiver.next_ack()
    assert decoded == ack
    assert decoded.statuses == (0, 1) and not decoded.is_success


def test_ack_without_flags_uses_reply():
    body = vi(1, 2) + vi(2, 0) + vi(2, 0)  # seqno 1, two SUCCESS, no flag (Hadoop 2.6 and older)
    receiver = Receiver()
    receiver.feed(varint(len(body)) + body)
    ack = receiver.next_ack()
    assert ack.flags == () and ack.statuses == (0, 0) and ack.is_success
    assert ack.ecn(0) == 0 and ack.slow(1) == 0


def test_ack_flags_win_over_reply_and_carry_ecn_and_slow():
    flag = 1 | (3 << 5) | (2 << 7)        # status ERROR, ECN congested, SLOW
    body = vi(1, 2) + vi(2, 0) + ld(4, varint(flag))
    ack = PipelineAck.from_proto(dt.PipelineAckProto.FromString(body))
    assert ack.statuses == (Status.ERROR,)
    assert (ack.ecn(0), ack.slow(0)) == (3, 2)


def test_ack_flag_count_mismatch():
    body = vi(1, 2) + vi(2, 0) + vi(2, 0) + ld(4, b"\x00")
    with pytest.raises(DataTransferError, match="2 replies but 1 flags"):
        PipelineAck.from_proto(dt.PipelineAckProto.FromString(body))


def test_ack_negative_seqnos():
    heartbeat = PipelineAck.make(-1, [0])
    assert heartbeat.encode()[1:3] == b"\x08\x01"   # zigzag(-1) = 1
    oob = PipelineAck.make(-2, [Status.OOB_RESTART])
    assert oob.oob_status == Status.OOB_RESTART
    assert PipelineAck.make(3, [Status.OOB_RESTART]).oob_status is None


def test_ack_tracker_success_path():
    tracker = AckTracker(["a:1", "b:2"])
    tracker.sent(0, 64512)
    tracker.sent(1, 100000)
    tracker.received(PipelineAck.make(-1, [0, 0]))       # heartbeat acks change nothing
    assert tracker.in_flight == 2
    tracker.received(PipelineAck.make(0, [0, 0]))
    assert (tracker.in_flight, tracker.bytes_acked) == (1, 64512)
    tracker.sent(2, 100000, last=True)
    tracker.received(PipelineAck.make(1, [0, 0]))
    tracker.received(PipelineAck(2, (0, 0)))
    assert tracker.in_flight == 0 and tracker.bytes_acked == 100000 and tracker.last_acked


def test_ack_tracker_names_the_bad_datanode():
    tracker = AckTracker(["a:1", "b:2", "c:3"])
    tracker.sent(0, 10)
    with pytest.raises(PipelineError) as info:
        tracker.received(PipelineAck.make(0, [Status.SUCCESS, Status.ERROR_CHECKSUM, Status.SUCCESS]))
    assert (info.value.datanode, info.value.index, info.value.status) == ("b:2", 1, Status.ERROR_CHECKSUM)
    assert "ERROR_CHECKSUM" in str(info.value) and "b:2" in str(info.value)


def test_ack_tracker_restart_and_protocol_errors():
    tracker = AckTracker(["a:1"])
    with pytest.raises(PipelineError, match="restarting"):
        tracker.received(PipelineAck.make(-2, [Status.OOB_RESTART]))
    with pytest.raises(DataTransferError, match="no packet is outstanding"):
        tracker.received(PipelineAck.make(0, [0]))
    tracker.sent(4, 10)
    with pytest.raises(DataTransferError, match="expected 4"):
        tracker.received(PipelineAck.make(5, [0]))
    with pytest.raises(DataTransferError, match="pipeline of 1"):
        tracker.received(PipelineAck.make(4, [0, 0]))


# -- hostile input, generated -------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_escape_as_other_errors(blob):
    for method in ("next_packet", "next_ack", "next_op"):
        receiver = Receiver(max_packet_size=4096)
        receiver.feed(blob)
        try:
            while getattr(receiver, method)() is not None:
                pass
        except DataTransferError:
            pass


@settings(max_examples=200, deadline=None)
@given(offset=st.integers(0, 2**62), seqno=st.integers(-2, 2**62), last=st.booleans(),
       data=st.binary(max_size=3000), bpc=st.sampled_from([1, 100, 512]),
       kind=st.sampled_from(list(ChecksumType)), sync=st.booleans())
def test_packet_round_trip(offset, seqno, last, data, bpc, kind, sync):
    checksum = DataChecksum(kind, bpc)
    sums = checksum.compute(data)
    frame = encode_packet(PacketHeader(offset, seqno, last, len(data), sync), sums, data)
    receiver = Receiver()
    receiver.feed(frame + frame)
    for _ in range(2):
        packet = receiver.next_packet()
        assert packet.header == PacketHeader(offset, seqno, last, len(data), sync)
        assert bytes(packet.data) == data and bytes(packet.checksums) == sums
    assert receiver.next_packet() is None


@settings(max_examples=200, deadline=None)
@given(frame=st.binary(min_size=6, max_size=300), cut=st.integers(0, 299))
def test_truncated_packets_wait_or_fail_cleanly(frame, cut):
    receiver = Receiver(max_packet_size=1 << 16)
    receiver.feed(frame[:cut])
    try:
        receiver.next_packet()
    except DataTransferError:
        pass
