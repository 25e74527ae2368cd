"""Delegation tokens reaching the NameNode: HA nameservices and the login user's token file.

The NameNodes are pyarn IPC servers on loopback that accept TOKEN authentication only,
serving ``getFileInfo`` and recording how each caller authenticated.
"""
from __future__ import annotations

import threading
from typing import List, Tuple

import pytest

from hadoop_protos import acl_pb2, hdfs_pb2
from hadoop_protos import client_namenode_pb2 as cn
from hadoop_protos.client_namenode_rpc import CLIENT_NAMENODE_PROTOCOL
from pyarn.conf import Configuration
from pyarn.errors import InvalidTokenError, StandbyError
from pyarn.hdfs.namenode import NameNodeClient
from pyarn.ipc import IpcServer, IpcSettings, RetryPolicy, SecretManager, ServerAuth
from pyarn.ipc.constants import AuthMethod
from pyarn.security.credentials import Credentials
from pyarn.security.tokens import HDFS_DELEGATION_TOKEN_KIND, Token
from pyarn.security.user import User

IDENTIFIER = b"dt-for-alice"
PASSWORD = b"dt-password"
HA_TOKEN = Token(IDENTIFIER, PASSWORD, HDFS_DELEGATION_TOKEN_KIND, "ha-hdfs:ns1")


class Secrets(SecretManager):
    def retrieve_password(self, identifier: bytes) -> bytes:
        if identifier != IDENTIFIER:
            raise InvalidTokenError(f"unknown token {identifier!r}")
        return PASSWORD

    def user_of(self, identifier: bytes) -> str:
        return "alice"


class NameNodeStandIn:
    """``getFileInfo`` of a NameNode that is active or standby; records (auth method, token id)."""

    def __init__(self, active: bool) -> None:
        self.active = active
        self.seen: List[Tuple[AuthMethod, bytes]] = []
        self.lock = threading.Lock()

    def getFileInfo(self, request, ctx):
        with self.lock:
            self.seen.append((ctx.auth_method, ctx.token_identifier))
        if not self.active:
            raise StandbyError("Operation category READ is not supported in state standby")
        status = hdfs_pb2.HdfsFileStatusProto(
            fileType=hdfs_pb2.HdfsFileStatusProto.IS_FILE, path=b"", length=3,
            permission=acl_pb2.FsPermissionProto(perm=0o644), owner="alice", group="g",
            modification_time=0, access_time=0, block_replication=1, blocksize=1 << 20, fileId=1)
        return cn.GetFileInfoResponseProto(fs=status)


@pytest.fixture
def namenodes():
    """A standby NameNode then an active one, both TOKEN-only."""
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=Secrets())
    standby, active = NameNodeStandIn(False), NameNodeStandIn(True)
    with IpcServer(auth=auth, idle_timeout=5.0) as s1, IpcServer(auth=auth, idle_timeout=5.0) as s2:
        s1.register(CLIENT_NAMENODE_PROTOCOL, standby)
        s2.register(CLIENT_NAMENODE_PROTOCOL, active)
        yield (s1, standby), (s2, active)


def ha_conf(namenodes) -> Configuration:
    (s1, _), (s2, _) = namenodes
    return Configuration({
        "fs.defaultFS": "hdfs://ns1",
        "dfs.nameservices": "ns1",
        "dfs.ha.namenodes.ns1": "nn1,nn2",
        "dfs.namenode.rpc-address.ns1.nn1": s1.address_string,
        "dfs.namenode.rpc-address.ns1.nn2": s2.address_string,
        "ipc.client.connect.timeout": "2000",
        "ipc.client.rpc-timeout.ms": "5000",
    })


QUICK = RetryPolicy(max_attempts=4, sleep_base=0.01, sleep_max=0.01)


def test_an_ha_token_is_used_on_every_namenode_of_the_nameservice(namenodes):
    (_, standby), (_, active) = namenodes
    user = User("alice", tokens=[HA_TOKEN])
    with NameNodeClient.from_conf(ha_conf(namenodes), user=user, policy=QUICK) as client:
        status = client.get_file_info("/data/f")
    assert status is not None and status.length == 3
    assert standby.seen == [(AuthMethod.TOKEN, IDENTIFIER)]  # tried first, said standby
    assert active.seen == [(AuthMethod.TOKEN, IDENTIFIER)]


def test_a_token_for_another_nameservice_is_not_used(namenodes):
    other = HA_TOKEN.with_service("ha-hdfs:ns2")
    user = User("alice", tokens=[other])
    with NameNodeClient.from_conf(ha_conf(namenodes), user=user, policy=QUICK) as client:
        assert client.proxy.token is None
        with pytest.raises(Exception, match="SIMPLE authentication is not enabled"):
            client.get_file_info("/data/f")


def test_the_login_user_brings_the_containers_token_file(namenodes, tmp_path, monkeypatch):
    """Code in a YARN container: no user given, the token file of HADOOP_TOKEN_FILE_LOCATION."""
    _, (_, active) = namenodes
    credentials = Credentials()
    credentials.add_token("ha-hdfs:ns1", HA_TOKEN)
    token_file = tmp_path / "container_tokens"
    credentials.write_file(token_file)
    monkeypatch.setenv("HADOOP_TOKEN_FILE_LOCATION", str(token_file))
    monkeypatch.setenv("HADOOP_USER_NAME", "alice")
    conf = ha_conf(namenodes)
    with NameNodeClient.from_conf(conf, policy=QUICK) as client:
        assert client.user.name == "alice" and client.user.tokens == (HA_TOKEN,)
        assert client.get_file_info("/data/f") is not None
    assert active.seen == [(AuthMethod.TOKEN, IDENTIFIER)]


def test_a_non_ha_token_is_picked_by_address(namenodes):
    _, (s2, active) = namenodes
    token = Token(IDENTIFIER, PASSWORD, HDFS_DELEGATION_TOKEN_KIND, s2.address_string)
    user = User("alice", tokens=[token])
    with NameNodeClient([s2.address_string], user=user, settings=IpcSettings(connect_timeout=2.0)) as client:
        assert client.get_file_info("/f") is not None
    assert active.seen == [(AuthMethod.TOKEN, IDENTIFIER)]
