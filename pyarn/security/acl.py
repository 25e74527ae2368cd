"""Hadoop's ``AccessControlList``: who an ACL string such as ``"alice,bob admins"`` lets in.

The string is a comma-separated list of users, a space, then a
comma-separated list of groups (either may be empty: ``" admins"`` names
groups only); ``*`` lets everybody in. YARN's application ACLs
(``VIEW_APP``, ``MODIFY_APP``) and ``yarn.admin.acl`` are written this way.
"""
from __future__ import annotations

from typing import AbstractSet, FrozenSet, Iterable

import attrs

__all__ = ["AccessControlList", "WILDCARD"]

#: The ACL that lets everybody in.
WILDCARD = "*"


def _names(text: str) -> FrozenSet[str]:
    return frozenset(name.strip() for name in text.split(",") if name.strip())


@attrs.frozen
class AccessControlList:
    """Users and groups allowed in; ``everyone`` for ``*``."""

    users: FrozenSet[str] = frozenset()
    groups: FrozenSet[str] = frozenset()
    everyone: bool = False

    @classmethod
    def parse(cls, text: str) -> AccessControlList:
        """An ACL in Hadoop's string form (``"users groups"``, ``"*"``, ``""`` for nobody).

        As Hadoop reads it: split at the first space; either part being ``*`` lets everybody in."""
        users, _, groups = text.partition(" ")
        if users.strip() == WILDCARD or groups.strip() == WILDCARD:
            return cls(everyone=True)
        return cls(_names(users), _names(groups))

    @classmethod
    def of(cls, users: Iterable[str] = (), groups: Iterable[str] = ()) -> AccessControlList:
        """The ACL of these users and groups (``*`` in either: everybody)."""
        users_set, groups_set = frozenset(users), frozenset(groups)
        if WILDCARD in users_set or WILDCARD in groups_set:
            return cls(everyone=True)
        return cls(users_set, groups_set)

    def allows(self, user: str, groups: AbstractSet[str] = frozenset()) -> bool:
        """Whether ``user`` (a short name), a member of ``groups``, is let in."""
        return self.everyone or user in self.users or not self.groups.isdisjoint(groups)

    def __str__(self) -> str:
        if self.everyone:
            return WILDCARD
        return f"{','.join(sorted(self.users))} {','.join(sorted(self.groups))}"
