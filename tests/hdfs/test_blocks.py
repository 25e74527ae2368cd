"""BlockWriter and read_block over loopback sockets against the test DataNode peer."""
from __future__ import annotations

import os
import socket
import time
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyarn.hdfs.blocks import (
    BlockTokenError,
    BlockWriter,
    ChecksumError,
    DataNodeError,
    PipelineError,
    connect_datanode,
    read_block,
)
from pyarn.hdfs.checksum import ChecksumType, DataChecksum

from .datanode_peer import CHECKSUM_OK, ERROR, ERROR_ACCESS_TOKEN, ERROR_CHECKSUM, SUCCESS, DataNodePeer

CLIENT = "DFSClient_NONMAPREDUCE_test_1"


@pytest.fixture
def peer():
    p = DataNodePeer()
    yield p
    p.close()


factory = partial(connect_datanode, timeout=10)


def write(peer, block_id, data, **kwargs):
    lb = peer.located_block(block_id, kwargs.pop("extra_targets", 0))
    with BlockWriter(factory, lb, CLIENT, **kwargs) as writer:
        for start in range(0, len(data), 100_000):
            writer.write(data[start:start + 100_000])
    peer.wait_idle()
    return writer, lb


def read_all(peer, block_id, offset, length, **kwargs) -> bytes:
    try:
        return b"".join(read_block(factory, peer.located_block(block_id), offset, length, CLIENT, **kwargs))
    finally:
        peer.wait_idle()


# -- the happy paths ---------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 511, 512, 513, 64511, 64512, 64513, 1_048_583])
def test_write_then_read(peer, size):
    data = os.urandom(size)
    writer, lb = write(peer, 7, data)
    assert peer.received.problems == []
    assert peer.blocks[7] == (data, 2, 512)
    block = writer.block
    assert (block.blockId, block.numBytes) == (7, size)
    assert writer.bytes_acked == size
    packets = peer.received.packets
    assert [p.seqno for p in packets] == list(range(len(packets)))
    assert packets[-1].lastPacketInBlock and packets[-1].dataLen == 0 and packets[-1].offsetInBlock == size
    for p in packets[:-2]:
        assert p.dataLen == 64512, "full packets carry 126 chunks of 512 bytes (65536-byte packets)"
    assert writer.next_seqno == len(packets)
    op = peer.received.ops[0][1]
    assert op.stage == 6 and op.pipelineSize == 1 and op.header.clientName == CLIENT
    if size:
        assert read_all(peer, 7, 0, size) == data
        assert peer.received.read_statuses == [CHECKSUM_OK]


def test_write_from_many_small_pieces_and_buffers(peer):
    data = os.urandom(200_003)
    lb = peer.located_block(1)
    with BlockWriter(factory, lb, CLIENT) as writer:
        pos = 0
        for i, size in enumerate([1, 7, 511, 70_000, 3, 64512, 0, 65_000]):
            piece = data[pos:pos + size]
            writer.write([bytes, bytearray, memoryview][i % 3](piece))
            pos += size
        writer.write(data[pos:])
    peer.wait_idle()
    assert peer.blocks[1][0] == data
    assert peer.received.problems == []


def test_pipeline_of_three(peer):
    data = os.urandom(150_000)
    writer, _ = write(peer, 3, data, extra_targets=2)
    op = peer.received.ops[0][1]
    assert op.pipelineSize == 3
    assert [t.id.ipAddr for t in op.targets] == ["10.9.9.1", "10.9.9.2"]
    assert list(op.targetStorageIds) == ["DS-1", "DS-2"] and op.storageId == "DS-0"
    assert writer.block.numBytes == 150_000


def test_crc32_and_small_chunks(peer):
    data = os.urandom(10_000)
    checksum = DataChecksum(ChecksumType.CRC32, 100)
    write(peer, 4, data, checksum=checksum, packet_size=1000)
    assert peer.blocks[4] == (data, 1, 100)
    # (1000 - 33) // (100 + 4) = 9 chunks of 100 bytes per packet
    assert {p.dataLen for p in peer.received.packets[:-2]} == {900}
    assert read_all(peer, 4, 0, 10_000) == data
    assert peer.received.problems == []


@settings(max_examples=40, deadline=None)
@given(offset=st.integers(0, 70_000), length=st.integers(0, 70_000), chunks=st.integers(1, 130))
def test_read_any_range(offset, length, chunks):
    peer = DataNodePeer()
    try:
        data = bytes(range(256)) * 550    # 140,800 bytes
        peer.blocks[9] = (data, 2, 512)
        peer.faults.read_chunks_per_packet = chunks
        got = read_all(peer, 9, offset, length)
        assert got == data[offset:offset + length]
        op = peer.received.ops[0][1] if length else None
        if op is not None:
            assert (op.offset, op.len, op.sendChecksums) == (offset, length, True)
    finally:
        peer.close()


def test_read_without_verification_asks_for_no_checksums(peer):
    data = os.urandom(5000)
    peer.blocks[2] = (data, 2, 512)
    assert read_all(peer, 2, 10, 4000, verify=False) == data[10:4010]
    assert peer.received.ops[0][1].sendChecksums is False
    assert peer.received.read_statuses == [SUCCESS]


def test_read_pieces_are_bytes_and_stream(peer):
    peer.blocks[2] = (os.urandom(300_000), 2, 512)
    pieces = list(read_block(factory, peer.located_block(2), 0, 300_000, CLIENT))
    assert len(pieces) == 5 and all(type(p) is bytes for p in pieces)


def test_zero_length_read_does_not_connect(peer):
    assert list(read_block(factory, peer.located_block(2), 5, 0, CLIENT)) == []
    assert peer.received.ops == []


def test_bad_arguments(peer):
    with pytest.raises(ValueError):
        next(read_block(factory, peer.located_block(1), -1, 5, CLIENT))
    nowhere = peer.located_block(1)
    del nowhere.locs[:]
    with pytest.raises(ValueError, match="no DataNodes"):
        BlockWriter(factory, nowhere, CLIENT)
    with pytest.raises(DataNodeError, match="no locations"):
        next(read_block(factory, nowhere, 0, 5, CLIENT))


# -- reads that fail --------------------------------------------------------------


def test_checksum_mismatch_names_offset_and_datanode(peer):
    data = os.urandom(200_000)
    peer.blocks[5] = (data, 2, 512)
    peer.faults.read_corrupt_chunk = 300          # in the third packet
    got = []
    with pytest.raises(ChecksumError) as info:
        for piece in read_block(factory, peer.located_block(5), 0, 200_000, CLIENT):
            got.append(piece)
    assert info.value.offset == 300 * 512
    assert info.value.datanode == f"127.0.0.1:{peer.port}"
    assert info.value.block == "BP-test:blk_5_1000"
    assert "blk_5_1000" in str(info.value) and "153600" in str(info.value)
    assert b"".join(got) == data[:2 * 64512]
    assert not isinstance(info.value, DataNodeError)


def test_corrupt_chunk_outside_the_range_is_not_read(peer):
    data = os.urandom(200_000)
    peer.blocks[5] = (data, 2, 512)
    peer.faults.read_corrupt_chunk = 300
    assert read_all(peer, 5, 0, 1000) == data[:1000]


def test_error_status_is_a_datanode_error(peer):
    peer.faults.read_status = ERROR
    peer.faults.read_message = "replica not found"
    with pytest.raises(DataNodeError, match="replica not found") as info:
        read_all(peer, 5, 0, 10)
    assert info.value.status == ERROR and info.value.datanode == f"127.0.0.1:{peer.port}"


def test_token_error(peer):
    peer.faults.read_status = ERROR_ACCESS_TOKEN
    with pytest.raises(BlockTokenError):
        read_all(peer, 5, 0, 10)


def test_connection_closed_mid_read(peer):
    peer.blocks[5] = (os.urandom(300_000), 2, 512)
    peer.faults.read_close_after_packets = 2
    got = []
    with pytest.raises(DataNodeError, match="closed") as info:
        for piece in read_block(factory, peer.located_block(5), 0, 300_000, CLIENT):
            got.append(piece)
    assert sum(map(len, got)) == 2 * 64512
    assert isinstance(info.value.__cause__, Exception)


def test_block_ends_early(peer):
    peer.blocks[5] = (os.urandom(300_000), 2, 512)
    peer.faults.read_end_early_after_packets = 1
    with pytest.raises(DataNodeError, match="ended at offset 64512"):
        read_all(peer, 5, 0, 300_000)


def test_bad_seqno(peer):
    peer.blocks[5] = (os.urandom(1000), 2, 512)
    peer.faults.read_bad_seqno = True
    with pytest.raises(DataNodeError, match="seqno 5, expected 0"):
        read_all(peer, 5, 0, 1000)


def test_nothing_listening():
    spare = socket.create_server(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()
    peer = DataNodePeer()
    lb = peer.located_block(1)
    lb.locs[0].id.xferPort = port
    peer.close()
    with pytest.raises(DataNodeError, match=f"cannot connect to DataNode 127.0.0.1:{port}"):
        list(read_block(factory, lb, 0, 10, CLIENT))


def test_early_close_of_the_generator_closes_the_socket(peer):
    peer.blocks[5] = (os.urandom(300_000), 2, 512)
    reader = read_block(factory, peer.located_block(5), 0, 300_000, CLIENT)
    next(reader)
    reader.close()
    deadline = time.monotonic() + 5
    while peer._threads[0].is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not peer._threads[0].is_alive()
    assert peer.received.read_statuses == []


def _reply(**info) -> bytes:
    from hadoop_protos import datatransfer_pb2 as dt

    from .datanode_peer import delimited

    message = dt.BlockOpResponseProto(status=SUCCESS)
    if info:
        message.readOpChecksumInfo.CopyFrom(dt.ReadOpChecksumInfoProto(
            checksum=dt.ChecksumProto(type=info.get("type", 2), bytesPerChecksum=info.get("bpc", 512)),
            chunkOffset=info.get("chunk_offset", 0)))
    return delimited(message)


@pytest.mark.parametrize("raw,match", [
    (b"\xff" * 11, "varint longer than 10 bytes"),
    (b"\xff\xff\xff\x7f", "exceeds the 1048576-byte limit"),
    (b"\x05\x08\x00", "closed after 2 of 5 bytes"),
    (b"\x02\x08\x63", "lacks required fields: status"),
    (_reply(), "without readOpChecksumInfo"),
    (_reply(chunk_offset=512), "first chunk offset 512"),
    (_reply(bpc=0), "bytes_per_checksum"),
    # status SUCCESS, readOpChecksumInfo {checksum {type 7 (unknown), 512}, chunkOffset 0}
    (bytes([13, 0x08, 0x00, 0x22, 9, 0x0A, 5, 0x08, 7, 0x10, 0x80, 0x04, 0x10, 0x00]),
     "lacks required fields"),
    (_reply(type=2) + b"\xff\xff\xff\xf0\x00\x19", "exceeds the 16777216-byte limit"),
    (_reply(type=2) + b"\x00\x00\x00\x02\x00\x19", "invalid packet payload length 2"),
    (_reply(type=2) + b"\x00\x00\x10\x00\x00\x19" + b"\x09" * 30, "malformed PacketHeaderProto"),
    (_reply(type=2) + b"\x00\x00\x10\x00\x00", "closed after 5 of 6 bytes"),
])
def test_hostile_read_replies(peer, raw, match):
    peer.faults.read_raw_reply = raw
    with pytest.raises(DataNodeError, match=match) as info:
        read_all(peer, 5, 0, 100)
    assert type(info.value) is DataNodeError
    assert info.value.datanode == f"127.0.0.1:{peer.port}"


def test_hostile_ack(peer):
    peer.faults.write_raw_ack = b"\x03\xff\xff\xff"
    with pytest.raises(PipelineError, match="bad ack") as info:
        write(peer, 6, os.urandom(200_000))
    assert info.value.index == 0


def test_ack_for_the_wrong_packet(peer):
    from hadoop_protos import datatransfer_pb2 as dt

    from .datanode_peer import delimited

    peer.faults.write_raw_ack = delimited(dt.PipelineAckProto(seqno=9, reply=[SUCCESS]))
    with pytest.raises(PipelineError, match="ack for packet 9, expected 0"):
        write(peer, 6, os.urandom(200_000))


# -- writes that fail ----------------------------------------------------------------


def test_pipeline_setup_names_first_bad_link(peer):
    peer.faults.write_status = ERROR
    peer.faults.write_first_bad_link = "10.9.9.2:9866"
    with pytest.raises(PipelineError) as info:
        BlockWriter(factory, peer.located_block(6, extra_targets=2), CLIENT)
    assert (info.value.datanode, info.value.index, info.value.status) == ("10.9.9.2:9866", 2, ERROR)
    assert "10.9.9.2:9866" in str(info.value)


def test_pipeline_setup_without_bad_link_blames_the_first_node(peer):
    peer.faults.write_status = ERROR
    with pytest.raises(PipelineError) as info:
        BlockWriter(factory, peer.located_block(6), CLIENT)
    assert info.value.index == 0 and info.value.datanode == f"127.0.0.1:{peer.port}"


def test_pipeline_setup_token_error(peer):
    peer.faults.write_status = ERROR_ACCESS_TOKEN
    with pytest.raises(BlockTokenError):
        BlockWriter(factory, peer.located_block(6), CLIENT)


@pytest.mark.parametrize("flags", [True, False])
def test_error_ack_names_the_datanode(peer, flags):
    peer.faults.write_error_ack_seqno = 2
    peer.faults.write_error_ack_replies = (SUCCESS, ERROR_CHECKSUM, SUCCESS)
    peer.faults.write_use_flags = flags
    with pytest.raises(PipelineError) as info:
        write(peer, 6, os.urandom(1_000_000), extra_targets=2)
    peer.wait_idle()
    assert (info.value.datanode, info.value.index, info.value.status) == ("10.9.9.1:9866", 1, ERROR_CHECKSUM)
    assert 6 not in peer.blocks


def test_connection_lost_mid_write(peer):
    peer.faults.write_close_before_ack_seqno = 3
    lb = peer.located_block(6)
    writer = BlockWriter(factory, lb, CLIENT)
    with pytest.raises(PipelineError) as info:
        for _ in range(40):
            writer.write(os.urandom(64512))
        writer.close()
    assert info.value.index == 0
    # acks 0-2 were sent; a reset connection may drop some that were not yet read
    assert writer.bytes_acked in (0, 64512, 2 * 64512, 3 * 64512)
    with pytest.raises(PipelineError):
        writer.write(b"x")                         # a failed writer stays failed


def test_exception_in_with_block_aborts(peer):
    lb = peer.located_block(8)
    with pytest.raises(RuntimeError):
        with BlockWriter(factory, lb, CLIENT) as writer:
            writer.write(os.urandom(100_000))
            raise RuntimeError("caller gave up")
    peer.wait_idle()
    assert 8 not in peer.blocks
    assert not any(p.lastPacketInBlock for p in peer.received.packets)
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"more")


def test_block_size_limit(peer):
    with BlockWriter(factory, peer.located_block(8), CLIENT, block_size=1000) as writer:
        writer.write(b"x" * 600)
        with pytest.raises(ValueError, match="exceed the block size 1000"):
            writer.write(b"x" * 401)
        writer.write(b"x" * 400)
    peer.wait_idle()
    assert peer.received.ops[0][1].header.baseHeader.block.numBytes == 1000
    assert len(peer.blocks[8][0]) == 1000


def test_seqnos_continue_across_blocks(peer):
    with BlockWriter(factory, peer.located_block(10), CLIENT, first_seqno=41) as writer:
        writer.write(os.urandom(70_000))
    peer.wait_idle()
    assert [p.seqno for p in peer.received.packets] == [41, 42, 43]
    assert writer.next_seqno == 44
    assert peer.received.problems == []


def test_close_twice_returns_the_block(peer):
    writer = BlockWriter(factory, peer.located_block(11), CLIENT)
    writer.write(b"abc")
    assert writer.close().numBytes == 3
    assert writer.close().numBytes == 3


def test_heartbeat_when_idle(peer):
    lb = peer.located_block(12)
    writer = BlockWriter(factory, lb, CLIENT, heartbeat_interval=0.1)
    default = BlockWriter(factory, peer.located_block(99), CLIENT)
    assert default.heartbeat_interval == 5.0          # half the socket timeout
    default.abort()
    writer.write(os.urandom(100_000))
    writer.heartbeat()                                # too soon: nothing sent
    time.sleep(0.15)
    writer.heartbeat()
    writer.write(os.urandom(10))
    writer.close()
    peer.wait_idle()
    seqnos = [p.seqno for p in peer.received.packets]
    assert seqnos.count(-1) == 1
    assert [s for s in seqnos if s != -1] == [0, 1, 2]
    assert len(peer.blocks[12][0]) == 100_010


def test_packets_in_flight_are_bounded(peer):
    peer.faults.write_ack_every = 3                   # acks nothing until 3 packets wait
    writer = BlockWriter(partial(connect_datanode, timeout=1.0), peer.located_block(13), CLIENT,
                         max_packets_in_flight=2)
    with pytest.raises(PipelineError, match="timed out"):
        writer.write(os.urandom(64512 * 4))
    peer.wait_idle()
    assert len(peer.received.packets) == 2
