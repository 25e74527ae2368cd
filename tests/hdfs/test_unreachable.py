"""An HDFS whose NameNodes cannot be reached fails as Java's client does: it ends, and says where.

Real sockets: a closed port refuses; a silent server accepts, reads the call and never answers.
The tests assert attempts and connections, not wall-clock times.
"""
from __future__ import annotations

from typing import Dict

import pytest

from pyarn.conf import Configuration
from pyarn.errors import ConnectFailedError, FailoverExhaustedError, RpcTimeoutError
from pyarn.hdfs import HDFS

from ..ipc.test_connect_retries import SilentServer as SilentNameNode
from ..ipc.test_retry import closed_port


def nameservice(*addresses: str, **extra: str) -> Dict[str, str]:
    ids = [f"nn{i}" for i in range(len(addresses))]
    values = {"fs.defaultFS": "hdfs://ns", "dfs.nameservices": "ns", "dfs.ha.namenodes.ns": ",".join(ids),
              "dfs.client.failover.proxy.provider.ns":
                  "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider",
              "dfs.client.failover.sleep.base.millis": "1", "dfs.client.failover.sleep.max.millis": "2"}
    values.update({f"dfs.namenode.rpc-address.ns.{i}": a for i, a in zip(ids, addresses)})
    values.update(extra)
    return values


def test_a_dead_namenode_is_tried_once_and_named():
    """Java's FsShell: "Call From ... to host:port failed on connection exception" after one connect."""
    address = closed_port()
    with HDFS(conf=Configuration({"fs.defaultFS": f"hdfs://{address}"}), user="alice") as fs:
        assert fs.namenode.proxy.policy.max_attempts == 1
        with pytest.raises(FailoverExhaustedError) as info:
            fs.stat("/")
    ((tried, error),) = info.value.attempts
    assert tried == address and isinstance(error, ConnectFailedError)
    assert str(info.value).startswith("getFileInfo: all 1 attempt(s) failed") and address in str(info.value)


def test_a_nameservice_with_every_namenode_down_fails_over_max_attempts_times():
    first, second = closed_port(), closed_port()
    conf = Configuration(nameservice(first, second, **{"dfs.client.failover.max.attempts": "5"}))
    with HDFS(conf=conf, user="alice") as fs:
        with pytest.raises(FailoverExhaustedError) as info:
            fs.stat("/")
    assert [a for a, _ in info.value.attempts] == [first, second, first, second, first, second]
    assert info.value.addresses == (first, second)
    assert str(info.value).startswith("getFileInfo: all 6 attempt(s) failed")


def test_default_failovers_of_a_nameservice_are_javas():
    conf = Configuration(nameservice(closed_port(), closed_port()))
    with HDFS(conf=conf, user="alice") as fs:
        with pytest.raises(FailoverExhaustedError) as info:
            fs.stat("/")
    assert len(info.value.attempts) == 16  # dfs.client.failover.max.attempts=15 failovers


def test_a_silent_namenode_gets_one_call_that_times_out():
    with SilentNameNode() as silent:
        conf = Configuration({"fs.defaultFS": f"hdfs://{silent.address}", "ipc.client.rpc-timeout.ms": "200"})
        with HDFS(conf=conf, user="alice") as fs:
            with pytest.raises(FailoverExhaustedError) as info:
                fs.stat("/")
        ((tried, error),) = info.value.attempts
        assert tried == silent.address and isinstance(error, RpcTimeoutError)
        assert len(silent.connections) == 1


def test_silent_namenodes_of_a_nameservice_end_after_their_attempts():
    with SilentNameNode() as first, SilentNameNode() as second:
        conf = Configuration(nameservice(first.address, second.address,
                                         **{"dfs.client.failover.max.attempts": "3",
                                            "ipc.client.rpc-timeout.ms": "200"}))
        with HDFS(conf=conf, user="alice") as fs:
            with pytest.raises(FailoverExhaustedError) as info:
                fs.stat("/")  # getFileInfo is idempotent: each timeout fails over
        assert [a for a, _ in info.value.attempts] == [first.address, second.address] * 2
        assert all(isinstance(e, RpcTimeoutError) for _, e in info.value.attempts)
