"""What a SASL mechanism must offer the negotiation and the connection cores.

A mechanism authenticates (``evaluate_*`` until ``complete``) and, when the
negotiated QOP has a security layer (``auth-int``/``auth-conf``), protects all
later traffic through :meth:`SecurityLayer.wrap` / :meth:`SecurityLayer.unwrap`.
DIGEST-MD5 (TOKEN) and GSSAPI (KERBEROS) implement this.

Also here: how both sides pick a QOP. ``hadoop.rpc.protection`` lists the
acceptable QOPs most preferred first; a client takes the first of its own
list that the server offers (the JDK's ``findPreferredMask``).
"""
from __future__ import annotations

import abc
from typing import Iterable, Optional, Sequence

from ...errors import AuthenticationError, LocalProtocolError
from ..constants import Qop

#: RFC 4752 / RFC 2831 security-layer bits of each QOP.
LAYER_BITS = {Qop.AUTH: 0x01, Qop.AUTH_INT: 0x02, Qop.AUTH_CONF: 0x04}
_PROTECTION_NAMES = {Qop.AUTH: "authentication", Qop.AUTH_INT: "integrity", Qop.AUTH_CONF: "privacy"}


class NoCommonProtectionError(AuthenticationError):
    """Client and server accept no QOP in common (``hadoop.rpc.protection`` differs).

    ``preferred`` and ``offered`` are the QOPs of this side and of the peer, when known.
    """

    def __init__(self, message: str, preferred: Sequence[Qop] = (), offered: Sequence[Qop] = ()) -> None:
        super().__init__(message)
        self.preferred = tuple(preferred)
        self.offered = tuple(offered)


def protection_names(qops: Iterable[Qop]) -> str:
    """QOPs as ``hadoop.rpc.protection`` spells them: ``privacy,integrity``."""
    return ",".join(_PROTECTION_NAMES[q] for q in qops) or "(none)"


def qops_of_mask(mask: int) -> tuple:
    """The QOPs whose bits are set in a security-layer mask, strongest first."""
    return tuple(q for q in (Qop.AUTH_CONF, Qop.AUTH_INT, Qop.AUTH) if mask & LAYER_BITS[q])


def choose_qop(mechanism: str, preferred: Sequence[Qop], offered: Sequence[Qop]) -> Qop:
    """The first of ``preferred`` that the server ``offered``; else :class:`NoCommonProtectionError`."""
    for qop in preferred:
        if qop in offered:
            return qop
    raise NoCommonProtectionError(
        f"{mechanism}: No common protection layer between client and server: this client accepts "
        f"quality of protection {protection_names(preferred)} (hadoop.rpc.protection), the server "
        f"offers {protection_names(offered)}", preferred, offered)


class SecurityLayer:
    """Wrapping of traffic after a negotiation that agreed a protective QOP.

    The defaults describe a mechanism without a security layer (QOP ``auth``).
    """

    @property
    def qop(self) -> Qop:
        """The negotiated quality of protection (valid once complete)."""
        return Qop.AUTH

    @property
    def max_wrap_size(self) -> int:
        """Largest plaintext chunk :meth:`wrap` accepts (the raw send size)."""
        return 65536

    def wrap(self, data: bytes) -> bytes:
        """Protect outgoing bytes."""
        raise LocalProtocolError(f"{type(self).__name__} has no security layer at QOP {self.qop.value}")

    def unwrap(self, data: bytes) -> bytes:
        """Check (and decrypt) incoming bytes."""
        raise LocalProtocolError(f"{type(self).__name__} has no security layer at QOP {self.qop.value}")

    def dispose(self) -> None:
        """Forget secrets; called when the connection ends."""


class ClientMechanism(SecurityLayer, abc.ABC):
    """The client side of one SASL mechanism."""

    #: The SASL mechanism name, e.g. ``DIGEST-MD5``.
    name: str = ""

    @property
    def has_initial_response(self) -> bool:
        """Whether the client speaks first (GSSAPI does, DIGEST-MD5 does not)."""
        return False

    @property
    def principal(self) -> Optional[str]:
        """Who this client proved to be, when the mechanism says (a Kerberos principal)."""
        return None

    @abc.abstractmethod
    def evaluate_challenge(self, challenge: bytes) -> Optional[bytes]:
        """Answer a server challenge; ``None`` when there is nothing to send.

        Raises :class:`~pyarn.errors.AuthenticationError` when the challenge
        cannot be answered or the server's proof is wrong.
        """

    @property
    @abc.abstractmethod
    def complete(self) -> bool:
        """Whether authentication finished on this side."""


class ServerMechanism(SecurityLayer, abc.ABC):
    """The server side of one SASL mechanism."""

    name: str = ""

    @abc.abstractmethod
    def evaluate_response(self, response: bytes) -> Optional[bytes]:
        """Process a client token; returns the next challenge (or final token).

        The first call, with ``b""``, yields the initial challenge. Raises a
        :class:`~pyarn.errors.RemoteError` subclass (sent to the client as a
        FATAL response) when authentication fails.
        """

    @property
    @abc.abstractmethod
    def complete(self) -> bool:
        """Whether the client is authenticated."""

    @property
    @abc.abstractmethod
    def authorization_id(self) -> str:
        """Who the client proved to be (valid once complete)."""
