"""Permission checks as Hadoop's ``FSPermissionChecker`` makes them, with its messages.

Messages follow the Hadoop 2.7 NameNode the project tests against: the
``inode="..."`` part names the path of the operation while the owner, group
and mode are those of the inode that refused.
"""
from __future__ import annotations

from typing import FrozenSet, Optional

from .errors import access_denied
from .namespace import INode, INodeDirectory, INodesInPath, permission_string

__all__ = ["READ", "WRITE", "EXECUTE", "ALL", "READ_EXECUTE", "PermissionChecker"]

EXECUTE, WRITE, READ = 1, 2, 4
READ_EXECUTE = READ | EXECUTE
ALL = READ | WRITE | EXECUTE
#: ``FsAction`` names by bits.
_ACTION_NAMES = ("NONE", "EXECUTE", "WRITE", "WRITE_EXECUTE", "READ", "READ_EXECUTE", "READ_WRITE", "ALL")


class PermissionChecker:
    """Checks one caller's access; ``superuser``/``supergroup`` bypass every check."""

    def __init__(self, user: str, groups: FrozenSet[str], superuser: str, supergroup: str) -> None:
        self.user = user
        self.groups = groups
        self.is_super = user == superuser or supergroup in groups

    # -- the single-inode primitives ----------------------------------------

    def allows(self, inode: INode, access: int) -> bool:
        if self.user == inode.owner:
            mode = inode.permission >> 6
        elif inode.group in self.groups:
            mode = inode.permission >> 3
        else:
            mode = inode.permission
        return mode & access == access

    def _deny(self, inode: INode, path: str, access: int):
        kind = "d" if inode.is_dir else "-"
        return access_denied(
            f'Permission denied: user={self.user}, access={_ACTION_NAMES[access]}, inode="{path}":'
            f"{inode.owner}:{inode.group}:{kind}{permission_string(inode.permission)}")

    def _check(self, inode: Optional[INode], path: str, access: int) -> None:
        if inode is not None and not self.allows(inode, access):
            raise self._deny(inode, path, access)

    # -- checks on resolved paths ----------------------------------------------

    def check(self, iip: INodesInPath, *, owner: bool = False, ancestor: Optional[int] = None,
              parent: Optional[int] = None, access: Optional[int] = None, sub: Optional[int] = None,
              ignore_empty_dir: bool = False) -> None:
        """``FSPermissionChecker.checkPermission``: EXECUTE on every existing ancestor, then
        ``ancestor`` access on the nearest existing ancestor, ``parent`` on the parent,
        ``access`` on the inode itself, ``sub`` on it and every directory below, and ownership.
        """
        if self.is_super:
            return
        inodes = iip.inodes
        ancestor_index = len(inodes) - 2
        while ancestor_index >= 0 and inodes[ancestor_index] is None:
            ancestor_index -= 1
        for index in range(ancestor_index + 1):
            self._check(inodes[index], iip.path, EXECUTE)
        last = inodes[-1]
        if parent is not None and parent & WRITE and len(inodes) > 1 and last is not None:
            self._check_sticky(inodes[-2], last)
        if ancestor is not None and len(inodes) > 1:
            self._check(inodes[ancestor_index], iip.path, ancestor)
        if parent is not None and len(inodes) > 1:
            self._check(inodes[-2], iip.path, parent)
        if access is not None:
            self._check(last, iip.path, access)
        if sub is not None and isinstance(last, INodeDirectory):
            self._check_sub(last, iip.path, sub, ignore_empty_dir)
        if owner:
            self.check_owner(last)

    def traverse(self, iip: INodesInPath) -> None:
        """EXECUTE on every existing ancestor (what every path lookup needs)."""
        self.check(iip)

    def check_owner(self, inode: Optional[INode]) -> None:
        if self.is_super or inode is None or inode.owner == self.user:
            return
        raise access_denied(f"Permission denied. user={self.user} is not the owner of inode={inode.name}")

    def check_superuser(self) -> None:
        if not self.is_super:
            raise access_denied(f"Access denied for user {self.user}. Superuser privilege is required")

    def _check_sticky(self, parent: Optional[INode], inode: INode) -> None:
        if parent is None or not parent.permission & 0o1000:
            return
        if self.user in (parent.owner, inode.owner):
            return
        raise access_denied(f"Permission denied by sticky bit setting: user={self.user}, inode={inode.name}")

    def _check_sub(self, top: INodeDirectory, path: str, access: int, ignore_empty_dir: bool) -> None:
        stack = [(top, path)]
        while stack:
            directory, where = stack.pop()
            if directory.children or not ignore_empty_dir:
                self._check(directory, where, access)
            for child in directory.ordered():
                if isinstance(child, INodeDirectory):
                    stack.append((child, where.rstrip("/") + "/" + child.name))

