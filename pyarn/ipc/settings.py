"""IPC client and server settings, read from Hadoop configuration keys.

Key names and defaults are those of Hadoop's ``core-default.xml``
(PROTOCOL-FACTS §7). Times are stored in seconds; ``None`` means "no limit".

The IPC layer sits below :mod:`pyarn.conf`, so it reads keys from any mapping with
:func:`conf_int`, :func:`conf_bool` and :func:`conf_str`: a :class:`pyarn.conf.Configuration`
is parsed by its own typed getters (one parser; errors name the file and line), and a key
that is not set keeps the default of the field it feeds. Those field defaults are Hadoop's,
as :mod:`pyarn.conf.defaults` has them (a test holds the two together).
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


# -- reading keys: a pyarn Configuration's typed getters, or a plain mapping -----------------


def conf_str(conf: Mapping[str, str], key: str) -> Optional[str]:
    """The trimmed value of ``key``; None when unset or empty."""
    value = conf.get(key)
    if value is None:
        return None
    return str(value).strip() or None


def conf_int(conf: Mapping[str, str], key: str) -> Optional[int]:
    """The integer value of ``key``; None when unset or empty.

    A :class:`pyarn.conf.Configuration` parses it with its own getter, so an error names the
    key, the file and the line; any other mapping must hold a decimal integer (a ValueError
    names the key).
    """
    if conf_str(conf, key) is None:
        return None
    typed = getattr(conf, "get_int", None)
    if typed is not None:
        return typed(key)
    text = conf_str(conf, key)
    try:
        return int(text)  # type: ignore[arg-type]
    except ValueError:
        raise ValueError(f"{key}: expected an integer, got {text!r}") from None


def conf_bool(conf: Mapping[str, str], key: str) -> Optional[bool]:
    """``true`` / ``false`` (any case) of ``key``; None when unset or empty. Errors as :func:`conf_int`."""
    text = conf_str(conf, key)
    if text is None:
        return None
    typed = getattr(conf, "get_bool", None)
    if typed is not None:
        return typed(key)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise ValueError(f"{key}: expected true or false, got {text!r}")


def conf_error(conf: Mapping[str, str], key: str, message: str) -> Exception:
    """The error for a bad value of ``key``: a Configuration's (naming its file and line), else a
    ValueError naming the key."""
    make = getattr(conf, "error", None)
    if make is not None:
        return make(key, message)
    return ValueError(f"{key}: {message}")


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
        """Settings from Hadoop configuration keys.

        ``conf`` is a :class:`pyarn.conf.Configuration` (which holds Hadoop's defaults, and
        whose errors name the file and line of a bad value) or any mapping of keys to values
        (a key it lacks keeps this class's default, which is Hadoop's). ``env`` (default
        ``os.environ``) supplies ``HADOOP_SASL_MECHANISM``, which wins over the configuration
        as in Java.
        """
        env = os.environ if env is None else env
        values: Dict[str, object] = {}
        for name, key in (("connect_timeout", CONNECT_TIMEOUT_KEY), ("ping_interval", PING_INTERVAL_KEY),
                          ("max_idle_time", MAX_IDLE_KEY)):
            millis = conf_int(conf, key)
            if millis is not None:
                values[name] = millis / 1000.0
        rpc_timeout = conf_int(conf, RPC_TIMEOUT_KEY)
        if rpc_timeout is not None:
            values["rpc_timeout"] = rpc_timeout / 1000.0 if rpc_timeout > 0 else None  # 0: none
        for name, key in (("max_response_length", MAX_RESPONSE_LENGTH_KEY),
                          ("max_data_length", MAX_DATA_LENGTH_KEY)):
            length = conf_int(conf, key)
            if length is not None:
                values[name] = length
        for name, key in (("ping", PING_KEY), ("tcp_nodelay", TCP_NODELAY_KEY),
                          ("fallback_to_simple_auth_allowed", FALLBACK_TO_SIMPLE_KEY)):
            flag = conf_bool(conf, key)
            if flag is not None:
                values[name] = flag
        authentication = conf_str(conf, AUTHENTICATION_KEY)
        if authentication is not None:
            if authentication.lower() not in ("simple", "kerberos"):
                raise conf_error(conf, AUTHENTICATION_KEY,
                                 f"expected simple or kerberos, got {authentication!r}")
            values["authentication"] = authentication.lower()
        protection = conf_str(conf, PROTECTION_KEY)
        if protection is not None:
            try:
                qops = tuple(Qop.from_protection(p) for p in protection.split(",") if p.strip())
            except ValueError:
                raise conf_error(conf, PROTECTION_KEY, f"expected a list of authentication, integrity, "
                                                       f"privacy, got {protection!r}") from None
            if qops:
                values["qops"] = qops
        mechanism = env.get(SASL_MECHANISM_ENV) or conf_str(conf, SASL_MECHANISM_KEY)
        if mechanism:
            values["sasl_mechanism"] = mechanism
        values["principals"] = tuple((k, v) for k in conf if k.endswith((".principal", ".principal.pattern"))
                                     for v in (conf_str(conf, k),) if v is not None)
        return cls(**values)  # type: ignore[arg-type]
