"""The mini NameNode's namespace: inodes in memory, paths, permissions as text.

Directories keep their children sorted the way HDFS does (by the UTF-8 bytes
of the name, compared as *signed* bytes, like ``DFSUtil.compareBytes``), so
``getListing`` pages exactly like a real NameNode.
"""
from __future__ import annotations

import bisect
import time
from typing import Dict, Iterator, List, Optional, Tuple

from .errors import invalid_path

__all__ = [
    "ROOT_INODE_ID", "INode", "INodeDirectory", "INodeFile", "INodesInPath", "Block",
    "now_ms", "split_path", "is_valid_name", "permission_string", "sort_key",
]

#: ``INodeId.ROOT_INODE_ID``: inode ids below it are reserved.
ROOT_INODE_ID = 16385

#: Maps each byte to itself with the top bit flipped: unsigned order of the result = signed order.
_SIGNED = bytes(b ^ 0x80 for b in range(256))


def now_ms() -> int:
    return int(time.time() * 1000)


def sort_key(name: str) -> bytes:
    """The key that orders names like HDFS (signed byte-wise comparison of UTF-8)."""
    return name.encode("utf-8").translate(_SIGNED)


def is_valid_name(src: str) -> bool:
    """``DFSUtil.isValidName``: absolute, no ``.``/``..``/``:`` components, no ``//`` inside."""
    if not src.startswith("/"):
        return False
    components = src.split("/")
    for i, element in enumerate(components):
        if element in (".", "..") or ":" in element:
            return False
        if not element and i not in (0, len(components) - 1):
            return False
    return True


def split_path(src: str) -> List[str]:
    """The components of an absolute path (``/`` → ``[]``); :func:`invalid_path` otherwise."""
    if not is_valid_name(src):
        raise invalid_path(f"Invalid path name {src}")
    return [c for c in src.split("/") if c]


_ACTIONS = ("---", "--x", "-w-", "-wx", "r--", "r-x", "rw-", "rwx")


def permission_string(perm: int) -> str:
    """``FsPermission.toString``: ``rwxr-xr-x``, with ``t``/``T`` for the sticky bit."""
    text = _ACTIONS[(perm >> 6) & 7] + _ACTIONS[(perm >> 3) & 7] + _ACTIONS[perm & 7]
    if perm & 0o1000:
        text = text[:-1] + ("t" if perm & 1 else "T")
    return text


class Block:
    """A block of a file, as the NameNode tracks it.

    ``expected`` are the DataNodes (uuids) of the write pipeline;
    ``replicas`` maps each DataNode that reported the finalized replica to the
    length it reported. A block is *committed* once the client told its final
    length, *complete* once enough DataNodes reported that length.
    """

    __slots__ = ("block_id", "gen_stamp", "num_bytes", "committed", "complete", "expected", "replicas",
                 "file")

    def __init__(self, block_id: int, gen_stamp: int, expected: List[str], file: INodeFile) -> None:
        self.block_id = block_id
        self.gen_stamp = gen_stamp
        self.num_bytes = 0
        self.committed = False
        self.complete = False
        self.expected = list(expected)
        self.replicas: Dict[str, int] = {}
        self.file: Optional[INodeFile] = file

    def __repr__(self) -> str:
        state = "COMPLETE" if self.complete else "COMMITTED" if self.committed else "UNDER_CONSTRUCTION"
        return f"blk_{self.block_id}_{self.gen_stamp}({self.num_bytes}, {state})"

    def good_replicas(self) -> List[str]:
        """DataNodes holding the replica at the committed length."""
        return [dn for dn, length in self.replicas.items() if length == self.num_bytes]


class INode:
    """What files and directories share."""

    __slots__ = ("inode_id", "name", "parent", "permission", "owner", "group", "mtime", "atime",
                 "storage_policy")

    def __init__(self, inode_id: int, name: str, permission: int, owner: str, group: str,
                 mtime: int, atime: int = 0) -> None:
        self.inode_id = inode_id
        self.name = name
        self.parent: Optional[INodeDirectory] = None
        self.permission = permission
        self.owner = owner
        self.group = group
        self.mtime = mtime
        self.atime = atime
        self.storage_policy = 0

    is_dir = False

    def full_path(self) -> str:
        names = []
        node: Optional[INode] = self
        while node is not None and node.parent is not None:
            names.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(names))

    def effective_storage_policy(self) -> int:
        node: Optional[INode] = self
        while node is not None:
            if node.storage_policy:
                return node.storage_policy
            node = node.parent
        return 0


class INodeDirectory(INode):
    """A directory: children by name, and their names in HDFS order."""

    __slots__ = ("children", "_keys", "_names")
    is_dir = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.children: Dict[str, INode] = {}
        self._keys: List[bytes] = []  # sort keys of the children, in order
        self._names: List[str] = []  # their names, in the same order

    def child(self, name: str) -> Optional[INode]:
        return self.children.get(name)

    def add(self, node: INode) -> None:
        key = sort_key(node.name)
        index = bisect.bisect_left(self._keys, key)
        self._keys.insert(index, key)
        self._names.insert(index, node.name)
        self.children[node.name] = node
        node.parent = self

    def remove(self, node: INode) -> None:
        index = bisect.bisect_left(self._keys, sort_key(node.name))
        del self._keys[index]
        del self._names[index]
        del self.children[node.name]
        node.parent = None

    def list_after(self, start_after: bytes, limit: int) -> Tuple[List[INode], int]:
        """Up to ``limit`` children sorting after ``start_after`` (raw UTF-8), and how many there are."""
        index = bisect.bisect_right(self._keys, start_after.translate(_SIGNED))
        names = self._names[index:index + limit]
        return [self.children[name] for name in names], len(self._names) - index

    def ordered(self) -> Iterator[INode]:
        for name in self._names:
            yield self.children[name]


class INodeFile(INode):
    """A file: its blocks, and who writes it while it is under construction."""

    __slots__ = ("replication", "block_size", "blocks", "client_name", "client_machine")

    def __init__(self, inode_id: int, name: str, permission: int, owner: str, group: str, mtime: int,
                 replication: int, block_size: int) -> None:
        super().__init__(inode_id, name, permission, owner, group, mtime, mtime)
        self.replication = replication
        self.block_size = block_size
        self.blocks: List[Block] = []
        #: The lease holder while the file is open for writing, else ``None``.
        self.client_name: Optional[str] = None
        self.client_machine = ""

    @property
    def under_construction(self) -> bool:
        return self.client_name is not None

    def length(self) -> int:
        return sum(block.num_bytes for block in self.blocks)

    def length_without_uc_block(self) -> int:
        """``computeFileSizeNotIncludingLastUcBlock``: the last block counts only once complete."""
        if self.blocks and not self.blocks[-1].complete:
            return sum(block.num_bytes for block in self.blocks[:-1])
        return self.length()


class INodesInPath:
    """A path resolved as far as it exists: ``inodes[i]`` is the inode of ``components[:i]``.

    ``inodes[0]`` is the root; entries past the last existing inode are ``None``.
    ``file_at`` is the index of a *file* met before the last component, if any.
    """

    __slots__ = ("path", "components", "inodes", "file_at")

    def __init__(self, path: str, components: List[str], inodes: List[Optional[INode]],
                 file_at: Optional[int]) -> None:
        self.path = path
        self.components = components
        self.inodes = inodes
        self.file_at = file_at

    @classmethod
    def resolve(cls, root: INodeDirectory, path: str, components: List[str]) -> INodesInPath:
        inodes: List[Optional[INode]] = [root]
        node: Optional[INode] = root
        file_at = None
        for index, name in enumerate(components):
            if node is None:
                inodes.append(None)
            elif isinstance(node, INodeDirectory):
                node = node.child(name)
                inodes.append(node)
            else:
                file_at = index
                node = None
                inodes.append(None)
        return cls(path, components, inodes, file_at)

    @property
    def last(self) -> Optional[INode]:
        return self.inodes[-1]

    @property
    def parent(self) -> Optional[INode]:
        return self.inodes[-2] if len(self.inodes) > 1 else None

    def prefix(self, index: int) -> str:
        """The path of ``inodes[index]``."""
        return "/" + "/".join(self.components[:index])

    def last_existing(self) -> int:
        """The index of the deepest inode that exists."""
        index = len(self.inodes) - 1
        while self.inodes[index] is None:
            index -= 1
        return index
