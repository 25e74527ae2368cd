"""A pure-Python NameNode: ClientNamenodeProtocol over Hadoop IPC, namespace in memory.

:class:`NameNode` serves ``org.apache.hadoop.hdfs.protocol.ClientProtocol``
on an :class:`~pyarn.ipc.IpcServer`. Each RPC is a method named like the RPC
(``getFileInfo``, ``create``, ...); methods it lacks are answered with
Hadoop's ``RpcNoSuchMethodException`` by the IPC server. Semantics, checks and
error classes/messages follow Hadoop's ``FSNamesystem``/``FSDir*Op`` (as the
2.7 NameNode the project tests against behaves); see ``tests/minicluster/hdfs``.

DataNodes run in-process and talk to the NameNode with plain method calls:
:meth:`NameNode.register_datanode` and :meth:`NameNode.block_received`.
"""
from __future__ import annotations

import logging
import random
import threading
from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from hadoop_protos import acl_pb2, encryption_pb2, hdfs_pb2, security_pb2
from hadoop_protos import client_namenode_pb2 as cn
from hadoop_protos.client_namenode_rpc import CLIENT_NAMENODE_PROTOCOL
from pyarn.errors import RemoteError
from pyarn.ipc import AuthMethod, CallContext, IpcServer
from pyarn.security.tokens import Token
from pyarn.security.user import User

from ...security.groups import GroupMapping
from ..delegation import RENEW_INTERVAL_MS, DelegationTokenSecretManager, hdfs_codec
from ..security import ProxyUsers, impersonation_checked
from . import errors
from .blockmanager import BlockManager, DatanodeDescriptor, DataNodeHandle
from .blocktokens import READ as READ_ACCESS
from .blocktokens import WRITE as WRITE_ACCESS
from .blocktokens import BlockTokenSecretManager
from .leases import LeaseManager
from .namespace import (
    ROOT_INODE_ID,
    Block,
    INode,
    INodeDirectory,
    INodeFile,
    INodesInPath,
    now_ms,
    split_path,
)
from .permissions import ALL, READ, READ_EXECUTE, WRITE, PermissionChecker

if TYPE_CHECKING:
    from ..security import ClusterSecurity

__all__ = ["NameNode", "STORAGE_POLICIES"]

log = logging.getLogger(__name__)

MIB = 1024 * 1024
#: ``dfs.replication.max``.
MAX_REPLICATION = 512
#: ``dfs.namenode.accesstime.precision`` default, milliseconds.
ACCESS_TIME_PRECISION = 3600 * 1000
#: ``HdfsConstants.QUOTA_DONT_SET`` / no quota, as the unsigned proto field carries -1.
NO_QUOTA = (1 << 64) - 1
#: -1 in a uint64 proto field (``setTimes`` "leave as is").
_UNSET_TIME = (1 << 64) - 1
_CREATE, _OVERWRITE, _NEW_BLOCK = 1, 2, 32
_NEW_DIR_BITS = 0o300  # u+wx, added to implicitly created parent directories

#: Hadoop's built-in block storage policies: id → (name, creation, creation fallback, replication fallback).
STORAGE_POLICIES: Dict[int, Tuple[str, Sequence[int], Sequence[int], Sequence[int]]] = {
    2: ("COLD", [hdfs_pb2.ARCHIVE], [], []),
    5: ("WARM", [hdfs_pb2.DISK, hdfs_pb2.ARCHIVE], [hdfs_pb2.DISK, hdfs_pb2.ARCHIVE],
        [hdfs_pb2.DISK, hdfs_pb2.ARCHIVE]),
    7: ("HOT", [hdfs_pb2.DISK], [], [hdfs_pb2.ARCHIVE]),
    10: ("ONE_SSD", [hdfs_pb2.SSD, hdfs_pb2.DISK], [hdfs_pb2.SSD, hdfs_pb2.DISK],
         [hdfs_pb2.SSD, hdfs_pb2.DISK]),
    12: ("ALL_SSD", [hdfs_pb2.SSD], [hdfs_pb2.DISK], [hdfs_pb2.DISK]),
    15: ("LAZY_PERSIST", [hdfs_pb2.RAM_DISK, hdfs_pb2.DISK], [hdfs_pb2.DISK], [hdfs_pb2.DISK]),
}
_DEFAULT_POLICY = 7


def _absolute(src: str) -> None:
    if not src.startswith("/"):
        raise RemoteError("Absolute path required", "java.lang.AssertionError")


class NameNode:
    """The namespace, leases and block map, served over ClientNamenodeProtocol.

    ``superuser`` (default: the user running it, or with ``security`` the short
    name of the NameNode's principal, ``hdfs``) and members of
    ``supergroup`` pass every permission check. ``groups`` overrides the
    host's user database for the named users. ``replication`` and
    ``block_size`` are the server defaults; ``min_block_size`` is
    ``dfs.namenode.fs-limits.min-block-size``; ``ls_limit`` is ``dfs.ls.limit``.

    ``security`` (a :class:`~pyarn.minicluster.security.ClusterSecurity`) makes it a
    Kerberized NameNode: KERBEROS and TOKEN (``HDFS_DELEGATION_TOKEN``) at the cluster's
    QOPs, short user names by auth_to_local, real delegation tokens
    (``getDelegationToken``, ``renewDelegationToken``, ``cancelDelegationToken``) and,
    unless ``block_tokens`` is False, block access tokens the DataNodes check.
    ``token_renew_interval_ms`` is ``dfs.namenode.delegation.token.renew-interval``.
    Without ``security``, ``proxy_users`` (the ``hadoop.proxyuser.*`` settings) decide who may
    impersonate whom, as on any Hadoop NameNode.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, superuser: Optional[str] = None,
                 supergroup: str = "supergroup", replication: int = 3, block_size: int = 128 * MIB,
                 min_block_size: int = MIB, bytes_per_checksum: int = 512, write_packet_size: int = 65536,
                 ls_limit: int = 1000, groups: Optional[Dict[str, Sequence[str]]] = None,
                 lease_soft_limit: float = 60.0, lease_hard_limit: float = 1200.0,
                 security: Optional[ClusterSecurity] = None, block_tokens: Optional[bool] = None,
                 token_renew_interval_ms: int = RENEW_INTERVAL_MS,
                 proxy_users: Optional[Mapping[str, str]] = None) -> None:
        self.security = security
        if superuser is None:
            superuser = security.service_user("nn") if security is not None else User.current().name
        self.superuser = superuser
        self.supergroup = supergroup
        self.replication = replication
        self.block_size = block_size
        self.min_block_size = min_block_size
        self.bytes_per_checksum = bytes_per_checksum
        self.write_packet_size = write_packet_size
        self.ls_limit = ls_limit
        self.groups = GroupMapping(groups)
        self.pool_id = f"BP-{random.randint(1, 2**31 - 1)}-{host}-{now_ms()}"
        self.blocks = BlockManager(self.pool_id)
        self.leases = LeaseManager(lease_soft_limit, lease_hard_limit)
        self._lock = threading.RLock()
        self.root = INodeDirectory(ROOT_INODE_ID, "", 0o755, self.superuser, supergroup, now_ms())
        self._inodes: Dict[int, INode] = {ROOT_INODE_ID: self.root}
        self._next_inode_id = ROOT_INODE_ID + 1
        #: The delegation token secret manager (security on), else None.
        self.tokens: Optional[DelegationTokenSecretManager] = None
        #: The block key the DataNodes check block tokens with (``dfs.block.access.token.enable``), or None.
        self.block_tokens: Optional[BlockTokenSecretManager] = None
        if security is None:
            if block_tokens:
                self.block_tokens = BlockTokenSecretManager(self.pool_id)
            self.server = IpcServer(host, port, name="pyarn mini NameNode")
            self.server.register(CLIENT_NAMENODE_PROTOCOL,
                                 impersonation_checked(self, ProxyUsers(proxy_users or {}, self.groups)))
        else:
            self.tokens = DelegationTokenSecretManager(hdfs_codec(), security.short_name,
                                                       renew_interval_ms=token_renew_interval_ms)
            if block_tokens is None or block_tokens:
                self.block_tokens = BlockTokenSecretManager(self.pool_id)
            self.server = IpcServer(host, port, name="pyarn mini NameNode",
                                    auth=security.server_auth("nn", self.tokens))
            self.server.register(CLIENT_NAMENODE_PROTOCOL, security.authorized(self))

    # -- life cycle --------------------------------------------------------------------

    @property
    def address(self) -> Tuple[str, int]:
        return self.server.address

    def start(self) -> NameNode:
        self.server.start()
        log.info("mini NameNode serving on %s (block pool %s)", self.server.address_string, self.pool_id)
        return self

    def stop(self) -> None:
        self.server.stop()

    # -- the DataNodes' side (in-process) ------------------------------------------------------

    def register_datanode(self, node: DataNodeHandle) -> str:
        """Add a DataNode; returns the block pool id it stores blocks under."""
        with self._lock:
            self.blocks.register(node)
        return self.pool_id

    def unregister_datanode(self, uuid: str) -> None:
        with self._lock:
            self.blocks.unregister(uuid)

    def block_received(self, uuid: str, block_id: int, gen_stamp: int, num_bytes: int) -> bool:
        """A DataNode finalized a replica (an incremental block report). ``False``: delete it."""
        with self._lock:
            return self.blocks.block_received(uuid, block_id, gen_stamp, num_bytes)

    # -- helpers ------------------------------------------------------------------------

    def _checker(self, ctx: CallContext) -> PermissionChecker:
        user = ctx.user.name
        return PermissionChecker(user, self.groups(user), self.superuser, self.supergroup)

    def _resolve(self, src: str, what: str = "Invalid path name ") -> INodesInPath:
        try:
            components = split_path(src)
        except RemoteError:
            raise errors.invalid_path(f"{what}{src}") from None
        return INodesInPath.resolve(self.root, src, components)

    def _resolve_existing(self, src: str) -> INodesInPath:
        _absolute(src)
        return self._resolve(src)

    @staticmethod
    def _file(iip: INodesInPath, src: str) -> INodeFile:
        """``INodeFile.valueOf``."""
        node = iip.last
        if node is None:
            raise errors.not_found(f"File does not exist: {src}")
        if not isinstance(node, INodeFile):
            raise errors.not_found(f"Path is not a file: {src}")
        return node

    def _new_id(self) -> int:
        inode_id = self._next_inode_id
        self._next_inode_id += 1
        return inode_id

    def _mkdir(self, parent: INodeDirectory, name: str, permission: int, owner: str,
               now: int) -> INodeDirectory:
        directory = INodeDirectory(self._new_id(), name, permission, owner, parent.group, now)
        parent.add(directory)
        parent.mtime = now
        self._inodes[directory.inode_id] = directory
        return directory

    def _make_parents(self, iip: INodesInPath, permission: int, owner: str, now: int) -> INodeDirectory:
        """Create the missing directories above the last component; returns the parent."""
        inodes = iip.inodes
        node = inodes[0]
        for index in range(1, len(inodes) - 1):
            existing = inodes[index]
            if existing is None:
                assert isinstance(node, INodeDirectory)
                existing = self._mkdir(node, iip.components[index - 1], permission, owner, now)
                inodes[index] = existing
            node = existing
        if not isinstance(node, INodeDirectory):
            raise errors.parent_not_directory(f"{iip.prefix(len(inodes) - 2)} (is not a directory)")
        return node

    @staticmethod
    def _verify_parent(iip: INodesInPath) -> None:
        """``FSDirectory.verifyParentDir``."""
        if len(iip.inodes) < 2:
            return
        parent = iip.inodes[-2]
        parent_path = iip.prefix(len(iip.inodes) - 2)
        if parent is None:
            raise errors.not_found(f"Parent directory doesn't exist: {parent_path}")
        if not parent.is_dir:
            raise errors.parent_not_directory(f"Parent path is not a directory: {parent_path}")

    @staticmethod
    def _check_not_under_file(iip: INodesInPath) -> None:
        if iip.file_at is not None:
            raise errors.parent_not_directory(f"{iip.prefix(iip.file_at)} (is not a directory)")

    def _remove_subtree(self, node: INode) -> List[Block]:
        """Detach ``node``; close its open files; returns the blocks that went with it."""
        doomed: List[Block] = []
        stack = [node]
        while stack:
            current = stack.pop()
            self._inodes.pop(current.inode_id, None)
            if isinstance(current, INodeDirectory):
                stack.extend(current.children.values())
            elif isinstance(current, INodeFile):
                if current.under_construction:
                    self.leases.remove(current.client_name, current.inode_id)
                    current.client_name = None
                doomed.extend(current.blocks)
        parent = node.parent
        if parent is not None:
            parent.remove(node)
            parent.mtime = now_ms()
        return doomed

    def _invalidate(self, blocks: Iterable[Block]) -> None:
        """Forget ``blocks`` and have the DataNodes delete their replicas (outside the lock)."""
        with self._lock:
            doomed = self.blocks.remove(blocks)
            nodes = {uuid: self.blocks.datanodes[uuid].node for uuid in doomed
                     if uuid in self.blocks.datanodes}
        for uuid, block_ids in doomed.items():
            node = nodes.get(uuid)
            if node is None:
                continue
            try:
                node.invalidate(block_ids)
            except Exception:  # a DataNode's trouble must not fail the client's call
                log.exception("DataNode %s failed to delete blocks %s", uuid, block_ids)

    # -- protos --------------------------------------------------------------------------

    def _status(self, node: INode, name: bytes = b"",
                need_location: bool = False) -> hdfs_pb2.HdfsFileStatusProto:
        status = hdfs_pb2.HdfsFileStatusProto(
            path=name, permission=acl_pb2.FsPermissionProto(perm=node.permission), owner=node.owner,
            group=node.group, modification_time=node.mtime, access_time=node.atime, fileId=node.inode_id,
            storagePolicy=node.effective_storage_policy())
        if isinstance(node, INodeDirectory):
            status.fileType = hdfs_pb2.HdfsFileStatusProto.IS_DIR
            status.length = 0
            status.block_replication = 0
            status.blocksize = 0
            status.childrenNum = len(node.children)
        else:
            assert isinstance(node, INodeFile)
            status.fileType = hdfs_pb2.HdfsFileStatusProto.IS_FILE
            status.length = node.length()
            status.block_replication = node.replication
            status.blocksize = node.block_size
            status.childrenNum = 0
            if need_location:
                status.locations.CopyFrom(self._located_blocks(node, 0, 1 << 62))
        return status

    def _located_blocks(self, file: INodeFile, offset: int, length: int,
                        user: Optional[str] = None) -> hdfs_pb2.LocatedBlocksProto:
        """``BlockManager.createLocatedBlocks``; with ``user``, each block carries a READ block token
        for that user (when block tokens are on)."""
        blocks = file.blocks
        size = file.length_without_uc_block()
        result = hdfs_pb2.LocatedBlocksProto(fileLength=size, underConstruction=file.under_construction,
                                             isLastBlockComplete=False)
        if not blocks:
            return result
        count = 0 if blocks[0].num_bytes == 0 else len(blocks)
        index, position = 0, 0
        while index < count:
            if position + blocks[index].num_bytes > offset:
                break
            position += blocks[index].num_bytes
            index += 1
        if not (count and index == count):
            end = offset + length
            while True:
                result.blocks.append(self._signed(self.blocks.located(blocks[index], position), user,
                                                  READ_ACCESS))
                position += blocks[index].num_bytes
                index += 1
                if not (position < end and index < len(blocks)):
                    break
        last = blocks[-1]
        last_position = size - last.num_bytes if last.complete else size
        result.lastBlock.CopyFrom(self._signed(self.blocks.located(last, last_position), user, READ_ACCESS))
        result.isLastBlockComplete = last.complete
        return result

    def _signed(self, located: hdfs_pb2.LocatedBlockProto, user: Optional[str],
                mode: str = WRITE_ACCESS) -> hdfs_pb2.LocatedBlockProto:
        """``BlockManager.setBlockToken``: ``located`` with a block token for ``user`` and ``mode``."""
        if self.block_tokens is not None and user is not None:
            located.blockToken.CopyFrom(self.block_tokens.token(
                user, located.b.blockId, (mode,), list(located.storageTypes), list(located.storageIDs)))
        return located

    # -- leases ----------------------------------------------------------------------------

    def _check_lease(self, src: str, holder: str, file_id: int) -> INodeFile:
        """``FSNamesystem.checkLease``: the open file ``holder`` writes (by id when given)."""
        if file_id:
            node = self._inodes.get(file_id)
        else:
            node = self._resolve(src).last
        ident = f"{src} (inode {file_id})"
        lease = self.leases.get(holder)
        tail = str(lease) if lease is not None else f"Holder {holder} does not have any open files."
        if node is None:
            raise errors.lease_expired(f"No lease on {ident}: File does not exist. {tail}")
        if not isinstance(node, INodeFile):
            raise errors.lease_expired(f"No lease on {ident}: INode is not a regular file. {tail}")
        if not node.under_construction:
            raise errors.lease_expired(f"No lease on {ident}: File is not open for writing. {tail}")
        if node.client_name != holder:
            raise errors.lease_expired(
                f"Lease mismatch on {ident} owned by {node.client_name} but is accessed by {holder}")
        return node

    def _recover_lease_internal(self, op: str, file: INodeFile, src: str, holder: str, machine: str) -> None:
        """``recoverLeaseInternal`` for a file another client (or this one) still writes."""
        if not file.under_construction:
            return
        current = file.client_name
        assert current is not None
        if current == holder:
            raise errors.already_being_created(
                f"Failed to {op} {src} for {holder} on {machine} because {holder} is already the "
                f"current lease holder.")
        if not self.leases.soft_expired(current):
            raise errors.already_being_created(
                f"Failed to {op} {src} for {holder} on {machine} because this file lease is currently "
                f"owned by {current} on {file.client_machine}")
        log.info("lease of %s for %s expired: recovering %s", current, holder, src)
        self._release_lease(file)

    def _release_lease(self, file: INodeFile) -> None:
        """Close a file whose writer is gone: settle its last block with the DataNodes, then finalize."""
        last = file.blocks[-1] if file.blocks else None
        if last is not None and not last.complete:
            lengths: Dict[str, int] = {}
            for uuid in dict.fromkeys(list(last.expected) + list(last.replicas)):
                descriptor = self.blocks.datanodes.get(uuid)
                if descriptor is None:
                    continue
                length = descriptor.node.recover_replica(last.block_id, None)
                if length is not None:
                    lengths[uuid] = length
            if not lengths:
                file.blocks.pop()
                self.blocks.remove([last])
            else:
                agreed = min(lengths.values())
                last.replicas.clear()
                for uuid in lengths:
                    descriptor = self.blocks.datanodes[uuid]
                    if descriptor.node.recover_replica(last.block_id, agreed) == agreed:
                        descriptor.blocks[last.block_id] = agreed
                        last.replicas[uuid] = agreed
                self.blocks.commit(last, agreed, last.gen_stamp)
        self._finalize(file)

    def _finalize(self, file: INodeFile) -> None:
        self.leases.remove(file.client_name, file.inode_id)
        file.client_name = None
        file.client_machine = ""
        file.mtime = now_ms()

    def _expire_leases(self) -> None:
        for lease in self.leases.hard_expired():
            for inode_id in list(lease.files):
                file = self._inodes.get(inode_id)
                if isinstance(file, INodeFile) and file.under_construction:
                    log.info("lease of %s passed the hard limit: closing %s", lease.holder, file.full_path())
                    self._release_lease(file)
                else:
                    self.leases.remove(lease.holder, inode_id)

    # ================================================================ ClientProtocol: reads

    def getFileInfo(self, request: cn.GetFileInfoRequestProto,
                    ctx: CallContext) -> cn.GetFileInfoResponseProto:
        with self._lock:
            iip = self._resolve(request.src, "Invalid path name Invalid file name: ")
            self._checker(ctx).traverse(iip)
            node = iip.last
            if node is None:
                return cn.GetFileInfoResponseProto()
            return cn.GetFileInfoResponseProto(fs=self._status(node))

    def getFileLinkInfo(self, request: cn.GetFileLinkInfoRequestProto,
                        ctx: CallContext) -> cn.GetFileLinkInfoResponseProto:
        info = self.getFileInfo(cn.GetFileInfoRequestProto(src=request.src), ctx)
        return cn.GetFileLinkInfoResponseProto(fs=info.fs) if info.HasField("fs") else \
            cn.GetFileLinkInfoResponseProto()

    def getListing(self, request: cn.GetListingRequestProto, ctx: CallContext) -> cn.GetListingResponseProto:
        with self._lock:
            iip = self._resolve_existing(request.src)
            checker = self._checker(ctx)
            checker.traverse(iip)
            node = iip.last
            if node is None:
                return cn.GetListingResponseProto()
            if isinstance(node, INodeFile):
                listing = hdfs_pb2.DirectoryListingProto(
                    partialListing=[self._status(node, b"", request.needLocation)], remainingEntries=0)
                return cn.GetListingResponseProto(dirList=listing)
            assert isinstance(node, INodeDirectory)
            checker.check(iip, access=READ_EXECUTE)
            children, after = node.list_after(request.startAfter, self.ls_limit)
            listing = hdfs_pb2.DirectoryListingProto()
            budget = self.ls_limit
            for child in children:
                if budget <= 0:
                    break
                status = self._status(child, child.name.encode("utf-8"), request.needLocation)
                listing.partialListing.append(status)
                if request.needLocation and isinstance(child, INodeFile):
                    budget -= len(status.locations.blocks) * child.replication
            listing.remainingEntries = after - len(listing.partialListing)
            return cn.GetListingResponseProto(dirList=listing)

    def getBlockLocations(self, request: cn.GetBlockLocationsRequestProto,
                          ctx: CallContext) -> cn.GetBlockLocationsResponseProto:
        src = request.src
        with self._lock:
            iip = self._resolve_existing(src)
            self._checker(ctx).check(iip, access=READ)
            file = self._file(iip, src)
            if request.offset < 0:
                raise errors.illegal_argument(f"Negative offset is not supported. File: {src}")
            if request.length < 0:
                raise errors.illegal_argument(f"Negative length is not supported. File: {src}")
            now = now_ms()
            if now > file.atime + ACCESS_TIME_PRECISION:
                file.atime = now
            return cn.GetBlockLocationsResponseProto(
                locations=self._located_blocks(file, request.offset, request.length, ctx.user.name))

    def getContentSummary(self, request: cn.GetContentSummaryRequestProto,
                          ctx: CallContext) -> cn.GetContentSummaryResponseProto:
        with self._lock:
            iip = self._resolve_existing(request.path)
            self._checker(ctx).check(iip, sub=READ_EXECUTE)
            node = iip.last
            if node is None:
                raise errors.not_found(f"File does not exist: {request.path}")
            length = files = directories = consumed = 0
            stack = [node]
            while stack:
                current = stack.pop()
                if isinstance(current, INodeDirectory):
                    directories += 1
                    stack.extend(current.children.values())
                else:
                    assert isinstance(current, INodeFile)
                    files += 1
                    size = current.length()
                    length += size
                    consumed += size * current.replication
            summary = hdfs_pb2.ContentSummaryProto(
                length=length, fileCount=files, directoryCount=directories, quota=NO_QUOTA,
                spaceConsumed=consumed, spaceQuota=NO_QUOTA)
            return cn.GetContentSummaryResponseProto(summary=summary)

    def getPreferredBlockSize(self, request: cn.GetPreferredBlockSizeRequestProto,
                              ctx: CallContext) -> cn.GetPreferredBlockSizeResponseProto:
        with self._lock:
            iip = self._resolve_existing(request.filename)
            self._checker(ctx).traverse(iip)
            return cn.GetPreferredBlockSizeResponseProto(bsize=self._file(iip, request.filename).block_size)

    def isFileClosed(self, request: cn.IsFileClosedRequestProto,
                     ctx: CallContext) -> cn.IsFileClosedResponseProto:
        with self._lock:
            iip = self._resolve_existing(request.src)
            self._checker(ctx).traverse(iip)
            return cn.IsFileClosedResponseProto(result=not self._file(iip, request.src).under_construction)

    def checkAccess(self, request: cn.CheckAccessRequestProto,
                    ctx: CallContext) -> cn.CheckAccessResponseProto:
        with self._lock:
            iip = self._resolve_existing(request.path)
            if iip.last is None:
                raise errors.not_found(f"Path not found: {request.path}")
            self._checker(ctx).check(iip, access=int(request.mode))
            return cn.CheckAccessResponseProto()

    def getServerDefaults(self, request: cn.GetServerDefaultsRequestProto,
                          ctx: CallContext) -> cn.GetServerDefaultsResponseProto:
        defaults = hdfs_pb2.FsServerDefaultsProto(
            blockSize=self.block_size, bytesPerChecksum=self.bytes_per_checksum,
            writePacketSize=self.write_packet_size, replication=self.replication, fileBufferSize=4096,
            encryptDataTransfer=False, trashInterval=0, checksumType=hdfs_pb2.CHECKSUM_CRC32C)
        return cn.GetServerDefaultsResponseProto(serverDefaults=defaults)

    def getFsStats(self, request: cn.GetFsStatusRequestProto, ctx: CallContext) -> cn.GetFsStatsResponseProto:
        with self._lock:
            capacity, used, remaining = self.blocks.stats()
            missing = sum(1 for block in self.blocks.blocks.values()
                          if block.complete and not block.good_replicas())
            under = sum(1 for block in self.blocks.blocks.values()
                        if block.complete and block.file is not None
                        and 0 < len(block.good_replicas()) < block.file.replication)
        return cn.GetFsStatsResponseProto(capacity=capacity, used=used, remaining=remaining,
                                          under_replicated=under, corrupt_blocks=0, missing_blocks=missing,
                                          missing_repl_one_blocks=0)

    def getDatanodeReport(self, request: cn.GetDatanodeReportRequestProto,
                          ctx: CallContext) -> cn.GetDatanodeReportResponseProto:
        self._checker(ctx).check_superuser()
        with self._lock:
            live: List[DatanodeDescriptor] = list(self.blocks.datanodes.values())
        if request.type not in (cn.ALL, cn.LIVE):
            live = []
        return cn.GetDatanodeReportResponseProto(di=[dn.info_proto() for dn in live])

    def getDelegationToken(self, request: security_pb2.GetDelegationTokenRequestProto,
                           ctx: CallContext) -> security_pb2.GetDelegationTokenResponseProto:
        """A token of the caller (its full principal), renewable by ``renewer`` (stored as its short
        name); only over Kerberos. With security off a real NameNode runs no token secret manager
        and returns no token."""
        if self.tokens is None:
            return security_pb2.GetDelegationTokenResponseProto()
        self._kerberos_only(ctx, "issued")
        principal = getattr(ctx, "principal", "") or ctx.user.name
        real = getattr(ctx, "real_principal", None)
        token = self.tokens.create_token(principal, request.renewer, real)
        return security_pb2.GetDelegationTokenResponseProto(token=token.to_proto())

    def renewDelegationToken(self, request: security_pb2.RenewDelegationTokenRequestProto,
                             ctx: CallContext) -> security_pb2.RenewDelegationTokenResponseProto:
        """Renew a token for its renewer (over Kerberos); the new expiry time in ms."""
        manager = self._token_manager()
        self._kerberos_only(ctx, "renewed")
        expiry = manager.renew(Token.from_proto(request.token), ctx.user.name)
        return security_pb2.RenewDelegationTokenResponseProto(newExpiryTime=expiry)

    def cancelDelegationToken(self, request: security_pb2.CancelDelegationTokenRequestProto,
                              ctx: CallContext) -> security_pb2.CancelDelegationTokenResponseProto:
        """Cancel a token (its owner or renewer may)."""
        caller = getattr(ctx, "principal", "") or ctx.user.name
        self._token_manager().cancel(Token.from_proto(request.token), caller)
        return security_pb2.CancelDelegationTokenResponseProto()

    def _token_manager(self) -> DelegationTokenSecretManager:
        if self.tokens is None:
            raise errors.io_error("Delegation Token can be issued only with kerberos or web authentication "
                                  "(security is off on this NameNode)")
        return self.tokens

    @staticmethod
    def _kerberos_only(ctx: CallContext, what: str) -> None:
        """``FSNamesystem.isAllowedDelegationTokenOp``: not over a token connection."""
        if ctx.auth_method is not AuthMethod.KERBEROS:
            raise errors.io_error(f"Delegation Token can be {what} only with kerberos or web authentication")

    def setSafeMode(self, request: cn.SetSafeModeRequestProto,
                    ctx: CallContext) -> cn.SetSafeModeResponseProto:
        if request.action != cn.SAFEMODE_GET:
            self._checker(ctx).check_superuser()
        return cn.SetSafeModeResponseProto(result=False)

    def getStoragePolicies(self, request: cn.GetStoragePoliciesRequestProto,
                           ctx: CallContext) -> cn.GetStoragePoliciesResponseProto:
        return cn.GetStoragePoliciesResponseProto(policies=[_policy_proto(i) for i in STORAGE_POLICIES])

    def getStoragePolicy(self, request: cn.GetStoragePolicyRequestProto,
                         ctx: CallContext) -> cn.GetStoragePolicyResponseProto:
        with self._lock:
            iip = self._resolve_existing(request.path)
            self._checker(ctx).traverse(iip)
            if iip.last is None:
                raise errors.not_found(f"File/Directory does not exist: {request.path}")
            policy = iip.last.effective_storage_policy() or _DEFAULT_POLICY
        return cn.GetStoragePolicyResponseProto(storagePolicy=_policy_proto(policy))

    def getEZForPath(self, request: encryption_pb2.GetEZForPathRequestProto,
                     ctx: CallContext) -> encryption_pb2.GetEZForPathResponseProto:
        with self._lock:
            iip = self._resolve_existing(request.src)
            self._checker(ctx).traverse(iip)
            if iip.last is None:
                raise errors.not_found(f"Path not found: {request.src}")
        return encryption_pb2.GetEZForPathResponseProto()

    def listEncryptionZones(self, request: encryption_pb2.ListEncryptionZonesRequestProto,
                            ctx: CallContext) -> encryption_pb2.ListEncryptionZonesResponseProto:
        self._checker(ctx).check_superuser()
        return encryption_pb2.ListEncryptionZonesResponseProto(hasMore=False)

    # ================================================================ ClientProtocol: namespace

    def mkdirs(self, request: cn.MkdirsRequestProto, ctx: CallContext) -> cn.MkdirsResponseProto:
        src = request.src
        with self._lock:
            iip = self._resolve(src)
            checker = self._checker(ctx)
            self._check_not_under_file(iip)
            checker.traverse(iip)
            last = iip.last
            if isinstance(last, INodeFile):
                raise errors.already_exists(f"Path is not a directory: {src}")
            if last is None:
                checker.check(iip, ancestor=WRITE)
                if not request.createParent:
                    self._verify_parent(iip)
                now = now_ms()
                permission = request.masked.perm & 0o7777
                parent = self._make_parents(iip, permission | _NEW_DIR_BITS, ctx.user.name, now)
                self._mkdir(parent, iip.components[-1], permission, ctx.user.name, now)
        return cn.MkdirsResponseProto(result=True)

    def delete(self, request: cn.DeleteRequestProto, ctx: CallContext) -> cn.DeleteResponseProto:
        src = request.src
        with self._lock:
            iip = self._resolve_existing(src)
            node = iip.last
            if not request.recursive and isinstance(node, INodeDirectory) and node.children:
                raise errors.not_empty(src)
            self._checker(ctx).check(iip, parent=WRITE, sub=ALL, ignore_empty_dir=True)
            if node is None or node is self.root:
                return cn.DeleteResponseProto(result=False)
            doomed = self._remove_subtree(node)
        self._invalidate(doomed)
        return cn.DeleteResponseProto(result=True)

    def rename(self, request: cn.RenameRequestProto, ctx: CallContext) -> cn.RenameResponseProto:
        """The old rename: moves into an existing directory; ``false`` instead of most errors."""
        src, dst = request.src, request.dst
        with self._lock:
            src_iip = self._resolve_existing(src)
            dst_iip = self._resolve(dst, "Invalid name: ")
            if isinstance(dst_iip.last, INodeDirectory) and src_iip.last is not None:
                dst = dst.rstrip("/") + "/" + src_iip.last.name
                dst_iip = self._resolve(dst, "Invalid name: ")
            checker = self._checker(ctx)
            checker.check(src_iip, parent=WRITE)
            checker.check(dst_iip, ancestor=WRITE)
            node = src_iip.last
            if node is None or node is self.root:
                return cn.RenameResponseProto(result=False)
            if dst_iip.path == src_iip.path:
                return cn.RenameResponseProto(result=True)
            if dst.startswith(src.rstrip("/") + "/") or dst_iip.last is not None:
                return cn.RenameResponseProto(result=False)
            parent = dst_iip.parent
            if not isinstance(parent, INodeDirectory):
                return cn.RenameResponseProto(result=False)
            self._move(node, parent, dst_iip.components[-1])
        return cn.RenameResponseProto(result=True)

    def rename2(self, request: cn.Rename2RequestProto, ctx: CallContext) -> cn.Rename2ResponseProto:
        src, dst = request.src, request.dst
        doomed: List[Block] = []
        with self._lock:
            src_iip = self._resolve_existing(src)
            dst_iip = self._resolve(dst, "Invalid name: ")
            checker = self._checker(ctx)
            checker.check(src_iip, parent=WRITE)
            checker.check(dst_iip, ancestor=WRITE)
            node = src_iip.last
            if node is None:
                raise errors.not_found(f"rename source {src} is not found.")
            if node is self.root:
                raise errors.io_error("rename source cannot be the root")
            if dst_iip.path.rstrip("/") == src.rstrip("/"):
                raise errors.already_exists(f"The source {src} and destination {dst} are the same")
            if dst.startswith(src.rstrip("/") + "/"):
                raise errors.io_error(f"Rename destination {dst} is a directory or file under source {src}")
            if not dst_iip.components:
                raise errors.io_error("rename destination cannot be the root")
            target = dst_iip.last
            if target is not None:
                if target.is_dir != node.is_dir:
                    raise errors.io_error(f"Source {src} and destination {dst} must both be directories")
                if not request.overwriteDest:
                    raise errors.already_exists(f"rename destination {dst} already exists")
                if isinstance(target, INodeDirectory) and target.children:
                    raise errors.io_error(f"rename destination directory is not empty: {dst}")
            parent = dst_iip.parent
            if parent is None:
                raise errors.not_found(f"rename destination parent {dst} not found.")
            if not isinstance(parent, INodeDirectory):
                raise errors.parent_not_directory(f"rename destination parent {dst} is a file.")
            if target is not None:
                doomed = self._remove_subtree(target)
            self._move(node, parent, dst_iip.components[-1])
        self._invalidate(doomed)
        return cn.Rename2ResponseProto()

    def _move(self, node: INode, parent: INodeDirectory, name: str) -> None:
        now = now_ms()
        old_parent = node.parent
        assert old_parent is not None
        old_parent.remove(node)
        old_parent.mtime = now
        node.name = name
        parent.add(node)
        parent.mtime = now

    def setPermission(self, request: cn.SetPermissionRequestProto,
                      ctx: CallContext) -> cn.SetPermissionResponseProto:
        with self._lock:
            iip = self._resolve_existing(request.src)
            if iip.last is None:
                raise errors.not_found(f"Directory/File does not exist {request.src}")
            self._checker(ctx).check(iip, owner=True)
            iip.last.permission = request.permission.perm & 0o7777
        return cn.SetPermissionResponseProto()

    def setOwner(self, request: cn.SetOwnerRequestProto, ctx: CallContext) -> cn.SetOwnerResponseProto:
        with self._lock:
            iip = self._resolve_existing(request.src)
            node = iip.last
            if node is None:
                raise errors.not_found(f"Directory/File does not exist {request.src}")
            checker = self._checker(ctx)
            checker.check(iip, owner=True)
            username = request.username if request.HasField("username") else None
            group = request.groupname if request.HasField("groupname") else None
            if not checker.is_super:
                if username is not None and username != checker.user:
                    raise errors.access_denied("Non-super user cannot change owner")
                if group is not None and group not in checker.groups:
                    raise errors.access_denied(f"User does not belong to {group}")
            if username:
                node.owner = username
            if group:
                node.group = group
        return cn.SetOwnerResponseProto()

    def setReplication(self, request: cn.SetReplicationRequestProto,
                       ctx: CallContext) -> cn.SetReplicationResponseProto:
        with self._lock:
            self._verify_replication(request.src, request.replication, None)
            iip = self._resolve_existing(request.src)
            self._checker(ctx).check(iip, access=WRITE)
            node = iip.last
            if not isinstance(node, INodeFile):
                return cn.SetReplicationResponseProto(result=False)
            node.replication = request.replication
        return cn.SetReplicationResponseProto(result=True)

    def setTimes(self, request: cn.SetTimesRequestProto, ctx: CallContext) -> cn.SetTimesResponseProto:
        with self._lock:
            iip = self._resolve_existing(request.src)
            self._checker(ctx).check(iip, access=WRITE)
            node = iip.last
            if node is None:
                raise errors.not_found(f"File/Directory {request.src} does not exist.")
            if request.mtime not in (_UNSET_TIME, -1):
                node.mtime = request.mtime
            if request.atime not in (_UNSET_TIME, -1):
                node.atime = request.atime
        return cn.SetTimesResponseProto()

    def setStoragePolicy(self, request: cn.SetStoragePolicyRequestProto,
                         ctx: CallContext) -> cn.SetStoragePolicyResponseProto:
        policy = _policy_id(request.policyName)
        with self._lock:
            iip = self._resolve_existing(request.src)
            self._checker(ctx).check(iip, access=WRITE)
            if iip.last is None:
                raise errors.not_found(f"File/Directory does not exist: {request.src}")
            iip.last.storage_policy = policy
        return cn.SetStoragePolicyResponseProto()

    def unsetStoragePolicy(self, request: cn.UnsetStoragePolicyRequestProto,
                           ctx: CallContext) -> cn.UnsetStoragePolicyResponseProto:
        with self._lock:
            iip = self._resolve_existing(request.src)
            self._checker(ctx).check(iip, access=WRITE)
            if iip.last is None:
                raise errors.not_found(f"File/Directory does not exist: {request.src}")
            iip.last.storage_policy = 0
        return cn.UnsetStoragePolicyResponseProto()

    # ================================================================ ClientProtocol: writing

    def _verify_replication(self, src: str, replication: int, machine: Optional[str]) -> None:
        """``BlockManager.verifyReplication``."""
        if replication < self.blocks.min_replication:
            detail = f"Requested replication {replication} is less than the required minimum " \
                     f"{self.blocks.min_replication}"
        elif replication > MAX_REPLICATION:
            detail = f"Requested replication {replication} exceeds maximum {MAX_REPLICATION}"
        else:
            return
        message = f"file {src} on client {machine or 'null'}.\n{detail}"
        raise RemoteError(message.split("\n", 1)[0], errors.IO_EXCEPTION, java_text=message)

    def create(self, request: cn.CreateRequestProto, ctx: CallContext) -> cn.CreateResponseProto:
        src, holder, machine = request.src, request.clientName, ctx.remote_address[0]
        user = ctx.user.name
        policy = _policy_id(request.storagePolicy) if request.storagePolicy else 0
        doomed: List[Block] = []
        with self._lock:
            self._expire_leases()
            iip = self._resolve(src)
            self._verify_replication(src, request.replication, machine)
            if request.blockSize < self.min_block_size:
                raise errors.io_error(
                    f"Specified block size is less than configured minimum value "
                    f"(dfs.namenode.fs-limits.min-block-size): {request.blockSize} < {self.min_block_size}")
            self._check_not_under_file(iip)
            checker = self._checker(ctx)
            checker.traverse(iip)
            existing = iip.last
            if isinstance(existing, INodeDirectory):
                raise errors.already_exists(f"{src} already exists as a directory")
            overwrite = bool(request.createFlag & _OVERWRITE)
            if overwrite and existing is not None:
                checker.check(iip, access=WRITE)
            checker.check(iip, ancestor=WRITE)
            if not request.createParent:
                self._verify_parent(iip)
            if isinstance(existing, INodeFile):
                if not overwrite:
                    self._recover_lease_internal("CREATE_FILE", existing, src, holder, machine)
                    raise errors.already_exists(f"{src} for client {machine} already exists")
                doomed = self._remove_subtree(existing)
                iip = self._resolve(src)
            elif not request.createFlag & _CREATE:
                raise errors.not_found(f"Can't overwrite non-existent {src} for client {machine}")
            now = now_ms()
            ancestor = iip.inodes[iip.last_existing()]
            parent = self._make_parents(iip, ancestor.permission | _NEW_DIR_BITS, user, now)
            file = INodeFile(self._new_id(), iip.components[-1], request.masked.perm & 0o7777, user,
                             parent.group, now, request.replication, request.blockSize)
            file.storage_policy = policy
            file.client_name, file.client_machine = holder, machine
            parent.add(file)
            parent.mtime = now
            self._inodes[file.inode_id] = file
            self.leases.add(holder, file.inode_id)
            status = self._status(file)
        self._invalidate(doomed)
        return cn.CreateResponseProto(fs=status)

    def append(self, request: cn.AppendRequestProto, ctx: CallContext) -> cn.AppendResponseProto:
        src, holder, machine = request.src, request.clientName, ctx.remote_address[0]
        user = ctx.user.name
        with self._lock:
            self._expire_leases()
            iip = self._resolve_existing(src)
            checker = self._checker(ctx)
            checker.traverse(iip)
            node = iip.last
            if node is None:
                raise errors.not_found(f"failed to append to non-existent file {src} for client {machine}")
            if not isinstance(node, INodeFile):
                raise errors.already_exists(
                    f"Cannot append to directory {src}; already exists as a directory.")
            checker.check(iip, access=WRITE)
            self._recover_lease_internal("APPEND_FILE", node, src, holder, machine)
            node.client_name, node.client_machine = holder, machine
            self.leases.add(holder, node.inode_id)
            response = cn.AppendResponseProto()
            last = node.blocks[-1] if node.blocks else None
            if last is not None and request.flag & _NEW_BLOCK:
                # the client starts a new block, passing this one as 'previous'
                offset = node.length() - last.num_bytes
                response.block.CopyFrom(self._signed(self.blocks.located(last, offset, nodes=()), user))
            elif last is not None and last.num_bytes < node.block_size:
                # reopen the partial last block: the client appends to it through a new pipeline
                last.expected = last.good_replicas() or list(last.replicas)
                last.replicas.clear()
                last.committed = last.complete = False
                offset = node.length() - last.num_bytes
                response.block.CopyFrom(self._signed(self.blocks.located(last, offset), user))
            response.stat.CopyFrom(self._status(node))
            return response

    def addBlock(self, request: cn.AddBlockRequestProto, ctx: CallContext) -> cn.AddBlockResponseProto:
        src, holder = request.src, request.clientName
        with self._lock:
            file = self._check_lease(src, holder, request.fileId)
            previous = request.previous if request.HasField("previous") else None
            blocks = file.blocks
            last = blocks[-1] if blocks else None
            penultimate = blocks[-2].block_id if len(blocks) > 1 else None
            if last is not None and not last.committed and not last.replicas and (
                    (previous is None and len(blocks) == 1)
                    or (previous is not None and penultimate == previous.blockId)):
                # a retried addBlock: hand out the block allocated the first time
                offset = file.length() - last.num_bytes
                return cn.AddBlockResponseProto(block=self._signed(self.blocks.located(last, offset),
                                                                   ctx.user.name))
            at_boundary = previous is None and last is not None and last.complete and \
                last.num_bytes >= file.block_size  # the first block of an append at a block boundary
            if not at_boundary and ((previous is None) != (last is None) or (
                    previous is not None and last is not None and previous.blockId != last.block_id)):
                raise errors.io_error(
                    f"Cannot allocate block in {src}: passed 'previous' block {_block_name(previous)} does "
                    f"not match actual last block in file {last!r}")
            if last is not None and previous is not None:
                self.blocks.commit(last, previous.numBytes, previous.generationStamp)
                if len(blocks) > 1 and not blocks[-2].complete:
                    raise errors.not_replicated_yet(src)
            exclude = [dn.id.datanodeUuid for dn in request.excludeNodes]
            targets = self.blocks.choose_targets(src, file.replication, exclude, request.favoredNodes)
            offset = file.length()
            block = self.blocks.allocate(file, targets)
            return cn.AddBlockResponseProto(block=self._signed(self.blocks.located(block, offset, targets),
                                                               ctx.user.name))

    def complete(self, request: cn.CompleteRequestProto, ctx: CallContext) -> cn.CompleteResponseProto:
        src, holder = request.src, request.clientName
        last = request.last if request.HasField("last") else None
        with self._lock:
            try:
                file = self._check_lease(src, holder, request.fileId)
            except RemoteError:
                node = self._inodes.get(request.fileId) if request.fileId else self._resolve(src).last
                if isinstance(node, INodeFile) and not node.under_construction and (
                        (last is None and not node.blocks) or (
                        last is not None and node.blocks and node.blocks[-1].block_id == last.blockId
                        and node.blocks[-1].gen_stamp == last.generationStamp)):
                    return cn.CompleteResponseProto(result=True)  # a retry of a complete that succeeded
                raise
            blocks = file.blocks
            if last is not None:
                if not blocks or blocks[-1].block_id != last.blockId:
                    raise errors.io_error(f"Trying to commit block {_block_name(last)} of {src}, but its "
                                          f"last block is {blocks[-1] if blocks else None!r}")
                self.blocks.commit(blocks[-1], last.numBytes, last.generationStamp)
            if not all(block.complete for block in blocks):
                return cn.CompleteResponseProto(result=False)
            self._finalize(file)
        return cn.CompleteResponseProto(result=True)

    def abandonBlock(self, request: cn.AbandonBlockRequestProto,
                     ctx: CallContext) -> cn.AbandonBlockResponseProto:
        doomed: List[Block] = []
        with self._lock:
            file = self._check_lease(request.src, request.holder, request.fileId)
            if file.blocks and file.blocks[-1].block_id == request.b.blockId:
                doomed.append(file.blocks.pop())
        self._invalidate(doomed)
        return cn.AbandonBlockResponseProto()

    def fsync(self, request: cn.FsyncRequestProto, ctx: CallContext) -> cn.FsyncResponseProto:
        with self._lock:
            file = self._check_lease(request.src, request.client, request.fileId)
            if request.lastBlockLength > 0 and file.blocks and not file.blocks[-1].committed:
                file.blocks[-1].num_bytes = request.lastBlockLength
        return cn.FsyncResponseProto()

    def renewLease(self, request: cn.RenewLeaseRequestProto, ctx: CallContext) -> cn.RenewLeaseResponseProto:
        with self._lock:
            self.leases.renew(request.clientName)
            self._expire_leases()
        return cn.RenewLeaseResponseProto()

    def recoverLease(self, request: cn.RecoverLeaseRequestProto,
                     ctx: CallContext) -> cn.RecoverLeaseResponseProto:
        """Close a file another writer left open, at the length its DataNodes agree on."""
        with self._lock:
            iip = self._resolve_existing(request.src)
            self._checker(ctx).check(iip, access=WRITE)
            file = self._file(iip, request.src)
            if file.under_construction:
                log.info("recoverLease of %s by %s (held by %s)", request.src, request.clientName,
                         file.client_name)
                self._release_lease(file)
        return cn.RecoverLeaseResponseProto(result=True)

    def updateBlockForPipeline(self, request: cn.UpdateBlockForPipelineRequestProto,
                               ctx: CallContext) -> cn.UpdateBlockForPipelineResponseProto:
        """A new generation stamp for a block whose pipeline is (re)built, e.g. to append to it."""
        with self._lock:
            block = self._uc_block(request.block, request.clientName)
            block.gen_stamp = self.blocks.next_gen_stamp()
            file = block.file
            assert file is not None
            offset = sum(b.num_bytes for b in file.blocks[:file.blocks.index(block)])
            return cn.UpdateBlockForPipelineResponseProto(
                block=self._signed(self.blocks.located(block, offset), ctx.user.name))

    def updatePipeline(self, request: cn.UpdatePipelineRequestProto,
                       ctx: CallContext) -> cn.UpdatePipelineResponseProto:
        with self._lock:
            block = self._uc_block(request.oldBlock, request.clientName)
            block.gen_stamp = request.newBlock.generationStamp
            block.num_bytes = request.newBlock.numBytes
            block.expected = [node.datanodeUuid for node in request.newNodes]
        return cn.UpdatePipelineResponseProto()

    def _uc_block(self, extended: hdfs_pb2.ExtendedBlockProto, holder: str) -> Block:
        """``checkUCBlock``: a block of a file ``holder`` is writing."""
        block = self.blocks.blocks.get(extended.blockId)
        file = block.file if block is not None else None
        if block is None or file is None or block.complete or block.committed:
            raise errors.io_error(f"{_block_name(extended)} does not exist or is not under Construction")
        self._check_lease(file.full_path(), holder, file.inode_id)
        return block


def _block_name(block: Optional[hdfs_pb2.ExtendedBlockProto]) -> str:
    if block is None:
        return "null"
    return f"{block.poolId}:blk_{block.blockId}_{block.generationStamp}"


def _policy_id(name: str) -> int:
    for policy_id, (policy_name, *_rest) in STORAGE_POLICIES.items():
        if policy_name == name:
            return policy_id
    raise errors.illegal_argument(f"Cannot find a block policy with the name {name}")


def _policy_proto(policy_id: int) -> hdfs_pb2.BlockStoragePolicyProto:
    name, creation, creation_fallback, replication_fallback = STORAGE_POLICIES[policy_id]
    proto = hdfs_pb2.BlockStoragePolicyProto(policyId=policy_id, name=name)
    proto.creationPolicy.storageTypes.extend(creation)
    if creation_fallback:
        proto.creationFallbackPolicy.storageTypes.extend(creation_fallback)
    if replication_fallback:
        proto.replicationFallbackPolicy.storageTypes.extend(replication_fallback)
    return proto
