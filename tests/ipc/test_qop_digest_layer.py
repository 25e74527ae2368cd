"""The DIGEST-MD5 security layer (RFC 2831 §2.3-2.4) byte by byte.

The session is RFC 2831's own example (chris / elwood.innosoft.com / secret).
Expected values were derived without pyarn: keys and MACs with hashlib/hmac,
DES parity from a bit string, ciphertexts with the ``openssl enc`` command
(``-des-ede3-cbc`` with K1 K2 K1, ``-des-cbc``, ``-rc4``; ``-nopad``, the
legacy provider) over ``msg + pad + mac`` of two messages in a row, so the
CBC chain and the RC4 stream run across messages as the JDK's do. When that
``openssl`` is installed the same derivation also runs live.
"""
from __future__ import annotations

import hashlib
import hmac
import shutil
import subprocess

import pytest

from pyarn.errors import RemoteProtocolError
from pyarn.ipc.constants import Qop
from pyarn.ipc.sasl.digest_layer import (
    CIPHERS,
    DigestSecurityLayer,
    available_ciphers,
    choose_cipher,
    des_parity_key,
    integrity_keys,
    privacy_keys,
)
from pyarn.ipc.sasl.digest_md5 import session_key


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


H_A1 = _md5(_md5(b"chris:elwood.innosoft.com:secret") + b":OA6MG9tEQGm2hh:OA6MHXh6VqTrRk")
M1 = b"hello"
M2 = b"Hadoop IPC over DIGEST-MD5 auth-conf!"
KIC = bytes.fromhex("167e83eb00efac5c44f84a956e32e9c9")
KIS = bytes.fromhex("3cd17b670169e97288080d4389652b16")

#: cipher -> (Kcc, Kcs, first wrapped message, second wrapped message), client to server.
VECTORS = {
    "3des": ("8df21180f2b8360bd1ed01f2ac38bf36", "e7ab8276e98ea22e6dbbe08564b1e5d4",
             "10bfc5d416b1a2172d896211e92ab8ff000100000000",
             "2a4766131e5f6810b4bda87343661e7c501d65d439bf48a7892a65120fa06c7e"
             "8852997b5c8be233fd48a54f546681f0000100000001"),
    "des": ("8df21180f2b8360bd1ed01f2ac38bf36", "e7ab8276e98ea22e6dbbe08564b1e5d4",
            "45447c175d69401d5e2ac49aef570c77000100000000",
            "91723dc6381905be489fb3b5a73f9679eac06b960602ecc006c1b2b8c719dc25"
            "4915310494bd78583d07f00f02017fa3000100000001"),
    "rc4": ("8df21180f2b8360bd1ed01f2ac38bf36", "e7ab8276e98ea22e6dbbe08564b1e5d4",
            "3f15f0485a50c912a458ef2ca384e6000100000000",
            "eff2ca0a66120548d1666cbf826cacb2beb8cec4713bbe9b8a1b455ebebf7ffd"
            "237d32f8c91a560b665de0739d2d52000100000001"),
    "rc4-56": ("736fb3b8556ead6506622128d86afbe1", "e2a06bf4a8074a4b9ec82101b4ff5d4a",
               "00d511f550b2feb0f5ef166a02359a000100000000",
               "46e34112a04fbff8e64122c92db429061f2539deb8d5c31cdffd829b69f55e99"
               "407613e738e2e8ecd341c48a774108000100000001"),
    "rc4-40": ("8dc49491250e22722c7d2ea948c1240f", "db5f2444cddfce34a62a211d9d12aad3",
               "cfabb39cc630fb8cf83545383e801b000100000000",
               "55400d288a34e928d4627e61eb8ec7a765ad1909dce96d5bf11f21639b702083"
               "9bccef595c074757001297ad451379000100000001"),
}


def _mac(key: bytes, seq: int, message: bytes) -> bytes:
    return hmac.new(key, seq.to_bytes(4, "big") + message, hashlib.md5).digest()[:10]


def _parity_by_bits(seven: bytes) -> bytes:
    bits = "".join(f"{b:08b}" for b in seven)
    groups = [bits[i:i + 7] for i in range(0, 56, 7)]
    return bytes(int(g + ("1" if g.count("1") % 2 == 0 else "0"), 2) for g in groups)


def test_session_key_and_signing_keys():
    assert session_key(username=b"chris", realm=b"elwood.innosoft.com", password=b"secret",
                       nonce=b"OA6MG9tEQGm2hh", cnonce=b"OA6MHXh6VqTrRk", authzid=None) == H_A1
    assert integrity_keys(H_A1) == (KIC, KIS)
    assert KIC == _md5(H_A1 + b"Digest session key to client-to-server signing key magic constant")


@pytest.mark.parametrize("cipher", CIPHERS)
def test_sealing_keys(cipher):
    kcc, kcs = VECTORS[cipher][:2]
    assert privacy_keys(H_A1, cipher) == (bytes.fromhex(kcc), bytes.fromhex(kcs))


@pytest.mark.parametrize("seven", [bytes(7), b"\xff" * 7, bytes.fromhex("8df21180f2b836"),
                                   bytes.fromhex("0bd1ed01f2ac38"), bytes.fromhex("80000000000001")])
def test_des_parity_matches_the_jdk_bit_layout(seven):
    key = des_parity_key(seven)
    assert key == _parity_by_bits(seven)
    assert all(bin(b).count("1") % 2 == 1 for b in key)


def test_integrity_wrap_is_message_mac_type_and_sequence():
    client = DigestSecurityLayer(H_A1, Qop.AUTH_INT, client=True)
    server = DigestSecurityLayer(H_A1, Qop.AUTH_INT, client=False)
    first = client.wrap(M1)
    assert first.hex() == "68656c6c6f8daa7dd3bba0b0840252000100000000"
    assert first == M1 + _mac(KIC, 0, M1) + b"\x00\x01" + b"\x00\x00\x00\x00"
    second = client.wrap(M2)
    assert second == M2 + _mac(KIC, 1, M2) + b"\x00\x01\x00\x00\x00\x01"
    assert server.unwrap(first) == M1 and server.unwrap(second) == M2
    reply = server.wrap(M1)
    assert reply == M1 + _mac(KIS, 0, M1) + b"\x00\x01\x00\x00\x00\x00"  # server signs with Kis
    assert client.unwrap(reply) == M1
    assert client.max_wrap_size == 65536 - 16


@pytest.mark.parametrize("cipher", CIPHERS)
def test_privacy_wrap_matches_openssl_derived_vectors(cipher):
    if cipher not in available_ciphers():
        pytest.skip(f"this cryptography has no {cipher}")
    _, _, first, second = VECTORS[cipher]
    client = DigestSecurityLayer(H_A1, Qop.AUTH_CONF, client=True, cipher=cipher)
    assert client.wrap(M1).hex() == first
    assert client.wrap(M2).hex() == second
    server = DigestSecurityLayer(H_A1, Qop.AUTH_CONF, client=False, cipher=cipher)
    assert server.unwrap(bytes.fromhex(first)) == M1
    assert server.unwrap(bytes.fromhex(second)) == M2
    assert client.max_wrap_size == 65536 - 26


def _openssl_legacy() -> bool:
    if shutil.which("openssl") is None:
        return False
    probe = subprocess.run(["openssl", "enc", "-rc4", "-K", "00" * 16, "-provider", "legacy", "-provider",
                            "default"], input=b"x", capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _openssl_legacy(), reason="needs the openssl command with its legacy provider")
@pytest.mark.parametrize("cipher", CIPHERS)
def test_privacy_wrap_against_live_openssl(cipher):
    if cipher not in available_ciphers():
        pytest.skip(f"this cryptography has no {cipher}")
    kcc = bytes.fromhex(VECTORS[cipher][0])
    plain = b""
    for seq, message in enumerate((M1, M2, b"x" * 1000)):
        pad = b""
        if "des" in cipher:
            length = 8 - (len(message) + 10) % 8
            pad = bytes((length,)) * length
        plain += message + pad + _mac(KIC, seq, message)
    if cipher == "3des":
        k1, k2 = _parity_by_bits(kcc[:7]), _parity_by_bits(kcc[7:14])
        args = ["-des-ede3-cbc", "-K", (k1 + k2 + k1).hex(), "-iv", kcc[8:].hex()]
    elif cipher == "des":
        args = ["-des-cbc", "-K", _parity_by_bits(kcc[:7]).hex(), "-iv", kcc[8:].hex()]
    else:
        args = ["-rc4", "-K", kcc.hex()]
    command = ["openssl", "enc", *args, "-nopad", "-provider", "legacy", "-provider", "default"]
    expected = subprocess.run(command, input=plain, capture_output=True, check=True).stdout
    layer = DigestSecurityLayer(H_A1, Qop.AUTH_CONF, client=True, cipher=cipher)
    produced = b"".join(layer.wrap(m)[:-6] for m in (M1, M2, b"x" * 1000))
    assert produced == expected


@pytest.mark.parametrize("length, pad", [(5, 1), (6, 8), (13, 1), (14, 8), (0 + 30, 8)])
def test_block_cipher_padding_is_one_to_eight_bytes_of_its_length(length, pad):
    if "des" not in available_ciphers():
        pytest.skip("this cryptography has no DES")
    client = DigestSecurityLayer(H_A1, Qop.AUTH_CONF, client=True, cipher="des")
    wrapped = client.wrap(b"m" * length)
    assert len(wrapped) == length + pad + 10 + 6 and (len(wrapped) - 6) % 8 == 0


def _pair(qop: Qop, cipher=None):
    return (DigestSecurityLayer(H_A1, qop, client=True, cipher=cipher),
            DigestSecurityLayer(H_A1, qop, client=False, cipher=cipher))


@pytest.mark.parametrize("qop, cipher", [(Qop.AUTH_INT, None), (Qop.AUTH_CONF, "3des"),
                                        (Qop.AUTH_CONF, "rc4")])
def test_tampered_replayed_and_reordered_messages_are_refused(qop, cipher):
    if cipher is not None and cipher not in available_ciphers():
        pytest.skip(f"this cryptography has no {cipher}")
    client, server = _pair(qop, cipher)
    first, second = client.wrap(M1), client.wrap(M2)
    with pytest.raises(RemoteProtocolError, match="Out of order|MAC|padding"):
        server.unwrap(second)  # sequence 1 before 0
    client, server = _pair(qop, cipher)
    first = client.wrap(M1)
    flipped = bytearray(first)
    flipped[0] ^= 1
    with pytest.raises(RemoteProtocolError):
        server.unwrap(bytes(flipped))
    client, server = _pair(qop, cipher)
    first = client.wrap(M1)
    assert server.unwrap(first) == M1
    if qop is Qop.AUTH_INT:
        with pytest.raises(RemoteProtocolError, match="Out of order"):
            server.unwrap(first)  # a replay carries an old sequence number
    with pytest.raises(RemoteProtocolError):
        server.unwrap(b"\x00\x01")


def test_a_message_wrapped_by_the_client_does_not_unwrap_as_the_servers():
    client, _ = _pair(Qop.AUTH_INT)
    other_client, _ = _pair(Qop.AUTH_INT)
    with pytest.raises(RemoteProtocolError, match="MAC"):
        other_client.unwrap(client.wrap(M1))  # client keys sign, server keys verify


def test_cipher_choice_follows_the_jdk():
    assert choose_cipher(["rc4-40", "des", "rc4", "3des", "rc4-56"]) == "3des"
    assert choose_cipher(["rc4-40", "rc4", "des"]) == "rc4"
    assert choose_cipher(["rc4-40", "rc4-56", "des"]) == "des"
    assert choose_cipher(["rc4-40"]) == "rc4-40"
    assert choose_cipher(["aes"]) is None


def test_a_tiny_peer_buffer_is_refused():
    with pytest.raises(RemoteProtocolError, match="maxbuf"):
        DigestSecurityLayer(H_A1, Qop.AUTH_CONF, client=True, cipher="rc4", peer_max_buffer=20)
