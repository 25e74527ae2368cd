"""The mini cluster in Kerberos mode, against a real MIT KDC (tests/security/kdc.py).

Skipped, with the reason, without Debian's krb5-kdc / krb5-user or the gssapi
package (the auth_to_local and DataTransfer SASL unit tests at the top run anyway).
Each protection (authentication, integrity, privacy) gets its own cluster, started
once for the module: the RM's client port and the NameNode take KERBEROS and
delegation tokens, the scheduler and NodeManager ports tokens only.
"""
from __future__ import annotations

import socket
import sys
import textwrap
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Tuple

import attrs
import pytest

from hadoop_protos import client_namenode_pb2 as cn
from hadoop_protos import datatransfer_pb2 as dt
from hadoop_protos import hdfs_pb2
from hadoop_protos import security_pb2 as secpb
from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb
from hadoop_protos.client_namenode_rpc import CLIENT_NAMENODE_PROTOCOL
from hadoop_protos.yarn_protocols_rpc import (
    APPLICATION_CLIENT_PROTOCOL,
    APPLICATION_MASTER_PROTOCOL,
    CONTAINER_MANAGEMENT_PROTOCOL,
)
from hadoop_protos.yarn_tokens_pb2 import YARNDelegationTokenIdentifierProto
from pyarn.client import Client
from pyarn.conf import Configuration
from pyarn.errors import AccessControlError, AuthenticationError, InvalidTokenError, PyarnError, RemoteError
from pyarn.hdfs import HDFS
from pyarn.hdfs import filesystem as filesystem_module
from pyarn.hdfs.datatransfer import BlockTokenError, Receiver, Status, read_block_op
from pyarn.hdfs.namenode import NameNodeClient
from pyarn.hdfs.transfer_security import DataTransferSecurity
from pyarn.ipc import IpcSettings, Qop, RpcClient
from pyarn.ipc.client import Connection
from pyarn.ipc.constants import AuthMethod
from pyarn.ipc.sasl import NoCommonProtectionError
from pyarn.minicluster import MiniCluster
from pyarn.minicluster.hdfs import MiniHDFS
from pyarn.minicluster.hdfs.blocktokens import BlockTokenIdentifier
from pyarn.minicluster.security import KerberosSetup
from pyarn.security.auth_to_local import AuthToLocal, NoMatchingRule
from pyarn.security.credentials import Credentials
from pyarn.security.kerberos import KerberosCredentials, NoTicketError
from pyarn.security.tokens import HDFS_BLOCK_TOKEN_KIND, HDFS_DELEGATION_TOKEN_KIND, Token
from pyarn.security.user import User
from pyarn.security.writable import DelegationTokenIdentifier
from pyarn.spec import File
from pyarn.yarn.records import ApplicationReport, Resource

from ..ipc.test_qop_wire import MARKER, TcpRelay
from ..security.kdc import (  # noqa: F401 (the kdc fixture)
    NN_SERVICE,
    OTHER_USER,
    RM_SERVICE,
    USER,
    TestKdc,
    kdc_fixture,
    kerberos_environment,
    shared_kdc,
)
from .rawam import Cluster, run_echo_scenario, wait_for

REALM = "PYARN.TEST"
RM_PRINCIPAL = f"{RM_SERVICE}@{REALM}"
NN_PRINCIPAL = f"{NN_SERVICE}@{REALM}"
PROTECTIONS = ("authentication", "integrity", "privacy")
QOPS = {"authentication": Qop.AUTH, "integrity": Qop.AUTH_INT, "privacy": Qop.AUTH_CONF}
FAST = 2.0  # seconds: "fails fast"
REPO = Path(__file__).resolve().parents[2]
#: alice may act for carol (not for bob).
PROXY_CONF = {"hadoop.proxyuser.alice.users": "carol", "hadoop.proxyuser.alice.hosts": "*"}
#: The reference cluster's rules (its core-site.xml): per host, not per service.
REFERENCE_RULES = ("RULE:[2:$1/$2@$0](nn/localhost@PYARN.TEST)s/.*/hdfs/ "
                   "RULE:[2:$1/$2@$0](rm/localhost@PYARN.TEST)s/.*/yarn/ "
                   "RULE:[1:$1@$0](.*@PYARN.TEST)s/@.*// RULE:[2:$1@$0](.*@PYARN.TEST)s/@.*// DEFAULT")


# ---------------------------------------------------------------- auth_to_local (no KDC needed)


def test_auth_to_local_rules_as_hadoop_applies_them():
    rules = AuthToLocal(KerberosSetup(realm=REALM, keytab="x").rules(), REALM)
    assert rules.short_name("alice@PYARN.TEST") == "alice"
    assert rules.short_name("alice/admin@PYARN.TEST") == "alice"
    assert rules.short_name("nn/localhost@PYARN.TEST") == "hdfs"
    assert rules.short_name("rm/some.host@PYARN.TEST") == "yarn"
    assert rules.short_name("appattempt_1_0001_000001") == "appattempt_1_0001_000001"  # no realm: as is
    with pytest.raises(NoMatchingRule, match="No rules applied to alice@OTHER.REALM"):
        rules.short_name("alice@OTHER.REALM")
    reference = AuthToLocal(REFERENCE_RULES, REALM)
    assert reference.short_name("rm/localhost@PYARN.TEST") == "yarn"
    assert reference.short_name("rm/127.0.0.1@PYARN.TEST") == "rm"
    assert reference.short_name("bob@PYARN.TEST") == "bob"
    lowered = AuthToLocal("RULE:[1:$1](Admin.*)s/A/a/L DEFAULT", REALM)
    assert lowered.short_name("AdminX@OTHER") == "adminx"
    with pytest.raises(ValueError, match="Invalid rule"):
        AuthToLocal("RULE:broken", REALM)


def test_kerberos_setup_checks_what_it_is_given():
    with pytest.raises(ValueError, match="no keytab for the rm principal"):
        KerberosSetup(realm=REALM)
    with pytest.raises(ValueError, match="'paranoid' is not one of"):
        KerberosSetup(realm=REALM, keytab="k", protection="paranoid")
    setup = KerberosSetup(realm=REALM, keytab="k", protection="privacy, integrity")
    assert setup.qops == (Qop.AUTH_CONF, Qop.AUTH_INT)
    assert setup.configured_principal("nn") == "nn/_HOST@PYARN.TEST"
    assert setup.data_transfer_qops == ()


# ---------------------------------------------------------------- DataTransfer SASL (no KDC needed)


@pytest.fixture(scope="module")
def sasl_hdfs(tmp_path_factory) -> Iterator[MiniHDFS]:
    """A DataNode that asks for DataTransfer SASL at integrity or privacy, and a block on it."""
    with MiniHDFS(tmp_path_factory.mktemp("sasl-hdfs"), block_tokens=True,
                  data_transfer_protection=(Qop.AUTH_INT, Qop.AUTH_CONF)) as hdfs:
        yield hdfs


def _handshake(hdfs: MiniHDFS, token: secpb.TokenProto, qops) -> Tuple[object, int]:
    """Secure a connection to the DataNode with ``token``; READ_BLOCK of an absent block on it."""
    datanode = hdfs.datanodes[0]
    info = hdfs_pb2.DatanodeInfoProto(id=hdfs_pb2.DatanodeIDProto(
        ipAddr="127.0.0.1", hostName="localhost", datanodeUuid=datanode.datanode_uuid,
        xferPort=datanode.xfer_port, infoPort=0, ipcPort=0))
    raw = socket.create_connection(("127.0.0.1", datanode.xfer_port), timeout=10)
    sock = DataTransferSecurity(security_enabled=True, qops=qops).secure(raw, info, token)
    with sock:
        block = hdfs_pb2.ExtendedBlockProto(poolId=hdfs.namenode.pool_id, blockId=4242, generationStamp=1)
        sock.sendall(read_block_op(block, token, "test", 0, 10))
        return sock, _response(sock).status


def _response(sock) -> dt.BlockOpResponseProto:
    receiver = Receiver()
    while True:
        response = receiver.next_message(dt.BlockOpResponseProto)
        if response is not None:
            return response
        data = sock.recv(65536)
        if not data:
            raise EOFError("the DataNode closed the connection")
        receiver.feed(data)


@pytest.mark.parametrize("client_qops, agreed", [((Qop.AUTH_CONF,), Qop.AUTH_CONF),
                                                 ((Qop.AUTH_INT, Qop.AUTH_CONF), Qop.AUTH_INT)])
def test_the_datanode_authenticates_block_tokens_over_sasl(sasl_hdfs, client_qops, agreed):
    token = sasl_hdfs.namenode.block_tokens.token("alice", 4242, ["READ"])
    sock, status = _handshake(sasl_hdfs, token, client_qops)
    assert status == Status.ERROR  # through the protected stream: no such replica
    assert sock.codec.layer.qop is agreed


def test_the_datanode_refuses_bad_block_tokens_in_the_handshake(sasl_hdfs):
    manager = sasl_hdfs.namenode.block_tokens
    good = manager.token("alice", 4242, ["READ"])
    forged = secpb.TokenProto(identifier=good.identifier, password=b"\1" * 20, kind=good.kind, service="")
    with pytest.raises(BlockTokenError, match="refused the block token"):
        _handshake(sasl_hdfs, forged, (Qop.AUTH_CONF,))
    expired = BlockTokenIdentifier(1, manager.key.key_id, "alice", manager.block_pool_id, 4242, ("READ",))
    raw = expired.to_bytes()
    stale = secpb.TokenProto(identifier=raw, password=manager.key.password(raw), kind=good.kind, service="")
    with pytest.raises(BlockTokenError, match="is expired"):
        _handshake(sasl_hdfs, stale, (Qop.AUTH_CONF,))
    with pytest.raises(NoCommonProtectionError, match="No common protection layer"):
        _handshake(sasl_hdfs, good, (Qop.AUTH,))


def test_a_client_without_sasl_gets_nothing_from_a_sasl_datanode(sasl_hdfs):
    datanode = sasl_hdfs.datanodes[0]
    block = hdfs_pb2.ExtendedBlockProto(poolId=sasl_hdfs.namenode.pool_id, blockId=4242, generationStamp=1)
    token = sasl_hdfs.namenode.block_tokens.token("alice", 4242, ["READ"])
    with socket.create_connection(("127.0.0.1", datanode.xfer_port), timeout=10) as sock:
        sock.sendall(read_block_op(block, token, "test", 0, 10))
        with pytest.raises((EOFError, ConnectionError)):
            _response(sock)


# ---------------------------------------------------------------- secure clusters


@pytest.fixture(scope="module")
def krb() -> Iterator[TestKdc]:
    """The shared KDC, with KRB5_CONFIG set for the module (the clusters outlive single tests)."""
    with kerberos_environment() as kdc:
        yield kdc


ClusterFactory = Callable[..., MiniCluster]


@pytest.fixture(scope="module")
def clusters(krb: TestKdc) -> Iterator[ClusterFactory]:
    """``clusters(protection, data_transfer=None)``: a secure cluster, started on first use and
    kept for the module. A privacy cluster runs every service from one keytab; the others
    have one keytab per service, Hadoop's convention. Two DataNodes when the DataNodes
    speak SASL (so that pipelines do too)."""
    started: Dict[Tuple[str, Optional[str]], MiniCluster] = {}

    def get(protection: str, data_transfer: Optional[str] = None) -> MiniCluster:
        key = (protection, data_transfer)
        if key not in started:
            keytabs = ({"keytab": krb.merged_keytab(RM_SERVICE, NN_SERVICE)} if protection == "privacy" else
                       {"rm_keytab": krb.keytab(RM_SERVICE), "nn_keytab": krb.keytab(NN_SERVICE)})
            setup = KerberosSetup(realm=krb.realm, protection=protection, krb5_conf=krb.krb5_conf,
                                  users=(USER, OTHER_USER, "carol"), data_transfer_protection=data_transfer,
                                  **keytabs)
            started[key] = MiniCluster(nodes=1, memory_mb=1024, vcores=4, kerberos=setup, conf=PROXY_CONF,
                                       datanodes=2 if data_transfer else 1).start()
        return started[key]

    try:
        yield get
    finally:
        for cluster in started.values():
            cluster.stop()


@pytest.fixture
def alice(kdc, monkeypatch) -> str:
    """alice's ticket cache, as ``KRB5CCNAME``."""
    ccache = kdc.ccache(USER)
    monkeypatch.setenv("KRB5CCNAME", ccache)
    return ccache


@pytest.fixture
def no_ticket(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-ticket'}")


def _conf(cluster: MiniCluster) -> Configuration:
    return Configuration.load(cluster.conf_dir)


def _settings(cluster: MiniCluster, **changes) -> IpcSettings:
    settings = IpcSettings.from_conf(_conf(cluster))
    return attrs.evolve(settings, connect_timeout=5.0, rpc_timeout=20.0, **changes)


def _rm(client: RpcClient, cluster: MiniCluster, user: Optional[User] = None):
    return client.proxy(cluster.rm_address, APPLICATION_CLIENT_PROTOCOL, user or User("ignored"))


def _namenode(cluster: MiniCluster, rpc: RpcClient, user: Optional[User] = None) -> NameNodeClient:
    return NameNodeClient.from_conf(_conf(cluster), user=user or User("ignored"), rpc=rpc)


def _metrics(client: RpcClient, cluster: MiniCluster, user: Optional[User] = None):
    return _rm(client, cluster, user).call("getClusterMetrics", spb.GetClusterMetricsRequestProto())


# ---------------------------------------------------------------- the conf dir


def test_the_conf_dir_says_what_a_secure_cluster_says(krb, clusters):
    cluster = clusters("integrity")
    conf = _conf(cluster)
    assert conf.get_str("hadoop.security.authentication") == "kerberos"
    assert conf.get_str("hadoop.rpc.protection") == "integrity"
    assert conf.get_str("yarn.resourcemanager.principal") == RM_PRINCIPAL
    assert conf.get_str("dfs.namenode.kerberos.principal") == NN_PRINCIPAL
    assert conf.get_bool("dfs.block.access.token.enable") is True
    assert conf.get_str("dfs.data.transfer.protection", "") == ""  # these DataNodes speak no SASL
    assert "RULE:[1:$1@$0](.*@PYARN\\.TEST)s/@.*//" in conf.get_str("hadoop.security.auth_to_local")
    assert f"KRB5_CONFIG={krb.krb5_conf}" in conf.get_str("yarn.nodemanager.admin-env")
    assert IpcSettings.from_conf(conf).security_enabled
    assert _conf(clusters("integrity", "privacy")).get_str("dfs.data.transfer.protection") == "privacy"


# ---------------------------------------------------------------- the ResourceManager


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_rm_calls_over_kerberos_at_each_protection(clusters, alice, protection):
    cluster = clusters(protection)
    with RpcClient(_settings(cluster)) as client:
        assert _metrics(client, cluster).cluster_metrics.num_node_managers == 1
        apps = _rm(client, cluster).call("getApplications", spb.GetApplicationsRequestProto())
        assert all(app.user for app in apps.applications)
    connection = Connection(cluster.rm_address, APPLICATION_CLIENT_PROTOCOL.name, User("x"),
                            client_id=b"C" * 16, settings=_settings(cluster))
    with connection:
        assert connection.auth_method is AuthMethod.KERBEROS and connection.qop is QOPS[protection]
    # the library's Client, told nothing but the conf dir: the ticket cache does the rest
    with Client(cluster.conf_dir) as rm:
        assert rm.new_application().id.cluster_timestamp == cluster.resource_manager.cluster_timestamp
        assert isinstance(rm.get_applications(states=["FINISHED"]), list)


def test_an_application_belongs_to_the_short_name_of_its_submitter(clusters, alice):
    cluster = clusters("authentication")
    with Cluster(cluster.conf_dir) as raw:
        app_id = raw.submit("owned", unmanaged=True)
        assert raw.report(app_id).user == USER
        raw.kill(app_id)


def test_a_client_without_a_ticket_fails_fast_saying_so(clusters, no_ticket):
    cluster = clusters("authentication")
    for call in (lambda: Client(cluster.conf_dir).get_applications(),
                 lambda: HDFS(cluster.conf_dir).stat("/")):
        started = time.monotonic()
        with pytest.raises(NoTicketError, match="no Kerberos ticket.*kinit"):
            call()
        assert time.monotonic() - started < FAST


@pytest.mark.parametrize("client_protection", ["authentication", "integrity"])
def test_a_lower_protection_than_the_clusters_fails_fast(clusters, alice, client_protection):
    cluster = clusters("privacy")
    with RpcClient(_settings(cluster, qops=(QOPS[client_protection],))) as client:
        for call in (lambda: _metrics(client, cluster),
                     lambda: _namenode(cluster, client).get_file_info("/")):
            started = time.monotonic()
            with pytest.raises(NoCommonProtectionError, match="No common protection layer") as info:
                call()
            assert time.monotonic() - started < FAST
            assert client_protection in str(info.value) and "privacy" in str(info.value)


@pytest.mark.parametrize("protection, visible", [("integrity", True), ("privacy", False)])
def test_with_privacy_no_call_crosses_the_wire_in_clear(clusters, alice, protection, visible):
    """Calls of a client to the RM and to the NameNode, captured on loopback."""
    cluster = clusters(protection)
    marker = f"{MARKER}-{protection}"
    captured = b""
    with TcpRelay(cluster.resource_manager.client_server.address) as relay, \
            RpcClient(_settings(cluster)) as rpc:
        request = spb.GetApplicationsRequestProto(application_types=[marker])
        rpc.proxy(relay.address, APPLICATION_CLIENT_PROTOCOL, User("x")).call("getApplications", request)
        rpc.close()
        captured += relay.captured()
    with TcpRelay(cluster.hdfs.namenode.address) as relay, RpcClient(_settings(cluster)) as rpc:
        namenode = NameNodeClient([relay.address], rpc=rpc, user=User("x"))
        assert namenode.mkdirs(f"/user/alice/{marker}")
        assert namenode.get_file_info(f"/user/alice/{marker}").owner == USER
        rpc.close()
        captured += relay.captured()
    assert (marker.encode() in captured) is visible
    assert (b"alice@PYARN.TEST" in captured) is visible


def test_the_scheduler_and_node_ports_take_tokens_only(clusters, alice):
    cluster = clusters("authentication")
    register = spb.RegisterApplicationMasterRequestProto(host="h", rpc_port=-1)
    with RpcClient(_settings(cluster)) as rpc:  # a ticket, but no token
        with pytest.raises(AuthenticationError, match=r"Client cannot authenticate via:\[TOKEN\]"):
            rpc.proxy(cluster.scheduler_address, APPLICATION_MASTER_PROTOCOL, User("x")).call(
                "registerApplicationMaster", register)
        with pytest.raises(AuthenticationError, match=r"Client cannot authenticate via:\[TOKEN\]"):
            rpc.proxy(cluster.node_managers[0].address, CONTAINER_MANAGEMENT_PROTOCOL, User("x")).call(
                "getContainerStatuses", spb.GetContainerStatusesRequestProto())


def test_simple_auth_is_refused_by_the_secure_ports(clusters):
    cluster = clusters("authentication")
    with RpcClient(IpcSettings(connect_timeout=5.0, rpc_timeout=10.0)) as client:  # simple auth
        with pytest.raises(AccessControlError,
                           match=r"SIMPLE authentication is not enabled.*TOKEN, KERBEROS"):
            _metrics(client, cluster, User(USER))
        with pytest.raises(AccessControlError, match="SIMPLE authentication is not enabled"):
            client.proxy(cluster.hdfs.namenode_address, CLIENT_NAMENODE_PROTOCOL, User("hdfs")).call(
                "getFsStats", cn.GetFsStatusRequestProto())


def test_an_rm_delegation_token_works_alone(clusters, alice, monkeypatch, tmp_path):
    cluster = clusters("integrity")
    with RpcClient(_settings(cluster)) as client:
        response = _rm(client, cluster).call("getDelegationToken", secpb.GetDelegationTokenRequestProto(
            renewer=RM_PRINCIPAL))
    token = Token.from_proto(response.token).with_service(cluster.rm_address)
    assert token.kind == "RM_DELEGATION_TOKEN"
    identifier = YARNDelegationTokenIdentifierProto.FromString(token.identifier)
    assert (identifier.owner, identifier.renewer) == ("alice@PYARN.TEST", "yarn")
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-ticket'}")  # the token, nothing else
    with RpcClient(_settings(cluster)) as client:
        user = User("alice", tokens=[token])
        assert _metrics(client, cluster, user).cluster_metrics.num_node_managers == 1
        with pytest.raises(RemoteError, match="can be issued only with kerberos authentication"):
            _rm(client, cluster, user).call("getDelegationToken",
                                            secpb.GetDelegationTokenRequestProto(renewer="yarn"))


# ---------------------------------------------------------------- the NameNode


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_hdfs_over_kerberos_at_each_protection(clusters, alice, protection):
    cluster = clusters(protection)
    with HDFS(cluster.conf_dir) as fs:
        path = fs.mkdir(f"/user/alice/{protection}")
        status = fs.stat(path)
        assert (status.owner, status.is_dir) == (USER, True)
        data = b"kerberized bytes " * 20_000
        with fs.open(f"{path}/blob", "wb") as out:
            out.write(data)
        with fs.open(f"{path}/blob") as stream:
            assert stream.read() == data
        assert fs.stat(f"{path}/blob").owner == USER
        with pytest.raises(PermissionError, match="user=alice, access=WRITE"):
            fs.mkdir("/user/bob/not-yours")


def test_a_keytab_login_is_its_principals_short_name(clusters, krb):
    cluster = clusters("privacy")
    login = KerberosCredentials.from_keytab(OTHER_USER, str(krb.keytab(OTHER_USER)))
    with RpcClient(_settings(cluster), kerberos=login) as rpc:
        namenode = _namenode(cluster, rpc)
        assert namenode.mkdirs("/user/bob/from-keytab")
        assert namenode.get_file_info("/user/bob/from-keytab").owner == OTHER_USER


def test_service_principals_map_to_service_users(clusters, krb, alice):
    """nn/localhost is ``hdfs``, the superuser; alice is not."""
    cluster = clusters("authentication")
    assert cluster.hdfs.namenode.superuser == "hdfs"
    request = cn.GetDatanodeReportRequestProto(type=cn.ALL)
    nn = KerberosCredentials.from_keytab(NN_SERVICE, str(krb.keytab(NN_SERVICE)))
    with RpcClient(_settings(cluster), kerberos=nn) as rpc:
        assert len(_namenode(cluster, rpc).proxy.call("getDatanodeReport", request).di) == 1
    with RpcClient(_settings(cluster)) as rpc:
        with pytest.raises(AccessControlError, match="Access denied for user alice. Superuser privilege"):
            _namenode(cluster, rpc).proxy.call("getDatanodeReport", request)


def test_impersonation_only_as_proxyuser_rules_allow(clusters, alice):
    cluster = clusters("integrity")
    with RpcClient(_settings(cluster)) as rpc:
        carol = _namenode(cluster, rpc, User("carol", real_user="alice@PYARN.TEST"))
        assert carol.mkdirs("/user/carol/by-alice")
        assert carol.get_file_info("/user/carol/by-alice").owner == "carol"
        bob = _namenode(cluster, rpc, User("bob", real_user="alice@PYARN.TEST"))
        with pytest.raises(AccessControlError, match="User: alice@PYARN.TEST is not allowed to impersonate"):
            bob.get_file_info("/")


def test_an_hdfs_delegation_token_from_kerberos_then_alone(clusters, alice, monkeypatch, tmp_path):
    cluster = clusters("privacy")
    with HDFS(cluster.conf_dir) as fs:
        token = fs.get_delegation_token(RM_PRINCIPAL)
    assert token.kind == HDFS_DELEGATION_TOKEN_KIND and token.service == cluster.hdfs.namenode_address
    identifier = DelegationTokenIdentifier.from_token(token)
    assert (identifier.owner, identifier.renewer, identifier.real_user) == ("alice@PYARN.TEST", "yarn", "")
    assert identifier.master_key_id == cluster.hdfs.namenode.tokens.master_key.key_id
    assert identifier.max_date - identifier.issue_date == 7 * 24 * 3600 * 1000
    # no ticket at all from here on: the token alone
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-ticket'}")
    with HDFS(cluster.conf_dir, user=User("whoever", tokens=[token])) as fs:
        path = fs.mkdir("/user/alice/by-token")
        assert fs.stat(path).owner == USER
        with fs.open(f"{path}/f", "wb") as out:
            out.write(b"token bytes")
        with fs.open(f"{path}/f") as stream:
            assert stream.read() == b"token bytes"
        with pytest.raises(RemoteError, match="can be issued only with kerberos"):
            fs.get_delegation_token("yarn")
    with HDFS(cluster.conf_dir, user=User("whoever")) as fs:  # neither a token nor a ticket
        with pytest.raises(NoTicketError):
            fs.stat("/")


def test_delegation_tokens_renew_cancel_and_expire(clusters, krb, alice):
    cluster = clusters("authentication")
    with HDFS(cluster.conf_dir) as fs:
        token = fs.get_delegation_token(RM_PRINCIPAL)
        request = secpb.RenewDelegationTokenRequestProto(token=token.to_proto())
        with pytest.raises(AccessControlError, match="alice tries to renew a token .* with non-matching "
                                                     "renewer yarn"):
            fs.namenode.proxy.call("renewDelegationToken", request)
    rm = KerberosCredentials.from_keytab(RM_SERVICE, str(krb.keytab(RM_SERVICE)))
    with RpcClient(_settings(cluster), kerberos=rm) as rpc:
        expiry = _namenode(cluster, rpc).proxy.call("renewDelegationToken", request).newExpiryTime
        assert expiry > time.time() * 1000
    settings = _settings(cluster)
    with RpcClient(settings) as rpc:
        assert _namenode(cluster, rpc, User("t", tokens=[token])).get_file_info("/user/alice") is not None
    cluster.hdfs.namenode.tokens.expire(token)
    with RpcClient(settings) as rpc:
        with pytest.raises(InvalidTokenError, match="is expired, current time"):
            _namenode(cluster, rpc, User("t", tokens=[token])).get_file_info("/")
    with HDFS(cluster.conf_dir) as fs:
        fs.namenode.proxy.call("cancelDelegationToken",
                               secpb.CancelDelegationTokenRequestProto(token=token.to_proto()))
    with RpcClient(settings) as rpc:
        with pytest.raises(InvalidTokenError, match="can't be found in cache"):
            _namenode(cluster, rpc, User("t", tokens=[token])).get_file_info("/")


def test_block_tokens_are_issued_and_checked(clusters, alice):
    cluster = clusters("integrity")
    with HDFS(cluster.conf_dir) as fs:
        with fs.open("/user/alice/blocks", "wb") as out:
            out.write(b"x" * 1000)
        located = fs.namenode.get_block_locations("/user/alice/blocks").blocks[0]
    token = located.blockToken
    assert token.kind == HDFS_BLOCK_TOKEN_KIND
    identifier = BlockTokenIdentifier.from_bytes(token.identifier)
    assert (identifier.user_id, identifier.block_id, identifier.modes) == (USER, located.b.blockId, ("READ",))

    def read_status(block_token: secpb.TokenProto) -> int:
        datanode = located.locs[0].id
        with socket.create_connection((datanode.ipAddr, datanode.xferPort), timeout=10) as sock:
            sock.sendall(read_block_op(located.b, block_token, "test", 0, 1000))
            return _response(sock).status

    assert read_status(token) == Status.SUCCESS
    forged = secpb.TokenProto(identifier=token.identifier, password=b"\0" * 20, kind=token.kind, service="")
    assert read_status(forged) == Status.ERROR_ACCESS_TOKEN
    assert read_status(secpb.TokenProto(identifier=b"", password=b"", kind="", service="")) == \
        Status.ERROR_ACCESS_TOKEN


@pytest.mark.parametrize("data_transfer, visible", [("integrity", True), ("privacy", False)])
def test_datatransfer_sasl_end_to_end(clusters, alice, monkeypatch, data_transfer, visible):
    """Two DataNodes asking for SASL (the pipeline's second hop too); the blocks' bytes, captured
    between the client and the DataNodes, are in clear only without privacy."""
    cluster = clusters("privacy", data_transfer)
    relays = {dn.xfer_port: TcpRelay((dn.host, dn.xfer_port)) for dn in cluster.hdfs.datanodes}

    def through_relay(datanode, timeout=60.0, use_hostname=False):
        host, port = relays[datanode.id.xferPort].address.split(":")
        return socket.create_connection((host, int(port)), timeout=timeout)

    monkeypatch.setattr(filesystem_module, "connect_datanode", through_relay)
    data = (MARKER.encode() + b"|") * 50_000
    try:
        with HDFS(cluster.conf_dir) as fs:
            with fs.open(f"/user/alice/sasl-{data_transfer}", "wb", replication=2) as out:
                out.write(data)
            with fs.open(f"/user/alice/sasl-{data_transfer}") as stream:
                assert stream.read() == data
            blocks = fs.namenode.get_block_locations(f"/user/alice/sasl-{data_transfer}").blocks
            assert blocks and all(len(block.locs) == 2 for block in blocks)  # through the pipeline
        captured = b"".join(relay.captured() for relay in relays.values())
    finally:
        for relay in relays.values():
            relay.close()
    assert captured and (MARKER.encode() in captured) is visible
    # a client that does not know the DataNodes want SASL gets nowhere (and is told why)
    conf = _conf(cluster).with_overrides({"dfs.data.transfer.protection": "",
                                          "dfs.client.max.block.acquire.failures": "0",
                                          "dfs.client.retry.window.base": "1"})
    with HDFS(conf=conf) as fs:
        with pytest.raises(PyarnError, match="sets no dfs.data.transfer.protection"):
            with fs.open(f"/user/alice/sasl-{data_transfer}") as stream:
                stream.read()


# ---------------------------------------------------------------- applications


def test_a_kerberos_caller_never_gets_an_unmanaged_ams_token(clusters, alice):
    """As YARN's RM: the AMRMToken goes only to a caller whose name (``getUserName``, the full
    principal over Kerberos) is the application's user (its short name)."""
    cluster = clusters("authentication")
    with Cluster(cluster.conf_dir) as raw:
        app_id = raw.submit("unmanaged-over-kerberos", unmanaged=True)
        raw.wait_for_report(app_id, lambda r: r.yarn_application_state == pb.ACCEPTED, 10.0, "ACCEPTED")
        time.sleep(0.3)  # the attempt is LAUNCHED, when the submitter of an unmanaged AM gets the token
        report = raw.report(app_id)
        assert report.user == USER and not report.HasField("am_rm_token")
        assert raw.kill(app_id)


@pytest.mark.parametrize("protection", ["authentication", "privacy"])
def test_an_am_of_the_raw_protocol_runs_containers_at_the_protection(clusters, alice, protection):
    cluster = clusters(protection)
    with Cluster(cluster.conf_dir) as raw:
        result = run_echo_scenario(raw, name=f"secure-echo-{protection}", managed=True)
    assert result["final"].yarn_application_state == pb.FINISHED
    assert result["final"].user == USER
    assert {s.exit_status for s in result["statuses"].values()} == {0, 3, 5}


_AM = '''
import os, sys, traceback
sys.path.insert(0, {repo!r})
from hadoop_protos import yarn_records_pb2 as pb
from pyarn.hdfs import HDFS
from pyarn.security.credentials import Credentials
from pyarn.security.tokens import AMRM_TOKEN_KIND
from pyarn.yarn.ids import ContainerId
from tests.minicluster.rawam import AppMaster, Cluster

env = os.environ
attempt = ContainerId.parse(env["CONTAINER_ID"]).application_attempt_id
token = Credentials.read_file(env["HADOOP_TOKEN_FILE_LOCATION"]).find_token(AMRM_TOKEN_KIND)
with Cluster(env["HADOOP_CONF_DIR"]) as cluster:
    with AppMaster(cluster, attempt.application_id.to_proto(), token.to_proto()) as am:
        am.register(host=env["NM_HOST"])
        try:
            with HDFS(env["HADOOP_CONF_DIR"]) as fs:  # the login user: the tokens of the token file
                with fs.open(sys.argv[1], "wb") as out:
                    out.write(("written by " + str(attempt) + " as " + env["USER"]).encode())
        except Exception as exc:
            traceback.print_exc()
            am.finish(pb.APP_FAILED, type(exc).__name__ + ": " + str(exc))
        else:
            am.finish(pb.APP_SUCCEEDED, "wrote " + sys.argv[1])
'''
_FINAL = ("FINISHED", "FAILED", "KILLED")


def _run_am(cluster: MiniCluster, tmp_path: Path, target: str, credentials: Credentials, *,
            staged: bool = False) -> ApplicationReport:
    """Submit (with the library's Client) an AM that writes ``target`` to HDFS; its final report.
    With ``staged`` the AM's script is localized from HDFS (with the AM's tokens)."""
    script = tmp_path / "secure_am.py"
    script.write_text(textwrap.dedent(_AM.format(repo=str(REPO))))
    resources = {}
    if staged:
        with HDFS(cluster.conf_dir) as fs:
            remote = fs.put(script, f"/user/alice/staged-{tmp_path.name}.py")
            status = fs.stat(remote)
        resources["secure_am.py"] = File(source=f"{cluster.default_fs}{remote}", size=status.length,
                                         timestamp=int(status.modification_time.timestamp() * 1000))
        script = Path("secure_am.py")
    command = f"{sys.executable} {script} {target} 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"
    with Client(cluster.conf_dir) as client:
        app_id = client.submit_context(name="secure-managed-am", commands=[command], max_attempts=1,
                                       resource=Resource(memory=256, vcores=1), tokens=credentials,
                                       local_resources=resources)

        def ended() -> Optional[ApplicationReport]:
            report = client.application_report(app_id)
            return report if report.state is not None and report.state.value in _FINAL else None
        return wait_for(ended, 60.0, f"{app_id} to end")


def _hdfs_token(cluster: MiniCluster, renewer: str) -> Credentials:
    credentials = Credentials()
    with HDFS(cluster.conf_dir) as fs:
        token = fs.get_delegation_token(renewer)
    credentials.add_token(token.service, token)
    return credentials


def test_a_managed_am_uses_the_tokens_its_submitter_gave_it(clusters, alice, tmp_path):
    cluster = clusters("privacy")
    report = _run_am(cluster, tmp_path, "/user/alice/from-the-am", _hdfs_token(cluster, RM_PRINCIPAL),
                     staged=True)
    assert (report.state.value, report.final_status.value) == ("FINISHED", "SUCCEEDED"), report.diagnostics
    assert report.user == USER
    with HDFS(cluster.conf_dir) as fs:
        assert fs.stat("/user/alice/from-the-am").owner == USER
        with fs.open("/user/alice/from-the-am") as stream:
            assert stream.read().startswith(b"written by appattempt_")


def test_a_managed_am_without_an_hdfs_token_has_no_ticket_to_fall_back_on(clusters, alice, tmp_path):
    report = _run_am(clusters("integrity"), tmp_path, "/user/alice/never", Credentials())
    assert report.final_status.value == "FAILED"
    assert "NoTicketError: no Kerberos ticket" in report.diagnostics


def test_localizing_from_hdfs_needs_the_applications_token(clusters, alice, tmp_path):
    """The NodeManager localizes with the container's tokens only, never with a ticket of its own."""
    report = _run_am(clusters("integrity"), tmp_path, "/user/alice/never", Credentials(), staged=True)
    assert report.final_status.value == "FAILED"
    assert "exitCode: -1000" in report.diagnostics  # the localization failed
    assert "no Kerberos ticket" in report.diagnostics


def test_a_pyarn_application_runs_on_the_secure_cluster(clusters, alice, tmp_path, monkeypatch):
    """The whole product path at privacy: ``Client.submit`` stages over Kerberos and gives the AM an
    HDFS token renewable by the RM; ``pyarn-am`` runs on its tokens alone (its journal and the
    clean-up of its staging directory go through HDFS with that token)."""
    monkeypatch.setenv("HOME", str(tmp_path))  # the application secret is kept under ~/.pyarn
    cluster = clusters("privacy")
    spec = {"name": "secure-hello", "services": {"hello": {
        "resources": {"memory": 128, "vcores": 1}, "script": "echo hello from a secure cluster"}}}
    with Client(cluster.conf_dir, user=USER, python=sys.executable) as client:  # see the notes on user
        app_id = client.submit(spec)

        def ended() -> Optional[ApplicationReport]:
            report = client.application_report(app_id)
            return report if report.state is not None and report.state.value in _FINAL else None
        report = wait_for(ended, 60.0, f"{app_id} to end")
    assert (report.state.value, report.final_status.value) == ("FINISHED", "SUCCEEDED"), report.diagnostics
    assert report.user == USER
    with HDFS(cluster.conf_dir) as fs:  # the AM removes its staging directory once unregistered
        wait_for(lambda: not fs.exists(f"/user/alice/.pyarn/{app_id}"), 20.0, "the staging directory to go")


def test_a_token_the_rm_may_not_renew_fails_the_application(clusters, alice, tmp_path):
    cluster = clusters("authentication")
    report = _run_am(cluster, tmp_path, "/user/alice/never", _hdfs_token(cluster, "alice"))
    assert report.state.value == "FAILED"
    assert report.diagnostics.startswith("Failed to renew token: Kind: HDFS_DELEGATION_TOKEN, Service: "
                                         f"{cluster.hdfs.namenode_address}, Ident: (token for alice: ")
    # as the real RM: the token's description, no reason appended
    assert ", renewer=alice, realUser=, " in report.diagnostics and report.diagnostics.endswith(")")
