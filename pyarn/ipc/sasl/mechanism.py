"""What a SASL mechanism must offer the negotiation and the connection cores.

A mechanism authenticates (``evaluate_*`` until ``complete``) and, when the
negotiated QOP has a security layer (``auth-int``/``auth-conf``), protects all
later traffic through :meth:`SecurityLayer.wrap` / :meth:`SecurityLayer.unwrap`.
DIGEST-MD5 (TOKEN) implements this today; GSSAPI (KERBEROS) and the
integrity/privacy layers of DIGEST-MD5 plug in here without touching the
connection cores.
"""
from __future__ import annotations

import abc
from typing import Optional

from ...errors import LocalProtocolError
from ..constants import Qop


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
