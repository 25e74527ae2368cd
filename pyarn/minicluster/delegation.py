"""Delegation tokens as a secure NameNode or ResourceManager issues them.

:class:`DelegationTokenSecretManager` follows Hadoop's ``AbstractDelegationTokenSecretManager``:
a token's identifier names its owner (the full principal of whoever asked), its
renewer (as a short name), the real user of a proxy user, issue and maximum
dates, a sequence number and the id of the master key whose HmacSHA1 of the
identifier is the password. A token works until its renewal date
(``renew-interval`` after issue or last renewal) and never past its maximum date;
only its renewer may renew it; its owner or renewer may cancel it. The
exception messages are Hadoop 3.3's.

The identifier's encoding is the token kind's: the Writable form for
``HDFS_DELEGATION_TOKEN`` (:class:`~pyarn.security.writable.DelegationTokenIdentifier`),
the protobuf ``YARNDelegationTokenIdentifierProto`` for ``RM_DELEGATION_TOKEN``.

:class:`DelegationTokenRenewer` is what a secure ResourceManager does with the delegation
tokens of the applications it runs (YARN's ``DelegationTokenRenewer``): renew each at
submission, cancel it when the last application holding it ends.
"""
from __future__ import annotations

import functools
import hmac
import logging
import re
import threading
import time
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

import attrs
from google.protobuf.message import DecodeError

from hadoop_protos import yarn_tokens_pb2 as tpb

from ..errors import AccessControlError, InvalidTokenError, PyarnError, RemoteError
from ..ipc import SecretManager
from ..security.auth_to_local import NoMatchingRule
from ..security.tokens import HDFS_DELEGATION_TOKEN_KIND, RM_DELEGATION_TOKEN_KIND, Token
from ..security.writable import DelegationTokenIdentifier, WritableError
from ..yarn.ids import ApplicationId
from .secrets import MasterKey

__all__ = ["DelegationTokenSecretManager", "DelegationTokenRenewer", "TokenHandler", "TokenRenewalError",
           "hdfs_codec", "rm_codec", "codec_for", "describe_token", "format_identifier", "RENEW_INTERVAL_MS",
           "MAX_LIFETIME_MS"]

log = logging.getLogger(__name__)

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


def codec_for(kind: str) -> Optional[Codec]:
    """The codec of a delegation token kind this module knows, else None."""
    make = {HDFS_DELEGATION_TOKEN_KIND: hdfs_codec, RM_DELEGATION_TOKEN_KIND: rm_codec}.get(kind)
    return make() if make is not None else None


def _as_is(name: str) -> str:
    return name


def format_identifier(kind: str, identifier: DelegationTokenIdentifier,
                      short_name: Callable[[str], str] = _as_is) -> str:
    """An identifier as Hadoop 3 prints it, in parentheses (``formatTokenId``); HDFS's name the
    owner's short name first (``token for <short name>:``), as its ``toString`` does."""
    text = (f"{kind} owner={identifier.owner}, renewer={identifier.renewer}, "
            f"realUser={identifier.real_user}, issueDate={identifier.issue_date}, "
            f"maxDate={identifier.max_date}, sequenceNumber={identifier.sequence_number}, "
            f"masterKeyId={identifier.master_key_id}")
    if kind == HDFS_DELEGATION_TOKEN_KIND:
        try:
            owner = short_name(identifier.owner)
        except Exception:  # an owner no rule maps: as it is
            owner = identifier.owner
        text = f"token for {owner}: {text}"
    return f"({text})"


def _decoded(token: Token) -> Optional[DelegationTokenIdentifier]:
    codec = codec_for(token.kind)
    if codec is None:
        return None
    try:
        return codec.decode(token.identifier)
    except (WritableError, DecodeError, ValueError):
        return None


def describe_token(token: Token, short_name: Callable[[str], str] = _as_is) -> str:
    """``Token.toString``: ``Kind: ..., Service: ..., Ident: (...)``; an identifier this module cannot
    decode as its bytes in hex, space-separated, as Java prints it."""
    parsed = _decoded(token)
    ident = (format_identifier(token.kind, parsed, short_name) if parsed is not None
             else token.identifier.hex(" "))
    return f"Kind: {token.kind}, Service: {token.service}, Ident: {ident}"


#: ``KerberosName``'s parser: ``name[/host][@REALM]``.
_KERBEROS_NAME = re.compile(r"([^/@]+)(/([^/@]+))?(@([^/@]+))?")
NO_MATCHING_RULE = "org.apache.hadoop.security.authentication.util.KerberosName$NoMatchingRule"


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
        """``formatTokenId``: how Hadoop 3's messages name a token (:func:`format_identifier`)."""
        return format_identifier(self.codec.kind, identifier, self.short_name)

    def renewer_name(self, renewer: str) -> str:
        """``AbstractDelegationTokenIdentifier.setRenewer``: the short name of ``renewer`` as
        ``HadoopKerberosName`` makes it. A name that is no Kerberos name is kept as it is, unless
        it has an ``@`` (``IllegalArgumentException``); one no auth_to_local rule maps is refused
        with the ``RuntimeException`` Hadoop wraps ``NoMatchingRule`` in."""
        if not renewer:
            return ""
        if not _KERBEROS_NAME.fullmatch(renewer):
            if "@" in renewer:
                raise ValueError(f"Malformed Kerberos name: {renewer}")
            return renewer
        try:
            return self.short_name(renewer)
        except NoMatchingRule as exc:
            raise RemoteError(f"{NO_MATCHING_RULE}: {exc}", "java.lang.RuntimeException") from None

    def password(self, identifier: bytes) -> bytes:
        return self.master_key.password(identifier)

    # -- issuing ---------------------------------------------------------------------------------

    def create_token(self, owner: str, renewer: str, real_user: Optional[str] = None) -> Token:
        """A new token of ``owner`` (the full principal), renewable by ``renewer`` (any principal
        form; stored as its short name, :meth:`renewer_name`); ``real_user`` when a proxy user
        asks. Empty service."""
        renewer = self.renewer_name(renewer)
        now = self._clock()
        with self._lock:
            self._sequence += 1
            identifier = DelegationTokenIdentifier(
                owner=owner, renewer=renewer, real_user=real_user or "",
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

    def identifier_of(self, identifier: bytes) -> DelegationTokenIdentifier:
        """The decoded identifier (``InvalidTokenError`` when it is not one of this kind's)."""
        return self._decode(identifier)

    # -- renew and cancel ---------------------------------------------------------------------------

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
        if parsed.master_key_id != self.master_key.key_id:
            raise InvalidTokenError(f"Unable to find master key for keyId={parsed.master_key_id} from cache. "
                                    f"Failed to renew an unexpired token {self.describe(parsed)} with "
                                    f"sequenceNumber={parsed.sequence_number}")
        if not hmac.compare_digest(self.password(token.identifier), token.password):
            raise AccessControlError(f"{caller} is trying to renew a token {self.describe(parsed)} with "
                                     "wrong password")
        with self._lock:
            if token.identifier not in self._tokens:
                raise InvalidTokenError(f"Renewal request for unknown token {self.describe(parsed)}")
            expiry = min(parsed.max_date, now + self.renew_interval_ms)
            self._tokens[token.identifier] = (parsed, expiry)
        return expiry

    def cancel(self, token: Token, caller: str) -> DelegationTokenIdentifier:
        """Cancel ``token``: only its owner (``caller`` as authenticated, ``alice@REALM``) or its
        renewer (``caller``'s short name) may; whoever else asks is refused even for a token
        that is gone (Hadoop checks who asks first)."""
        parsed = self._decode(token.identifier)
        if caller != parsed.owner and (not parsed.renewer or self.short_name(caller) != parsed.renewer):
            raise AccessControlError(f"{caller} is not authorized to cancel the token "
                                     f"{self.describe(parsed)}")
        with self._lock:
            if self._tokens.pop(token.identifier, None) is None:
                raise InvalidTokenError(f"Token not found {self.describe(parsed)}")
        return parsed

    def expire(self, token: Token) -> None:
        """Make ``token`` past its renewal date at once (for tests of expiry)."""
        with self._lock:
            entry = self._tokens.get(token.identifier)
            if entry is not None:
                self._tokens[token.identifier] = (entry[0], self._clock() - 1)


# -- the ResourceManager's renewer of application tokens ----------------------------------------------


@attrs.frozen
class TokenHandler:
    """How the RM renews and cancels one kind of delegation token (the kind's ``TokenRenewer``):
    each raises when it cannot. A token the handler has no business with (another cluster's) may
    be let through as it is."""

    renew: Callable[[Token], None]
    cancel: Callable[[Token], None]


class TokenRenewalError(PyarnError):
    """The RM could not renew a token of a submission: ``Failed to renew token: <Token.toString>``,
    the application's diagnostics (the reason is the ``__cause__``)."""


@attrs.define
class _Tracked:
    """``DelegationTokenToRenew``: the applications a token was submitted with."""

    apps: Set[ApplicationId]
    cancel_at_end: bool


class DelegationTokenRenewer:
    """YARN's ``DelegationTokenRenewer``, as a secure ResourceManager runs it.

    :meth:`add_application` (at submission) renews each delegation token of the application's
    credentials whose kind has a :class:`TokenHandler` in :attr:`handlers` (a token with an empty
    renewer is skipped, as ``skipTokenRenewal`` does; one another application brought already is
    not renewed again) and raises :class:`TokenRenewalError` at the first that fails, keeping
    none of them. :meth:`application_finished` cancels each token once no running application
    holds it any more, if it was submitted with ``cancel_tokens_when_complete`` (or
    ``always_cancel``, ``yarn.resourcemanager.delegation-token.always-cancel``).
    With ``removal_delay_ms`` (YARN's keep-alive while log aggregation is on) the tokens of a
    finished application go only after that delay, at a :meth:`check` past it.

    Cancellations run through ``run`` (the RM's worker, outside its lock); a failure is logged,
    as YARN logs it. ``short_name`` names an HDFS token's owner in the diagnostics. Not thread
    safe: the RM calls it under its lock.
    """

    def __init__(self, run: Callable[[Callable[[], None]], None], *,
                 short_name: Callable[[str], str] = _as_is, always_cancel: bool = False,
                 removal_delay_ms: Optional[int] = None) -> None:
        self.handlers: Dict[str, TokenHandler] = {}
        self._run = run
        self._short_name = short_name
        self.always_cancel = always_cancel
        self.removal_delay_ms = removal_delay_ms
        self._tracked: Dict[Token, _Tracked] = {}
        self._app_tokens: Dict[ApplicationId, List[Token]] = {}
        self._delayed: Dict[ApplicationId, int] = {}

    def _managed(self, token: Token) -> bool:
        if token.kind not in self.handlers:
            return False
        parsed = _decoded(token)
        return parsed is None or parsed.renewer != ""  # skipTokenRenewal: an empty renewer

    def add_application(self, app_id: ApplicationId, tokens: Iterable[Token], cancel_at_end: bool) -> None:
        """Renew the application's tokens (see the class notes); :class:`TokenRenewalError`
        naming the first the RM could not renew."""
        kept: List[Token] = []
        for token in tokens:
            if not self._managed(token):
                continue
            if token not in self._tracked:
                try:
                    self.handlers[token.kind].renew(token)
                except Exception as exc:
                    log.warning("cannot renew %s of %s: %s", token.kind, app_id, exc)
                    described = describe_token(token, self._short_name)
                    raise TokenRenewalError(f"Failed to renew token: {described}") from exc
            kept.append(token)
        self._app_tokens[app_id] = kept
        for token in kept:
            tracked = self._tracked.setdefault(token, _Tracked(set(), cancel_at_end or self.always_cancel))
            tracked.apps.add(app_id)

    def application_finished(self, app_id: ApplicationId, now_ms: int) -> None:
        """The application ended: cancel the tokens only it held (see the class notes)."""
        if self.removal_delay_ms is not None:
            self._delayed[app_id] = now_ms + self.removal_delay_ms
        else:
            self._remove(app_id)

    def check(self, now_ms: int) -> None:
        """Let go of the tokens of applications whose removal delay is over."""
        for app_id, when in list(self._delayed.items()):
            if when <= now_ms:
                del self._delayed[app_id]
                self._remove(app_id)

    def _remove(self, app_id: ApplicationId) -> None:
        for token in self._app_tokens.pop(app_id, []):
            tracked = self._tracked.get(token)
            if tracked is None:
                continue
            tracked.apps.discard(app_id)
            if tracked.apps:
                continue
            del self._tracked[token]
            if tracked.cancel_at_end:
                self._run(functools.partial(self._cancel, token))

    def _cancel(self, token: Token) -> None:
        try:
            self.handlers[token.kind].cancel(token)
        except Exception as exc:
            log.warning("Failed to cancel token %s %s", describe_token(token, self._short_name), exc)
