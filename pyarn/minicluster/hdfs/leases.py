"""Write leases: which client holds which open files, and since when it last renewed.

Like Hadoop's ``LeaseManager``: one lease per client name covering all its
open files; ``renewLease`` refreshes it. Past the soft limit another client
may take the file over; past the hard limit the NameNode closes it.
"""
from __future__ import annotations

import time
from typing import Dict, List, Optional, Set

__all__ = ["Lease", "LeaseManager", "SOFT_LIMIT", "HARD_LIMIT"]

#: ``HdfsConstants.LEASE_SOFTLIMIT_PERIOD``, seconds.
SOFT_LIMIT = 60.0
#: ``dfs.namenode.lease-hard-limit-sec`` default, seconds.
HARD_LIMIT = 1200.0


class Lease:
    """One client's lease: the inode ids of the files it has open."""

    __slots__ = ("holder", "files", "renewed")

    def __init__(self, holder: str) -> None:
        self.holder = holder
        self.files: Set[int] = set()
        self.renewed = time.monotonic()

    def __str__(self) -> str:
        return f"[Lease.  Holder: {self.holder}, pending creates: {len(self.files)}]"

    def expired(self, limit: float) -> bool:
        return time.monotonic() - self.renewed > limit


class LeaseManager:
    """Leases by holder. The NameNode calls it under its namespace lock."""

    def __init__(self, soft_limit: float = SOFT_LIMIT, hard_limit: float = HARD_LIMIT) -> None:
        self.soft_limit = soft_limit
        self.hard_limit = hard_limit
        self._leases: Dict[str, Lease] = {}

    def get(self, holder: str) -> Optional[Lease]:
        return self._leases.get(holder)

    def add(self, holder: str, inode_id: int) -> None:
        lease = self._leases.get(holder)
        if lease is None:
            lease = self._leases[holder] = Lease(holder)
        lease.files.add(inode_id)
        lease.renewed = time.monotonic()

    def remove(self, holder: Optional[str], inode_id: int) -> None:
        lease = self._leases.get(holder) if holder is not None else None
        if lease is None:
            return
        lease.files.discard(inode_id)
        if not lease.files:
            del self._leases[holder]  # type: ignore[arg-type]

    def renew(self, holder: str) -> None:
        lease = self._leases.get(holder)
        if lease is not None:
            lease.renewed = time.monotonic()

    def soft_expired(self, holder: str) -> bool:
        lease = self._leases.get(holder)
        return lease is not None and lease.expired(self.soft_limit)

    def hard_expired(self) -> List[Lease]:
        """The leases past the hard limit."""
        return [lease for lease in self._leases.values() if lease.expired(self.hard_limit)]

    @property
    def open_files(self) -> int:
        return sum(len(lease.files) for lease in self._leases.values())
