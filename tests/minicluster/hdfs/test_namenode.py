"""The mini NameNode over pyarn.ipc: statuses, namespace semantics, leases, permissions, errors.

Expected messages and classes are what the real HDFS 2.7.3 NameNode answered
to the same calls (see the report of the session that wrote these tests).
"""
from __future__ import annotations

import pytest

from hadoop_protos import acl_pb2, hdfs_pb2, security_pb2
from hadoop_protos import client_namenode_pb2 as cn
from pyarn.errors import (
    AccessControlError,
    FileAlreadyExistsError,
    NoSuchMethodError,
    ParentNotDirectoryError,
    RemoteError,
    RemoteFileNotFoundError,
)

from .conftest import SUPERUSER
from .support import MIB, complete, create, mkdir, perm, stat

DIR, FILE = hdfs_pb2.HdfsFileStatusProto.IS_DIR, hdfs_pb2.HdfsFileStatusProto.IS_FILE
NO_QUOTA = (1 << 64) - 1
READ, WRITE = acl_pb2.AclEntryProto.FsActionProto.READ, acl_pb2.AclEntryProto.FsActionProto.WRITE


def listing(nn, path: str, start_after: bytes = b"", locations: bool = False):
    response = nn.call("getListing", cn.GetListingRequestProto(src=path, startAfter=start_after,
                                                               needLocation=locations))
    return response.dirList if response.HasField("dirList") else None


def rename(nn, src: str, dst: str) -> bool:
    return nn.call("rename", cn.RenameRequestProto(src=src, dst=dst)).result


def rename2(nn, src: str, dst: str, overwrite: bool = False) -> None:
    nn.call("rename2", cn.Rename2RequestProto(src=src, dst=dst, overwriteDest=overwrite))


def delete(nn, path: str, recursive: bool = False) -> bool:
    return nn.call("delete", cn.DeleteRequestProto(src=path, recursive=recursive)).result


def closed_file(nn, path: str, **kwargs) -> hdfs_pb2.HdfsFileStatusProto:
    status = create(nn, path, **kwargs)
    assert complete(nn, path, status.fileId)
    return status


# -- statuses -------------------------------------------------------------------------------


def test_root_and_missing_paths(nn):
    root = stat(nn, "/")
    assert root.fileType == DIR and root.path == b"" and root.fileId == 16385
    assert (root.owner, root.group, root.permission.perm) == (SUPERUSER, "supergroup", 0o755)
    assert (root.length, root.block_replication, root.blocksize, root.access_time) == (0, 0, 0, 0)
    assert stat(nn, "/no/such/path") is None
    assert listing(nn, "/no/such/path") is None
    with pytest.raises(RemoteError, match="Invalid path name Invalid file name: relative") as info:
        stat(nn, "relative")
    assert info.value.java_class == "org.apache.hadoop.fs.InvalidPathException"


def test_file_status_follows_create_and_complete(nn, top):
    status = create(nn, f"{top}/f", mode=0o640, replication=1, block_size=2 * MIB)
    assert status.fileType == FILE and status.path == b"" and status.length == 0
    assert (status.owner, status.group, status.permission.perm) == (SUPERUSER, "supergroup", 0o640)
    assert (status.block_replication, status.blocksize) == (1, 2 * MIB)
    assert status.modification_time == status.access_time > 0
    assert not nn.call("isFileClosed", cn.IsFileClosedRequestProto(src=f"{top}/f")).result
    located = nn.call("getBlockLocations", cn.GetBlockLocationsRequestProto(src=f"{top}/f", offset=0,
                                                                            length=10)).locations
    assert located.underConstruction and not located.isLastBlockComplete and located.fileLength == 0
    assert complete(nn, f"{top}/f", status.fileId)
    assert nn.call("isFileClosed", cn.IsFileClosedRequestProto(src=f"{top}/f")).result
    assert stat(nn, f"{top}/f").modification_time >= status.modification_time
    size = nn.call("getPreferredBlockSize", cn.GetPreferredBlockSizeRequestProto(filename=f"{top}/f"))
    assert size.bsize == 2 * MIB
    with pytest.raises(RemoteFileNotFoundError, match=f"Path is not a file: {top}"):
        nn.call("getBlockLocations", cn.GetBlockLocationsRequestProto(src=top, offset=0, length=1))
    with pytest.raises(RemoteFileNotFoundError, match=f"File does not exist: {top}/nope"):
        nn.call("getBlockLocations", cn.GetBlockLocationsRequestProto(src=f"{top}/nope", offset=0, length=1))


# -- mkdirs, create, leases -------------------------------------------------------------------------


def test_mkdirs(nn, top):
    assert mkdir(nn, f"{top}/a/b/c", 0o500)
    assert stat(nn, f"{top}/a").permission.perm == 0o700  # parents get u+wx
    assert stat(nn, f"{top}/a/b/c").permission.perm == 0o500
    assert stat(nn, top).childrenNum == 1
    assert mkdir(nn, f"{top}/a")  # exists: fine
    with pytest.raises(RemoteFileNotFoundError, match=f"Parent directory doesn't exist: {top}/q"):
        mkdir(nn, f"{top}/q/r", parents=False)
    closed_file(nn, f"{top}/file")
    with pytest.raises(FileAlreadyExistsError, match=f"Path is not a directory: {top}/file"):
        mkdir(nn, f"{top}/file")
    with pytest.raises(ParentNotDirectoryError):
        mkdir(nn, f"{top}/file/sub")
    with pytest.raises(RemoteError, match="Invalid path name relative"):
        mkdir(nn, "relative")


def test_create_parents_inherit_the_nearest_ancestor(nn, top):
    nn.call("setOwner", cn.SetOwnerRequestProto(src=top, groupname="staff"))
    status = create(nn, f"{top}/x/y/f", mode=0o600)
    assert stat(nn, f"{top}/x").permission.perm == 0o777 and stat(nn, f"{top}/x").group == "staff"
    assert status.group == "staff"
    with pytest.raises(RemoteFileNotFoundError, match=f"Parent directory doesn't exist: {top}/p/q"):
        create(nn, f"{top}/p/q/f", parents=False)


def test_create_flags_and_leases(nn, top):
    path = f"{top}/f"
    first = create(nn, path, client="C1")
    with pytest.raises(RemoteError) as same:
        create(nn, path, client="C1")
    assert same.value.java_class == "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException"
    assert str(same.value) == f"Failed to CREATE_FILE {path} for C1 on 127.0.0.1 because C1 is already " \
                              "the current lease holder."
    with pytest.raises(RemoteError, match=f"Failed to CREATE_FILE {path} for C2 on 127.0.0.1 because this "
                                          "file lease is currently owned by C1 on 127.0.0.1"):
        create(nn, path, client="C2")
    second = create(nn, path, client="C2", flags=3)  # OVERWRITE replaces even an open file
    assert second.fileId != first.fileId
    with pytest.raises(RemoteError) as mismatch:
        complete(nn, path, 0, client="C1")
    assert mismatch.value.java_class == "org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException"
    assert str(mismatch.value) == f"Lease mismatch on {path} (inode 0) owned by C2 but is accessed by C1"
    assert complete(nn, path, second.fileId, client="C2")
    assert complete(nn, path, second.fileId, client="C2")  # a retried complete succeeds
    with pytest.raises(FileAlreadyExistsError, match=f"{path} for client 127.0.0.1 already exists"):
        create(nn, path, flags=1 | 4)  # APPEND means nothing to create
    with pytest.raises(RemoteFileNotFoundError, match=f"Can't overwrite non-existent {top}/g for client"):
        create(nn, f"{top}/g", flags=2)
    with pytest.raises(FileAlreadyExistsError, match=f"{top} already exists as a directory"):
        create(nn, top, flags=3)
    with pytest.raises(RemoteError, match=f"^file {top}/r on client 127.0.0.1.$") as replication:
        create(nn, f"{top}/r", replication=0)
    assert "Requested replication 0 is less than the required minimum 1" in replication.value.java_text
    with pytest.raises(RemoteError, match=r"Specified block size is less than configured minimum value "
                                          r"\(dfs.namenode.fs-limits.min-block-size\): 1024 < 1048576"):
        create(nn, f"{top}/b", block_size=1024)
    with pytest.raises(RemoteError, match=f"No lease on {top}/none \\(inode 0\\): File does not exist. "
                                          "Holder C9 does not have any open files."):
        nn.call("addBlock", cn.AddBlockRequestProto(src=f"{top}/none", clientName="C9"))


def test_append_and_recover_lease_without_blocks(nn, top):
    path = f"{top}/f"
    closed_file(nn, path)
    response = nn.call("append", cn.AppendRequestProto(src=path, clientName="A1"))
    assert not response.HasField("block") and response.stat.fileType == FILE
    with pytest.raises(RemoteError, match=f"Failed to APPEND_FILE {path} for A2 on 127.0.0.1 because this "
                                          "file lease is currently owned by A1"):
        nn.call("append", cn.AppendRequestProto(src=path, clientName="A2"))
    with pytest.raises(RemoteFileNotFoundError, match=f"failed to append to non-existent file {top}/x"):
        nn.call("append", cn.AppendRequestProto(src=f"{top}/x", clientName="A2"))
    with pytest.raises(FileAlreadyExistsError, match=f"Cannot append to directory {top}; already exists"):
        nn.call("append", cn.AppendRequestProto(src=top, clientName="A2"))
    assert nn.call("recoverLease", cn.RecoverLeaseRequestProto(src=path, clientName="A2")).result
    assert nn.call("isFileClosed", cn.IsFileClosedRequestProto(src=path)).result
    nn.call("renewLease", cn.RenewLeaseRequestProto(clientName="nobody"))


# -- rename, delete -------------------------------------------------------------------------------


def test_rename(nn, top):
    mkdir(nn, f"{top}/d")
    closed_file(nn, f"{top}/f")
    closed_file(nn, f"{top}/g")
    assert rename(nn, f"{top}/f", f"{top}/d")  # into the directory
    assert stat(nn, f"{top}/d/f") is not None and stat(nn, f"{top}/f") is None
    assert rename(nn, f"{top}/d/f", f"{top}/d/f")
    for src, dst in [(f"{top}/nope", f"{top}/x"), (f"{top}/g", f"{top}/d/f"), (f"{top}/g", f"{top}/no/x"),
                     (f"{top}/d", f"{top}/d/inner"), ("/", f"{top}/x")]:
        assert not rename(nn, src, dst), (src, dst)
    assert rename(nn, f"{top}/d", f"{top}/e")
    assert stat(nn, f"{top}/e/f") is not None


@pytest.mark.parametrize("src,dst,overwrite,error,message", [
    ("g", "d/f", False, FileAlreadyExistsError, "rename destination {t}/d/f already exists"),
    ("nope", "x", False, RemoteFileNotFoundError, "rename source {t}/nope is not found."),
    ("g", "zz/x", False, RemoteFileNotFoundError, "rename destination parent {t}/zz/x not found."),
    ("g", "d", True, RemoteError, "Source {t}/g and destination {t}/d must both be directories"),
    ("e", "d", True, RemoteError, "rename destination directory is not empty: {t}/d"),
    ("g", "g", True, FileAlreadyExistsError, "The source {t}/g and destination {t}/g are the same"),
    ("d", "d/x/y", False, RemoteError,
     "Rename destination {t}/d/x/y is a directory or file under source {t}/d"),
    ("e", "g/x", True, ParentNotDirectoryError, "rename destination parent {t}/g/x is a file."),
])
def test_rename2_errors(nn, top, src, dst, overwrite, error, message):
    mkdir(nn, f"{top}/d")
    mkdir(nn, f"{top}/e")
    closed_file(nn, f"{top}/d/f")
    closed_file(nn, f"{top}/g")
    with pytest.raises(error) as info:
        rename2(nn, f"{top}/{src}", f"{top}/{dst}", overwrite)
    assert str(info.value) == message.format(t=top)


def test_rename2_overwrites(nn, top):
    closed_file(nn, f"{top}/a", mode=0o600)
    closed_file(nn, f"{top}/b")
    rename2(nn, f"{top}/a", f"{top}/b", overwrite=True)
    assert stat(nn, f"{top}/a") is None and stat(nn, f"{top}/b").permission.perm == 0o600
    with pytest.raises(RemoteError, match="rename source cannot be the root"):
        rename2(nn, "/", f"{top}/x")


def test_delete(nn, top):
    mkdir(nn, f"{top}/d/sub")
    with pytest.raises(RemoteError) as info:
        delete(nn, f"{top}/d")
    assert info.value.java_class == "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException"
    assert str(info.value) == f"`{top}/d is non empty': Directory is not empty"
    assert not delete(nn, f"{top}/nope")
    assert not delete(nn, "/", recursive=True)
    assert delete(nn, f"{top}/d", recursive=True)
    assert stat(nn, f"{top}/d") is None
    with pytest.raises(RemoteError, match="Absolute path required") as relative:
        delete(nn, "relative")
    assert relative.value.java_class == "java.lang.AssertionError"


# -- permissions ------------------------------------------------------------------------------------


def test_permission_denied_messages(nn, alice, top):
    mkdir(nn, f"{top}/private", 0o700)
    mkdir(nn, f"{top}/shared", 0o755)
    closed_file(nn, f"{top}/shared/f", mode=0o600)
    cases = [
        (lambda: mkdir(alice, f"{top}/private/x"), "EXECUTE", f"{top}/private/x", "drwx------"),
        (lambda: stat(alice, f"{top}/private/x"), "EXECUTE", f"{top}/private/x", "drwx------"),
        (lambda: listing(alice, f"{top}/private"), "READ_EXECUTE", f"{top}/private", "drwx------"),
        (lambda: mkdir(alice, f"{top}/shared/x"), "WRITE", f"{top}/shared/x", "drwxr-xr-x"),
        (lambda: delete(alice, f"{top}/shared/f"), "WRITE", f"{top}/shared/f", "drwxr-xr-x"),
        (lambda: create(alice, f"{top}/shared/g"), "WRITE", f"{top}/shared/g", "drwxr-xr-x"),
        (lambda: nn_read(alice, f"{top}/shared/f"), "READ", f"{top}/shared/f", "-rw-------"),
        (lambda: rename(alice, f"{top}/shared/f", f"{top}/f2"), "WRITE", f"{top}/shared/f", "drwxr-xr-x"),
        (lambda: alice.call("getContentSummary", cn.GetContentSummaryRequestProto(path=f"{top}/private")),
         "READ_EXECUTE", f"{top}/private", "drwx------"),
    ]
    for call, access, inode, mode in cases:
        with pytest.raises(AccessControlError) as info:
            call()
        assert info.value.java_class == "org.apache.hadoop.security.AccessControlException"
        assert str(info.value) == (f'Permission denied: user=alice, access={access}, inode="{inode}":'
                                   f"{SUPERUSER}:supergroup:{mode}")


def nn_read(proxy, path: str):
    return proxy.call("getBlockLocations", cn.GetBlockLocationsRequestProto(src=path, offset=0, length=1))


def test_owner_and_superuser_checks(nn, alice, top):
    mkdir(nn, f"{top}/d")
    with pytest.raises(AccessControlError, match="^Permission denied. user=alice is not the owner of "
                                                 "inode=d$"):
        alice.call("setPermission", cn.SetPermissionRequestProto(src=f"{top}/d", permission=perm(0o777)))
    nn.call("setOwner", cn.SetOwnerRequestProto(src=f"{top}/d", username="alice"))
    alice.call("setPermission", cn.SetPermissionRequestProto(src=f"{top}/d", permission=perm(0o1777)))
    alice.call("setOwner", cn.SetOwnerRequestProto(src=f"{top}/d", groupname="staff"))
    assert (stat(nn, f"{top}/d").owner, stat(nn, f"{top}/d").group) == ("alice", "staff")
    assert stat(nn, f"{top}/d").permission.perm == 0o1777
    with pytest.raises(AccessControlError, match="^Non-super user cannot change owner$"):
        alice.call("setOwner", cn.SetOwnerRequestProto(src=f"{top}/d", username="bob"))
    with pytest.raises(AccessControlError, match="^User does not belong to wheel$"):
        alice.call("setOwner", cn.SetOwnerRequestProto(src=f"{top}/d", groupname="wheel"))
    with pytest.raises(RemoteFileNotFoundError, match=f"^Directory/File does not exist {top}/nope$"):
        alice.call("setOwner", cn.SetOwnerRequestProto(src=f"{top}/nope", groupname="staff"))
    with pytest.raises(AccessControlError, match="^Access denied for user alice. Superuser privilege is "
                                                 "required$"):
        alice.call("getDatanodeReport", cn.GetDatanodeReportRequestProto(type=cn.ALL))
    # the sticky bit: others may not delete or move what they do not own
    mkdir(nn, f"{top}/tmp", 0o777)
    nn.call("setPermission", cn.SetPermissionRequestProto(src=f"{top}/tmp", permission=perm(0o1777)))
    closed_file(nn, f"{top}/tmp/theirs")
    for call in (lambda: delete(alice, f"{top}/tmp/theirs"),
                 lambda: rename(alice, f"{top}/tmp/theirs", f"{top}/tmp/mine-now")):
        with pytest.raises(AccessControlError, match="^Permission denied by sticky bit setting: user=alice, "
                                                     "inode=theirs$"):
            call()
    closed_file(alice, f"{top}/tmp/mine")
    assert delete(alice, f"{top}/tmp/mine")


# -- listing ------------------------------------------------------------------------------------------


def test_listing_pages_like_a_namenode(nn, top):
    names = [f"n{i:05d}" for i in range(1100)] + ["B", "a", "é", "Z"]
    for name in names:
        mkdir(nn, f"{top}/{name}")
    first = listing(nn, top)
    assert len(first.partialListing) == 1000 and first.remainingEntries == len(names) - 1000
    second = listing(nn, top, first.partialListing[-1].path)
    assert len(second.partialListing) == len(names) - 1000 and second.remainingEntries == 0
    got = [entry.path.decode() for entry in [*first.partialListing, *second.partialListing]]
    # byte order, with bytes compared as signed (Java's): "é" (0xC3 0xA9) sorts first
    assert got == ["é", "B", "Z", "a", *names[:1100]]
    resumed = listing(nn, top, b"n00550")
    assert resumed.partialListing[0].path == b"n00551" and resumed.remainingEntries == 0
    assert listing(nn, top, b"zzz").partialListing == [] and listing(nn, top, b"zzz").remainingEntries == 0


def test_listing_a_file_and_with_locations(nn, top):
    closed_file(nn, f"{top}/f")
    create(nn, f"{top}/open")
    only = listing(nn, f"{top}/f")
    assert [entry.path for entry in only.partialListing] == [b""] and only.remainingEntries == 0
    located = listing(nn, top, locations=True)
    by_name = {entry.path: entry for entry in located.partialListing}
    assert by_name[b"f"].HasField("locations") and not by_name[b"f"].locations.underConstruction
    assert by_name[b"open"].locations.underConstruction


# -- the rest of the surface -------------------------------------------------------------------------------


def test_content_summary_and_server_defaults(nn, cluster, top):
    mkdir(nn, f"{top}/a/b")
    closed_file(nn, f"{top}/a/f")
    summary = nn.call("getContentSummary", cn.GetContentSummaryRequestProto(path=f"{top}/a")).summary
    assert (summary.fileCount, summary.directoryCount, summary.length) == (1, 2, 0)
    assert summary.quota == summary.spaceQuota == NO_QUOTA
    with pytest.raises(RemoteFileNotFoundError, match=f"File does not exist: {top}/nope"):
        nn.call("getContentSummary", cn.GetContentSummaryRequestProto(path=f"{top}/nope"))
    defaults = nn.call("getServerDefaults", cn.GetServerDefaultsRequestProto()).serverDefaults
    assert (defaults.blockSize, defaults.bytesPerChecksum, defaults.writePacketSize) == (MIB, 512, 65536)
    assert defaults.checksumType == hdfs_pb2.CHECKSUM_CRC32C and defaults.trashInterval == 0
    assert not defaults.encryptDataTransfer and defaults.replication == 1
    stats = nn.call("getFsStats", cn.GetFsStatusRequestProto())
    assert stats.capacity > 0 and stats.remaining > 0
    report = nn.call("getDatanodeReport", cn.GetDatanodeReportRequestProto(type=cn.LIVE)).di
    assert sorted(dn.id.xferPort for dn in report) == sorted(dn.xfer_port for dn in cluster.datanodes)
    assert not nn.call("getDatanodeReport", cn.GetDatanodeReportRequestProto(type=cn.DEAD)).di


def test_delegation_token_is_absent_with_security_off(nn):
    response = nn.call("getDelegationToken", security_pb2.GetDelegationTokenRequestProto(renewer="x"))
    assert not response.HasField("token")


def test_unimplemented_methods_are_rpc_no_such_method(nn):
    with pytest.raises(NoSuchMethodError, match="^Unknown method getQuotaUsage called on "
                                                "org.apache.hadoop.hdfs.protocol.ClientProtocol protocol.$"):
        nn.call("getQuotaUsage", cn.GetQuotaUsageRequestProto(path="/"))


def test_times_replication_and_storage_policy(nn, top):
    closed_file(nn, f"{top}/f")
    unset = (1 << 64) - 1
    nn.call("setTimes", cn.SetTimesRequestProto(src=f"{top}/f", mtime=1000, atime=unset))
    status = stat(nn, f"{top}/f")
    assert status.modification_time == 1000 and status.access_time > 1000
    with pytest.raises(RemoteFileNotFoundError, match=f"File/Directory {top}/x does not exist."):
        nn.call("setTimes", cn.SetTimesRequestProto(src=f"{top}/x", mtime=1, atime=1))
    assert nn.call("setReplication", cn.SetReplicationRequestProto(src=f"{top}/f", replication=2)).result
    assert stat(nn, f"{top}/f").block_replication == 2
    assert not nn.call("setReplication", cn.SetReplicationRequestProto(src=top, replication=2)).result
    nn.call("setStoragePolicy", cn.SetStoragePolicyRequestProto(src=top, policyName="COLD"))
    assert stat(nn, f"{top}/f").storagePolicy == 2
    policy = nn.call("getStoragePolicy", cn.GetStoragePolicyRequestProto(path=f"{top}/f")).storagePolicy
    assert policy.name == "COLD"
    with pytest.raises(RemoteError, match="Cannot find a block policy with the name TEPID"):
        nn.call("setStoragePolicy", cn.SetStoragePolicyRequestProto(src=top, policyName="TEPID"))
    names = {p.name for p in nn.call("getStoragePolicies", cn.GetStoragePoliciesRequestProto()).policies}
    assert {"HOT", "COLD", "WARM", "ALL_SSD", "ONE_SSD", "LAZY_PERSIST"} <= names
    nn.call("checkAccess", cn.CheckAccessRequestProto(path=f"{top}/f", mode=READ))


def test_check_access(nn, alice, top):
    closed_file(nn, f"{top}/f", mode=0o644)
    alice.call("checkAccess", cn.CheckAccessRequestProto(path=f"{top}/f", mode=READ))  # 'other' may read
    with pytest.raises(AccessControlError, match="access=WRITE"):
        alice.call("checkAccess", cn.CheckAccessRequestProto(path=f"{top}/f", mode=WRITE))


def test_client_name_is_an_opaque_lease_holder(nn, top):
    status = create(nn, f"{top}/f", client="anything at all: ünïcode")
    assert complete(nn, f"{top}/f", status.fileId, client="anything at all: ünïcode")
