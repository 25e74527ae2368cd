"""The DIGEST-MD5 security layer (RFC 2831 §2.3-2.4), as the JDK implements it.

Hadoop's TOKEN auth runs on the JDK's ``com.sun.security.sasl.digest``, so
this follows ``DigestMD5Base.DigestIntegrity`` / ``DigestPrivacy`` byte for byte:

* keys: ``Kic``/``Kis`` = MD5(H(A1) + signing magic); ``Kcc``/``Kcs`` =
  MD5(H(A1)[:n] + sealing magic) with n = 5 (rc4-40), 7 (rc4-56), else 16;
* integrity (``auth-int``): ``msg + HMAC-MD5(Ki, seq + msg)[:10] + 00 01 + seq``;
* privacy (``auth-conf``): ``CIPHER(Kc, msg + pad + mac) + 00 01 + seq``;
  RC4 uses all 16 bytes of Kc as its key; DES/3DES use CBC with the IV
  Kc[8:16], keys made of 7-byte groups of Kc with DES parity bits (3DES is
  two-key EDE: K1 K2 K1), padding of 1-8 bytes each holding the pad length,
  and the cipher state (RC4 stream, CBC chain) runs on across messages;
* sequence numbers: 4 bytes big-endian, from 0, one per message and direction.

The ciphers come from ``cryptography`` (RC4 and TripleDES live in its
``decrepit`` module from release 43 on; single DES is TripleDES with K1=K2=K3).
"""
from __future__ import annotations

import hashlib
import hmac
import warnings
from typing import Callable, Optional, Tuple

from ...errors import LocalProtocolError, RemoteProtocolError
from ..constants import Qop
from .mechanism import SecurityLayer

CLIENT_INTEGRITY_MAGIC = b"Digest session key to client-to-server signing key magic constant"
SERVER_INTEGRITY_MAGIC = b"Digest session key to server-to-client signing key magic constant"
CLIENT_PRIVACY_MAGIC = b"Digest H(A1) to client-to-server sealing key magic constant"
SERVER_PRIVACY_MAGIC = b"Digest H(A1) to server-to-client sealing key magic constant"

#: Ciphers in the JDK's order (``CIPHER_TOKENS``), which is also its preference:
#: a JDK client takes the first high-strength one the server offers (3des, then rc4).
CIPHERS = ("3des", "rc4", "des", "rc4-56", "rc4-40")
_STRENGTH = {"3des": 3, "rc4": 3, "des": 2, "rc4-56": 2, "rc4-40": 1}
MESSAGE_TYPE = b"\x00\x01"
MAC_LENGTH = 10
#: What a side may receive when it says nothing else (``maxbuf`` default).
DEFAULT_MAX_BUFFER = 65536
#: Largest ``maxbuf`` RFC 2831 allows.
MAX_MAX_BUFFER = 0xFFFFFF


def _algorithms():
    """``(ARC4, TripleDES)`` from cryptography, without deprecation noise."""
    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4, TripleDES
    except ImportError:  # cryptography < 43
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from cryptography.hazmat.primitives.ciphers.algorithms import ARC4, TripleDES
    return ARC4, TripleDES


def des_parity_key(seven: bytes) -> bytes:
    """Eight DES key bytes from 56 key bits: 7 bits per byte, then an odd-parity low bit."""
    if len(seven) != 7:
        raise ValueError(f"a DES key is made of 7 bytes, not {len(seven)}")
    bits = int.from_bytes(seven, "big")
    out = bytearray()
    for shift in range(49, -1, -7):
        byte = ((bits >> shift) & 0x7F) << 1
        out.append(byte | (bin(byte).count("1") + 1) % 2)
    return bytes(out)


class _Stream:
    """One direction's cipher: ``update`` keeps its state between messages."""

    def __init__(self, cipher: str, key: bytes, encrypt: bool) -> None:
        from cryptography.hazmat.primitives.ciphers import Cipher, modes

        arc4, triple_des = _algorithms()
        if cipher.startswith("rc4"):
            self.block_size = 1
            algorithm, mode = arc4(key), None
        elif cipher == "des":
            self.block_size = 8
            algorithm, mode = triple_des(des_parity_key(key[:7]) * 3), modes.CBC(key[8:16])
        elif cipher == "3des":
            self.block_size = 8
            k1, k2 = des_parity_key(key[:7]), des_parity_key(key[7:14])
            algorithm, mode = triple_des(k1 + k2 + k1), modes.CBC(key[8:16])
        else:
            raise LocalProtocolError(f"DIGEST-MD5: unknown cipher {cipher!r}")
        engine = Cipher(algorithm, mode)
        context = engine.encryptor() if encrypt else engine.decryptor()
        self.update: Callable[[bytes], bytes] = context.update


_available: Optional[Tuple[str, ...]] = None


def available_ciphers() -> Tuple[str, ...]:
    """The ciphers of :data:`CIPHERS` this installation of ``cryptography`` can run."""
    global _available
    if _available is None:
        usable = []
        for cipher in CIPHERS:
            try:
                _Stream(cipher, bytes(16), True).update(bytes(8))
            except Exception:  # noqa: BLE001 (an OpenSSL without legacy ciphers)
                continue
            usable.append(cipher)
        _available = tuple(usable)
    return _available


def choose_cipher(offered) -> Optional[str]:
    """The cipher a JDK client would pick among ``offered``: strongest first, then JDK order."""
    candidates = [c for c in CIPHERS if c in offered and c in available_ciphers()]
    if not candidates:
        return None
    return max(candidates, key=lambda c: (_STRENGTH[c], -CIPHERS.index(c)))


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def integrity_keys(h_a1: bytes) -> Tuple[bytes, bytes]:
    """``(Kic, Kis)``: the client-to-server and server-to-client signing keys."""
    return _md5(h_a1 + CLIENT_INTEGRITY_MAGIC), _md5(h_a1 + SERVER_INTEGRITY_MAGIC)


def privacy_keys(h_a1: bytes, cipher: str) -> Tuple[bytes, bytes]:
    """``(Kcc, Kcs)``: the client-to-server and server-to-client sealing keys."""
    n = {"rc4-40": 5, "rc4-56": 7}.get(cipher, 16)
    return _md5(h_a1[:n] + CLIENT_PRIVACY_MAGIC), _md5(h_a1[:n] + SERVER_PRIVACY_MAGIC)


def mac(key: bytes, sequence: int, message: bytes) -> bytes:
    """``HMAC-MD5(key, seq + message)[:10]``."""
    return hmac.new(key, sequence.to_bytes(4, "big") + message, hashlib.md5).digest()[:MAC_LENGTH]


class DigestSecurityLayer(SecurityLayer):
    """One side's DIGEST-MD5 security layer after a negotiation that agreed ``qop``.

    ``h_a1`` is the raw MD5 of A1 both sides computed; ``client`` says which
    side this is; ``peer_max_buffer`` is the peer's ``maxbuf`` (what it
    accepts), which bounds :attr:`max_wrap_size` as the JDK does (``- 16``
    with integrity, ``- 26`` with privacy).
    """

    def __init__(self, h_a1: bytes, qop: Qop, *, client: bool, cipher: Optional[str] = None,
                 peer_max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        if not qop.has_security_layer:
            raise LocalProtocolError("DIGEST-MD5 has no security layer at QOP auth")
        self._qop = qop
        kic, kis = integrity_keys(h_a1)
        self._my_ki, self._peer_ki = (kic, kis) if client else (kis, kic)
        self._my_seq = 0
        self._peer_seq = 0
        self.cipher = cipher
        self._encrypt: Optional[_Stream] = None
        self._decrypt: Optional[_Stream] = None
        overhead = 16
        if qop is Qop.AUTH_CONF:
            if cipher is None:
                raise LocalProtocolError("DIGEST-MD5: auth-conf needs a cipher")
            kcc, kcs = privacy_keys(h_a1, cipher)
            my_kc, peer_kc = (kcc, kcs) if client else (kcs, kcc)
            self._encrypt = _Stream(cipher, my_kc, True)
            self._decrypt = _Stream(cipher, peer_kc, False)
            overhead = 26
        self._max_wrap = peer_max_buffer - overhead
        if self._max_wrap <= 0:
            raise RemoteProtocolError(f"DIGEST-MD5: the peer's maxbuf {peer_max_buffer} is too small")

    @property
    def qop(self) -> Qop:
        return self._qop

    @property
    def max_wrap_size(self) -> int:
        return self._max_wrap

    def wrap(self, data: bytes) -> bytes:
        if not data:
            return b""
        if not self._my_ki:
            raise LocalProtocolError("DIGEST-MD5: the security layer was disposed of")
        sequence = self._my_seq
        self._my_seq = (self._my_seq + 1) & 0xFFFFFFFF
        tag = mac(self._my_ki, sequence, data)
        trailer = MESSAGE_TYPE + sequence.to_bytes(4, "big")
        if self._encrypt is None:
            return bytes(data) + tag + trailer
        block = self._encrypt.block_size
        pad = b""
        if block > 1:
            length = block - (len(data) + MAC_LENGTH) % block
            pad = bytes((length,)) * length
        return self._encrypt.update(bytes(data) + pad + tag) + trailer

    def unwrap(self, data: bytes) -> bytes:
        if not data:
            return b""
        if not self._my_ki:
            raise LocalProtocolError("DIGEST-MD5: the security layer was disposed of")
        if self._decrypt is None:
            if len(data) < MAC_LENGTH + 6:
                raise RemoteProtocolError(f"DIGEST-MD5: wrapped message of {len(data)} bytes is too short")
            message, tag = data[:-16], data[-16:-6]
        else:
            sealed = data[:-6]
            block = self._decrypt.block_size
            if len(sealed) < MAC_LENGTH + (block > 1) or len(sealed) % block:
                raise RemoteProtocolError(f"DIGEST-MD5: encrypted message of {len(data)} bytes: bad size")
            plain = self._decrypt.update(sealed)
            message, tag = plain[:-MAC_LENGTH], plain[-MAC_LENGTH:]
            if block > 1:
                length = message[-1]
                if not 1 <= length <= block or message[-length:] != bytes((length,)) * length:
                    raise RemoteProtocolError("DIGEST-MD5: bad padding in an encrypted message")
                message = message[:-length]
        message_type, sequence = data[-6:-4], int.from_bytes(data[-4:], "big")
        if not hmac.compare_digest(tag, mac(self._peer_ki, sequence, message)):
            raise RemoteProtocolError("DIGEST-MD5: the message's MAC does not check out")
        if sequence != self._peer_seq:
            raise RemoteProtocolError(f"DIGEST-MD5: Out of order sequencing of messages. Got: {sequence} "
                                      f"Expected: {self._peer_seq}")
        if message_type != MESSAGE_TYPE:
            kind = int.from_bytes(message_type, "big")
            raise RemoteProtocolError(f"DIGEST-MD5: invalid message type: {kind}")
        self._peer_seq = (self._peer_seq + 1) & 0xFFFFFFFF
        return bytes(message)

    def dispose(self) -> None:
        self._my_ki = self._peer_ki = b""
        self._encrypt = self._decrypt = None


__all__ = ["CIPHERS", "DEFAULT_MAX_BUFFER", "DigestSecurityLayer", "available_ciphers", "choose_cipher",
           "des_parity_key", "integrity_keys", "mac", "privacy_keys"]
