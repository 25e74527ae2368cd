"""DIGEST-MD5 (RFC 2831) as Hadoop's TOKEN auth uses it: client and server, all three QOPs.

Both sides are implemented here, from the RFC and the JDK's
``com.sun.security.sasl.digest`` that Hadoop runs on (pure-sasl has no
server and no security layer): realm ``default``, digest-uri
``<protocol>/<serverId>`` (``/default`` for TOKEN), ``algorithm=md5-sess``,
``charset=utf-8``, nonce count 1, an ``rspauth`` proof in the final token,
``maxbuf`` 65536 by default, and for ``auth-conf`` the ciphers of
:mod:`.digest_layer` (a JDK server offers ``3des,rc4,des,rc4-56,rc4-40`` and
a JDK client picks ``3des``).

QOPs: the server offers its list in order (``hadoop.rpc.protection``); the
client takes the first of its own list that the server offers.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ...errors import AuthenticationError, SaslError
from ..constants import Qop
from .digest_layer import (
    DEFAULT_MAX_BUFFER,
    MAX_MAX_BUFFER,
    DigestSecurityLayer,
    available_ciphers,
    choose_cipher,
)
from .directives import parse_all, parse_directives, quote, split_list
from .mechanism import ClientMechanism, SecurityLayer, ServerMechanism, choose_qop

NAME = "DIGEST-MD5"
#: RFC 2831 bounds a digest-challenge to 2048 bytes and a digest-response to 4096.
MAX_CHALLENGE_LENGTH = 2048
MAX_RESPONSE_LENGTH = 4096
_NO_LAYER_SUFFIX = b":00000000000000000000000000000000"
_QOPS = {q.value: q for q in Qop}

__all__ = ["DigestMd5Client", "DigestMd5Server", "parse_directives", "response_digest", "session_key",
           "token_credentials"]


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def _md5_hex(data: bytes) -> bytes:
    return hashlib.md5(data).hexdigest().encode("ascii")


def encode_text(text: str, utf8: bool) -> bytes:
    """A user name, realm or password as the JDK hashes it (``stringToByte_8859_1``):
    Latin-1 unless UTF-8 was agreed and the text has a character beyond U+00FF."""
    if utf8 and any(ord(c) > 0xFF for c in text):
        return text.encode("utf-8")
    return text.encode("latin-1")


def session_key(*, username: bytes, realm: bytes, password: bytes, nonce: bytes, cnonce: bytes,
                authzid: Optional[bytes]) -> bytes:
    """H(A1), the raw 16 bytes both sides derive the security-layer keys from."""
    a1 = _md5(username + b":" + realm + b":" + password) + b":" + nonce + b":" + cnonce
    if authzid:
        a1 += b":" + authzid
    return _md5(a1)


def response_digest(*, username: bytes, realm: bytes, password: bytes, nonce: bytes, cnonce: bytes,
                    nc: bytes, qop: bytes, digest_uri: bytes, authzid: Optional[bytes],
                    for_rspauth: bool) -> bytes:
    """The ``response`` (client proof) or ``rspauth`` (server proof) value, hex.

    RFC 2831 §2.1.2.1 (md5-sess); ``for_rspauth`` drops ``AUTHENTICATE`` from A2.
    """
    h_a1 = session_key(username=username, realm=realm, password=password, nonce=nonce, cnonce=cnonce,
                       authzid=authzid)
    a2 = (b"" if for_rspauth else b"AUTHENTICATE") + b":" + digest_uri
    if qop != b"auth":
        a2 += _NO_LAYER_SUFFIX
    return _md5_hex(b":".join((h_a1.hex().encode("ascii"), nonce, nc, cnonce, qop, _md5_hex(a2))))


def _qop_list(value: Optional[bytes]) -> List[Qop]:
    return [_QOPS[t] for t in split_list(value if value is not None else b"auth") if t in _QOPS]


def _max_buffer(value: Optional[bytes]) -> int:
    """A ``maxbuf`` directive; ``ValueError`` unless 17..16777215 (room for one byte of data)."""
    if value is None:
        return DEFAULT_MAX_BUFFER
    size = int(value.decode("ascii"))
    if not 16 < size <= MAX_MAX_BUFFER:
        raise ValueError(f"maxbuf {size} out of range")
    return size


class _Layered:
    """Delegates the security layer to a :class:`DigestSecurityLayer` once one is agreed."""

    _layer: Optional[DigestSecurityLayer] = None
    _qop: Qop = Qop.AUTH

    @property
    def qop(self) -> Qop:
        return self._qop

    @property
    def cipher(self) -> Optional[str]:
        """The negotiated ``auth-conf`` cipher, if any."""
        return self._layer.cipher if self._layer is not None else None

    @property
    def max_wrap_size(self) -> int:
        return self._layer.max_wrap_size if self._layer is not None else SecurityLayer().max_wrap_size

    def wrap(self, data: bytes) -> bytes:
        if self._layer is None:
            return SecurityLayer.wrap(self, data)  # type: ignore[arg-type]
        return self._layer.wrap(data)

    def unwrap(self, data: bytes) -> bytes:
        if self._layer is None:
            return SecurityLayer.unwrap(self, data)  # type: ignore[arg-type]
        return self._layer.unwrap(data)

    def dispose(self) -> None:
        if self._layer is not None:
            self._layer.dispose()


class DigestMd5Client(_Layered, ClientMechanism):
    """DIGEST-MD5 client for a Hadoop token.

    ``username``/``password`` are the Base64 forms of the token identifier and
    password (see :func:`token_credentials`); ``protocol``/``server_id`` are what
    the server advertised in its SaslAuth (``""`` and ``default`` for TOKEN),
    which makes the digest-uri ``/default``. ``qops``: acceptable QOPs, most
    preferred first; ``max_buffer``: the ``maxbuf`` this side announces.
    ``cipher`` names the one ``auth-conf`` cipher to accept (the JDK's
    ``com.sun.security.sasl.digest.cipher``, which HDFS's encrypted
    DataTransfer handshake sets); by default the strongest offered is taken.
    """

    name = NAME

    def __init__(self, username: str, password: str, *, protocol: str = "", server_id: str = "default",
                 qops: Sequence[Qop] = (Qop.AUTH,), max_buffer: int = DEFAULT_MAX_BUFFER,
                 cipher: Optional[str] = None) -> None:
        self._username = username
        self._password: Optional[str] = password
        self.digest_uri = f"{protocol}/{server_id}"
        self._qops = tuple(qops) or (Qop.AUTH,)
        self._max_buffer = max_buffer
        self._cipher = cipher
        self._step = 0
        self._complete = False
        self._rspauth = b""
        self._qop_pending = Qop.AUTH
        self._pending: Optional[Callable[[], DigestSecurityLayer]] = None

    def evaluate_challenge(self, challenge: bytes) -> Optional[bytes]:
        if self._complete:
            raise AuthenticationError("DIGEST-MD5: authentication already complete")
        step, self._step = self._step, self._step + 1
        if step == 0:
            return self._respond(bytes(challenge))
        if step == 1:
            self._check_rspauth(bytes(challenge))
            return None
        raise AuthenticationError("DIGEST-MD5: client at illegal state")

    def _respond(self, challenge: bytes) -> bytes:
        if len(challenge) > MAX_CHALLENGE_LENGTH:
            raise AuthenticationError(f"DIGEST-MD5: challenge of {len(challenge)} bytes is too long")
        try:
            fields, realms = parse_all(challenge)
            return self._answer(fields, realms)
        except (ValueError, UnicodeError) as exc:
            raise AuthenticationError(f"DIGEST-MD5: malformed challenge: {exc}") from None

    def _answer(self, fields: Dict[str, bytes], realms: List[bytes]) -> bytes:
        utf8 = False
        if "charset" in fields:
            if fields["charset"].lower() != b"utf-8":
                raise ValueError(f"unrecognised charset {fields['charset']!r}")
            utf8 = True
        encoding = "utf-8" if utf8 else "latin-1"
        if fields.get("algorithm") != b"md5-sess":
            raise ValueError("algorithm directive missing or not md5-sess")
        nonce = fields.get("nonce")
        if not nonce:
            raise ValueError("nonce directive missing")
        qop = choose_qop(NAME, self._qops, _qop_list(fields.get("qop")))
        peer_max = _max_buffer(fields.get("maxbuf"))
        cipher = None
        if qop is Qop.AUTH_CONF:
            if "cipher" not in fields:
                raise AuthenticationError("DIGEST-MD5: server did not specify cipher to use for 'auth-conf'")
            offered = split_list(fields["cipher"])
            if self._cipher is not None:
                offered = [c for c in offered if c == self._cipher]
                if not offered:
                    raise AuthenticationError(f"DIGEST-MD5: the server does not offer the cipher "
                                              f"{self._cipher!r} this client requires (it offers "
                                              f"{fields['cipher'].decode('ascii', 'replace')})")
            cipher = choose_cipher(offered)
            if cipher is None:
                ours = ",".join(available_ciphers())
                raise AuthenticationError(f"DIGEST-MD5: Client supports none of these cipher suites: "
                                          f"{','.join(offered)} (this side has {ours})")
        realm_text = realms[0].decode(encoding) if realms else ""
        assert self._password is not None
        username = encode_text(self._username, utf8)
        realm = encode_text(realm_text, utf8)
        password = encode_text(self._password, utf8)
        cnonce = base64.b64encode(secrets.token_bytes(30))
        nc = b"00000001"
        uri = self.digest_uri.encode(encoding)
        qop_token = qop.value.encode("ascii")
        common: Dict[str, Any] = dict(username=username, realm=realm, password=password, nonce=nonce,
                                      cnonce=cnonce, nc=nc, qop=qop_token, digest_uri=uri, authzid=None)
        self._rspauth = response_digest(**common, for_rspauth=True)
        h_a1 = session_key(username=username, realm=realm, password=password, nonce=nonce, cnonce=cnonce,
                           authzid=None)
        self._qop_pending = qop
        if qop.has_security_layer:
            self._pending = lambda: DigestSecurityLayer(h_a1, qop, client=True, cipher=cipher,
                                                        peer_max_buffer=peer_max)
        parts = [b"charset=utf-8"] if utf8 else []
        parts += [b"username=" + quote(self._username.encode(encoding))]
        if realm_text:
            parts.append(b"realm=" + quote(realm_text.encode(encoding)))
        parts += [b"nonce=" + quote(nonce), b"nc=" + nc, b"cnonce=" + quote(cnonce),
                  b"digest-uri=" + quote(uri), b"maxbuf=" + str(self._max_buffer).encode("ascii"),
                  b"response=" + response_digest(**common, for_rspauth=False), b"qop=" + qop_token]
        if cipher is not None:
            parts.append(b"cipher=" + quote(cipher.encode("ascii")))
        self._password = None
        return b",".join(parts)

    def _check_rspauth(self, final: bytes) -> None:
        try:
            fields = parse_directives(final)
        except (ValueError, UnicodeError) as exc:
            raise AuthenticationError(f"DIGEST-MD5: malformed rspauth message: {exc}") from None
        proof = fields.get("rspauth", b"")
        if not self._rspauth or not hmac.compare_digest(proof.lower(), self._rspauth):
            raise AuthenticationError("DIGEST-MD5: the server's rspauth proof is wrong "
                                      "(mutual authentication failed)")
        if self._pending is not None:
            self._layer = self._pending()
            self._pending = None
        self._qop = self._qop_pending
        self._complete = True

    @property
    def complete(self) -> bool:
        return self._complete


class DigestMd5Server(_Layered, ServerMechanism):
    """DIGEST-MD5 server.

    ``password_for(username)`` returns the password string for a username, or
    raises a :class:`~pyarn.errors.RemoteError` subclass (e.g.
    :class:`~pyarn.errors.InvalidTokenError`) that is sent to the client.
    ``qops`` are offered in the given order; ``auth-conf`` offers every cipher
    of :func:`~.digest_layer.available_ciphers`, or those of ``ciphers`` among them.
    """

    name = NAME

    def __init__(self, password_for: Callable[[str], str], *, realm: str = "default", protocol: str = "",
                 server_id: str = "default", qops: Sequence[Qop] = (Qop.AUTH,),
                 max_buffer: int = DEFAULT_MAX_BUFFER, ciphers: Optional[Sequence[str]] = None) -> None:
        self._password_for = password_for
        self._realm = realm.encode("utf-8")
        self._digest_uri = f"{protocol}/{server_id}".encode()
        self._qops = tuple(dict.fromkeys(qops)) or (Qop.AUTH,)
        self._ciphers = available_ciphers() if Qop.AUTH_CONF in self._qops else ()
        if ciphers is not None:
            self._ciphers = tuple(c for c in self._ciphers if c in ciphers)
        if Qop.AUTH_CONF in self._qops and not self._ciphers:
            raise SaslError("DIGEST-MD5: auth-conf needs RC4 or DES ciphers, which this cryptography lacks")
        self._max_buffer = max_buffer
        self._nonce = base64.b64encode(secrets.token_bytes(30))
        self._step = 0
        self._complete = False
        self._authorization_id = ""

    def evaluate_response(self, response: bytes) -> Optional[bytes]:
        step, self._step = self._step, self._step + 1
        if step == 0:
            if response:
                raise SaslError("DIGEST-MD5: Initial response must be empty")
            return self._challenge()
        if step == 1:
            return self._check_response(bytes(response))
        raise SaslError("DIGEST-MD5: authentication already complete")

    def _challenge(self) -> bytes:
        parts = [b"realm=" + quote(self._realm), b"nonce=" + quote(self._nonce),
                 b'qop="' + b",".join(q.value.encode("ascii") for q in self._qops) + b'"']
        if self._max_buffer != DEFAULT_MAX_BUFFER:
            parts.append(b"maxbuf=" + str(self._max_buffer).encode("ascii"))
        parts.append(b"charset=utf-8")
        if self._ciphers:
            parts.append(b'cipher="' + ",".join(self._ciphers).encode("ascii") + b'"')
        parts.append(b"algorithm=md5-sess")
        return b",".join(parts)

    def _check_response(self, response: bytes) -> bytes:
        if len(response) > MAX_RESPONSE_LENGTH:
            raise SaslError("DIGEST-MD5: response too long")
        try:
            return self._verify(parse_directives(response))
        except (UnicodeError, ValueError) as exc:
            raise SaslError(f"DIGEST-MD5: malformed response: {exc}") from None

    def _negotiated(self, fields: Dict[str, bytes]) -> Tuple[Qop, Optional[str]]:
        qop_text = fields.get("qop", b"auth").decode("ascii")
        qop = _QOPS.get(qop_text)
        if qop is None or qop not in self._qops:
            raise SaslError(f"DIGEST-MD5: client selected an unoffered qop {qop_text!r}")
        cipher = None
        if qop is Qop.AUTH_CONF:
            cipher = fields.get("cipher", b"").decode("ascii")
            if cipher not in self._ciphers:
                raise SaslError(f"DIGEST-MD5: server does not support cipher: {cipher!r}")
        return qop, cipher

    def _verify(self, fields: Dict[str, bytes]) -> bytes:
        for key in ("username", "nonce", "cnonce", "nc", "response", "digest-uri"):
            if not fields.get(key):
                raise SaslError(f"DIGEST-MD5: digest response format violation: no {key}")
        utf8 = fields.get("charset", b"").lower() == b"utf-8"
        charset = "utf-8" if utf8 else "latin-1"
        peer_max = _max_buffer(fields.get("maxbuf"))
        realm = fields.get("realm", b"")
        if realm != self._realm:
            raise SaslError("DIGEST-MD5: digest response format violation. Mismatched realm")
        if not hmac.compare_digest(fields["nonce"], self._nonce):
            raise SaslError("DIGEST-MD5: digest response format violation. Mismatched nonce")
        try:
            nonce_count = int(fields["nc"], 16)
        except ValueError:
            nonce_count = -1
        if nonce_count != 1:
            raise SaslError("DIGEST-MD5: Nonce count does not match")
        qop, cipher = self._negotiated(fields)
        if fields["digest-uri"] != self._digest_uri:
            raise SaslError("DIGEST-MD5: digest response format violation. Mismatched URI: "
                            f"{fields['digest-uri'].decode('latin-1')}; expecting: "
                            f"{self._digest_uri.decode('latin-1')}")
        username_text = fields["username"].decode(charset)
        authzid = fields.get("authzid")
        if authzid and authzid.decode(charset) != username_text:
            other = authzid.decode(charset)
            raise SaslError(f"DIGEST-MD5: {username_text} is not authorized to act as {other}")
        username = encode_text(username_text, utf8)
        realm_bytes = encode_text(realm.decode(charset), utf8)
        password = encode_text(self._password_for(username_text), utf8)
        common: Dict[str, Any] = dict(username=username, realm=realm_bytes, password=password,
                                      nonce=self._nonce, cnonce=fields["cnonce"], nc=fields["nc"],
                                      qop=qop.value.encode("ascii"), digest_uri=self._digest_uri,
                                      authzid=authzid)
        expected = response_digest(**common, for_rspauth=False)
        if not hmac.compare_digest(expected, fields["response"].lower()):
            raise SaslError("DIGEST-MD5: digest response format violation. Mismatched response.")
        if qop.has_security_layer:
            h_a1 = session_key(username=username, realm=realm_bytes, password=password, nonce=self._nonce,
                               cnonce=fields["cnonce"], authzid=authzid)
            self._layer = DigestSecurityLayer(h_a1, qop, client=False, cipher=cipher,
                                              peer_max_buffer=peer_max)
        self._complete = True
        self._qop = qop
        self._authorization_id = username_text
        return b"rspauth=" + response_digest(**common, for_rspauth=True)

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def authorization_id(self) -> str:
        return self._authorization_id


def token_credentials(identifier: bytes, password: bytes) -> tuple:
    """Hadoop's SASL username and password for a token: Base64 of each."""
    return (base64.b64encode(identifier).decode("ascii"), base64.b64encode(password).decode("ascii"))
