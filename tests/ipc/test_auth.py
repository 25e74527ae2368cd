"""Which token a client presents, and server auth configuration."""
from __future__ import annotations

import pytest

from pyarn import net
from pyarn.ipc import RpcClient, ServerAuth, auth, select_token
from pyarn.ipc.constants import AuthMethod
from pyarn.security.tokens import AMRM_TOKEN_KIND, NM_TOKEN_KIND, RM_DELEGATION_TOKEN_KIND, Token
from pyarn.security.user import User

from .support import FAST, PROTOCOL_NAME, TEST_PROTOCOL, TOKEN_KIND, Req, make_token

AMP = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB"
CMP = "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB"
ACP = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"
CLIENT_PROTOCOL = "org.apache.hadoop.hdfs.protocol.ClientProtocol"


def test_token_is_chosen_by_protocol_kind_and_service():
    amrm = Token(b"a", b"p", AMRM_TOKEN_KIND, "")
    nm1 = Token(b"n1", b"p", NM_TOKEN_KIND, "node1:8041")
    nm2 = Token(b"n2", b"p", NM_TOKEN_KIND, "node2:8041")
    rm = Token(b"r", b"p", RM_DELEGATION_TOKEN_KIND, "rm1:8032,rm2:8032")
    user = User("app", tokens=[amrm, nm1, nm2, rm])
    assert select_token(user, AMP, "rm:8030") is amrm  # an empty service matches any address
    assert select_token(user, CMP, "node2:8041") is nm2
    assert select_token(user, CMP, "node3:8041") is None
    assert select_token(user, ACP, "rm2:8032") is rm  # HA: a comma list of services
    assert select_token(user, "org.example.Unknown", "rm:8030") is None
    assert select_token(user, "org.example.Unknown", "node1:8041", kinds=[NM_TOKEN_KIND]) is nm1


def test_token_service_by_ip_matches_a_host_name():
    nm = Token(b"n", b"p", NM_TOKEN_KIND, "127.0.0.1:8041")
    assert select_token(User("u", tokens=[nm]), CMP, "localhost:8041") is nm


def test_a_logical_service_wins_over_the_address():
    """An HA HDFS token names the nameservice (``ha-hdfs:<ns>``), never a NameNode address."""
    ha = Token(b"h", b"p", "HDFS_DELEGATION_TOKEN", "ha-hdfs:ns1")
    by_address = Token(b"a", b"p", "HDFS_DELEGATION_TOKEN", "nn1:8020")
    user = User("u", tokens=[by_address, ha])
    assert select_token(user, CLIENT_PROTOCOL, "nn1:8020") is by_address
    assert select_token(user, CLIENT_PROTOCOL, "nn1:8020", logical_service="ha-hdfs:ns1") is ha
    assert select_token(user, CLIENT_PROTOCOL, None, logical_service="ha-hdfs:ns1") is ha
    assert select_token(user, CLIENT_PROTOCOL, None, logical_service="ha-hdfs:ns2") is None
    assert select_token(user, CLIENT_PROTOCOL, "nn2:8020", logical_service="ha-hdfs:ns2") is None
    assert select_token(user, CLIENT_PROTOCOL, "nn9:8020") is None


def test_no_name_lookup_without_a_token_of_the_right_kind(monkeypatch):
    lookups = []
    monkeypatch.setattr(net.socket, "gethostbyname", lambda host: lookups.append(host) or "10.0.0.1")
    user = User("u", tokens=[Token(b"n", b"p", NM_TOKEN_KIND, "10.0.0.9:8041")])
    assert select_token(user, ACP, "rm:8032") is None
    assert lookups == []
    assert select_token(user, CMP, "node:8041") is None
    assert lookups == ["node"]


def test_the_token_is_chosen_once_per_user_protocol_and_address(monkeypatch, token_server, handler):
    """Choosing may take a name lookup: it must not happen on every call."""
    monkeypatch.setitem(auth.TOKEN_KINDS, PROTOCOL_NAME, (TOKEN_KIND,))
    lookups = []
    real = net.socket.gethostbyname
    monkeypatch.setattr(net.socket, "gethostbyname", lambda host: lookups.append(host) or real(host))
    port = token_server.address[1]
    token = make_token("alice", service=f"127.0.0.1:{port}")  # the server by IP, dialled by name
    user = User("alice", tokens=[token])
    with RpcClient(FAST) as client:
        proxy = client.proxy(f"localhost:{port}", TEST_PROTOCOL, user)
        for i in range(20):
            assert proxy.call("whoami", Req(renewer=str(i))).token.kind == "TOKEN"
    assert lookups.count("localhost") == 1


def test_server_auth_validation():
    with pytest.raises(ValueError, match="requires a secret_manager"):
        ServerAuth(methods=(AuthMethod.TOKEN,))
    with pytest.raises(ValueError, match="KERBEROS"):
        ServerAuth(methods=("KERBEROS",))
    with pytest.raises(ValueError, match="at least one"):
        ServerAuth(methods=())
    with pytest.raises(TypeError, match="secret_manager"):
        ServerAuth(methods=("TOKEN",), secret_manager=42)
    assert ServerAuth(methods=("TOKEN", "SIMPLE"), secret_manager=lambda i: b"").methods == (
        AuthMethod.TOKEN, AuthMethod.SIMPLE)
