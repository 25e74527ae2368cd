"""The NameNode's client protocol (``ClientProtocol``), typed.

:class:`NameNodeClient` sends each call through one
:class:`~pyarn.ipc.FailoverProxy` over the NameNodes of a file system (one
address, or every NameNode of an HA nameservice) and returns the records of
this module: :class:`FileStatus`, :class:`ContentSummary`,
:class:`ServerDefaults`. Block plumbing (``getBlockLocations``, ``addBlock``,
``append``) stays in protobuf (``LocatedBlocksProto``, ``LocatedBlockProto``,
``ExtendedBlockProto``), because :mod:`pyarn.hdfs.blocks` consumes exactly those.

The client has one lease-holder name, like Java's ``DFSClient``
(``DFSClient_NONMAPREDUCE_<random>_<thread>``), and one
:class:`~pyarn.hdfs.lease.LeaseRenewer` that renews its leases while files
are open for writing.

Java exceptions of HDFS that callers act on have Python classes in
:mod:`pyarn.errors` (``RemoteFileNotFoundError``, ``FileAlreadyExistsError``,
``AccessControlError``, :class:`DirectoryNotEmptyError`,
:class:`NotReplicatedYetError`, ...); the HDFS ones are re-exported here.
"""
from __future__ import annotations

import enum
import logging
import random
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import attrs

from hadoop_protos import acl_pb2, hdfs_pb2, security_pb2
from hadoop_protos import client_namenode_pb2 as cn
from hadoop_protos.client_namenode_rpc import CLIENT_NAMENODE_PROTOCOL

from ..conf import Configuration, namenode_addresses
from ..errors import (  # the HDFS exceptions live in pyarn.errors; re-exported here
    AlreadyBeingCreatedError,
    DirectoryNotEmptyError,
    FileAlreadyExistsError,
    LeaseExpiredError,
    NotReplicatedYetError,
    PyarnError,
    QuotaExceededError,
    RemoteFileNotFoundError,
)
from ..ipc.auth import select_token
from ..ipc.client import RpcClient
from ..ipc.protocol_client import ProtocolClient
from ..ipc.retry import RetryPolicy
from ..ipc.settings import IpcSettings
from ..net import AddressLike, token_service
from ..security.tokens import Token
from ..security.user import User
from .checksum import ChecksumType, DataChecksum
from .lease import LeaseRenewer

if TYPE_CHECKING:  # imported on use: it loads the SASL mechanisms
    from .datatransfer_sasl import DataEncryptionKey

__all__ = [
    "NameNodeClient", "FileStatus", "FileType", "ContentSummary", "ServerDefaults", "ListingPage",
    "permission_string", "new_client_name",
    "DirectoryNotEmptyError", "NotReplicatedYetError", "LeaseExpiredError", "AlreadyBeingCreatedError",
    "QuotaExceededError", "CompleteFileError", "not_found", "file_exists",
]

log = logging.getLogger(__name__)

_UTC = timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+)
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
#: ``FsPermissionExtension`` bits that HDFS 2.x sets above the 12 permission bits.
_ACL_BIT = 1 << 12
_ENCRYPTED_BIT = 1 << 13
_ERASURE_CODED_BIT = 1 << 14
#: What getBlockLocations may ask for: "to the end of the file".
_WHOLE_FILE = (1 << 63) - 1
#: ``HdfsConstants.HA_DT_SERVICE_PREFIX`` + scheme.
_HA_TOKEN_PREFIX = "ha-hdfs:"


# --------------------------------------------------------------------------- errors


class CompleteFileError(PyarnError, OSError):
    """``complete`` kept answering false: the last block never reached its minimal replication."""


# --------------------------------------------------------------------------- records


class FileType(str, enum.Enum):  # noqa: UP042 (StrEnum is 3.11+)
    """What an HDFS path is."""

    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def from_proto(cls, number: int) -> FileType:
        return _FILE_TYPES[number]


_FILE_TYPES: Dict[int, FileType] = {
    hdfs_pb2.HdfsFileStatusProto.IS_FILE: FileType.FILE,
    hdfs_pb2.HdfsFileStatusProto.IS_DIR: FileType.DIRECTORY,
    hdfs_pb2.HdfsFileStatusProto.IS_SYMLINK: FileType.SYMLINK,
}
_TYPE_CHARS = {FileType.FILE: "-", FileType.DIRECTORY: "d", FileType.SYMLINK: "l"}


def permission_string(permission: int) -> str:
    """``rwxr-x--x`` for ``0o751``; the sticky bit shows as ``t`` (``T`` without other-execute),
    as Java's ``FsPermission.toString``."""
    chars = [c if permission & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx")]
    if permission & 0o1000:
        chars[8] = "t" if permission & 0o001 else "T"
    return "".join(chars)


def _time(millis: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=millis)


@attrs.frozen
class FileStatus:
    """What the NameNode says about one path (``HdfsFileStatusProto``).

    ``permission`` holds the 12 permission bits (``0o644``, sticky ``0o1000``);
    :attr:`mode` renders it as ``-rw-r--r--``. Times are UTC datetimes;
    ``access_time`` is None when the NameNode does not keep access times.
    ``replication`` and ``block_size`` are 0 for directories.
    """

    path: str
    type: FileType
    length: int
    permission: int
    owner: str
    group: str
    modification_time: datetime
    access_time: Optional[datetime]
    replication: int
    block_size: int
    symlink: Optional[str] = None
    file_id: int = 0
    #: Entries of a directory, when the NameNode says (None otherwise).
    children: Optional[int] = None
    acl: bool = False
    encrypted: bool = False
    erasure_coded: bool = False
    #: ``LocatedBlocksProto`` when the listing asked for locations.
    locations: Optional[hdfs_pb2.LocatedBlocksProto] = attrs.field(default=None, eq=False, repr=False)

    @property
    def name(self) -> str:
        """The last component of :attr:`path`."""
        return self.path.rstrip("/").rpartition("/")[2]

    @property
    def is_dir(self) -> bool:
        return self.type is FileType.DIRECTORY

    @property
    def is_file(self) -> bool:
        return self.type is FileType.FILE

    @property
    def is_symlink(self) -> bool:
        return self.type is FileType.SYMLINK

    @property
    def permission_string(self) -> str:
        """``rw-r--r--``: the nine permission characters (sticky bit included)."""
        return permission_string(self.permission)

    @property
    def mode(self) -> str:
        """``-rw-r--r--`` / ``drwxr-xr-x``: type character and permissions, as ``ls`` shows them."""
        return _TYPE_CHARS[self.type] + self.permission_string

    @classmethod
    def from_proto(cls, proto: hdfs_pb2.HdfsFileStatusProto, parent: str) -> FileStatus:
        """From an ``HdfsFileStatusProto`` whose (last-component) name is relative to ``parent``.

        An empty name (``getFileInfo``, or a listing of a file) means ``parent`` itself.
        """
        name = proto.path.decode("utf-8", errors="surrogateescape")
        path = parent if not name else (parent.rstrip("/") + "/" + name)
        perm = proto.permission.perm
        flags = proto.flags
        flag_bits = hdfs_pb2.HdfsFileStatusProto
        return cls(
            path=path,
            type=FileType.from_proto(proto.fileType),
            length=proto.length,
            permission=perm & 0o7777,
            owner=proto.owner,
            group=proto.group,
            modification_time=_time(proto.modification_time),
            access_time=_time(proto.access_time) if proto.access_time else None,
            replication=proto.block_replication,
            block_size=proto.blocksize,
            symlink=proto.symlink.decode("utf-8", errors="surrogateescape") if proto.HasField("symlink")
            else None,
            file_id=proto.fileId,
            children=proto.childrenNum if proto.fileType == proto.IS_DIR and proto.childrenNum >= 0 else None,
            acl=bool(flags & flag_bits.HAS_ACL or perm & _ACL_BIT),
            encrypted=bool(flags & flag_bits.HAS_CRYPT or perm & _ENCRYPTED_BIT),
            erasure_coded=bool(flags & flag_bits.HAS_EC or perm & _ERASURE_CODED_BIT),
            locations=proto.locations if proto.HasField("locations") else None,
        )


@attrs.frozen
class ListingPage:
    """One ``getListing`` answer: up to the NameNode's page size of entries, and how many follow."""

    entries: Tuple[FileStatus, ...]
    remaining: int
    #: The raw name of the last entry: ``start_after`` for the next page.
    last_name: bytes


@attrs.frozen
class ContentSummary:
    """``getContentSummary``: totals over a tree. A quota of -1 means none."""

    length: int
    file_count: int
    directory_count: int
    quota: int
    space_consumed: int
    space_quota: int

    @classmethod
    def from_proto(cls, proto: hdfs_pb2.ContentSummaryProto) -> ContentSummary:
        def signed(value: int) -> int:  # -1 travels as a uint64
            return value - (1 << 64) if value >= 1 << 63 else value

        return cls(proto.length, proto.fileCount, proto.directoryCount, signed(proto.quota),
                   proto.spaceConsumed, signed(proto.spaceQuota))


@attrs.frozen
class ServerDefaults:
    """``getServerDefaults``: what the NameNode expects of writers."""

    block_size: int
    bytes_per_checksum: int
    write_packet_size: int
    replication: int
    file_buffer_size: int
    encrypt_data_transfer: bool
    #: Minutes a deleted file stays in the trash (0: no trash).
    trash_interval: int
    checksum_type: ChecksumType

    @property
    def checksum(self) -> DataChecksum:
        """The checksum new blocks carry."""
        return DataChecksum(self.checksum_type, self.bytes_per_checksum)

    @classmethod
    def from_proto(cls, proto: hdfs_pb2.FsServerDefaultsProto) -> ServerDefaults:
        return cls(proto.blockSize, proto.bytesPerChecksum, proto.writePacketSize, proto.replication,
                   proto.fileBufferSize, proto.encryptDataTransfer, proto.trashInterval,
                   ChecksumType(proto.checksumType))


# --------------------------------------------------------------------------- client


def new_client_name() -> str:
    """A lease-holder name of Java's form: ``DFSClient_NONMAPREDUCE_<random int>_<thread id>``."""
    return f"DFSClient_NONMAPREDUCE_{random.randint(-(1 << 31), (1 << 31) - 1)}_{threading.get_native_id()}"


class NameNodeClient(ProtocolClient):
    """Typed calls of ``ClientProtocol`` on the NameNodes at ``addresses``.

    ``rpc`` carries the connections; when it is not given the client makes
    (and closes) its own with ``settings``. ``policy`` says how to retry and
    fail over between ``addresses``. ``user`` defaults to the login user
    (:meth:`User.login <pyarn.security.user.User.login>`, with the process's tokens).
    ``nameservice`` is the logical name of an HA file system: it names delegation
    tokens, and a token of the user's for ``ha-hdfs:<nameservice>`` is presented to
    every NameNode. ``write_retries`` and
    ``write_retry_delay`` are ``dfs.client.block.write.locateFollowingBlock.
    {retries,initial.delay.ms}``: how often and how patiently ``addBlock``
    and ``complete`` wait for a previous block's replicas.
    """

    def __init__(self, addresses: Sequence[AddressLike], *, rpc: Optional[RpcClient] = None,
                 settings: Optional[IpcSettings] = None, user: Optional[User] = None,
                 policy: Optional[RetryPolicy] = None, nameservice: Optional[str] = None,
                 client_name: Optional[str] = None, write_retries: int = 5,
                 write_retry_delay: float = 0.4, use_ip_for_tokens: bool = True,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if user is None:
            user = User.login()
        # An HA file system's delegation token names the nameservice, not a NameNode: pick it
        # here for every NameNode (Java clones it per NameNode, HAUtilClient).
        token = None
        if nameservice is not None:
            token = select_token(user, CLIENT_NAMENODE_PROTOCOL.name, None,
                                 logical_service=_HA_TOKEN_PREFIX + nameservice)
        super().__init__(addresses, CLIENT_NAMENODE_PROTOCOL, rpc=rpc, settings=settings, user=user,
                         policy=policy, token=token)
        self.nameservice = nameservice
        self.client_name = client_name or new_client_name()
        self.write_retries = write_retries
        self.write_retry_delay = write_retry_delay
        self.use_ip_for_tokens = use_ip_for_tokens
        self._sleep = sleep
        self._defaults: Optional[ServerDefaults] = None
        self._defaults_lock = threading.Lock()
        self.lease = LeaseRenewer(self.renew_lease, name=f"pyarn lease renewer {self.client_name}")

    @classmethod
    def from_conf(cls, conf: Configuration, uri: Optional[str] = None, *, user: Optional[User] = None,
                  policy: Optional[RetryPolicy] = None, rpc: Optional[RpcClient] = None) -> NameNodeClient:
        """A client for the NameNodes of ``uri`` (default ``fs.defaultFS``; HA nameservices included),
        with IPC settings and (unless ``policy`` is given) the retry policy Java builds from ``conf``:
        for one NameNode a single attempt, for a nameservice failovers between its NameNodes
        (:meth:`RetryPolicy.from_conf <pyarn.ipc.RetryPolicy.from_conf>`)."""
        found = namenode_addresses(conf, uri)
        addresses = [(host, port) for _nn_id, host, port in found.namenodes]
        if user is None:
            user = User.login(conf)
        return cls(addresses, rpc=rpc, settings=None if rpc is not None else IpcSettings.from_conf(conf),
                   user=user, policy=policy if policy is not None else RetryPolicy.from_conf(
                       conf, "hdfs", ha=found.nameservice is not None),
                   nameservice=found.nameservice,
                   write_retries=conf.get_int("dfs.client.block.write.locateFollowingBlock.retries", 5),
                   write_retry_delay=conf.get_int(
                       "dfs.client.block.write.locateFollowingBlock.initial.delay.ms", 400) / 1000.0,
                   use_ip_for_tokens=conf.get_bool("hadoop.security.token.service.use_ip", True))

    def __repr__(self) -> str:
        return f"NameNodeClient({', '.join(self.addresses)}, client_name={self.client_name!r})"

    def close(self) -> None:
        """Stop renewing leases and close the connections (unless the RpcClient was given)."""
        self.lease.close()
        super().close()

    # ------------------------------------------------------------------ namespace

    def get_file_info(self, path: str) -> Optional[FileStatus]:
        """The status of ``path``, or None when there is nothing there."""
        response = self._call("getFileInfo", cn.GetFileInfoRequestProto(src=path))
        return FileStatus.from_proto(response.fs, path) if response.HasField("fs") else None

    def get_listing(self, path: str, start_after: bytes = b"", need_location: bool = False) -> ListingPage:
        """One page of the entries of directory ``path`` after the name ``start_after``.

        A file lists as itself. ``FileNotFoundError`` when ``path`` does not exist.
        """
        request = cn.GetListingRequestProto(src=path, startAfter=start_after, needLocation=need_location)
        response = self._call("getListing", request)
        if not response.HasField("dirList"):
            raise not_found(path)
        partial = response.dirList.partialListing
        entries = tuple(FileStatus.from_proto(p, path) for p in partial)
        last = partial[-1].path if partial else start_after
        return ListingPage(entries, response.dirList.remainingEntries, bytes(last))

    def list_directory(self, path: str, need_location: bool = False) -> Iterator[FileStatus]:
        """Every entry of directory ``path`` (a file lists as itself), page after page, in name order."""
        page = self.get_listing(path, b"", need_location)
        yield from page.entries
        while page.remaining > 0 and page.entries:
            page = self.get_listing(path, page.last_name, need_location)
            yield from page.entries

    def mkdirs(self, path: str, permission: int = 0o755, create_parent: bool = True) -> bool:
        """Make directory ``path`` (and its parents when ``create_parent``); True when it exists now."""
        request = cn.MkdirsRequestProto(src=path, masked=_perm(permission), createParent=create_parent)
        return self._call("mkdirs", request).result

    def rename(self, src: str, dst: str) -> bool:
        """The old rename: False instead of an error when it cannot be done; into ``dst`` if a directory."""
        return self._call("rename", cn.RenameRequestProto(src=src, dst=dst)).result

    def rename2(self, src: str, dst: str, overwrite: bool = False) -> None:
        """Rename ``src`` to exactly ``dst``; an existing ``dst`` is replaced only with ``overwrite``
        (``FileExistsError`` otherwise; a non-empty directory is never replaced)."""
        self._call("rename2", cn.Rename2RequestProto(src=src, dst=dst, overwriteDest=overwrite))

    def delete(self, path: str, recursive: bool = False) -> bool:
        """Delete ``path``; False when there was nothing to delete. A non-empty directory needs
        ``recursive`` (:class:`DirectoryNotEmptyError` otherwise)."""
        return self._call("delete", cn.DeleteRequestProto(src=path, recursive=recursive)).result

    def set_permission(self, path: str, permission: int) -> None:
        """Set the permission bits (``0o644``; sticky ``0o1000``)."""
        self._call("setPermission", cn.SetPermissionRequestProto(src=path, permission=_perm(permission)))

    def set_owner(self, path: str, owner: Optional[str] = None, group: Optional[str] = None) -> None:
        """Change the owner and/or group (None leaves it as is)."""
        if owner is None and group is None:
            raise ValueError("set_owner needs an owner or a group")
        self._call("setOwner", cn.SetOwnerRequestProto(src=path, username=owner, groupname=group))

    def set_replication(self, path: str, replication: int) -> bool:
        """Set a file's replication factor; False when ``path`` is not a file."""
        request = cn.SetReplicationRequestProto(src=path, replication=replication)
        return self._call("setReplication", request).result

    def get_content_summary(self, path: str) -> ContentSummary:
        """Sizes and counts of the tree at ``path``."""
        response = self._call("getContentSummary", cn.GetContentSummaryRequestProto(path=path))
        return ContentSummary.from_proto(response.summary)

    # ------------------------------------------------------------------ blocks

    def get_block_locations(self, path: str, offset: int = 0,
                            length: Optional[int] = None) -> hdfs_pb2.LocatedBlocksProto:
        """The blocks of file ``path`` that cover ``[offset, offset + length)`` (to the end by default)."""
        request = cn.GetBlockLocationsRequestProto(src=path, offset=offset,
                                                   length=_WHOLE_FILE if length is None else length)
        response = self._call("getBlockLocations", request)
        if not response.HasField("locations"):
            raise not_found(path)
        return response.locations

    def create(self, path: str, permission: int = 0o644, *, overwrite: bool = False,
               create_parent: bool = True, replication: int, block_size: int) -> FileStatus:
        """Create file ``path`` (replacing a file there when ``overwrite``) and take its write lease.

        The returned status carries the ``file_id`` that later calls name.
        """
        flags = cn.CREATE | (cn.OVERWRITE if overwrite else 0)
        request = cn.CreateRequestProto(
            src=path, masked=_perm(permission), clientName=self.client_name, createFlag=flags,
            createParent=create_parent, replication=replication, blockSize=block_size,
            cryptoProtocolVersion=[hdfs_pb2.ENCRYPTION_ZONES])
        response = self._call("create", request)
        if not response.HasField("fs"):  # NameNodes before 2.x answered with nothing
            status = self.get_file_info(path)
            if status is None:
                raise not_found(path)
            return status
        return FileStatus.from_proto(response.fs, path)

    def append(self, path: str, new_block: bool = True
               ) -> Tuple[Optional[hdfs_pb2.LocatedBlockProto], Optional[FileStatus]]:
        """Open file ``path`` for appending and take its write lease.

        With ``new_block`` (``CreateFlag.NEW_BLOCK``) appended bytes start a new
        block and the answer's block (no locations) is the file's last one, to
        pass as ``previous`` to :meth:`add_block`. Returns ``(block, status)``,
        either None when the NameNode sends none (an empty file has no block).
        """
        request = cn.AppendRequestProto(src=path, clientName=self.client_name,
                                        flag=cn.NEW_BLOCK if new_block else 0)
        response = self._call("append", request)
        block = response.block if response.HasField("block") else None
        status = FileStatus.from_proto(response.stat, path) if response.HasField("stat") else None
        return block, status

    def add_block(self, path: str, file_id: int, previous: Optional[hdfs_pb2.ExtendedBlockProto] = None,
                  exclude: Iterable[hdfs_pb2.DatanodeInfoProto] = ()) -> hdfs_pb2.LocatedBlockProto:
        """Allocate the next block of a file being written, with its pipeline of DataNodes.

        ``previous`` is the block just finished (``numBytes`` set), None for
        the first. Retries with doubling pauses while the NameNode says the
        previous block is not replicated yet, as Java's ``locateFollowingBlock``.
        """
        request = cn.AddBlockRequestProto(src=path, clientName=self.client_name, fileId=file_id,
                                          excludeNodes=list(exclude))
        if previous is not None:
            request.previous.CopyFrom(previous)
        delay = self.write_retry_delay
        for attempt in range(self.write_retries + 1):
            try:
                return self._call("addBlock", request).block
            except NotReplicatedYetError:
                if attempt == self.write_retries:
                    raise
                log.info("addBlock(%s): previous block not replicated yet; retrying in %.1f s", path, delay)
                self._sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def abandon_block(self, block: hdfs_pb2.ExtendedBlockProto, path: str, file_id: int) -> None:
        """Give up a block that :meth:`add_block` allocated (its pipeline failed)."""
        self._call("abandonBlock", cn.AbandonBlockRequestProto(b=block, src=path, holder=self.client_name,
                                                               fileId=file_id))

    def complete(self, path: str, file_id: int, last: Optional[hdfs_pb2.ExtendedBlockProto] = None) -> None:
        """Close a file being written, ``last`` being its final block (``numBytes`` set).

        The NameNode answers false while the last block lacks its minimal
        replicas, which is usual for a moment after the last packet's ack
        (the DataNode reports the block asynchronously). So it first asks
        again after short pauses (10 ms doubling, below ``write_retry_delay``),
        then follows Java's ``DFSOutputStream.completeFile``: ``write_retries``
        retries pausing ``write_retry_delay`` and doubling; then
        :class:`CompleteFileError`. It never gives up sooner than Java would.
        """
        request = cn.CompleteRequestProto(src=path, clientName=self.client_name, fileId=file_id)
        if last is not None:
            request.last.CopyFrom(last)
        for delay in (*_quick_pauses(self.write_retry_delay), *_doubling(self.write_retry_delay,
                                                                          self.write_retries), None):
            if self._call("complete", request).result:
                return
            if delay is not None:
                self._sleep(delay)
        raise CompleteFileError(f"unable to close {path}: its last block does not have enough replicas "
                                f"after {self.write_retries} retries")

    def renew_lease(self) -> None:
        """Renew the write leases this client's name holds."""
        self._call("renewLease", cn.RenewLeaseRequestProto(clientName=self.client_name))

    # ------------------------------------------------------------------ server

    def get_server_defaults(self) -> ServerDefaults:
        """The NameNode's defaults for writers (asked once, then remembered)."""
        with self._defaults_lock:
            if self._defaults is None:
                response = self._call("getServerDefaults", cn.GetServerDefaultsRequestProto())
                self._defaults = ServerDefaults.from_proto(response.serverDefaults)
            return self._defaults

    def get_data_encryption_key(self) -> Optional[DataEncryptionKey]:
        """The key for encrypted block transfers (``dfs.encrypt.data.transfer``); ``None`` when the
        NameNode does not encrypt them."""
        from .datatransfer_sasl import DataEncryptionKey

        response = self._call("getDataEncryptionKey", cn.GetDataEncryptionKeyRequestProto())
        if not response.HasField("dataEncryptionKey"):
            return None
        return DataEncryptionKey.from_proto(response.dataEncryptionKey)

    def get_delegation_token(self, renewer: str) -> Token:
        """An ``HDFS_DELEGATION_TOKEN`` that ``renewer`` may renew, with its service set as Java sets it:
        ``ha-hdfs:<nameservice>`` for an HA file system, else the NameNode's ``ip:port``."""
        request = security_pb2.GetDelegationTokenRequestProto(renewer=renewer)
        response = self._call("getDelegationToken", request)
        if not response.HasField("token"):
            raise PyarnError("the NameNode issued no delegation token (is security enabled?)")
        return Token.from_proto(response.token).with_service(self.token_service)

    @property
    def token_service(self) -> str:
        """The service string of this file system's delegation tokens."""
        if self.nameservice is not None:
            return _HA_TOKEN_PREFIX + self.nameservice
        host, port = self.proxy.addresses[0]
        return token_service(host, port, self.use_ip_for_tokens)


def _perm(permission: int) -> acl_pb2.FsPermissionProto:
    if not 0 <= permission <= 0o7777:
        raise ValueError(f"permission {permission:#o} is out of range 0..0o7777")
    return acl_pb2.FsPermissionProto(perm=permission)


def not_found(path: str) -> RemoteFileNotFoundError:
    """The error for a missing ``path`` noticed on the client side, worded as the NameNode does."""
    return RemoteFileNotFoundError(f"File does not exist: {path}")


def file_exists(path: str) -> FileAlreadyExistsError:
    """The error for an existing ``path`` noticed on the client side, worded as the NameNode does."""
    return FileAlreadyExistsError(f"{path} already exists")


#: The first pause of :meth:`NameNodeClient.complete`'s quick re-asks, in seconds.
QUICK_PAUSE = 0.01


def _quick_pauses(limit: float) -> List[float]:
    """10 ms doubling, each below ``limit``."""
    pauses = []
    pause = QUICK_PAUSE
    while pause < limit:
        pauses.append(pause)
        pause *= 2
    return pauses


def _doubling(first: float, count: int) -> List[float]:
    return [first * 2 ** i for i in range(count)]
