"""Delegation tokens as a secure NameNode or ResourceManager issues them.

:class:`DelegationTokenSecretManager` follows Hadoop's ``AbstractDelegationTokenSecretManager``:
a token's identifier names its owner (the full principal of whoever asked), its
renewer (as a short name), the real user of a proxy user, issue and maximum
dates, a sequence number and the id of the master key whose HmacSHA1 of the
identifier is the password. A token works until its renewal date
(``renew-interval`` after issue or last renewal) and never past its maximum date;
only its renewer may renew it; its owner or renewer may cancel it. The
exception messages are Hadoop's.

The identifier's encoding is the token kind's: the Writable form for
``HDFS_DELEGATION_TOKEN`` (:class:`~pyarn.security.writable.DelegationTokenIdentifier`),
the protobuf ``YARNDelegationTokenIdentifierProto`` for ``RM_DELEGATION_TOKEN``.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Dict, Optional, Tuple

import attrs
from google.protobuf.message import DecodeError

from hadoop_protos import yarn_tokens_pb2 as tpb

from ..errors import AccessControlError, InvalidTokenError
from ..ipc import SecretManager
from ..security.tokens import HDFS_DELEGATION_TOKEN_KIND, RM_DELEGATION_TOKEN_KIND, Token
from ..security.writable import DelegationTokenIdentifier, WritableError
from .secrets import MasterKey

__all__ = ["DelegationTokenSecretManager", "hdfs_codec", "rm_codec", "RENEW_INTERVAL_MS", "MAX_LIFETIME_MS"]

#: ``dfs.namenode.delegation.token.renew-interval``
#: (``yarn.resourcemanager.delegation.token.renew-interval``).
RENEW_INTERVAL_MS = 24 * 3600 * 1000
#: ``...delegation.token.max-lifetime``.
MAX_LIFETIME_MS = 7 * 24 * 3600 * 1000


@attrs.frozen
class Codec:
    """How one token kind writes its identifier."""

    kind: str
    encode: Callable[[DelegationTokenIdentifier], bytes]
    decode: Callable[[bytes], DelegationTokenIdentifier]


def _decode_writable(data: bytes) -> DelegationTokenIdentifier:
    return DelegationTokenIdentifier.from_bytes(data)


def hdfs_codec() -> Codec:
    return Codec(HDFS_DELEGATION_TOKEN_KIND, DelegationTokenIdentifier.to_bytes, _decode_writable)


def _encode_yarn(identifier: DelegationTokenIdentifier) -> bytes:
    return tpb.YARNDelegationTokenIdentifierProto(
        owner=identifier.owner, renewer=identifier.renewer, realUser=identifier.real_user,
        issueDate=identifier.issue_date, maxDate=identifier.max_date,
        sequenceNumber=identifier.sequence_number, masterKeyId=identifier.master_key_id).SerializeToString()


def _decode_yarn(data: bytes) -> DelegationTokenIdentifier:
    proto = tpb.YARNDelegationTokenIdentifierProto.FromString(data)
    return DelegationTokenIdentifier(owner=proto.owner, renewer=proto.renewer, real_user=proto.realUser,
                                     issue_date=proto.issueDate, max_date=proto.maxDate,
                                     sequence_number=proto.sequenceNumber, master_key_id=proto.masterKeyId)


def rm_codec() -> Codec:
    return Codec(RM_DELEGATION_TOKEN_KIND, _encode_yarn, _decode_yarn)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _date(millis: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(millis / 1000)) + f",{millis % 1000:03d}+0000"


class DelegationTokenSecretManager(SecretManager):
    """Issues, checks, renews and cancels one kind of delegation token (see the module notes).

    ``short_name`` maps a principal to its short name (auth_to_local): the renewer
    is stored as one, and the user a token stands for on a connection is its owner's.
    """

    def __init__(self, codec: Codec, short_name: Callable[[str], str], *,
                 renew_interval_ms: int = RENEW_INTERVAL_MS, max_lifetime_ms: int = MAX_LIFETIME_MS,
                 clock: Callable[[], int] = _now_ms) -> None:
        self.codec = codec
        self.short_name = short_name
        self.renew_interval_ms = renew_interval_ms
        self.max_lifetime_ms = max_lifetime_ms
        self.master_key = MasterKey.generate()
        self._clock = clock
        self._lock = threading.Lock()
        self._sequence = 0
        #: identifier bytes -> (identifier, renew date)
        self._tokens: Dict[bytes, Tuple[DelegationTokenIdentifier, int]] = {}

    # -- helpers ----------------------------------------------------------------------------------

    def _decode(self, identifier: bytes) -> DelegationTokenIdentifier:
        try:
            return self.codec.decode(bytes(identifier))
        except (WritableError, DecodeError, ValueError):
            raise InvalidTokenError(f"Can't de-serialize {self.codec.kind} tokenIdentifier") from None

    def describe(self, identifier: DelegationTokenIdentifier) -> str:
        """``formatTokenId``: how Hadoop 3's messages name a token (HDFS's identifiers prefix
        ``token for <owner's short name>:``)."""
        text = (f"{self.codec.kind} owner={identifier.owner}, renewer={identifier.renewer}, "
                f"realUser={identifier.real_user}, issueDate={identifier.issue_date}, "
                f"maxDate={identifier.max_date}, sequenceNumber={identifier.sequence_number}, "
                f"masterKeyId={identifier.master_key_id}")
        if self.codec.kind == HDFS_DELEGATION_TOKEN_KIND:
            try:
                owner = self.short_name(identifier.owner)
            except Exception:  # an owner no rule maps: as it is
                owner = identifier.owner
            text = f"token for {owner}: {text}"
        return f"({text})"

    def password(self, identifier: bytes) -> bytes:
        return self.master_key.password(identifier)

    # -- issuing ---------------------------------------------------------------------------------

    def create_token(self, owner: str, renewer: str, real_user: Optional[str] = None) -> Token:
        """A new token of ``owner`` (the full principal), renewable by ``renewer`` (any principal
        form; stored as its short name); ``real_user`` when a proxy user asks. Empty service."""
        now = self._clock()
        with self._lock:
            self._sequence += 1
            identifier = DelegationTokenIdentifier(
                owner=owner, renewer=self.short_name(renewer) if renewer else "", real_user=real_user or "",
                issue_date=now, max_date=now + self.max_lifetime_ms, sequence_number=self._sequence,
                master_key_id=self.master_key.key_id)
            raw = self.codec.encode(identifier)
            self._tokens[raw] = (identifier, min(now + self.renew_interval_ms, identifier.max_date))
        return Token(raw, self.password(raw), self.codec.kind, "")

    # -- SecretManager (the TOKEN auth of the IPC server) ------------------------------------------

    def retrieve_password(self, identifier: bytes) -> bytes:
        parsed = self._decode(identifier)
        with self._lock:
            entry = self._tokens.get(bytes(identifier))
        if entry is None:
            raise InvalidTokenError(f"token {self.describe(parsed)} can't be found in cache")
        now = self._clock()
        if entry[1] < now:
            raise InvalidTokenError(f"token {self.describe(parsed)} is expired, current time: {_date(now)} "
                                    f"expected renewal time: {_date(entry[1])}")
        return self.password(bytes(identifier))

    def user_of(self, identifier: bytes) -> Optional[str]:
        return self._decode(identifier).owner

    def owner_of(self, identifier: bytes) -> DelegationTokenIdentifier:
        return self._decode(identifier)

    # -- renew and cancel ---------------------------------------------------------------------------

    def _verify(self, identifier: bytes, password: bytes, parsed: DelegationTokenIdentifier,
                what: str) -> None:
        if parsed.master_key_id != self.master_key.key_id or self.password(identifier) != password:
            raise InvalidTokenError(f"{what} for {self.describe(parsed)} with non-matching password")

    def renew(self, token: Token, caller: str) -> int:
        """Renew ``token`` for ``caller`` (a short name, as ``getShortUserName``); returns the new
        expiry time (ms)."""
        parsed = self._decode(token.identifier)
        now = self._clock()
        if parsed.max_date < now:
            raise InvalidTokenError(f"{caller} tried to renew an expired token {self.describe(parsed)} max "
                                    f"expiration date: {_date(parsed.max_date)} currentTime: {_date(now)}")
        if not parsed.renewer:
            raise AccessControlError(f"{caller} tried to renew a token {self.describe(parsed)} without a "
                                     "renewer")
        if parsed.renewer != caller:
            raise AccessControlError(f"{caller} tries to renew a token {self.describe(parsed)} with "
                                     f"non-matching renewer {parsed.renewer}")
        self._verify(token.identifier, token.password, parsed, "Renewal request")
        with self._lock:
            if token.identifier not in self._tokens:
                raise InvalidTokenError(f"Renewal request for unknown token {self.describe(parsed)}")
            expiry = min(parsed.max_date, now + self.renew_interval_ms)
            self._tokens[token.identifier] = (parsed, expiry)
        return expiry

    def cancel(self, token: Token, caller: str) -> DelegationTokenIdentifier:
        """Cancel ``token``: only its owner (``caller`` as authenticated, ``alice@REALM``) or its
        renewer (``caller``'s short name) may."""
        parsed = self._decode(token.identifier)
        with self._lock:
            if token.identifier not in self._tokens:
                raise InvalidTokenError(f"Token not found {self.describe(parsed)}")
            if caller != parsed.owner and (not parsed.renewer or self.short_name(caller) != parsed.renewer):
                raise AccessControlError(f"{caller} is not authorized to cancel the token "
                                         f"{self.describe(parsed)}")
            del self._tokens[token.identifier]
        return parsed

    def expire(self, token: Token) -> None:
        """Make ``token`` past its renewal date at once (for tests of expiry)."""
        with self._lock:
            entry = self._tokens.get(token.identifier)
            if entry is not None:
                self._tokens[token.identifier] = (entry[0], self._clock() - 1)
