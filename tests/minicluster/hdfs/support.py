"""NameNode calls and whole-file transfers for the MiniHDFS tests (pyarn.ipc + pyarn.hdfs.blocks)."""
from __future__ import annotations

import functools
import time
from typing import List, Optional

from hadoop_protos import acl_pb2, hdfs_pb2
from hadoop_protos import client_namenode_pb2 as cn
from pyarn.hdfs.blocks import BlockWriter, connect_datanode, read_block

MIB = 1024 * 1024
CLIENT = "DFSClient_NONMAPREDUCE_minihdfs_test_1"
factory = functools.partial(connect_datanode, timeout=10.0)


def perm(mode: int) -> acl_pb2.FsPermissionProto:
    return acl_pb2.FsPermissionProto(perm=mode)


def mkdir(nn, path: str, mode: int = 0o755, parents: bool = True) -> bool:
    return nn.call("mkdirs", cn.MkdirsRequestProto(src=path, masked=perm(mode), createParent=parents)).result


def create(nn, path: str, client: str = CLIENT, flags: int = 1, mode: int = 0o644, replication: int = 1,
           block_size: int = MIB, parents: bool = True) -> hdfs_pb2.HdfsFileStatusProto:
    return nn.call("create", cn.CreateRequestProto(
        src=path, masked=perm(mode), clientName=client, createFlag=flags, createParent=parents,
        replication=replication, blockSize=block_size)).fs


def stat(nn, path: str) -> Optional[hdfs_pb2.HdfsFileStatusProto]:
    response = nn.call("getFileInfo", cn.GetFileInfoRequestProto(src=path))
    return response.fs if response.HasField("fs") else None


def add_block(nn, path: str, file_id: int, previous=None, client: str = CLIENT) -> hdfs_pb2.LocatedBlockProto:
    request = cn.AddBlockRequestProto(src=path, clientName=client, fileId=file_id)
    if previous is not None:
        request.previous.CopyFrom(previous)
    return nn.call("addBlock", request).block


def complete(nn, path: str, file_id: int, last=None, client: str = CLIENT) -> bool:
    request = cn.CompleteRequestProto(src=path, clientName=client, fileId=file_id)
    if last is not None:
        request.last.CopyFrom(last)
    return nn.call("complete", request).result


def write_file(nn, path: str, data: bytes, replication: int = 1, block_size: int = MIB,
               client: str = CLIENT) -> None:
    """create, then addBlock / BlockWriter per block, then complete (as DFSOutputStream does)."""
    file_id = create(nn, path, client, flags=3, replication=replication, block_size=block_size).fileId
    previous, seqno = None, 0
    for start in range(0, len(data), block_size):
        located = add_block(nn, path, file_id, previous, client)
        with BlockWriter(factory, located, client, block_size=block_size, first_seqno=seqno) as writer:
            writer.write(data[start:start + block_size])
        previous, seqno = writer.block, writer.next_seqno
    for _ in range(50):
        if complete(nn, path, file_id, previous, client):
            return
        time.sleep(0.05)
    raise AssertionError(f"complete({path}) stayed false")


def locate(nn, path: str) -> List[hdfs_pb2.LocatedBlockProto]:
    request = cn.GetBlockLocationsRequestProto(src=path, offset=0, length=1 << 62)
    response = nn.call("getBlockLocations", request)
    return list(response.locations.blocks)


def read_file(nn, path: str, replica: int = 0) -> bytes:
    out = bytearray()
    for block in locate(nn, path):
        node = block.locs[replica]
        out += b"".join(read_block(factory, block, 0, block.b.numBytes, CLIENT, datanode=node))
    return bytes(out)
