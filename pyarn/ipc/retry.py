"""Retries and HA failover over a list of server addresses.

:class:`FailoverProxy` calls one protocol across ``addresses`` (the HA
servers of a service, or a single server). Like Java it retries on two levels.
Within one attempt on one address, a connection that could not be made is
tried again after each pause of :attr:`RetryPolicy.connect_pauses` (Java's
``ipc.Client`` connection retry policy), and a connect that timed out up to
:attr:`RetryPolicy.connect_timeout_retries` more times. When the attempt still
fails:

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
raises :class:`~pyarn.errors.FailoverExhaustedError` listing every attempt's
address and error (which says how many connections it tried, when more than one).

:meth:`RetryPolicy.from_conf` builds the policies Java builds: for one NameNode, for
an HA nameservice, and for YARN's ResourceManagers (HA or not).
"""
from __future__ import annotations

import enum
import logging
import random
import socket
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import attrs
from google.protobuf.message import Message

from hadoop_protos.protocol import RpcMethod, RpcProtocol

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
from .settings import conf_bool, conf_error, conf_int, conf_str

log = logging.getLogger(__name__)

# -- configuration keys ----------------------------------------------------------------------

_CONNECT_RETRIES_KEY = "ipc.client.connect.max.retries"
_CONNECT_INTERVAL_KEY = "ipc.client.connect.retry.interval"
_CONNECT_TIMEOUT_RETRIES_KEY = "ipc.client.connect.max.retries.on.timeouts"
_DFS_FAILOVER_KEYS = ("dfs.client.failover.max.attempts", "dfs.client.failover.sleep.base.millis",
                      "dfs.client.failover.sleep.max.millis")
_DFS_FAILOVER_TIMEOUT_RETRIES_KEY = "dfs.client.failover.connection.retries.on.timeouts"
_DFS_RETRY_POLICY_KEY = "dfs.client.retry.policy.enabled"
_DFS_RETRY_SPEC_KEY = "dfs.client.retry.policy.spec"
_YARN_FAILOVER_KEYS = ("yarn.client.failover-max-attempts", "yarn.client.failover-sleep-base-ms",
                       "yarn.client.failover-sleep-max-ms")
_YARN_FAILOVER_RETRIES_KEY = "yarn.client.failover-retries"
_YARN_FAILOVER_TIMEOUT_RETRIES_KEY = "yarn.client.failover-retries-on-socket-timeouts"
_RM_HA_KEY = "yarn.resourcemanager.ha.enabled"
#: Java's RMProxy derives the YARN failover defaults from these two keys.
_RM_RETRY_INTERVAL_KEY = "yarn.resourcemanager.connect.retry-interval.ms"
_RM_MAX_WAIT_KEY = "yarn.resourcemanager.connect.max-wait.ms"
#: Their Hadoop defaults, for a plain mapping that lacks them (a Configuration holds them).
RM_CONNECT_DEFAULTS_MS = {_RM_RETRY_INTERVAL_KEY: 30000, _RM_MAX_WAIT_KEY: 900000}
#: Hadoop's defaults of the other keys :meth:`RetryPolicy.from_conf` reads, for a plain mapping
#: (``core-default.xml``, ``hdfs-default.xml``, ``yarn-default.xml``; a test holds them to
#: :mod:`pyarn.conf.defaults`).
RETRY_DEFAULTS: Dict[str, str] = {
    _CONNECT_RETRIES_KEY: "10",
    _CONNECT_INTERVAL_KEY: "1000",
    _CONNECT_TIMEOUT_RETRIES_KEY: "45",
    _DFS_FAILOVER_KEYS[0]: "15",
    _DFS_FAILOVER_KEYS[1]: "500",
    _DFS_FAILOVER_KEYS[2]: "15000",
    _DFS_FAILOVER_TIMEOUT_RETRIES_KEY: "0",
    _DFS_RETRY_POLICY_KEY: "false",
    _DFS_RETRY_SPEC_KEY: "10000,6,60000,10",
    _YARN_FAILOVER_RETRIES_KEY: "0",
    _YARN_FAILOVER_TIMEOUT_RETRIES_KEY: "0",
    _RM_HA_KEY: "false",
}
#: ``yarn.resourcemanager.connect.max-wait.ms = -1``: Java then allows Integer.MAX_VALUE failovers.
_FOREVER = 2 ** 31 - 1


def _pauses(value) -> Tuple[float, ...]:
    return tuple(float(v) for v in value)


def _non_negative(instance, attribute, value) -> None:
    if any(v < 0 for v in value):
        raise ValueError(f"RetryPolicy.{attribute.name} must not hold negative pauses, got {value!r}")


@attrs.frozen
class RetryPolicy:
    """How often and how patiently to retry, on the two levels Java has.

    Attempts (``max_attempts``, the first included) each call one address; between
    them, the n-th pause (n = 0, 1, ...) is ``min(sleep_base * 2**n, sleep_max)``
    times a random factor in ``[1 - jitter, 1 + jitter]``, as Hadoop's
    ``RetryPolicies.calculateExponentialTime``; the first failover is immediate,
    as in Hadoop.

    Within an attempt, a connection that could not be made (refused, reset, ...) is
    made again after each of ``connect_pauses`` (seconds, each times a random factor
    in ``[1 - connect_jitter, 1 + connect_jitter]``), and a connect that timed out is
    made again up to ``connect_timeout_retries`` times, at once: Java's ``ipc.Client``
    connection retry policy and ``ipc.client.connect.max.retries.on.timeouts``. The
    defaults make one connection per attempt.
    """

    #: Attempts in all, the first one included.
    max_attempts: int = attrs.field(default=15, validator=attrs.validators.ge(1))
    sleep_base: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    sleep_max: float = attrs.field(default=15.0, validator=attrs.validators.ge(0))
    jitter: float = attrs.field(default=0.5, validator=[attrs.validators.ge(0), attrs.validators.le(1)])
    #: Seconds to wait before each further connection to the same address after one that failed.
    connect_pauses: Tuple[float, ...] = attrs.field(default=(), converter=_pauses, validator=_non_negative)
    connect_jitter: float = attrs.field(default=0.0,
                                        validator=[attrs.validators.ge(0), attrs.validators.le(1)])
    #: Further connections to the same address after a connect that timed out.
    connect_timeout_retries: int = attrs.field(default=0, validator=attrs.validators.ge(0))

    def pause(self, n: int, rng: Optional[random.Random] = None) -> float:
        """Seconds to sleep before the retry that follows ``n`` earlier ones."""
        base = min(self.sleep_base * (2 ** min(n, 62)), self.sleep_max)
        factor = 1.0 + self.jitter * (2.0 * (rng or random).random() - 1.0)
        return base * factor

    def failover_pause(self, failovers: int, rng: Optional[random.Random] = None) -> float:
        """Seconds to sleep before failover number ``failovers`` (1-based); the first is immediate."""
        return 0.0 if failovers <= 1 else self.pause(failovers - 1, rng)

    def connect_pause(self, n: int, rng: Optional[random.Random] = None) -> Optional[float]:
        """Seconds to sleep before connecting again after ``n + 1`` failed connections to one
        address; None when the policy allows no more."""
        if n >= len(self.connect_pauses):
            return None
        factor = 1.0 + self.connect_jitter * (2.0 * (rng or random).random() - 1.0)
        return self.connect_pauses[n] * factor

    @classmethod
    def from_conf(cls, conf: Mapping[str, str], service: str = "hdfs", *,
                  ha: Optional[bool] = None) -> RetryPolicy:
        """The policy Java's client builds for ``service``: ``hdfs`` or ``yarn``.

        ``conf`` is a :class:`pyarn.conf.Configuration` or any mapping, read as
        :meth:`IpcSettings.from_conf <pyarn.ipc.settings.IpcSettings.from_conf>` reads it;
        a bad value raises an error naming its key. ``ha`` says whether the servers are an
        HA group: for ``hdfs`` whether the file system is a nameservice (default True), for
        ``yarn`` default ``yarn.resourcemanager.ha.enabled``.

        HDFS (``NameNodeProxiesClient``). One NameNode: a single attempt
        (``RetryUtils.getDefaultRetryPolicy``: try once), whose connection is made once when
        refused and up to ``ipc.client.connect.max.retries.on.timeouts`` more times when it
        times out. A nameservice: ``dfs.client.failover.max.attempts`` failovers (so one
        attempt more) with pauses from ``dfs.client.failover.sleep.{base,max}.millis``, one
        connection per attempt (``dfs.client.failover.connection.retries.on.timeouts`` more
        on timeouts). With ``dfs.client.retry.policy.enabled`` the connections follow
        ``dfs.client.retry.policy.spec`` (pairs of pause in ms and count, each pause times 0.5
        to 1.5; Java also repeats the whole call per that spec, pyarn does not).

        YARN (``RMProxy.createRetryPolicy``, as in Hadoop 3.3.6, whose RM client fails over
        even without HA): ``yarn.client.failover-max-attempts`` failovers, by default
        ``yarn.resourcemanager.connect.max-wait.ms / retry-interval.ms`` (none when the wait
        is shorter than the interval; -1 waits forever), with pauses of
        ``yarn.client.failover-sleep-{base,max}-ms``, by default the interval. Each attempt's
        connection is retried like any Hadoop IPC client's: ``ipc.client.connect.max.retries``
        times, ``ipc.client.connect.retry.interval`` apart (``ipc.client.connect.max.retries
        .on.timeouts`` on timeouts); with HA ``yarn.client.failover-retries`` and
        ``yarn.client.failover-retries-on-socket-timeouts`` replace those counts.
        """
        if service == "hdfs":
            return _hdfs_policy(conf, True if ha is None else ha)
        if service == "yarn":
            return _yarn_policy(conf, _bool(conf, _RM_HA_KEY) if ha is None else ha)
        raise ValueError(f"RetryPolicy.from_conf: service must be 'hdfs' or 'yarn', not {service!r}")


# -- the policies Java builds ----------------------------------------------------------------


def _int(conf: Mapping[str, str], key: str) -> int:
    value = conf_int(conf, key)
    if value is None:
        fallback = RETRY_DEFAULTS.get(key)
        return int(fallback) if fallback is not None else RM_CONNECT_DEFAULTS_MS[key]
    return value


def _bool(conf: Mapping[str, str], key: str) -> bool:
    value = conf_bool(conf, key)
    return RETRY_DEFAULTS[key] == "true" if value is None else value


def _count(conf: Mapping[str, str], key: str) -> int:
    value = _int(conf, key)
    if value < 0:
        raise conf_error(conf, key, f"must not be negative, got {value}")
    return value


def _millis(conf: Mapping[str, str], key: str, default: Optional[int] = None) -> int:
    """A non-negative duration in ms: ``key``'s value, else ``default``, else Hadoop's default."""
    value = conf_int(conf, key)
    if value is None:
        value = _int(conf, key) if default is None else default
    if value < 0:
        raise conf_error(conf, key, f"must not be negative, got {value}")
    return value


def _hdfs_policy(conf: Mapping[str, str], ha: bool) -> RetryPolicy:
    pauses: Tuple[float, ...] = ()
    jitter = 0.0
    if _bool(conf, _DFS_RETRY_POLICY_KEY):  # RetryUtils.getMultipleLinearRandomRetry
        pauses, jitter = _linear_random_pauses(conf, _DFS_RETRY_SPEC_KEY), 0.5
    if not ha:
        return RetryPolicy(max_attempts=1, connect_pauses=pauses, connect_jitter=jitter,
                           connect_timeout_retries=max(0, _int(conf, _CONNECT_TIMEOUT_RETRIES_KEY)))
    attempts_key, base_key, max_key = _DFS_FAILOVER_KEYS
    return RetryPolicy(max_attempts=max(0, _int(conf, attempts_key)) + 1,
                       sleep_base=_millis(conf, base_key) / 1000.0, sleep_max=_millis(conf, max_key) / 1000.0,
                       connect_pauses=pauses, connect_jitter=jitter,
                       connect_timeout_retries=max(0, _int(conf, _DFS_FAILOVER_TIMEOUT_RETRIES_KEY)))


def _linear_random_pauses(conf: Mapping[str, str], key: str) -> Tuple[float, ...]:
    """The pauses of Java's ``MultipleLinearRandomRetry`` for the spec ``t1,n1,t2,n2,...`` (ms, count).

    Java's ``searchPair`` compares with ``>``, so the first pair allows one retry more than
    its count; that is kept.
    """
    spec = conf_str(conf, key) or RETRY_DEFAULTS[key]
    try:
        numbers = [int(part) for part in spec.split(",")]
    except ValueError:
        numbers = []
    if not numbers or len(numbers) % 2 or any(n <= 0 for n in numbers):
        raise conf_error(conf, key, f"expected pairs of positive integers 'millis,count,...', got {spec!r}")
    pauses: List[float] = []
    for index in range(0, len(numbers), 2):
        millis, count = numbers[index], numbers[index + 1]
        pauses.extend([millis / 1000.0] * (count + 1 if index == 0 else count))
    return tuple(pauses)


def _yarn_policy(conf: Mapping[str, str], ha: bool) -> RetryPolicy:
    max_wait, interval = _int(conf, _RM_MAX_WAIT_KEY), _int(conf, _RM_RETRY_INTERVAL_KEY)
    forever = max_wait == -1
    if max_wait < -1:
        raise conf_error(conf, _RM_MAX_WAIT_KEY, f"can be -1 (wait forever) but no other negative "
                                                 f"number, got {max_wait}")
    if interval < 0:
        raise conf_error(conf, _RM_RETRY_INTERVAL_KEY, f"must not be negative, got {interval}")
    if not forever and max_wait < interval:
        max_wait = 0  # Java: "Only try connect once."
    attempts_key, base_key, max_key = _YARN_FAILOVER_KEYS
    base, maximum = _millis(conf, base_key, interval), _millis(conf, max_key, interval)
    failovers = conf_int(conf, attempts_key)
    if failovers is None or failovers == -1:
        if forever:
            failovers = _FOREVER
        elif base == 0:
            raise conf_error(conf, base_key, f"must be positive to divide {_RM_MAX_WAIT_KEY} into attempts")
        else:
            failovers = max_wait // base
    retries_key, timeouts_key = ((_YARN_FAILOVER_RETRIES_KEY, _YARN_FAILOVER_TIMEOUT_RETRIES_KEY) if ha
                                 else (_CONNECT_RETRIES_KEY, _CONNECT_TIMEOUT_RETRIES_KEY))
    interval_s = _millis(conf, _CONNECT_INTERVAL_KEY) / 1000.0
    return RetryPolicy(max_attempts=max(0, failovers) + 1, sleep_base=base / 1000.0,
                       sleep_max=maximum / 1000.0, connect_pauses=(interval_s,) * _count(conf, retries_key),
                       connect_timeout_retries=max(0, _int(conf, timeouts_key)))


def _retry_connection(error: ConnectFailedError) -> Optional[str]:
    """``"timeout"`` when ``error`` is a connect that timed out, ``"failure"`` when the
    connection could not be made otherwise, None when connecting again cannot help (the
    name does not resolve: Java fails such an address before connecting)."""
    if isinstance(error.__cause__, socket.gaierror):
        return None
    return "timeout" if isinstance(error, TimeoutError) else "failure"


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
                response = self._attempt(address, method, request, call_id, attempt, timeout)
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

    def _attempt(self, address: Tuple[str, int], method: RpcMethod, request: Message, call_id: int,
                 retry_count: int, timeout: Optional[float]) -> Message:
        """One attempt on ``address``, making the connection again as the policy allows.

        The error of the attempt says how many connections it tried, when more than one.
        """
        failures = timeouts = 0
        while True:
            try:
                return self.client.invoke(address, self.protocol, method, request, user=self.user,
                                          token=self.token, call_id=call_id, retry_count=retry_count,
                                          timeout=timeout)
            except ConnectFailedError as exc:
                kind = _retry_connection(exc)
                pause: Optional[float] = None
                if kind == "timeout" and timeouts < self.policy.connect_timeout_retries:
                    timeouts, pause = timeouts + 1, 0.0  # Java reconnects at once after a timeout
                elif kind == "failure":
                    pause = self.policy.connect_pause(failures, self._rng)
                    failures += pause is not None
                if pause is None:
                    tries = failures + timeouts + 1
                    if tries == 1:
                        raise
                    raise type(exc)(f"{exc} ({tries} connection attempts)") from exc
                log.info("connecting to %s failed (%s); connection attempt %d in %.2f s",
                         format_address(address), exc, failures + timeouts + 1, pause)
                if pause > 0:
                    self._sleep(pause)
