"""A DataNode's replicas on local disk, laid out and checksummed as Hadoop's ``FsDatasetImpl``.

Under ``<root>/current/<block pool>/current/``: replicas being written in
``rbw/``, finished ones in ``finalized/subdir<a>/subdir<b>/`` (from the block
id, like ``DatanodeUtil.idToBlockDir``). Each replica is two files:
``blk_<id>`` (the data) and ``blk_<id>_<genstamp>.meta``: a 7-byte header
(2-byte version 1, checksum type byte, 4-byte bytes-per-checksum, all
big-endian, as ``BlockMetadataHeader``) then one 4-byte CRC per chunk.
"""
from __future__ import annotations

import os
import shutil
import struct
import threading
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from pyarn.hdfs.checksum import DataChecksum

__all__ = ["Replica", "Storage", "StorageError", "META_HEADER_LEN", "meta_header", "parse_meta_header"]

_META_HEADER = struct.Struct(">HBI")
#: ``BlockMetadataHeader`` size: version, checksum type, bytes per checksum.
META_HEADER_LEN = _META_HEADER.size
_META_VERSION = 1


class StorageError(Exception):
    """A replica operation failed; ``java_class`` names the Hadoop exception a DataNode reports."""

    def __init__(self, message: str, java_class: str = "java.io.IOException") -> None:
        super().__init__(message)
        self.java_class = java_class

    def __str__(self) -> str:
        return f"{self.java_class}: {self.args[0]}"


def meta_header(checksum: DataChecksum) -> bytes:
    return _META_HEADER.pack(_META_VERSION, checksum.type, checksum.bytes_per_checksum)


def parse_meta_header(data: bytes) -> DataChecksum:
    if len(data) < META_HEADER_LEN:
        raise StorageError(f"meta file header of {len(data)} bytes")
    version, kind, bytes_per_checksum = _META_HEADER.unpack_from(data)
    if version != _META_VERSION:
        raise StorageError(f"unexpected meta file version {version}")
    try:
        return DataChecksum(kind, bytes_per_checksum)
    except ValueError as exc:
        raise StorageError(f"corrupt meta file header: {exc}") from None


class Replica:
    """One replica: its files, length on disk and state. ``lock`` serializes writes and recovery."""

    def __init__(self, storage: Storage, block_id: int, gen_stamp: int, checksum: DataChecksum) -> None:
        self.storage = storage
        self.block_id = block_id
        self.gen_stamp = gen_stamp
        self.checksum = checksum
        self.length = 0
        self.finalized = False
        #: Set when the NameNode deleted or recovered it: its writer must stop.
        self.abandoned = False
        self.lock = threading.Lock()
        self._fds: Optional[Tuple[int, int]] = None

    def __repr__(self) -> str:
        state = "FINALIZED" if self.finalized else "RBW"
        return f"blk_{self.block_id}_{self.gen_stamp}({self.length}, {state})"

    @property
    def name(self) -> str:
        return f"{self.storage.pool_id}:blk_{self.block_id}_{self.gen_stamp}"

    @property
    def data_path(self) -> Path:
        return self._dir() / f"blk_{self.block_id}"

    @property
    def meta_path(self) -> Path:
        return self._dir() / f"blk_{self.block_id}_{self.gen_stamp}.meta"

    def _dir(self) -> Path:
        if not self.finalized:
            return self.storage.rbw_dir
        return (self.storage.finalized_dir / f"subdir{(self.block_id >> 16) & 0x1F}"
                / f"subdir{(self.block_id >> 8) & 0x1F}")

    # -- writing (by the one thread receiving the block) ------------------------------

    def open_for_write(self) -> None:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)
        data_fd = os.open(self.data_path, flags, 0o644)
        meta_fd = os.open(self.meta_path, flags, 0o644)
        if os.fstat(meta_fd).st_size < META_HEADER_LEN:
            os.pwrite(meta_fd, meta_header(self.checksum), 0)
        self._fds = (data_fd, meta_fd)

    def write(self, offset: int, data: bytes, checksums: Optional[bytes], sync: bool = False) -> None:
        """Store ``data`` at ``offset`` (the replica's current length) with its chunk checksums.

        ``checksums`` are used as sent when ``offset`` is chunk-aligned; otherwise
        (a partial last chunk being extended) the chunk's CRC is recomputed from disk.
        """
        with self.lock:
            if self.abandoned:
                raise StorageError(f"replica {self.name} was deleted or recovered")
            if self._fds is None:
                raise StorageError(f"replica {self.name} is not open for writing")
            if offset != self.length:
                raise StorageError(f"write of {self.name} at offset {offset}, length is {self.length}")
            data_fd, meta_fd = self._fds
            bpc = self.checksum.bytes_per_checksum
            chunk_start = offset - offset % bpc
            if checksums is None or chunk_start != offset:
                head = os.pread(data_fd, offset - chunk_start, chunk_start) if chunk_start != offset else b""
                checksums = self.checksum.compute(head + data)
            _pwrite_all(data_fd, data, offset)
            checksum_offset = META_HEADER_LEN + (chunk_start // bpc) * self.checksum.checksum_size
            _pwrite_all(meta_fd, checksums, checksum_offset)
            if sync:
                os.fsync(data_fd)
                os.fsync(meta_fd)
            self.length = offset + len(data)

    def close_files(self) -> None:
        if self._fds is not None:
            for fd in self._fds:
                os.close(fd)
            self._fds = None

    def truncate(self, length: int) -> None:
        """Cut the replica to ``length`` bytes, fixing the CRC of a now-partial last chunk."""
        bpc, size = self.checksum.bytes_per_checksum, self.checksum.checksum_size
        chunks = self.checksum.chunk_count(length)
        with open(self.data_path, "r+b") as data_file, open(self.meta_path, "r+b") as meta_file:
            data_file.truncate(length)
            meta_file.truncate(META_HEADER_LEN + chunks * size)
            if length % bpc and size:
                start = length - length % bpc
                data_file.seek(start)
                meta_file.seek(META_HEADER_LEN + (start // bpc) * size)
                meta_file.write(self.checksum.compute(data_file.read(length - start)))
        self.length = length

    # -- reading -------------------------------------------------------------------------

    def read(self, offset: int, length: int) -> Tuple[bytes, bytes]:
        """``length`` bytes from chunk-aligned ``offset`` and their stored checksums."""
        bpc, size = self.checksum.bytes_per_checksum, self.checksum.checksum_size
        with open(self.data_path, "rb") as data_file, open(self.meta_path, "rb") as meta_file:
            data_file.seek(offset)
            data = data_file.read(length)
            meta_file.seek(META_HEADER_LEN + (offset // bpc) * size)
            checksums = meta_file.read(self.checksum.chunk_count(len(data)) * size)
        if len(data) != length or len(checksums) != self.checksum.chunk_count(length) * size:
            raise StorageError(f"replica {self.name} is shorter on disk than its length {self.length}")
        return data, checksums


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


class Storage:
    """The replicas of one DataNode (one block pool), by block id."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.pool_id = ""
        self._replicas: Dict[int, Replica] = {}
        self._lock = threading.Lock()

    def format(self, pool_id: str) -> None:
        """Start empty under ``pool_id`` (the namespace lives in memory: old blocks mean nothing)."""
        self.pool_id = pool_id
        shutil.rmtree(self.root / "current", ignore_errors=True)
        self.rbw_dir.mkdir(parents=True)
        self.finalized_dir.mkdir(parents=True)

    @property
    def pool_dir(self) -> Path:
        return self.root / "current" / self.pool_id / "current"

    @property
    def rbw_dir(self) -> Path:
        return self.pool_dir / "rbw"

    @property
    def finalized_dir(self) -> Path:
        return self.pool_dir / "finalized"

    def get(self, block_id: int) -> Optional[Replica]:
        with self._lock:
            return self._replicas.get(block_id)

    @property
    def used(self) -> int:
        with self._lock:
            return sum(replica.length for replica in self._replicas.values())

    def create_rbw(self, block_id: int, gen_stamp: int, checksum: DataChecksum) -> Replica:
        """A new replica being written (``FsDatasetImpl.createRbw``)."""
        with self._lock:
            existing = self._replicas.get(block_id)
            if existing is not None:
                state = "FINALIZED" if existing.finalized else "RBW"
                raise StorageError(
                    f"Block {self.pool_id}:blk_{block_id}_{gen_stamp} already exists in state {state} and "
                    f"thus cannot be created.",
                    "org.apache.hadoop.hdfs.server.datanode.ReplicaAlreadyExistsException")
            replica = Replica(self, block_id, gen_stamp, checksum)
            self._replicas[block_id] = replica
        replica.open_for_write()
        return replica

    def append(self, block_id: int, gen_stamp: int, new_gen_stamp: int, expected_length: int) -> Replica:
        """Reopen a finalized replica to append to, under a new generation stamp (Hadoop's ``append``)."""
        with self._lock:
            replica = self._replicas.get(block_id)
            if replica is None:
                raise StorageError(f"Replica not found for {self.pool_id}:blk_{block_id}_{gen_stamp}",
                                   "org.apache.hadoop.hdfs.server.datanode.ReplicaNotFoundException")
            if not replica.finalized or replica.gen_stamp != gen_stamp or replica.length != expected_length:
                raise StorageError(f"Cannot append to {replica!r}: expected a finalized replica of "
                                   f"genstamp {gen_stamp} and length {expected_length}")
            old_data, old_meta = replica.data_path, replica.meta_path
            replica.finalized = False
            replica.gen_stamp = max(new_gen_stamp, gen_stamp)
            old_data.replace(replica.data_path)
            old_meta.replace(replica.meta_path)
        replica.open_for_write()
        return replica

    def finalize(self, replica: Replica) -> None:
        """Move a replica from ``rbw/`` to ``finalized/``."""
        with replica.lock:
            replica.close_files()
            if replica.finalized or replica.abandoned:
                return
            old_data, old_meta = replica.data_path, replica.meta_path
            replica.finalized = True
            replica.data_path.parent.mkdir(parents=True, exist_ok=True)
            old_data.replace(replica.data_path)
            old_meta.replace(replica.meta_path)

    def recover(self, block_id: int, length: Optional[int]) -> Optional[int]:
        """The replica's length (``None``: no replica); with ``length``, first stop any writer,
        cut the replica to ``length`` and finalize it."""
        replica = self.get(block_id)
        if replica is None:
            return None
        if length is None:
            return replica.length
        with replica.lock:
            replica.close_files()
            if length > replica.length:
                return None
            replica.truncate(length)
        self.finalize(replica)
        return replica.length

    def delete(self, block_ids: List[int]) -> None:
        for block_id in block_ids:
            with self._lock:
                replica = self._replicas.pop(block_id, None)
            if replica is None:
                continue
            with replica.lock:
                replica.abandoned = True
                replica.close_files()
                for path in (replica.data_path, replica.meta_path):
                    try:
                        path.unlink()
                    except FileNotFoundError:
                        pass
