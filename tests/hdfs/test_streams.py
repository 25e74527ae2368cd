"""HdfsReader and HdfsWriter over real sockets to test DataNodes, with an in-memory NameNode."""
from __future__ import annotations

import io
import os
from functools import partial

import pytest

from pyarn.hdfs.blocks import PipelineError, connect_datanode
from pyarn.hdfs.checksum import CRC32C_512
from pyarn.hdfs.streams import BlockMissingError, CorruptBlockError, HdfsReader, HdfsWriter

from .datanode_peer import ERROR, ERROR_ACCESS_TOKEN, DataNodePeer
from .fake_namenode import FakeNameNode

factory = partial(connect_datanode, timeout=10)
BLOCK = 100_000


@pytest.fixture
def peers():
    made = [DataNodePeer() for _ in range(3)]
    yield made
    for peer in made:
        peer.close()


@pytest.fixture
def nn(peers):
    namenode = FakeNameNode(peers)
    yield namenode
    namenode.close()


def writer(nn, path="/f", block_size=BLOCK, **kwargs) -> HdfsWriter:
    status = nn.create(path, 0o644, replication=1, block_size=block_size)
    return HdfsWriter(nn, path, status.file_id, factory, block_size=block_size, checksum=CRC32C_512,
                      packet_size=65536, **kwargs)


def put(nn, data: bytes, path="/f", block_size=BLOCK, replicate_to=None) -> None:
    with writer(nn, path, block_size) as out:
        for start in range(0, len(data), 33_333):
            out.write(data[start:start + 33_333])
    for peer in nn.peers:
        peer.wait_idle()  # the test DataNode stores a block just after its last ack
    for peer in replicate_to or ():
        for block in nn.nodes[path].blocks:
            source = nn.replicas[block.blockId][0]
            peer.blocks[block.blockId] = source.blocks[block.blockId]
            nn.replicas[block.blockId].append(peer)


def reader(nn, path="/f", **kwargs) -> HdfsReader:
    kwargs.setdefault("sleep", lambda seconds: None)
    return HdfsReader(nn, path, factory, **kwargs)


def ops(nn, name):
    return [call for call in nn.calls if call[0] == name]


# -- writing ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 511, 512, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 7])
def test_write_then_read(nn, size):
    data = os.urandom(size)
    put(nn, data)
    node = nn.nodes["/f"]
    assert node.complete and [b.numBytes for b in node.blocks] == \
        [min(BLOCK, size - start) for start in range(0, size, BLOCK)]
    assert ops(nn, "complete") == [("complete", "/f", node.blocks[-1].numBytes if size else None)]
    with reader(nn) as r:
        assert r.length == size and r.read() == data
    assert nn.lease.open_files == 0


def test_writes_of_any_buffer_type(nn):
    with writer(nn) as out:
        assert out.write(bytearray(b"ab")) == 2
        out.write(memoryview(b"cdef")[1:3])
        out.write(memoryview(bytes(range(8))).cast("Q"))
        assert out.tell() == 12 and out.writable()
    with reader(nn) as r:
        assert r.read() == b"abde" + bytes(range(8))


def test_pipeline_set_up_failure_tries_other_datanodes(nn, peers):
    peers[0].faults.write_status = ERROR
    data = os.urandom(BLOCK + 10)
    put(nn, data)
    abandoned = ops(nn, "abandonBlock")
    assert len(abandoned) == 1
    first_add, retry, second_block = ops(nn, "addBlock")
    assert first_add[3] == [] and retry[3] == second_block[3] == [f"127.0.0.1:{peers[0].port}"]
    with reader(nn) as r:
        assert r.read() == data


def test_pipeline_set_up_gives_up(nn, peers):
    for peer in peers:
        peer.faults.write_status = ERROR
    out = writer(nn, block_write_retries=1)
    with pytest.raises(PipelineError):
        out.write(b"x")
    assert len(ops(nn, "abandonBlock")) == 2
    assert "/f" not in nn.nodes and out.closed


def test_failure_mid_block_abandons_and_deletes(nn, peers):
    peers[0].faults.write_close_before_ack_seqno = 2
    out = writer(nn, block_size=10 * BLOCK)
    with pytest.raises(PipelineError):
        for _ in range(40):
            out.write(os.urandom(65536))
        out.close()
    assert ops(nn, "abandonBlock") and ops(nn, "delete") == [("delete", "/f", False)]
    assert "/f" not in nn.nodes
    assert out.closed and nn.lease.open_files == 0
    out.close()  # closing a failed writer is quiet
    with pytest.raises(ValueError, match="failed earlier"):
        out.write(b"more")


def test_failure_after_complete_blocks_still_deletes(nn, peers):
    out = writer(nn)
    out.write(os.urandom(BLOCK + 100))  # the first block is complete
    peers[0].faults.write_close_before_ack_seqno = out._writer.next_seqno  # type: ignore[union-attr]
    with pytest.raises(PipelineError):
        for _ in range(10):
            out.write(os.urandom(65536))
    assert "/f" not in nn.nodes


def test_exception_in_with_block_abandons(nn):
    with pytest.raises(KeyError):
        with writer(nn) as out:
            out.write(b"partial")
            raise KeyError("caller bug")
    assert "/f" not in nn.nodes and ops(nn, "complete") == []


def test_failed_append_keeps_what_was_there(nn, peers):
    put(nn, b"old data")
    status = nn.get_file_info("/f")
    block, _ = nn.append("/f")
    out = HdfsWriter(nn, "/f", status.file_id, factory, block_size=BLOCK, checksum=CRC32C_512,
                     packet_size=65536, previous=block.b, created=False)
    out.write(b"appended")
    out.abort()
    assert ops(nn, "delete") == [] and ops(nn, "complete")[-1] == ("complete", "/f", 8)
    with reader(nn) as r:
        assert r.read() == b"old data"


def test_commit_runs_after_complete_and_its_failure_deletes(nn):
    committed = []
    with writer(nn, "/tmp-name", commit=lambda: committed.append(nn.nodes["/tmp-name"].complete)) as out:
        out.write(b"x")
    assert committed == [True]

    def failing_commit() -> None:
        raise FileExistsError("target exists")

    out = writer(nn, "/tmp-2", commit=failing_commit)
    out.write(b"y")
    with pytest.raises(FileExistsError):
        out.close()
    assert "/tmp-2" not in nn.nodes


def test_heartbeat_reaches_the_open_block(nn, peers):
    out = writer(nn)
    out.heartbeat()  # no block yet: nothing to do
    out.write(b"abc")
    out._writer.heartbeat_interval = 0  # type: ignore[union-attr]
    out.heartbeat()
    out.close()
    assert any(p.seqno == -1 for p in peers[0].received.packets)


# -- reading ------------------------------------------------------------------------------


def test_seek_tell_and_buffered_reads(nn):
    data = os.urandom(3 * BLOCK + 5)
    put(nn, data)
    raw = reader(nn)
    f = io.BufferedReader(raw, 4096)
    assert f.seekable() and f.readable()
    for offset, length in [(0, 1), (BLOCK - 3, 10), (2 * BLOCK + 1, BLOCK), (3 * BLOCK, 100), (7, 7)]:
        f.seek(offset)
        assert f.read(length) == data[offset:offset + length]
        assert f.tell() == min(offset + length, len(data))
    assert f.seek(-4, io.SEEK_END) == len(data) - 4 and f.read() == data[-4:]
    assert f.seek(10 * BLOCK) == 10 * BLOCK and f.read(3) == b""
    with pytest.raises(ValueError):
        raw.seek(-1)
    f.close()
    with pytest.raises(ValueError):
        raw.read(1)


def test_small_forward_seek_keeps_the_stream(nn):
    data = os.urandom(BLOCK)
    put(nn, data)
    with reader(nn) as r:
        assert r.read(10) == data[:10]
        r.seek(100)  # inside the piece already received
        assert r.read(10) == data[100:110]
    assert len([op for op in nn.peers[0].received.ops if op[0] == 81]) == 1


def test_chunks_stream_the_rest(nn):
    data = os.urandom(2 * BLOCK + 3)
    put(nn, data)
    with reader(nn) as r:
        r.seek(5)
        pieces = list(r.chunks())
        assert b"".join(pieces) == data[5:] and r.tell() == len(data)


def test_a_failed_datanode_is_skipped(nn, peers):
    data = os.urandom(2 * BLOCK)
    put(nn, data, replicate_to=[peers[1]])
    peers[0].faults.read_status = ERROR
    with reader(nn) as r:
        assert r.read() == data
    assert len([op for op in peers[0].received.ops if op[0] == 81]) == 1  # dead for the rest of the stream


def test_failover_in_the_middle_of_a_block(nn, peers):
    data = os.urandom(BLOCK)
    put(nn, data, replicate_to=[peers[1]])
    peers[0].faults.read_chunks_per_packet = 10
    peers[0].faults.read_close_after_packets = 3
    with reader(nn) as r:
        assert r.read() == data
    resumed = [op for code, op in peers[1].received.ops if code == 81]
    assert resumed[0].offset == 3 * 10 * 512


def test_a_corrupt_replica_is_skipped(nn, peers):
    data = os.urandom(BLOCK)
    put(nn, data, replicate_to=[peers[1]])
    peers[0].faults.read_corrupt_chunk = 50
    with reader(nn) as r:
        assert r.read() == data


def test_every_replica_corrupt(nn, peers):
    data = os.urandom(BLOCK)
    put(nn, data, "/data/file", replicate_to=[peers[1]])
    for peer in peers[:2]:
        peer.faults.read_corrupt_chunk = 3
    with reader(nn, "/data/file") as r:
        with pytest.raises(CorruptBlockError) as info:
            r.read()
    error = info.value
    block_id = nn.nodes["/data/file"].blocks[0].blockId
    assert isinstance(error, OSError) and isinstance(error, BlockMissingError)
    assert f"blk_{block_id}" in str(error) and "/data/file" in str(error) and "checksum" in str(error)
    assert error.path == "/data/file" and len(error.errors) == 2
    assert len(ops(nn, "getBlockLocations")) == 1  # nothing to wait for


def test_no_live_replica_asks_the_namenode_again_then_gives_up(nn, peers):
    put(nn, os.urandom(1000))
    peers[0].faults.read_status = ERROR
    sleeps = []
    with reader(nn, sleep=sleeps.append, retry_window=1.0) as r:
        with pytest.raises(BlockMissingError, match="could not obtain block") as info:
            r.read()
    assert not isinstance(info.value, CorruptBlockError)
    assert len(sleeps) == 3 and 0 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 3 and 2 <= sleeps[2] <= 5
    assert len(ops(nn, "getBlockLocations")) == 4


def test_a_recovering_datanode_is_used_after_a_refetch(nn, peers):
    data = os.urandom(1000)
    put(nn, data)
    peers[0].faults.read_status = ERROR

    def heal(seconds: float) -> None:
        peers[0].faults.read_status = 0

    with reader(nn, sleep=heal) as r:
        assert r.read() == data


def test_a_refused_block_token_fetches_new_locations(nn, peers):
    data = os.urandom(1000)
    put(nn, data)
    peers[0].faults.read_status = ERROR_ACCESS_TOKEN
    fetch = nn.get_block_locations

    def fresh_tokens(*args):
        if len(ops(nn, "getBlockLocations")) >= 1:
            peers[0].faults.read_status = 0
        return fetch(*args)

    nn.get_block_locations = fresh_tokens
    with reader(nn) as r:
        assert r.read() == data
    assert len(ops(nn, "getBlockLocations")) == 2


def test_locations_are_fetched_as_needed(nn):
    data = os.urandom(5 * BLOCK)
    put(nn, data)
    with reader(nn, prefetch=2 * BLOCK) as r:
        assert r.read() == data
    assert [call[2] for call in ops(nn, "getBlockLocations")] == [0, 2 * BLOCK, 4 * BLOCK]
