"""The mini DataNode: block reads and writes over DataTransferProtocol, replicas and checksums on disk.

Driven with pyarn.hdfs.blocks (BlockWriter, read_block) and, for the bad cases,
with raw bytes built by pyarn.hdfs.datatransfer.
"""
from __future__ import annotations

import hashlib
import logging
import os
import socket
import struct
import threading
import time

import google_crc32c
import pytest

from hadoop_protos import client_namenode_pb2 as cn
from hadoop_protos import datatransfer_pb2 as dt
from pyarn.hdfs.blocks import BlockWriter, ChecksumError, DataNodeError, PipelineError, read_block
from pyarn.hdfs.checksum import CRC32C_512
from pyarn.hdfs.datatransfer import (
    Op,
    PacketHeader,
    Receiver,
    Status,
    encode_delimited,
    encode_op,
    encode_packet,
    read_block_op,
    write_block_op,
)

from .support import CLIENT, MIB, add_block, complete, create, factory, locate, read_file, stat, write_file


def datanode_of(cluster, located):
    port = located.locs[0].id.xferPort
    return next(dn for dn in cluster.datanodes if dn.xfer_port == port)


def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data`` to a DataNode, return all it answers until it closes (or goes quiet)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        out = bytearray()
        try:
            while True:
                piece = sock.recv(65536)
                if not piece:
                    return bytes(out)
                out += piece
        except socket.timeout:
            return bytes(out)


# -- writes and reads ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 511, 512, 513, 64_513, MIB, MIB + 1, 2 * MIB + 777])
def test_round_trip(nn, top, size):
    data = os.urandom(size)
    write_file(nn, f"{top}/f", data)
    assert stat(nn, f"{top}/f").length == size
    assert read_file(nn, f"{top}/f") == data


def test_pipeline_of_two_stores_both_replicas(nn, cluster, top):
    data = os.urandom(MIB + 12_345)
    write_file(nn, f"{top}/f", data, replication=2)
    for block in locate(nn, f"{top}/f"):
        assert len(block.locs) == 2 and {loc.id.xferPort for loc in block.locs} == \
            {dn.xfer_port for dn in cluster.datanodes}
        for dn in cluster.datanodes:
            assert dn.storage.get(block.b.blockId).finalized
    assert read_file(nn, f"{top}/f", replica=0) == data
    assert read_file(nn, f"{top}/f", replica=1) == data


@pytest.mark.parametrize("offset,length", [(0, 1), (1, 511), (511, 2), (1000, 70_000), (MIB - 1, 1),
                                           (12_345, MIB - 12_345)])
def test_read_ranges(nn, top, offset, length):
    data = os.urandom(MIB)
    write_file(nn, f"{top}/f", data)
    block = locate(nn, f"{top}/f")[0]
    assert b"".join(read_block(factory, block, offset, length, CLIENT)) == data[offset:offset + length]


def test_meta_file_is_hadoops_format(nn, cluster, top):
    data = os.urandom(1500)
    write_file(nn, f"{top}/f", data)
    block = locate(nn, f"{top}/f")[0]
    replica = datanode_of(cluster, block).storage.get(block.b.blockId)
    assert replica.data_path.name == f"blk_{block.b.blockId}"
    assert replica.meta_path.name == f"blk_{block.b.blockId}_{block.b.generationStamp}.meta"
    assert replica.data_path.parent.parent.parent.name == "finalized"
    assert replica.data_path.read_bytes() == data
    meta = replica.meta_path.read_bytes()
    assert meta[:7] == struct.pack(">HBI", 1, 2, 512)  # version 1, CRC32C, 512 bytes per checksum
    want = b"".join(struct.pack(">I", google_crc32c.value(data[i:i + 512])) for i in range(0, 1500, 512))
    assert meta[7:] == want


def test_corrupted_block_file_gives_a_checksum_error(nn, cluster, top):
    data = os.urandom(100_000)
    write_file(nn, f"{top}/f", data)
    block = locate(nn, f"{top}/f")[0]
    path = datanode_of(cluster, block).block_file(block.b.blockId)
    raw = bytearray(path.read_bytes())
    raw[70_000] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError) as info:
        b"".join(read_block(factory, block, 0, len(data), CLIENT))
    assert info.value.offset == 70_000 - 70_000 % 512
    assert b"".join(read_block(factory, block, 0, 69_000, CLIENT)) == data[:69_000]  # before it: fine


def test_read_errors(nn, cluster, top):
    write_file(nn, f"{top}/f", b"x" * 10)
    block = locate(nn, f"{top}/f")[0]
    with pytest.raises(DataNodeError, match=r"Offset 5 and length 10 don't match block .*\( blockLen 10 \)"):
        b"".join(read_block(factory, block, 5, 10, CLIENT))
    block.b.blockId += 1000
    with pytest.raises(DataNodeError, match="ReplicaNotFoundException: Replica not found for"):
        b"".join(read_block(factory, block, 0, 1, CLIENT))


def test_connection_is_kept_for_the_next_read(nn, cluster, top):
    data = os.urandom(5000)
    write_file(nn, f"{top}/f", data)
    block = locate(nn, f"{top}/f")[0]
    with socket.create_connection(("127.0.0.1", block.locs[0].id.xferPort), timeout=5) as sock:
        for offset in (0, 1024):
            sock.sendall(read_block_op(block.b, block.blockToken, CLIENT, offset, 100))
            receiver = Receiver()
            got = bytearray()
            while True:
                receiver.feed(sock.recv(65536))
                response = receiver.next_message(dt.BlockOpResponseProto)
                if response is not None:
                    break
            assert response.status == Status.SUCCESS
            assert response.readOpChecksumInfo.chunkOffset == offset
            while True:
                packet = receiver.next_packet()
                if packet is None:
                    receiver.feed(sock.recv(65536))
                    continue
                if packet.header.last_packet_in_block:
                    break
                got += packet.data
            assert bytes(got) == data[offset:offset + 512]  # whole chunks
            sock.sendall(encode_delimited(dt.ClientReadStatusProto(status=Status.CHECKSUM_OK)))


def test_block_checksum_is_the_md5_of_the_chunk_crcs(nn, top):
    data = os.urandom(5000)
    write_file(nn, f"{top}/f", data)
    block = locate(nn, f"{top}/f")[0]
    request = dt.OpBlockChecksumProto(header=dt.BaseHeaderProto(block=block.b, token=block.blockToken))
    receiver = Receiver()
    receiver.feed(exchange(block.locs[0].id.xferPort, encode_op(Op.BLOCK_CHECKSUM, request), timeout=0.5))
    response = receiver.next_message(dt.BlockOpResponseProto)
    assert response.status == Status.SUCCESS
    result = response.checksumResponse
    assert (result.bytesPerCrc, result.crcPerBlock, result.crcType) == (512, 10, 2)
    assert result.blockChecksum == hashlib.md5(CRC32C_512.compute(data)).digest()


# -- the NameNode's side of writes -------------------------------------------------------------------


def test_complete_waits_for_the_datanode(nn, cluster, top):
    path = f"{top}/f"
    status = create(nn, path)
    located = add_block(nn, path, status.fileId)
    dn = datanode_of(cluster, located)
    with dn.reports_held():
        with BlockWriter(factory, located, CLIENT) as writer:
            writer.write(b"x" * 1000)
        assert not complete(nn, path, status.fileId, writer.block)  # committed, not reported yet
        assert not nn.call("isFileClosed", cn.IsFileClosedRequestProto(src=path)).result
    assert complete(nn, path, status.fileId, writer.block)
    assert read_file(nn, path) == b"x" * 1000


def test_abandoned_and_deleted_blocks_leave_the_disk(nn, cluster, top):
    path = f"{top}/f"
    status = create(nn, path)
    located = add_block(nn, path, status.fileId)
    with BlockWriter(factory, located, CLIENT) as writer:
        writer.write(b"y" * 700)
    dn = datanode_of(cluster, located)
    block_file = dn.block_file(located.b.blockId)
    assert block_file.exists()
    nn.call("abandonBlock", cn.AbandonBlockRequestProto(b=writer.block, src=path, holder=CLIENT,
                                                        fileId=status.fileId))
    assert not block_file.exists() and dn.storage.get(located.b.blockId) is None
    assert complete(nn, path, status.fileId)
    write_file(nn, f"{top}/g", b"z" * 3000)
    block = locate(nn, f"{top}/g")[0]
    replica_file = datanode_of(cluster, block).block_file(block.b.blockId)
    assert nn.call("delete", cn.DeleteRequestProto(src=f"{top}/g", recursive=False)).result
    assert not replica_file.exists()


def test_recover_lease_closes_at_the_length_on_disk(nn, cluster, top):
    path = f"{top}/f"
    status = create(nn, path, client="crashed-writer")
    located = add_block(nn, path, status.fileId, client="crashed-writer")
    data = os.urandom(200_000)
    writer = BlockWriter(factory, located, "crashed-writer")
    writer.write(data)  # three full packets go out, the rest waits in the writer
    deadline = time.monotonic() + 5
    while writer.bytes_acked < 3 * 64_512 and time.monotonic() < deadline:
        writer._pump_acks(block=True)
    assert nn.call("recoverLease", cn.RecoverLeaseRequestProto(src=path, clientName="someone-else")).result
    writer.abort()
    assert nn.call("isFileClosed", cn.IsFileClosedRequestProto(src=path)).result
    assert stat(nn, path).length == 3 * 64_512
    assert read_file(nn, path) == data[:3 * 64_512]


def test_addblock_retry_and_previous_mismatch(nn, top):
    path = f"{top}/f"
    status = create(nn, path)
    first = add_block(nn, path, status.fileId)
    assert add_block(nn, path, status.fileId).b.blockId == first.b.blockId  # a retry: same block
    with pytest.raises(Exception, match="does not match actual last block"):
        bogus = first.b.__class__()
        bogus.CopyFrom(first.b)
        bogus.blockId += 77
        add_block(nn, path, status.fileId, bogus)


# -- bad peers ---------------------------------------------------------------------------------------


def test_bad_checksum_gets_an_error_checksum_ack(nn, cluster, top):
    status = create(nn, f"{top}/f", replication=2)
    located = add_block(nn, f"{top}/f", status.fileId)
    data = os.urandom(1024)
    sums = bytearray(CRC32C_512.compute(data))
    sums[5] ^= 0xFF
    request = write_block_op(located, CLIENT, CRC32C_512, block_size=MIB)
    answer = exchange(located.locs[0].id.xferPort,
                      request + encode_packet(PacketHeader(0, 0, False, len(data)), bytes(sums), data))
    receiver = Receiver()
    receiver.feed(answer)
    assert receiver.next_message(dt.BlockOpResponseProto).status == Status.SUCCESS
    ack = receiver.next_ack()
    # the last DataNode of the pipeline checks; the first one passes its verdict up
    assert ack.seqno == 0 and ack.replies == (Status.SUCCESS, Status.ERROR_CHECKSUM)
    assert ack.flags == (Status.SUCCESS, Status.ERROR_CHECKSUM)


def test_block_writer_sees_the_checksum_failure(nn, cluster, top, monkeypatch):
    status = create(nn, f"{top}/f")
    located = add_block(nn, f"{top}/f", status.fileId)
    real_compute = CRC32C_512.compute

    def broken(data):
        sums = bytearray(real_compute(data))
        if sums:
            sums[0] ^= 1
        return bytes(sums)

    writer = BlockWriter(factory, located, CLIENT)
    monkeypatch.setattr(writer, "checksum", type("Broken", (), {
        "compute": staticmethod(broken), "bytes_per_checksum": 512, "checksum_size": 4})())
    with pytest.raises(PipelineError) as info:
        with writer:
            writer.write(b"q" * 100_000)
    assert info.value.status == Status.ERROR_CHECKSUM


@pytest.mark.parametrize("garbage", [
    b"\x00\x1b\x51",                                   # data transfer version 27
    b"\x00\x1c\x63",                                   # op 99
    b"\x00\x1c\x51\xff\xff\xff\xff\x0f",               # a 4 GiB op message
    b"\x00\x1c\x51\x05abcde",                          # not a protobuf
])
def test_bad_bytes_close_the_connection_and_the_server_goes_on(nn, cluster, top, caplog, garbage):
    write_file(nn, f"{top}/f", b"still here")
    port = cluster.datanodes[0].xfer_port
    with caplog.at_level(logging.WARNING, logger="pyarn.minicluster.hdfs.datanode"):
        assert exchange(port, garbage) == b""
        deadline = time.monotonic() + 2
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.01)
    assert any("bad bytes from the peer" in record.getMessage() for record in caplog.records)
    assert read_file(nn, f"{top}/f") == b"still here"


def test_bad_packet_mid_block_closes_the_connection(nn, cluster, top, caplog):
    status = create(nn, f"{top}/f")
    located = add_block(nn, f"{top}/f", status.fileId)
    bogus_packet = struct.pack(">IH", 0x7FFFFFFF, 3) + b"abc"
    with caplog.at_level(logging.WARNING, logger="pyarn.minicluster.hdfs.datanode"):
        answer = exchange(located.locs[0].id.xferPort,
                          write_block_op(located, CLIENT, CRC32C_512) + bogus_packet)
    receiver = Receiver()
    receiver.feed(answer)
    assert receiver.next_message(dt.BlockOpResponseProto).status == Status.SUCCESS
    assert receiver.next_ack() is None
    assert any("exceeds" in record.getMessage() for record in caplog.records)


def test_many_clients_at_once(nn, top):
    datas = {f"{top}/f{i}": os.urandom(150_000 + i) for i in range(8)}
    errors = []

    def put(path, data):
        try:
            write_file(nn, path, data, client=f"{CLIENT}_{path[-1]}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=put, args=item) for item in datas.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    for path, data in datas.items():
        assert read_file(nn, path) == data
