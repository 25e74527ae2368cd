"""A pure-Python YARN and HDFS on loopback, for trying pyarn and for tests.

:class:`MiniCluster` runs a ResourceManager and NodeManagers that speak
Hadoop's wire protocol, with YARN's token rules, and run containers as local
processes. ``pyarn minicluster start`` (or ``python -m pyarn.minicluster``)
runs one in the foreground. The NameNode and DataNodes are in :mod:`.hdfs`.
``MiniCluster(kerberos=KerberosSetup(...))`` runs it Kerberized (:mod:`.security`).
"""
from .cluster import MiniCluster
from .security import KerberosSetup

__all__ = ["KerberosSetup", "MiniCluster"]
