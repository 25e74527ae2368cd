"""A pure-Python HDFS for the mini cluster: a NameNode and DataNodes on loopback.

* :mod:`.namenode`: ClientNamenodeProtocol over Hadoop IPC, namespace in memory.
* :mod:`.datanode`: DataTransferProtocol, replicas on disk with Hadoop's ``.meta`` checksums.
* :class:`MiniHDFS`: both, started and stopped together.
"""
from .datanode import DataNode
from .minihdfs import MiniHDFS
from .namenode import NameNode

__all__ = ["DataNode", "MiniHDFS", "NameNode"]
