"""SASL for Hadoop IPC: the negotiation state machines and the mechanisms.

DIGEST-MD5 (TOKEN) and GSSAPI (KERBEROS), each with the ``auth``,
``auth-int`` and ``auth-conf`` QOPs. GSSAPI needs the ``kerberos`` extra
(``gssapi``), imported only when a Kerberos connection is made. The names below
are imported on first use, so a SIMPLE connection loads no mechanism.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .digest_md5 import DigestMd5Client, DigestMd5Server, token_credentials
    from .gssapi import GssapiClient, GssapiServer
    from .mechanism import ClientMechanism, NoCommonProtectionError, SecurityLayer, ServerMechanism
    from .negotiation import SaslAuth, SaslClientNegotiation, SaslServerNegotiation

_EXPORTS = {
    "DigestMd5Client": "digest_md5", "DigestMd5Server": "digest_md5", "token_credentials": "digest_md5",
    "GssapiClient": "gssapi", "GssapiServer": "gssapi",
    "ClientMechanism": "mechanism", "NoCommonProtectionError": "mechanism", "SecurityLayer": "mechanism",
    "ServerMechanism": "mechanism",
    "SaslAuth": "negotiation", "SaslClientNegotiation": "negotiation", "SaslServerNegotiation": "negotiation",
}

__all__ = [
    "ClientMechanism", "DigestMd5Client", "DigestMd5Server", "GssapiClient", "GssapiServer",
    "NoCommonProtectionError", "SaslAuth", "SaslClientNegotiation", "SaslServerNegotiation", "SecurityLayer",
    "ServerMechanism", "token_credentials",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXPORTS))
