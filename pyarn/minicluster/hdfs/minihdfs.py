"""``MiniHDFS``: a NameNode and DataNodes on loopback, in this process."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from pyarn.ipc.constants import Qop
from pyarn.security.user import User

from .datanode import DataNode
from .namenode import NameNode

__all__ = ["MiniHDFS"]

MIB = 1024 * 1024


class MiniHDFS:
    """A pure-Python HDFS: one :class:`NameNode` and ``datanodes`` :class:`DataNode`\\ s.

    Blocks live under ``<workdir>/dn<i>``; the namespace lives in memory and
    is gone after :meth:`stop`. ``replication`` defaults to
    ``min(3, datanodes)``. Other keyword arguments go to the NameNode
    (``block_size``, ``min_block_size``, ``superuser``, ``groups``, ``ls_limit``,
    ``security`` for a Kerberized HDFS, ...). ``data_transfer_protection``: the QOPs of
    ``dfs.data.transfer.protection`` the DataNodes ask for (DataTransfer SASL; needs block
    tokens), none by default.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, workdir: Union[str, Path], datanodes: int = 1, host: str = "127.0.0.1", *,
                 namenode_port: int = 0, replication: Optional[int] = None,
                 data_transfer_protection: Sequence[Qop] = (), **namenode_options) -> None:
        if datanodes < 1:
            raise ValueError(f"a MiniHDFS needs at least one DataNode, got {datanodes}")
        self.workdir = Path(workdir)
        self.host = host
        self._datanode_count = datanodes
        self.data_transfer_protection = tuple(data_transfer_protection)
        self.namenode = NameNode(host, namenode_port, replication=replication or min(3, datanodes),
                                 **namenode_options)
        self.datanodes: List[DataNode] = []
        self._started = False

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> MiniHDFS:
        if self._started:
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.namenode.start()
        self._started = True
        try:
            for index in range(self._datanode_count):
                self.datanodes.append(DataNode(self._datanode_dir(index), self.namenode, self.host,
                                               protection=self.data_transfer_protection).start())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        for datanode in self.datanodes:
            datanode.stop()
        self.namenode.stop()

    def __enter__(self) -> MiniHDFS:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def wipe(self) -> None:
        """Delete the DataNodes' directories (after :meth:`stop`)."""
        for index in range(self._datanode_count):
            shutil.rmtree(self._datanode_dir(index), ignore_errors=True)

    def _datanode_dir(self, index: int) -> Path:
        return (self.workdir / f"dn{index}").resolve()

    # -- what clients need -------------------------------------------------------------------------

    @property
    def namenode_address(self) -> str:
        """``host:port`` of the NameNode's RPC server."""
        host, port = self.namenode.address
        return f"{host}:{port}"

    @property
    def default_fs(self) -> str:
        return f"hdfs://{self.namenode_address}"

    def superuser(self) -> User:
        """A client user that is this NameNode's superuser, to set the file system up (users' homes,
        ``/tmp``): by name without security; with security, holding a delegation token the NameNode
        issued to its own principal, so that no ticket is needed. The NameNode must be running."""
        namenode = self.namenode
        if namenode.security is None or namenode.tokens is None:
            return User(namenode.superuser)
        token = namenode.tokens.create_token(namenode.security.principal("nn"), "")
        return User(namenode.superuser, tokens=[token.with_service(self.namenode_address)])

    def core_site(self) -> Dict[str, str]:
        """``core-site.xml`` properties a client needs."""
        security = self.namenode.security
        if security is not None:
            return {"fs.defaultFS": self.default_fs, **security.core_site()}
        return {"fs.defaultFS": self.default_fs, "hadoop.security.authentication": "simple"}

    def hdfs_site(self) -> Dict[str, str]:
        """``hdfs-site.xml`` properties a client needs (and the DataNodes' data directories)."""
        namenode = self.namenode
        secure = namenode.security.hdfs_site() if namenode.security is not None else {}
        if namenode.block_tokens is not None:
            secure["dfs.block.access.token.enable"] = "true"
        if self.data_transfer_protection:
            names = {Qop.AUTH: "authentication", Qop.AUTH_INT: "integrity", Qop.AUTH_CONF: "privacy"}
            secure["dfs.data.transfer.protection"] = ",".join(names[q] for q in self.data_transfer_protection)
        return {
            **secure,
            "dfs.namenode.rpc-address": self.namenode_address,
            "dfs.replication": str(namenode.replication),
            "dfs.blocksize": str(namenode.block_size),
            "dfs.namenode.fs-limits.min-block-size": str(namenode.min_block_size),
            "dfs.bytes-per-checksum": str(namenode.bytes_per_checksum),
            "dfs.client-write-packet-size": str(namenode.write_packet_size),
            "dfs.checksum.type": "CRC32C",
            "dfs.permissions.enabled": "true",
            "dfs.permissions.superusergroup": namenode.supergroup,
            "dfs.client.use.datanode.hostname": "false",
            # a one- or two-node cluster has no spare DataNode to put into a failed pipeline
            "dfs.client.block.write.replace-datanode-on-failure.enable": "false",
            # not for clients: where the blocks are, as a real cluster's hdfs-site.xml says
            "dfs.datanode.data.dir": ",".join(str(self._datanode_dir(i))
                                              for i in range(self._datanode_count)),
        }

    def datanode_for(self, block_id: int) -> Sequence[DataNode]:
        """The DataNodes that hold a replica of ``block_id``."""
        return [dn for dn in self.datanodes if dn.storage.get(block_id) is not None]
