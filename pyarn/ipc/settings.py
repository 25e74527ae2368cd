"""IPC client and server settings, read from Hadoop configuration keys.

Key names and defaults are those of Hadoop's ``core-default.xml``
(PROTOCOL-FACTS §7). Times are stored in seconds; ``None`` means "no limit".
"""
from __future__ import annotations

import os
from typing import Dict, Mapping, Optional, Tuple

import attrs

from .constants import DEFAULT_MAX_DATA_LENGTH, Qop

CONNECT_TIMEOUT_KEY = "ipc.client.connect.timeout"
RPC_TIMEOUT_KEY = "ipc.client.rpc-timeout.ms"
PING_INTERVAL_KEY = "ipc.ping.interval"
PING_KEY = "ipc.client.ping"
MAX_IDLE_KEY = "ipc.client.connection.maxidletime"
TCP_NODELAY_KEY = "ipc.client.tcpnodelay"
MAX_RESPONSE_LENGTH_KEY = "ipc.maximum.response.length"
MAX_DATA_LENGTH_KEY = "ipc.maximum.data.length"
AUTHENTICATION_KEY = "hadoop.security.authentication"
PROTECTION_KEY = "hadoop.rpc.protection"
SASL_MECHANISM_KEY = "hadoop.security.sasl.mechanism"
SASL_MECHANISM_ENV = "HADOOP_SASL_MECHANISM"
FALLBACK_TO_SIMPLE_KEY = "ipc.client.fallback-to-simple-auth-allowed"


def _get(conf: Mapping[str, str], key: str) -> Optional[str]:
    value = conf.get(key)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _int(conf: Mapping[str, str], key: str, default: int) -> int:
    value = _get(conf, key)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{key}: expected an integer, got {value!r}") from None


def _bool(conf: Mapping[str, str], key: str, default: bool) -> bool:
    value = _get(conf, key)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(f"{key}: expected true or false, got {value!r}")


def _pairs(value) -> Tuple[Tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), str(v)) for k, v in items)


def _positive(instance, attribute, value) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"IpcSettings.{attribute.name} must be positive, got {value!r}")


@attrs.frozen
class IpcSettings:
    """What the IPC layer needs from the configuration."""

    #: Seconds to wait for TCP connect (``ipc.client.connect.timeout``).
    connect_timeout: float = attrs.field(default=20.0, validator=_positive)
    #: Seconds a call may wait for its response; ``None``: forever (``ipc.client.rpc-timeout.ms``, 0).
    rpc_timeout: Optional[float] = attrs.field(default=120.0, validator=_positive)
    #: Seconds of silence before a ping while calls are outstanding (``ipc.ping.interval``).
    ping_interval: float = attrs.field(default=60.0, validator=_positive)
    ping: bool = True
    #: Seconds an unused connection stays open (``ipc.client.connection.maxidletime``).
    max_idle_time: float = attrs.field(default=10.0, validator=_positive)
    tcp_nodelay: bool = True
    #: Largest response frame a client accepts (``ipc.maximum.response.length``).
    max_response_length: int = attrs.field(default=DEFAULT_MAX_DATA_LENGTH, validator=_positive)
    #: Largest request frame a server accepts (``ipc.maximum.data.length``).
    max_data_length: int = attrs.field(default=DEFAULT_MAX_DATA_LENGTH, validator=_positive)
    #: ``simple`` or ``kerberos`` (``hadoop.security.authentication``).
    authentication: str = "simple"
    #: QOPs to offer, most preferred first (``hadoop.rpc.protection``).
    qops: Tuple[Qop, ...] = (Qop.AUTH,)
    #: SASL mechanism for TOKEN auth (``hadoop.security.sasl.mechanism``).
    sasl_mechanism: str = "DIGEST-MD5"
    #: Whether a secure client accepts a server that falls back to SIMPLE.
    fallback_to_simple_auth_allowed: bool = False
    #: Server principal configuration: every ``*.principal`` / ``*.principal.pattern`` key and its value.
    principals: Tuple[Tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    #: Extra protocol name -> principal key entries (Hadoop's ``@KerberosInfo``) for protocols pyarn
    #: does not know, e.g. an application's own.
    principal_keys: Tuple[Tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)

    @property
    def principal_conf(self) -> Dict[str, str]:
        """:attr:`principals` as a mapping."""
        return dict(self.principals)

    @property
    def security_enabled(self) -> bool:
        """Whether ``hadoop.security.authentication`` asks for Kerberos."""
        return self.authentication == "kerberos"

    @classmethod
    def from_conf(cls, conf: Mapping[str, str], env: Optional[Mapping[str, str]] = None) -> IpcSettings:
        """Settings from Hadoop configuration keys; missing keys take Hadoop's defaults.

        ``env`` (default ``os.environ``) supplies ``HADOOP_SASL_MECHANISM``,
        which wins over the configuration as in Java.
        """
        env = os.environ if env is None else env
        authentication = (_get(conf, AUTHENTICATION_KEY) or "simple").lower()
        if authentication not in ("simple", "kerberos"):
            raise ValueError(f"{AUTHENTICATION_KEY}: expected simple or kerberos, got {authentication!r}")
        protection = _get(conf, PROTECTION_KEY) or "authentication"
        qops = tuple(Qop.from_protection(p) for p in protection.split(",") if p.strip())
        rpc_timeout_ms = _int(conf, RPC_TIMEOUT_KEY, 120000)
        return cls(
            connect_timeout=_int(conf, CONNECT_TIMEOUT_KEY, 20000) / 1000.0,
            rpc_timeout=rpc_timeout_ms / 1000.0 if rpc_timeout_ms > 0 else None,
            ping_interval=_int(conf, PING_INTERVAL_KEY, 60000) / 1000.0,
            ping=_bool(conf, PING_KEY, True),
            max_idle_time=_int(conf, MAX_IDLE_KEY, 10000) / 1000.0,
            tcp_nodelay=_bool(conf, TCP_NODELAY_KEY, True),
            max_response_length=_int(conf, MAX_RESPONSE_LENGTH_KEY, DEFAULT_MAX_DATA_LENGTH),
            max_data_length=_int(conf, MAX_DATA_LENGTH_KEY, DEFAULT_MAX_DATA_LENGTH),
            authentication=authentication,
            qops=qops or (Qop.AUTH,),
            sasl_mechanism=env.get(SASL_MECHANISM_ENV) or _get(conf, SASL_MECHANISM_KEY) or "DIGEST-MD5",
            fallback_to_simple_auth_allowed=_bool(conf, FALLBACK_TO_SIMPLE_KEY, False),
            principals=tuple((k, v) for k in conf if k.endswith((".principal", ".principal.pattern"))
                             for v in (_get(conf, k),) if v is not None),
        )
