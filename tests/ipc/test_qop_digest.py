"""DIGEST-MD5 negotiation of QOP, cipher and buffer sizes, in memory; challenges a hostile server sends."""
from __future__ import annotations

import hashlib

import pytest

from pyarn.errors import AuthenticationError, SaslError
from pyarn.ipc.constants import Qop
from pyarn.ipc.sasl import NoCommonProtectionError
from pyarn.ipc.sasl.digest_md5 import DigestMd5Client, DigestMd5Server, session_key
from pyarn.ipc.sasl.directives import parse_all, parse_directives, quote

ALL = (Qop.AUTH_CONF, Qop.AUTH_INT, Qop.AUTH)
#: What a JDK server (Hadoop, hadoop.rpc.protection=privacy,integrity,authentication) sends.
JDK_CHALLENGE = (b'realm="default",nonce="Xs1Ztb0R5bVvEpKpPtfZ0DVDiWuiaWRQD+NH5r+2",'
                 b'qop="auth-conf,auth-int,auth",charset=utf-8,cipher="3des,rc4,des,rc4-56,rc4-40",algorithm=md5-sess')


def _run(client: DigestMd5Client, server: DigestMd5Server):
    response = client.evaluate_challenge(server.evaluate_response(b""))
    assert client.evaluate_challenge(server.evaluate_response(response)) is None
    assert client.complete and server.complete and client.qop is server.qop
    return response


def test_the_response_to_a_jdk_challenge_names_qop_cipher_and_maxbuf():
    fields = parse_directives(DigestMd5Client("u", "p", qops=ALL).evaluate_challenge(JDK_CHALLENGE))
    assert fields["qop"] == b"auth-conf" and fields["cipher"] == b"3des" and fields["maxbuf"] == b"65536"
    assert fields["digest-uri"] == b"/default" and fields["realm"] == b"default"
    assert fields["nc"] == b"00000001"
    assert fields["charset"] == b"utf-8" and len(fields["response"]) == 32


@pytest.mark.parametrize("client_qops, server_qops, agreed", [
    (ALL, ALL, Qop.AUTH_CONF), ((Qop.AUTH, Qop.AUTH_CONF), ALL, Qop.AUTH),
    ((Qop.AUTH_INT,), ALL, Qop.AUTH_INT),
    (ALL, (Qop.AUTH,), Qop.AUTH),
])
def test_qop_is_the_clients_first_choice_among_the_servers(client_qops, server_qops, agreed):
    client = DigestMd5Client("u", "p", qops=client_qops)
    server = DigestMd5Server(lambda u: "p", qops=server_qops)
    _run(client, server)
    assert client.qop is agreed and (client.cipher == "3des") is (agreed is Qop.AUTH_CONF)
    if agreed.has_security_layer:
        assert server.unwrap(client.wrap(b"ping")) == b"ping"
        assert client.unwrap(server.wrap(b"pong")) == b"pong"


def test_no_common_qop_names_both_sides_in_hadoop_terms():
    with pytest.raises(NoCommonProtectionError, match=r"No common protection layer.*authentication.*privacy"):
        DigestMd5Client("u", "p", qops=(Qop.AUTH,)).evaluate_challenge(
            DigestMd5Server(lambda u: "p", qops=(Qop.AUTH_CONF,)).evaluate_response(b""))


def test_maxbuf_bounds_the_clients_chunks_and_a_quoted_jdk_maxbuf_is_read():
    challenge = JDK_CHALLENGE.replace(b"charset", b'maxbuf="4096",charset')
    server = DigestMd5Server(lambda u: "p", qops=ALL)
    client = DigestMd5Client("u", "p", qops=(Qop.AUTH_INT,))
    client.evaluate_challenge(challenge)
    assert client._pending().max_wrap_size == 4096 - 16
    _run(DigestMd5Client("u", "p", qops=(Qop.AUTH_INT,), max_buffer=1000), server)
    assert server.max_wrap_size == 1000 - 16


@pytest.mark.parametrize("challenge, match", [
    (JDK_CHALLENGE.replace(b"algorithm=md5-sess", b"algorithm=md5"), "md5-sess"),
    (JDK_CHALLENGE.replace(b'nonce="', b'xnonce="'), "nonce"),
    (JDK_CHALLENGE.replace(b"charset=utf-8", b"charset=ebcdic"), "charset"),
    (JDK_CHALLENGE.replace(b'cipher="3des,rc4,des,rc4-56,rc4-40"', b'cipher="aes"'), "cipher suites: aes"),
    (JDK_CHALLENGE.replace(b',cipher="3des,rc4,des,rc4-56,rc4-40"', b""), "did not specify cipher"),
    (JDK_CHALLENGE.replace(b"charset", b"maxbuf=0,charset"), "maxbuf"),
    (JDK_CHALLENGE.replace(b"charset", b"maxbuf=99999999999,charset"), "maxbuf"),
    (JDK_CHALLENGE + b',nonce="again"', "more than one nonce"),
    (b'realm="unterminated', "quote"),
    (b"=novalue", "expected"),
    (b"\xff\xfe=x", "malformed"),
    (b"x" * 3000, "too long"),
])
def test_hostile_challenges_are_authentication_errors(challenge, match):
    with pytest.raises(AuthenticationError, match=match):
        DigestMd5Client("u", "p", qops=ALL).evaluate_challenge(challenge)


def _respond(server: DigestMd5Server, qop: Qop) -> bytes:
    return DigestMd5Client("u", "p", qops=(qop,)).evaluate_challenge(server.evaluate_response(b""))


def test_the_server_refuses_an_unoffered_cipher_and_a_tiny_maxbuf():
    server = DigestMd5Server(lambda u: "p", qops=(Qop.AUTH_CONF,))
    response = _respond(server, Qop.AUTH_CONF)
    with pytest.raises(SaslError, match="does not support cipher"):
        server.evaluate_response(response.replace(b'cipher="3des"', b'cipher="aes"'))
    server = DigestMd5Server(lambda u: "p", qops=(Qop.AUTH_CONF,))
    response = _respond(server, Qop.AUTH_CONF)
    with pytest.raises(SaslError, match="maxbuf"):
        server.evaluate_response(response.replace(b"maxbuf=65536", b"maxbuf=3"))


def test_rspauth_covers_the_security_layer_suffix():
    server = DigestMd5Server(lambda u: "p", qops=(Qop.AUTH_INT,))
    client = DigestMd5Client("u", "p", qops=(Qop.AUTH_INT,))
    response = parse_directives(client.evaluate_challenge(server.evaluate_response(b"")))
    h_a1 = session_key(username=b"u", realm=b"default", password=b"p", nonce=response["nonce"],
                       cnonce=response["cnonce"], authzid=None)
    no_suffix = hashlib.md5(b":/default").hexdigest().encode()  # A2 as for qop=auth
    kd = b":".join((h_a1.hex().encode(), response["nonce"], b"00000001", response["cnonce"], b"auth-int",
                    no_suffix))
    with pytest.raises(AuthenticationError, match="rspauth"):
        client.evaluate_challenge(b"rspauth=" + hashlib.md5(kd).hexdigest().encode())
    assert not client.complete


def test_directive_parsing_follows_the_jdk():
    fields, realms = parse_all(b' realm="a" , realm="b",qop="auth,auth-int",x="q\\"uote\\\\d",n=1 ')
    assert realms == [b"a", b"b"] and fields["realm"] == b"a"
    assert fields["qop"] == b"auth,auth-int" and fields["x"] == b'q"uote\\d' and fields["n"] == b"1"
    assert parse_directives(b"A=1,b=2") == {"a": b"1", "b": b"2"}
    assert quote(b'a"b\\c\x01') == b'"a\\"b\\\\c\\\x01"'
    with pytest.raises(ValueError, match="more than one"):
        parse_all(b"a=1,A=2")
    with pytest.raises(ValueError, match="comma"):
        parse_all(b'a="x"y')
