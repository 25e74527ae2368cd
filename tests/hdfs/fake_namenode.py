"""An in-memory stand-in for :class:`pyarn.hdfs.namenode.NameNodeClient`, for tests without a cluster.

It keeps a namespace of directories and files; the blocks it allocates are
written to and read from :class:`~tests.hdfs.datanode_peer.DataNodePeer`
instances over real sockets. Every call is recorded in ``calls``; errors are
the ones the real NameNode sends (as pyarn's exception classes).
"""
from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Dict, List, Optional, Sequence, Tuple

import attrs

from hadoop_protos import hdfs_pb2
from hadoop_protos.security_pb2 import TokenProto
from pyarn.errors import FileAlreadyExistsError, ParentNotDirectoryError, RemoteFileNotFoundError
from pyarn.hdfs.checksum import ChecksumType
from pyarn.hdfs.datatransfer import xfer_addr
from pyarn.hdfs.lease import LeaseRenewer
from pyarn.hdfs.namenode import (
    ContentSummary,
    DirectoryNotEmptyError,
    FileStatus,
    FileType,
    ListingPage,
    ServerDefaults,
)

from .datanode_peer import DataNodePeer

NOW = datetime(2024, 5, 6, 7, 8, tzinfo=timezone.utc)  # noqa: UP017


@attrs.define
class Node:
    type: FileType
    permission: int
    file_id: int
    block_size: int = 0
    replication: int = 0
    blocks: List[hdfs_pb2.ExtendedBlockProto] = attrs.Factory(list)
    complete: bool = True
    owner: str = "tester"
    group: str = "testers"


class FakeNameNode:
    """Enough of ``NameNodeClient`` for ``HDFS``, ``HdfsReader`` and ``HdfsWriter``."""

    def __init__(self, peers: Sequence[DataNodePeer], listing_page: int = 1000) -> None:
        self.peers = list(peers)
        self.client_name = "DFSClient_NONMAPREDUCE_fake_1"
        self.lease = LeaseRenewer(lambda: None)
        self.listing_page = listing_page
        self.nodes: Dict[str, Node] = {"/": Node(FileType.DIRECTORY, 0o755, 1)}
        self.calls: List[Tuple] = []
        self._ids = itertools.count(16386)
        self._block_ids = itertools.count(1073741825)
        #: Replicas that ``get_block_locations`` reports, by block id (default: every peer).
        self.replicas: Dict[int, List[DataNodePeer]] = {}
        self.defaults = ServerDefaults(128 * 1024 * 1024, 512, 65536, 1, 4096, False, 0, ChecksumType.CRC32C)
        #: The block token every located block carries; the keys ``get_data_encryption_key`` hands out.
        self.block_token = TokenProto(identifier=b"", password=b"", kind="", service="")
        self.data_encryption_keys: List = []

    def close(self) -> None:
        self.lease.close()

    # -- helpers ------------------------------------------------------------------

    def _node(self, path: str) -> Node:
        node = self.nodes.get(path)
        if node is None:
            raise RemoteFileNotFoundError(f"File does not exist: {path}")
        return node

    def _status(self, path: str, node: Node) -> FileStatus:
        length = sum(b.numBytes for b in node.blocks)
        return FileStatus(path=path, type=node.type, length=length, permission=node.permission,
                          owner=node.owner, group=node.group, modification_time=NOW, access_time=None,
                          replication=node.replication, block_size=node.block_size, file_id=node.file_id)

    def _children(self, path: str) -> List[str]:
        prefix = path.rstrip("/") + "/"
        return sorted(p for p in self.nodes if p.startswith(prefix) and "/" not in p[len(prefix):])

    def _make_parents(self, path: str, create: bool) -> None:
        parent = path.rsplit("/", 1)[0] or "/"
        node = self.nodes.get(parent)
        if node is None:
            if not create:
                raise RemoteFileNotFoundError(f"Parent directory doesn't exist: {parent}")
            self._make_parents(parent, True)
            self.nodes[parent] = Node(FileType.DIRECTORY, 0o755, next(self._ids))
        elif node.type is not FileType.DIRECTORY:
            raise ParentNotDirectoryError(f"Parent path is not a directory: {parent}")

    def _file(self, path: str, file_id: int) -> Node:
        node = self._node(path)
        assert node.file_id == file_id, (node.file_id, file_id)
        return node

    # -- namespace -------------------------------------------------------------------

    def get_file_info(self, path: str) -> Optional[FileStatus]:
        self.calls.append(("getFileInfo", path))
        node = self.nodes.get(path)
        return None if node is None else self._status(path, node)

    def get_listing(self, path: str, start_after: bytes = b"", need_location: bool = False) -> ListingPage:
        self.calls.append(("getListing", path, start_after))
        node = self._node(path)
        if node.type is not FileType.DIRECTORY:
            return ListingPage((self._status(path, node),), 0, b"")
        names = [c for c in self._children(path) if c.rsplit("/", 1)[1].encode() > start_after]
        page = names[:self.listing_page]
        entries = tuple(self._status(p, self.nodes[p]) for p in page)
        last = page[-1].rsplit("/", 1)[1].encode() if page else start_after
        return ListingPage(entries, len(names) - len(page), last)

    def list_directory(self, path: str, need_location: bool = False):
        page = self.get_listing(path)
        yield from page.entries
        while page.remaining:
            page = self.get_listing(path, page.last_name)
            yield from page.entries

    def mkdirs(self, path: str, permission: int = 0o755, create_parent: bool = True) -> bool:
        self.calls.append(("mkdirs", path, permission))
        node = self.nodes.get(path)
        if node is not None:
            if node.type is not FileType.DIRECTORY:
                raise FileAlreadyExistsError(f"Path is not a directory: {path}")
            return True
        self._make_parents(path, create_parent)
        self.nodes[path] = Node(FileType.DIRECTORY, permission, next(self._ids))
        return True

    def rename2(self, src: str, dst: str, overwrite: bool = False) -> None:
        self.calls.append(("rename2", src, dst, overwrite))
        node = self._node(src)
        if dst in self.nodes and not overwrite:
            raise FileAlreadyExistsError(f"rename destination {dst} already exists.")
        self._make_parents(dst, False)
        for path in [p for p in self.nodes if p == src or p.startswith(src + "/")]:
            self.nodes[dst + path[len(src):]] = self.nodes.pop(path)
        del node

    def delete(self, path: str, recursive: bool = False) -> bool:
        self.calls.append(("delete", path, recursive))
        if path not in self.nodes:
            return False
        if self._children(path) and not recursive:
            raise DirectoryNotEmptyError(f"`{path} is non empty': Directory is not empty")
        for p in [p for p in self.nodes if p == path or p.startswith(path + "/")]:
            del self.nodes[p]
        return True

    def set_permission(self, path: str, permission: int) -> None:
        self.calls.append(("setPermission", path, permission))
        self._node(path).permission = permission

    def set_owner(self, path: str, owner: Optional[str] = None, group: Optional[str] = None) -> None:
        self.calls.append(("setOwner", path, owner, group))
        node = self._node(path)
        node.owner = owner or node.owner
        node.group = group or node.group

    def set_replication(self, path: str, replication: int) -> bool:
        node = self._node(path)
        if node.type is not FileType.FILE:
            return False
        node.replication = replication
        return True

    def get_content_summary(self, path: str) -> ContentSummary:
        self._node(path)
        under = [(p, n) for p, n in self.nodes.items() if p == path or p.startswith(path.rstrip("/") + "/")]
        files = [n for _, n in under if n.type is FileType.FILE]
        length = sum(b.numBytes for n in files for b in n.blocks)
        return ContentSummary(length, len(files), len(under) - len(files), -1, length, -1)

    def get_server_defaults(self) -> ServerDefaults:
        return self.defaults

    def get_data_encryption_key(self):
        """``data_encryption_keys``, one per call (the last one again when they run out)."""
        self.calls.append(("getDataEncryptionKey",))
        if not self.defaults.encrypt_data_transfer:
            return None
        keys = self.data_encryption_keys
        return keys.pop(0) if len(keys) > 1 else keys[0]

    # -- writing ----------------------------------------------------------------------

    def create(self, path: str, permission: int = 0o644, *, overwrite: bool = False,
               create_parent: bool = True, replication: int, block_size: int) -> FileStatus:
        self.calls.append(("create", path, permission, overwrite))
        existing = self.nodes.get(path)
        if existing is not None:
            if existing.type is FileType.DIRECTORY:
                raise FileAlreadyExistsError(f"{path} already exists as a directory")
            if not overwrite:
                raise FileAlreadyExistsError(f"{path} for client 127.0.0.1 already exists")
        self._make_parents(path, create_parent)
        node = Node(FileType.FILE, permission, next(self._ids), block_size, replication, complete=False)
        self.nodes[path] = node
        return self._status(path, node)

    def append(self, path: str, new_block: bool = True):
        self.calls.append(("append", path))
        node = self._node(path)
        node.complete = False
        last = None
        if node.blocks:
            last = hdfs_pb2.LocatedBlockProto(b=node.blocks[-1], offset=0, corrupt=False,
                                              blockToken=self.block_token)
        return last, self._status(path, node)

    def add_block(self, path: str, file_id: int, previous=None, exclude=()) -> hdfs_pb2.LocatedBlockProto:
        self.calls.append(("addBlock", path, previous.numBytes if previous is not None else None,
                           [xfer_addr(dn) for dn in exclude]))
        node = self._file(path, file_id)
        if previous is not None:
            assert node.blocks and node.blocks[-1].blockId == previous.blockId
            node.blocks[-1].numBytes = previous.numBytes
        excluded = {xfer_addr(dn) for dn in exclude}
        peer = next((p for p in self.peers if xfer_addr(p.datanode()) not in excluded), None)
        if peer is None:
            raise RemoteFileNotFoundError("could only be replicated to 0 nodes")  # any error will do
        block = hdfs_pb2.ExtendedBlockProto(poolId="BP-fake", blockId=next(self._block_ids),
                                            generationStamp=1001, numBytes=0)
        node.blocks.append(block)
        self.replicas[block.blockId] = [peer]
        return self._located(block, 0, [peer])

    def abandon_block(self, block, path: str, file_id: int) -> None:
        self.calls.append(("abandonBlock", path, block.blockId))
        node = self._file(path, file_id)
        node.blocks = [b for b in node.blocks if b.blockId != block.blockId]

    def complete(self, path: str, file_id: int, last=None) -> None:
        self.calls.append(("complete", path, last.numBytes if last is not None else None))
        node = self._file(path, file_id)
        if last is not None:
            assert node.blocks[-1].blockId == last.blockId
            node.blocks[-1].numBytes = last.numBytes
        node.complete = True

    # -- reading ------------------------------------------------------------------------

    def _located(self, block, offset: int, peers: Sequence[DataNodePeer]) -> hdfs_pb2.LocatedBlockProto:
        located = hdfs_pb2.LocatedBlockProto(
            offset=offset, locs=[p.datanode(uuid=f"peer-{p.port}") for p in peers], corrupt=False,
            blockToken=self.block_token)
        located.b.CopyFrom(block)
        return located

    def get_block_locations(self, path: str, offset: int = 0, length: Optional[int] = None):
        self.calls.append(("getBlockLocations", path, offset, length))
        node = self._node(path)
        if node.type is not FileType.FILE:
            raise RemoteFileNotFoundError(f"Path is not a file: {path}")
        end = offset + (length if length is not None else 1 << 62)
        blocks, position = [], 0
        for block in node.blocks:
            if position + block.numBytes > offset and position < end:
                blocks.append(self._located(block, position, self.replicas.get(block.blockId, self.peers)))
            position += block.numBytes
        return hdfs_pb2.LocatedBlocksProto(fileLength=position, blocks=blocks, underConstruction=False,
                                           isLastBlockComplete=True)
