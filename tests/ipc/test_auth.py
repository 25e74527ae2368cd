"""Which token a client presents, and server auth configuration."""
from __future__ import annotations

import pytest

from pyarn.ipc import ServerAuth, select_token
from pyarn.ipc.constants import AuthMethod
from pyarn.security.tokens import AMRM_TOKEN_KIND, NM_TOKEN_KIND, RM_DELEGATION_TOKEN_KIND, Token
from pyarn.security.user import User

AMP = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB"
CMP = "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB"
ACP = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"


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
