"""Blocks and DataNodes as the mini NameNode sees them.

DataNodes run in the same process: they register a :class:`DataNodeHandle`
and report finalized replicas with :meth:`BlockManager.block_received`
(Hadoop does this over DatanodeProtocol; here it is a method call). The
NameNode asks them back, also in-process, to delete replicas and to recover
the replica of a block whose writer went away.
"""
from __future__ import annotations

import random
import time
from typing import Dict, Iterable, List, Optional, Protocol, Sequence, Tuple

from hadoop_protos import hdfs_pb2
from hadoop_protos.security_pb2 import TokenProto

from .errors import io_error
from .namespace import Block, INodeFile, now_ms

__all__ = ["DataNodeHandle", "DatanodeDescriptor", "BlockManager", "FIRST_BLOCK_ID", "FIRST_GEN_STAMP"]

#: ``SequentialBlockIdGenerator``: ids up to 2**30 are reserved for legacy random ids.
FIRST_BLOCK_ID = (1 << 30) + 1
#: ``GenerationStamp.LAST_RESERVED_STAMP`` + 1.
FIRST_GEN_STAMP = 1001


class DataNodeHandle(Protocol):
    """What the NameNode needs of an in-process DataNode."""

    datanode_uuid: str
    storage_id: str
    host: str
    xfer_port: int

    def usage(self) -> Tuple[int, int, int]:
        """``(capacity, dfs_used, remaining)`` in bytes."""

    def invalidate(self, block_ids: Sequence[int]) -> None:
        """Delete these replicas (finalized or being written)."""

    def recover_replica(self, block_id: int, length: Optional[int]) -> Optional[int]:
        """Stop writing and finalize the replica (cut to ``length`` if given); its length or ``None``."""


class DatanodeDescriptor:
    """A registered DataNode and what it reported."""

    def __init__(self, node: DataNodeHandle) -> None:
        self.node = node
        self.uuid = node.datanode_uuid
        self.blocks: Dict[int, int] = {}  # block id -> reported length
        self.registered = time.monotonic()

    def id_proto(self) -> hdfs_pb2.DatanodeIDProto:
        return hdfs_pb2.DatanodeIDProto(
            ipAddr=self.node.host, hostName=self.node.host, datanodeUuid=self.uuid,
            xferPort=self.node.xfer_port, infoPort=0, ipcPort=0, infoSecurePort=0)

    def info_proto(self) -> hdfs_pb2.DatanodeInfoProto:
        capacity, used, remaining = self.node.usage()
        return hdfs_pb2.DatanodeInfoProto(
            id=self.id_proto(), capacity=capacity, dfsUsed=used, remaining=remaining,
            blockPoolUsed=used, lastUpdate=now_ms(), xceiverCount=0, location="/default-rack",
            adminState=hdfs_pb2.DatanodeInfoProto.NORMAL, cacheCapacity=0, cacheUsed=0,
            lastUpdateMonotonic=int(time.monotonic() * 1000))


class BlockManager:
    """Block ids, generation stamps, placement and replica bookkeeping.

    Not thread-safe by itself: the NameNode calls it under its namespace lock.
    """

    def __init__(self, pool_id: str, min_replication: int = 1) -> None:
        self.pool_id = pool_id
        self.min_replication = min_replication
        self.datanodes: Dict[str, DatanodeDescriptor] = {}
        self.blocks: Dict[int, Block] = {}
        self._next_block_id = FIRST_BLOCK_ID
        self._next_gen_stamp = FIRST_GEN_STAMP

    # -- DataNodes ------------------------------------------------------------

    def register(self, node: DataNodeHandle) -> DatanodeDescriptor:
        descriptor = DatanodeDescriptor(node)
        self.datanodes[descriptor.uuid] = descriptor
        return descriptor

    def unregister(self, uuid: str) -> None:
        descriptor = self.datanodes.pop(uuid, None)
        if descriptor is None:
            return
        for block_id in descriptor.blocks:
            block = self.blocks.get(block_id)
            if block is not None:
                block.replicas.pop(uuid, None)

    # -- allocation -------------------------------------------------------------

    def next_gen_stamp(self) -> int:
        stamp = self._next_gen_stamp
        self._next_gen_stamp += 1
        return stamp

    def choose_targets(self, src: str, replication: int, exclude: Iterable[str] = (),
                       favored: Iterable[str] = ()) -> List[DatanodeDescriptor]:
        """Up to ``replication`` live DataNodes (favored ``ip:port`` first, excluded uuids never)."""
        excluded = set(exclude)
        candidates = [dn for uuid, dn in self.datanodes.items() if uuid not in excluded]
        random.shuffle(candidates)
        wanted = set(favored)
        candidates.sort(key=lambda dn: f"{dn.node.host}:{dn.node.xfer_port}" not in wanted)
        chosen = candidates[:max(replication, 0)]
        if len(chosen) < self.min_replication:
            raise io_error(
                f"File {src} could only be replicated to {len(chosen)} nodes instead of minReplication "
                f"(={self.min_replication}).  There are {len(self.datanodes)} datanode(s) running and "
                f"{len(excluded & set(self.datanodes))} node(s) are excluded in this operation.")
        return chosen

    def allocate(self, file: INodeFile, targets: Sequence[DatanodeDescriptor]) -> Block:
        block = Block(self._next_block_id, self.next_gen_stamp(), [dn.uuid for dn in targets], file)
        self._next_block_id += 1
        self.blocks[block.block_id] = block
        file.blocks.append(block)
        return block

    # -- replica state -------------------------------------------------------------

    def commit(self, block: Block, num_bytes: int, gen_stamp: int) -> None:
        """The client's final word on a block's length; completes it if replicas agree."""
        if block.complete:
            return
        block.num_bytes = num_bytes
        block.gen_stamp = max(block.gen_stamp, gen_stamp)
        block.committed = True
        self._maybe_complete(block)

    def _maybe_complete(self, block: Block) -> None:
        if block.committed and len(block.good_replicas()) >= self.min_replication:
            block.complete = True

    def block_received(self, uuid: str, block_id: int, gen_stamp: int, num_bytes: int) -> bool:
        """A DataNode finalized a replica. ``False`` if the NameNode no longer wants it."""
        descriptor = self.datanodes.get(uuid)
        block = self.blocks.get(block_id)
        if descriptor is None or block is None or gen_stamp < block.gen_stamp:
            return False
        descriptor.blocks[block_id] = num_bytes
        block.replicas[uuid] = num_bytes
        if not block.committed and block.file is not None and not block.file.under_construction:
            block.num_bytes = num_bytes  # a recovered block: the replica's length is the truth
        self._maybe_complete(block)
        return True

    def remove(self, blocks: Iterable[Block]) -> Dict[str, List[int]]:
        """Forget ``blocks``; the replicas to delete, by DataNode uuid."""
        doomed: Dict[str, List[int]] = {}
        for block in blocks:
            self.blocks.pop(block.block_id, None)
            block.file = None
            for uuid in set(block.replicas) | set(block.expected):
                descriptor = self.datanodes.get(uuid)
                if descriptor is not None:
                    descriptor.blocks.pop(block.block_id, None)
                    doomed.setdefault(uuid, []).append(block.block_id)
        return doomed

    def locations(self, block: Block) -> List[DatanodeDescriptor]:
        """Where to read a block: the replicas reported, else (being written) the pipeline."""
        uuids = block.good_replicas() if block.complete else (list(block.replicas) or block.expected)
        return [self.datanodes[uuid] for uuid in uuids if uuid in self.datanodes]

    # -- protos -------------------------------------------------------------------

    def extended(self, block: Block) -> hdfs_pb2.ExtendedBlockProto:
        return hdfs_pb2.ExtendedBlockProto(poolId=self.pool_id, blockId=block.block_id,
                                           generationStamp=block.gen_stamp, numBytes=block.num_bytes)

    def located(self, block: Block, offset: int,
                nodes: Optional[Sequence[DatanodeDescriptor]] = None) -> hdfs_pb2.LocatedBlockProto:
        nodes = self.locations(block) if nodes is None else nodes
        return hdfs_pb2.LocatedBlockProto(
            b=self.extended(block), offset=offset, locs=[dn.info_proto() for dn in nodes], corrupt=False,
            blockToken=_EMPTY_TOKEN, isCached=[False] * len(nodes),
            storageTypes=[hdfs_pb2.DISK] * len(nodes), storageIDs=[dn.node.storage_id for dn in nodes])

    def stats(self) -> Tuple[int, int, int]:
        """``(capacity, used, remaining)`` over every DataNode."""
        totals = [0, 0, 0]
        for descriptor in self.datanodes.values():
            for i, value in enumerate(descriptor.node.usage()):
                totals[i] += value
        return totals[0], totals[1], totals[2]


#: Block tokens are off (as on an insecure cluster): every field empty, as Hadoop sends them.
_EMPTY_TOKEN = TokenProto(identifier=b"", password=b"", kind="", service="")
