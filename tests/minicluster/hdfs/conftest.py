"""Fixtures: one MiniHDFS (two DataNodes, 1 MiB blocks) per module, NameNode proxies per user."""
from __future__ import annotations

import itertools
from typing import Iterator

import pytest

from hadoop_protos.client_namenode_rpc import CLIENT_NAMENODE_PROTOCOL
from pyarn.ipc import RpcClient, RpcProxy
from pyarn.minicluster.hdfs import MiniHDFS
from pyarn.security.user import User

from .support import MIB, mkdir

SUPERUSER = "hdfs-admin"
#: Group memberships the NameNode uses instead of this host's user database.
GROUPS = {SUPERUSER: ["supergroup"], "alice": ["alice", "staff"], "bob": ["bob"]}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[MiniHDFS]:
    with MiniHDFS(tmp_path_factory.mktemp("minihdfs"), datanodes=2, superuser=SUPERUSER, groups=GROUPS,
                  block_size=MIB, replication=1) as hdfs:
        yield hdfs


@pytest.fixture(scope="module")
def rpc() -> Iterator[RpcClient]:
    with RpcClient() as client:
        yield client


def proxy(rpc: RpcClient, cluster: MiniHDFS, user: str) -> RpcProxy:
    return rpc.proxy(cluster.namenode_address, CLIENT_NAMENODE_PROTOCOL, User(user))


@pytest.fixture(scope="module")
def nn(rpc, cluster) -> RpcProxy:
    """ClientNamenodeProtocol as the superuser."""
    return proxy(rpc, cluster, SUPERUSER)


@pytest.fixture(scope="module")
def alice(rpc, cluster) -> RpcProxy:
    return proxy(rpc, cluster, "alice")


_counter = itertools.count()


@pytest.fixture
def top(nn) -> str:
    """A fresh world-writable directory for one test."""
    path = f"/t{next(_counter)}"
    mkdir(nn, path, 0o777)
    return path
