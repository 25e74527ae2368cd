"""A user's groups, as Hadoop's default group mapping finds them on the local host.

Servers check group ACLs with it (the NameNode's permissions, proxy-user rules,
``pyarn-am``'s application ACLs).
"""
from __future__ import annotations

import grp
import os
import pwd
from typing import Dict, FrozenSet, Mapping, Optional, Sequence

__all__ = ["GroupMapping"]


class GroupMapping:
    """A user's groups: from ``overrides`` when named there, else from this host's user database.

    Like Hadoop's ``ShellBasedUnixGroupsMapping`` on the NameNode's host
    (primary group first); users unknown to the host have no groups.
    """

    def __init__(self, overrides: Optional[Mapping[str, Sequence[str]]] = None) -> None:
        self._overrides = {user: tuple(groups) for user, groups in (overrides or {}).items()}
        self._cache: Dict[str, FrozenSet[str]] = {}

    def __call__(self, user: str) -> FrozenSet[str]:
        groups = self._cache.get(user)
        if groups is None:
            groups = frozenset(self._overrides[user]) if user in self._overrides else _host_groups(user)
            self._cache[user] = groups
        return groups

    def primary(self, user: str) -> Optional[str]:
        if user in self._overrides:
            return self._overrides[user][0] if self._overrides[user] else None
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
