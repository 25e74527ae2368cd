"""SASL: DIGEST-MD5 (our client and server) and the two negotiation state machines."""
from __future__ import annotations

import base64

import pytest

from hadoop_protos.rpc_header_pb2 import RpcSaslProto
from pyarn.errors import (
    AccessControlError,
    AuthenticationError,
    InvalidTokenError,
    RemoteProtocolError,
    SaslError,
)
from pyarn.ipc.auth import ServerAuth, client_negotiation
from pyarn.ipc.constants import AuthMethod, Qop
from pyarn.ipc.sasl import DigestMd5Client, DigestMd5Server, token_credentials
from pyarn.ipc.sasl.digest_md5 import parse_directives, response_digest
from pyarn.ipc.sasl.negotiation import SaslClientNegotiation

from .support import UserSecretManager, make_token


def test_digest_matches_rfc_2831_example():
    # RFC 2831 §4: user chris, password secret, IMAP on elwood.innosoft.com.
    common = dict(username=b"chris", realm=b"elwood.innosoft.com", password=b"secret",
                  nonce=b"OA6MG9tEQGm2hh",
                  cnonce=b"OA6MHXh6VqTrRk", nc=b"00000001", qop=b"auth",
                  digest_uri=b"imap/elwood.innosoft.com", authzid=None)
    assert response_digest(**common, for_rspauth=False) == b"d388dad90d4bbd760a152321f2143af7"
    assert response_digest(**common, for_rspauth=True) == b"ea40f60335c427b5527b84dbabcdfffd"


def test_token_credentials_are_base64_of_identifier_and_password():
    assert token_credentials(b"\x00\x01id", b"pw\xff") == (base64.b64encode(b"\x00\x01id").decode(),
                                                         base64.b64encode(b"pw\xff").decode())


def _server(passwords):
    def lookup(username):
        if username not in passwords:
            raise InvalidTokenError(f"no token for {username}")
        return passwords[username]
    return DigestMd5Server(lookup)


def test_client_and_server_authenticate_with_digest_uri_slash_default():
    server = _server({"dXNlcg==": "c2VjcmV0"})
    client = DigestMd5Client("dXNlcg==", "c2VjcmV0", protocol="", server_id="default")
    challenge = server.evaluate_response(b"")
    assert parse_directives(challenge)["realm"] == b"default"
    response = client.evaluate_challenge(challenge)
    fields = parse_directives(response)
    assert fields["digest-uri"] == b"/default"
    assert fields["username"] == b"dXNlcg=="
    final = server.evaluate_response(response)
    assert server.complete and server.authorization_id == "dXNlcg==" and server.qop is Qop.AUTH
    assert not client.complete
    assert client.evaluate_challenge(final) is None
    assert client.complete and client.qop is Qop.AUTH


def test_wrong_password_is_a_sasl_error_from_the_server():
    server = _server({"u": "right"})
    client = DigestMd5Client("u", "wrong")
    with pytest.raises(SaslError, match="Mismatched response"):
        server.evaluate_response(client.evaluate_challenge(server.evaluate_response(b"")))
    assert not server.complete


def test_unknown_user_raises_the_secret_managers_error():
    server = _server({})
    client = DigestMd5Client("nobody", "x")
    with pytest.raises(InvalidTokenError, match="no token for nobody"):
        server.evaluate_response(client.evaluate_challenge(server.evaluate_response(b"")))


def test_server_rejects_another_digest_uri():
    server = _server({"u": "p"})
    client = DigestMd5Client("u", "p", protocol="hdfs", server_id="0")
    with pytest.raises(SaslError, match="Mismatched URI: hdfs/0; expecting: /default"):
        server.evaluate_response(client.evaluate_challenge(server.evaluate_response(b"")))


def test_server_rejects_a_replayed_nonce_count_and_foreign_nonce():
    server = _server({"u": "p"})
    challenge = server.evaluate_response(b"")
    other = _server({"u": "p"})
    response = DigestMd5Client("u", "p").evaluate_challenge(other.evaluate_response(b""))
    with pytest.raises(SaslError, match="nonce"):
        server.evaluate_response(response)
    assert challenge  # the server's own nonce was never answered


def test_client_detects_a_forged_rspauth():
    server = _server({"u": "p"})
    client = DigestMd5Client("u", "p")
    server.evaluate_response(client.evaluate_challenge(server.evaluate_response(b"")))
    with pytest.raises(AuthenticationError, match="rspauth"):
        client.evaluate_challenge(b"rspauth=00000000000000000000000000000000")
    assert not client.complete


def test_client_refuses_a_qop_it_cannot_wrap():
    client = DigestMd5Client("u", "p", qops=(Qop.AUTH,))
    with pytest.raises(AuthenticationError, match="quality of protection"):
        client.evaluate_challenge(b'realm="default",nonce="abc",qop="auth-conf",charset=utf-8,algorithm=md5-sess')


def test_server_offers_its_qops_in_order_and_the_ciphers_for_privacy():
    challenge = DigestMd5Server(lambda u: "p", qops=(Qop.AUTH_CONF, Qop.AUTH_INT)).evaluate_response(b"")
    fields = parse_directives(challenge)
    assert fields["qop"] == b"auth-conf,auth-int"
    assert fields["cipher"].split(b",")[0] == b"3des"


# ---------------------------------------------------------------- negotiation


def _run(client: SaslClientNegotiation, server_auth: ServerAuth):
    """Drive both negotiation machines against each other in memory."""
    server = server_auth.negotiation()
    message = client.start()
    transcript = []
    while message is not None:
        transcript.append(("C", RpcSaslProto.SaslState.Name(message.state)))
        reply = server.receive(message)
        if reply is None:
            break
        transcript.append(("S", RpcSaslProto.SaslState.Name(reply.state)))
        message = client.receive(reply)
    return server, transcript


def test_token_negotiation_uses_the_accelerated_challenge():
    auth = ServerAuth(methods=(AuthMethod.TOKEN, AuthMethod.SIMPLE), secret_manager=UserSecretManager())
    client = client_negotiation(make_token("alice"))
    server, transcript = _run(client, auth)
    # NEGOTIATE carries the first challenge, so INITIATE already holds the digest response.
    assert transcript == [("C", "NEGOTIATE"), ("S", "NEGOTIATE"), ("C", "INITIATE"), ("S", "SUCCESS")]
    assert client.done and server.done
    assert client.auth_method is server.auth_method is AuthMethod.TOKEN
    assert auth.token_user(server.mechanism.authorization_id) == ("alice", b"user:alice")


def test_client_without_token_picks_simple_when_offered():
    auth = ServerAuth(methods=(AuthMethod.TOKEN, AuthMethod.SIMPLE), secret_manager=UserSecretManager())
    client = client_negotiation(None)
    server, transcript = _run(client, auth)
    assert transcript == [("C", "NEGOTIATE"), ("S", "NEGOTIATE"), ("C", "INITIATE")]
    assert client.auth_method is server.auth_method is AuthMethod.SIMPLE
    assert client.done and server.done


def test_simple_only_server_answers_negotiate_with_success():
    client = client_negotiation(make_token("alice"))
    server, transcript = _run(client, ServerAuth())
    assert transcript == [("C", "NEGOTIATE"), ("S", "SUCCESS")]
    assert client.auth_method is AuthMethod.SIMPLE and client.done


def test_secure_client_refuses_fallback_to_simple():
    client = client_negotiation(None, allow_simple=False)
    with pytest.raises(AuthenticationError, match="fall back to SIMPLE"):
        _run(client, ServerAuth())


def test_client_without_usable_credential_names_the_offered_methods():
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager())
    with pytest.raises(AuthenticationError, match=r"Client cannot authenticate via:\[TOKEN\]"):
        _run(client_negotiation(None), auth)


def test_wrong_token_password_fails_on_the_server():
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager())
    with pytest.raises(SaslError, match="Mismatched response"):
        _run(client_negotiation(make_token("alice", password=b"guess")), auth)


def test_unknown_token_identifier_is_invalid_token():
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager())
    token = make_token("alice")
    forged = type(token)(b"forged", b"x", token.kind)
    with pytest.raises(InvalidTokenError, match="unknown token"):
        _run(client_negotiation(forged), auth)


def test_plain_callable_secret_manager_and_failures_inside_it():
    def secrets(identifier: bytes) -> bytes:
        raise KeyError(identifier)
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=secrets)
    with pytest.raises(InvalidTokenError, match="token rejected"):
        _run(client_negotiation(make_token("alice")), auth)


def test_server_rejects_second_negotiate_and_unadvertised_method():
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager())
    server = auth.negotiation()
    server.receive(RpcSaslProto(state=RpcSaslProto.NEGOTIATE))
    with pytest.raises(AccessControlError, match="already attempted"):
        server.receive(RpcSaslProto(state=RpcSaslProto.NEGOTIATE))
    initiate = RpcSaslProto(state=RpcSaslProto.INITIATE)
    initiate.auths.add(method="SIMPLE", mechanism="")
    refusal = r"SIMPLE authentication is not enabled.  Available:\[TOKEN\]"
    with pytest.raises(AccessControlError, match=refusal):
        server.receive(initiate)


def test_server_initiate_without_negotiate_gets_a_challenge():
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager())
    server = auth.negotiation()
    initiate = RpcSaslProto(state=RpcSaslProto.INITIATE, token=b"")
    initiate.auths.add(method="TOKEN", mechanism="DIGEST-MD5", protocol="", serverId="default")
    reply = server.receive(initiate)
    assert reply.state == RpcSaslProto.CHALLENGE
    assert b"nonce=" in reply.token


def test_client_rejects_unsolicited_challenge_and_server_only_states():
    client = client_negotiation(make_token("alice"))
    client.start()
    with pytest.raises(RemoteProtocolError, match="unsolicited"):
        client.receive(RpcSaslProto(state=RpcSaslProto.CHALLENGE, token=b"x"))
    other = client_negotiation(make_token("alice"))
    other.start()
    with pytest.raises(RemoteProtocolError, match="unsupported SASL state RESPONSE"):
        other.receive(RpcSaslProto(state=RpcSaslProto.RESPONSE))


def test_client_rejects_success_before_its_mechanism_completes():
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager())
    server = auth.negotiation()
    client = client_negotiation(make_token("alice"))
    client.receive(server.receive(client.start()))  # client has sent its response, not seen rspauth
    with pytest.raises(AuthenticationError, match="out of sync"):
        client.receive(RpcSaslProto(state=RpcSaslProto.SUCCESS))


@pytest.mark.parametrize("response", [
    b'username="\xff\xfe",realm="default",nonce="NONCE",cnonce="c",nc=00000001,qop=auth,'
    b'digest-uri="/default",response=00,charset=utf-8',
    b'username="u",realm="default",nonce="NONCE",cnonce="c",nc=zz,qop=auth,digest-uri="/default",response=00',
    b'username="u",realm="default",nonce="NONCE",cnonce="c",nc=00000001,qop=auth-conf,'
    b'digest-uri="/default",response=00',
    b'\xff\xff=\xff',
    b"x" * 5000,
])
def test_server_turns_malformed_responses_into_sasl_errors(response):
    server = DigestMd5Server(lambda username: "p")
    nonce = parse_directives(server.evaluate_response(b""))["nonce"]
    with pytest.raises(SaslError) as info:
        server.evaluate_response(response.replace(b"NONCE", nonce))
    assert "mismatched nonce" not in str(info.value).lower()  # rejected for the reason under test
