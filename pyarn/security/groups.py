"""A user's groups, as Hadoop's default group mapping finds them on the local host.

Servers check group ACLs with it (the NameNode's permissions, proxy-user rules,
``pyarn-am``'s application ACLs).
"""
from __future__ import annotations

import grp
import os
import pwd
import time
from typing import Callable, Dict, FrozenSet, Mapping, Optional, Sequence, Tuple

__all__ = ["GroupMapping"]


class GroupMapping:
    """A user's groups: from ``overrides`` when named there, else from this host's user database.

    Like Hadoop's ``ShellBasedUnixGroupsMapping`` on the server's host
    (primary group first); users unknown to the host have no groups. A host
    lookup is kept ``cache_seconds`` (``hadoop.security.groups.cache.secs``, 300).
    """

    def __init__(self, overrides: Optional[Mapping[str, Sequence[str]]] = None, *,
                 cache_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        overrides = overrides or {}
        self._overrides = {user: frozenset(groups) for user, groups in overrides.items()}
        self._primary = {user: tuple(groups)[0] if groups else None for user, groups in overrides.items()}
        self._cache: Dict[str, Tuple[float, FrozenSet[str]]] = {}
        self._cache_seconds = cache_seconds
        self._clock = clock

    def __call__(self, user: str) -> FrozenSet[str]:
        if user in self._overrides:
            return self._overrides[user]
        now = self._clock()
        cached = self._cache.get(user)
        if cached is None or now - cached[0] >= self._cache_seconds:
            cached = self._cache[user] = (now, _host_groups(user))
        return cached[1]

    def primary(self, user: str) -> Optional[str]:
        if user in self._primary:
            return self._primary[user]
        try:
            return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
        except (KeyError, OverflowError):
            return None


def _host_groups(user: str) -> FrozenSet[str]:
    try:
        gid = pwd.getpwnam(user).pw_gid
        ids = os.getgrouplist(user, gid)
    except (KeyError, OSError, OverflowError):
        return frozenset()
    names = set()
    for group_id in ids:
        try:
            names.add(grp.getgrgid(group_id).gr_name)
        except KeyError:
            continue
    return frozenset(names)
