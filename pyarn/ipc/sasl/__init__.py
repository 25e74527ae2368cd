"""SASL for Hadoop IPC: the negotiation state machines and the mechanisms.

DIGEST-MD5 (TOKEN) and GSSAPI (KERBEROS), each with the ``auth``,
``auth-int`` and ``auth-conf`` QOPs. GSSAPI needs the ``kerberos`` extra
(``gssapi``), imported only when a Kerberos connection is made.
"""
from .digest_md5 import DigestMd5Client, DigestMd5Server, token_credentials
from .gssapi import GssapiClient, GssapiServer
from .mechanism import ClientMechanism, NoCommonProtectionError, SecurityLayer, ServerMechanism
from .negotiation import SaslAuth, SaslClientNegotiation, SaslServerNegotiation

__all__ = [
    "ClientMechanism", "DigestMd5Client", "DigestMd5Server", "GssapiClient", "GssapiServer",
    "NoCommonProtectionError", "SaslAuth", "SaslClientNegotiation", "SaslServerNegotiation", "SecurityLayer",
    "ServerMechanism", "token_credentials",
]
