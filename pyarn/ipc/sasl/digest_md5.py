"""DIGEST-MD5 (RFC 2831) as Hadoop's TOKEN auth uses it, QOP ``auth``.

The client side drives ``pure-sasl``; pure-sasl has no server, so the server
side is implemented here from the RFC and the JDK's behaviour that Hadoop
relies on: realm ``default``, digest-uri ``<protocol>/<serverId>`` (``/default``
for TOKEN), ``algorithm=md5-sess``, nonce count 1, and an ``rspauth`` proof in
the final token.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Callable, Dict, Optional, Sequence

from puresasl import QOP as PURE_QOP
from puresasl import SASLProtocolException
from puresasl.client import SASLClient
from puresasl.mechanisms import DigestMD5Mechanism

from ...errors import AuthenticationError, SaslError
from ..constants import Qop
from .mechanism import ClientMechanism, ServerMechanism

NAME = "DIGEST-MD5"
#: RFC 2831 bounds a digest-response to 4096 bytes.
MAX_RESPONSE_LENGTH = 4096
_NO_LAYER_SUFFIX = b":00000000000000000000000000000000"


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def _md5_hex(data: bytes) -> bytes:
    return hashlib.md5(data).hexdigest().encode("ascii")


def response_digest(*, username: bytes, realm: bytes, password: bytes, nonce: bytes, cnonce: bytes,
                    nc: bytes, qop: bytes, digest_uri: bytes, authzid: Optional[bytes],
                    for_rspauth: bool) -> bytes:
    """The ``response`` (client proof) or ``rspauth`` (server proof) value, hex.

    RFC 2831 §2.1.2.1 (md5-sess); ``for_rspauth`` drops ``AUTHENTICATE`` from A2.
    """
    a1 = _md5(username + b":" + realm + b":" + password) + b":" + nonce + b":" + cnonce
    if authzid:
        a1 += b":" + authzid
    a2 = (b"" if for_rspauth else b"AUTHENTICATE") + b":" + digest_uri
    if qop != b"auth":
        a2 += _NO_LAYER_SUFFIX
    return _md5_hex(b":".join((_md5_hex(a1), nonce, nc, cnonce, qop, _md5_hex(a2))))


def parse_directives(data: bytes) -> Dict[str, bytes]:
    """``key=value,key="quoted value"`` pairs of a challenge or response."""
    return DigestMD5Mechanism.parse_challenge(data)


class DigestMd5Client(ClientMechanism):
    """DIGEST-MD5 client for a Hadoop token.

    ``username``/``password`` are the Base64 forms of the token identifier and
    password (see :func:`token_credentials`); ``protocol``/``server_id`` are what
    the server advertised in its SaslAuth (``""`` and ``default`` for TOKEN),
    which makes the digest-uri ``/default``.
    """

    name = NAME

    def __init__(self, username: str, password: str, *, protocol: str = "", server_id: str = "default",
                 qops: Sequence[Qop] = (Qop.AUTH,)) -> None:
        self._client = SASLClient(
            server_id, protocol, mechanism=NAME, username=username, password=password,
            qops=[q.value.encode("ascii") for q in qops], callback=self._property)
        self.digest_uri = f"{protocol}/{server_id}"

    @staticmethod
    def _property(name: str):
        if name == "realm":
            return "default"
        raise AuthenticationError(f"DIGEST-MD5: no value for {name!r}")

    def evaluate_challenge(self, challenge: bytes) -> Optional[bytes]:
        if len(challenge) > MAX_RESPONSE_LENGTH * 4:
            raise AuthenticationError("DIGEST-MD5: challenge too long")
        try:
            return self._client.process(challenge)
        except SASLProtocolException as exc:
            text = str(exc)
            if "server auth" in text:
                raise AuthenticationError("DIGEST-MD5: the server's rspauth proof is wrong") from None
            raise AuthenticationError(f"DIGEST-MD5: {text}") from None
        except Exception as exc:  # pure-sasl is not hardened against hostile challenges
            raise AuthenticationError(
                f"DIGEST-MD5: cannot answer the server's challenge: {type(exc).__name__}: {exc}") from None

    @property
    def complete(self) -> bool:
        return bool(self._client.complete)

    @property
    def qop(self) -> Qop:
        return Qop(self._client.qop.decode("ascii"))

    def dispose(self) -> None:
        self._client.dispose()


class DigestMd5Server(ServerMechanism):
    """DIGEST-MD5 server.

    ``password_for(username)`` returns the password string for a username, or
    raises a :class:`~pyarn.errors.RemoteError` subclass (e.g.
    :class:`~pyarn.errors.InvalidTokenError`) that is sent to the client.
    Only QOP ``auth`` is offered until the security layers land.
    """

    name = NAME

    def __init__(self, password_for: Callable[[str], str], *, realm: str = "default", protocol: str = "",
                 server_id: str = "default", qops: Sequence[Qop] = (Qop.AUTH,)) -> None:
        unsupported = [q.value for q in qops if q is not Qop.AUTH]
        if unsupported:
            raise NotImplementedError(f"DIGEST-MD5 security layers {unsupported} are not implemented yet")
        self._password_for = password_for
        self._realm = realm.encode("utf-8")
        self._digest_uri = f"{protocol}/{server_id}".encode()
        self._qops = [q.value.encode("ascii") for q in qops]
        self._nonce = base64.b64encode(secrets.token_bytes(24))
        self._step = 0
        self._complete = False
        self._qop = Qop.AUTH
        self._authorization_id = ""

    def evaluate_response(self, response: bytes) -> Optional[bytes]:
        step, self._step = self._step, self._step + 1
        if step == 0:
            if response:
                raise SaslError("DIGEST-MD5: Initial response must be empty")
            return self._challenge()
        if step == 1:
            return self._check_response(response)
        raise SaslError("DIGEST-MD5: authentication already complete")

    def _challenge(self) -> bytes:
        return b",".join((
            b'realm="' + self._realm + b'"',
            b'nonce="' + self._nonce + b'"',
            b'qop="' + b",".join(self._qops) + b'"',
            b"charset=utf-8",
            b"algorithm=md5-sess",
        ))

    def _check_response(self, response: bytes) -> bytes:
        if len(response) > MAX_RESPONSE_LENGTH:
            raise SaslError("DIGEST-MD5: response too long")
        try:
            return self._verify(parse_directives(response))
        except (UnicodeError, ValueError) as exc:
            raise SaslError(f"DIGEST-MD5: malformed response: {exc}") from None

    def _verify(self, fields: Dict[str, bytes]) -> bytes:
        for key in ("username", "nonce", "cnonce", "nc", "response", "digest-uri"):
            if not fields.get(key):
                raise SaslError(f"DIGEST-MD5: digest response format violation: no {key}")
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
        qop = fields.get("qop", PURE_QOP.AUTH)
        if qop not in self._qops:
            raise SaslError(f"DIGEST-MD5: client selected an unoffered qop {qop.decode('latin-1')!r}")
        if fields["digest-uri"] != self._digest_uri:
            raise SaslError("DIGEST-MD5: digest response format violation. Mismatched URI: "
                            f"{fields['digest-uri'].decode('latin-1')}; expecting: "
                            f"{self._digest_uri.decode('latin-1')}")
        charset = "utf-8" if fields.get("charset", b"").lower() == b"utf-8" else "latin-1"
        username = fields["username"].decode(charset)
        authzid = fields.get("authzid")
        if authzid and authzid.decode(charset) != username:
            raise SaslError(f"DIGEST-MD5: {username} is not authorized to act as {authzid.decode(charset)}")
        password = self._password_for(username).encode(charset)
        common = dict(username=fields["username"], realm=realm, password=password, nonce=self._nonce,
                      cnonce=fields["cnonce"], nc=fields["nc"], qop=qop, digest_uri=self._digest_uri,
                      authzid=authzid)
        expected = response_digest(**common, for_rspauth=False)
        if not hmac.compare_digest(expected, fields["response"].lower()):
            raise SaslError("DIGEST-MD5: digest response format violation. Mismatched response.")
        self._complete = True
        self._qop = Qop(qop.decode("ascii"))
        self._authorization_id = username
        return b"rspauth=" + response_digest(**common, for_rspauth=True)

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def qop(self) -> Qop:
        return self._qop

    @property
    def authorization_id(self) -> str:
        return self._authorization_id


def token_credentials(identifier: bytes, password: bytes) -> tuple:
    """Hadoop's SASL username and password for a token: Base64 of each."""
    return (base64.b64encode(identifier).decode("ascii"), base64.b64encode(password).decode("ascii"))
