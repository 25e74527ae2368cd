"""SASL for Hadoop IPC: the negotiation state machines and the mechanisms."""
from .digest_md5 import DigestMd5Client, DigestMd5Server, token_credentials
from .mechanism import ClientMechanism, SecurityLayer, ServerMechanism
from .negotiation import SaslAuth, SaslClientNegotiation, SaslServerNegotiation

__all__ = [
    "ClientMechanism", "DigestMd5Client", "DigestMd5Server", "SaslAuth", "SaslClientNegotiation",
    "SaslServerNegotiation", "SecurityLayer", "ServerMechanism", "token_credentials",
]
