"""Retries and HA failover over a list of server addresses.

:class:`FailoverProxy` calls one protocol across ``addresses`` (the HA
servers of a service, or a single server). What it does on a failure:

* :class:`~pyarn.errors.StandbyError`, or a connection that could not be
  made (:class:`~pyarn.errors.ConnectFailedError`, the call never left): fail
  over to the next address;
* :class:`~pyarn.errors.RetriableError`: try the same address again after a pause;
* the connection broke or the call timed out after the request was sent
  (:class:`~pyarn.errors.ConnectionClosedError`,
  :class:`~pyarn.errors.RpcTimeoutError`): fail over only when the method is
  idempotent or at-most-once; otherwise the error is raised as is, because
  the server may have run the call;
* any other error is the answer and is raised at once.

Re-sends reuse the call id and client id with the retry count raised, so a
server's retry cache can spot duplicates. After ``max_attempts`` the proxy
raises :class:`~pyarn.errors.FailoverExhaustedError` listing every attempt.
"""
from __future__ import annotations

import enum
import logging
import random
import time
from typing import Callable, List, Mapping, Optional, Sequence, Tuple

import attrs
from google.protobuf.message import Message

from hadoop_protos.protocol import RpcProtocol

from ..errors import (
    ConnectFailedError,
    ConnectionClosedError,
    FailoverExhaustedError,
    LocalProtocolError,
    RetriableError,
    RpcTimeoutError,
    StandbyError,
)
from ..security.tokens import Token
from ..security.user import User
from .client import (
    DEFAULT_TIMEOUT,
    AddressLike,
    RpcClient,
    check_request,
    format_address,
    next_call_id,
    parse_address,
)
from .settings import conf_int

log = logging.getLogger(__name__)

#: Configuration keys: max attempts, sleep base (ms), sleep max (ms), per service.
_CONF_KEYS = {
    "hdfs": ("dfs.client.failover.max.attempts", "dfs.client.failover.sleep.base.millis",
             "dfs.client.failover.sleep.max.millis"),
    "yarn": ("yarn.client.failover-max-attempts", "yarn.client.failover-sleep-base-ms",
             "yarn.client.failover-sleep-max-ms"),
}


#: Java's RMProxy derives the YARN failover defaults from these two keys.
_RM_RETRY_INTERVAL_KEY = "yarn.resourcemanager.connect.retry-interval.ms"
_RM_MAX_WAIT_KEY = "yarn.resourcemanager.connect.max-wait.ms"
#: Their Hadoop defaults, for a plain mapping that lacks them (a Configuration holds them).
RM_CONNECT_DEFAULTS_MS = {_RM_RETRY_INTERVAL_KEY: 30000, _RM_MAX_WAIT_KEY: 900000}


@attrs.frozen
class RetryPolicy:
    """How often and how patiently to retry: capped exponential backoff with jitter.

    The n-th pause (n = 0, 1, ...) is ``min(sleep_base * 2**n, sleep_max)``
    times a random factor in ``[1 - jitter, 1 + jitter]``, as Hadoop's
    ``RetryPolicies.calculateExponentialTime``. The first failover is
    immediate, as in Hadoop.
    """

    #: Attempts in all, the first one included.
    max_attempts: int = attrs.field(default=15, validator=attrs.validators.ge(1))
    sleep_base: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    sleep_max: float = attrs.field(default=15.0, validator=attrs.validators.ge(0))
    jitter: float = attrs.field(default=0.5, validator=[attrs.validators.ge(0), attrs.validators.le(1)])

    def pause(self, n: int, rng: Optional[random.Random] = None) -> float:
        """Seconds to sleep before the retry that follows ``n`` earlier ones."""
        base = min(self.sleep_base * (2 ** min(n, 62)), self.sleep_max)
        factor = 1.0 + self.jitter * (2.0 * (rng or random).random() - 1.0)
        return base * factor

    def failover_pause(self, failovers: int, rng: Optional[random.Random] = None) -> float:
        """Seconds to sleep before failover number ``failovers`` (1-based); the first is immediate."""
        return 0.0 if failovers <= 1 else self.pause(failovers - 1, rng)

    @classmethod
    def from_conf(cls, conf: Mapping[str, str], service: str = "hdfs") -> RetryPolicy:
        """The failover policy Hadoop configures for ``service`` (``hdfs`` or ``yarn``).

        ``conf`` is a :class:`pyarn.conf.Configuration` or any mapping, read as
        :meth:`IpcSettings.from_conf <pyarn.ipc.settings.IpcSettings.from_conf>` reads it.

        HDFS: ``dfs.client.failover.{max.attempts,sleep.base.millis,sleep.max.millis}``.
        YARN: ``yarn.client.failover-{max-attempts,sleep-base-ms,sleep-max-ms}``,
        defaulting like Java's RMProxy to ``yarn.resourcemanager.connect.retry-interval.ms``
        and ``max-wait.ms / retry-interval.ms``.
        """
        if service not in _CONF_KEYS:
            raise ValueError(
                f"RetryPolicy.from_conf: service must be one of {sorted(_CONF_KEYS)}, not {service!r}")
        attempts_key, base_key, max_key = _CONF_KEYS[service]
        if service == "yarn":
            interval, max_wait = (_or(conf_int(conf, key), RM_CONNECT_DEFAULTS_MS[key])
                                  for key in (_RM_RETRY_INTERVAL_KEY, _RM_MAX_WAIT_KEY))
            fallback = cls(max_attempts=max(1, max_wait // max(interval, 1)), sleep_base=interval / 1000.0,
                           sleep_max=interval / 1000.0)
        else:
            fallback = cls()  # Hadoop's dfs.client.failover.* defaults
        attempts, base, maximum = (conf_int(conf, key) for key in (attempts_key, base_key, max_key))
        return cls(max_attempts=fallback.max_attempts if attempts is None else max(1, attempts),
                   sleep_base=fallback.sleep_base if base is None else base / 1000.0,
                   sleep_max=fallback.sleep_max if maximum is None else maximum / 1000.0)


def _or(value: Optional[int], default: int) -> int:
    return default if value is None else value


class _Action(enum.Enum):
    FAILOVER = "failover"
    RETRY = "retry"


class FailoverProxy:
    """Calls ``protocol`` on whichever of ``addresses`` answers, per ``policy``.

    The proxy remembers the address that last answered and starts there.
    ``user`` defaults to the login user (:meth:`User.login <pyarn.security.user.User.login>`);
    ``token``, when given, is presented to every address (an HA delegation token), else each
    address gets the user's token for it. ``sleep`` and ``rng`` are there for tests.
    """

    def __init__(self, client: RpcClient, addresses: Sequence[AddressLike], protocol: RpcProtocol,
                 user: Optional[User] = None, *, policy: Optional[RetryPolicy] = None,
                 token: Optional[Token] = None, sleep: Callable[[float], None] = time.sleep,
                 rng: Optional[random.Random] = None) -> None:
        if not addresses:
            raise ValueError("FailoverProxy needs at least one address")
        self.client = client
        self.addresses: Tuple[Tuple[str, int], ...] = tuple(parse_address(a) for a in addresses)
        self.protocol = protocol
        self.user = user if user is not None else User.login()
        self.policy = policy or RetryPolicy()
        self.token = token
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._current = 0

    def __repr__(self) -> str:
        return f"FailoverProxy({[format_address(a) for a in self.addresses]}, {self.protocol.name})"

    @property
    def current_address(self) -> Tuple[str, int]:
        """The address the next call goes to first."""
        return self.addresses[self._current]

    def call(self, method_name: str, request: Message, *,
             timeout: Optional[float] = DEFAULT_TIMEOUT) -> Message:
        """Call ``method_name`` with ``request``, failing over and retrying per the policy."""
        method = self.protocol.method(method_name)
        if method is None:
            raise LocalProtocolError(f"{self.protocol.name} has no method {method_name!r}")
        check_request(method, request)
        call_id = next_call_id()
        attempts: List[Tuple[str, BaseException]] = []
        error: BaseException
        failovers = retries = 0
        index = self._current
        for attempt in range(self.policy.max_attempts):
            address = self.addresses[index]
            try:
                response = self.client.invoke(address, self.protocol, method, request, user=self.user,
                                              token=self.token, call_id=call_id, retry_count=attempt,
                                              timeout=timeout)
            except (StandbyError, ConnectFailedError) as exc:
                action, error = _Action.FAILOVER, exc
            except (ConnectionClosedError, RpcTimeoutError) as exc:
                if not method.retry_safety.retriable:
                    raise
                action, error = _Action.FAILOVER, exc
            except RetriableError as exc:
                action, error = _Action.RETRY, exc
            else:
                self._current = index
                return response
            attempts.append((format_address(address), error))
            if attempt + 1 >= self.policy.max_attempts:
                break
            if action is _Action.FAILOVER:
                failovers += 1
                index = (index + 1) % len(self.addresses)
                pause = self.policy.failover_pause(failovers, self._rng)
            else:
                pause = self.policy.pause(retries, self._rng)
                retries += 1
            log.info("%s on %s failed (%s: %s); %s to %s in %.2f s", method.name, format_address(address),
                     type(error).__name__, error, action.value, format_address(self.addresses[index]), pause)
            if pause > 0:
                self._sleep(pause)
        raise FailoverExhaustedError(method.name, attempts)
