"""The skeleton of a typed client of one Hadoop protocol over a :class:`~.retry.FailoverProxy`."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, TypeVar

from hadoop_protos.protocol import RpcProtocol

from ..net import AddressLike, format_address
from ..security.tokens import Token
from ..security.user import User
from .client import RpcClient
from .retry import FailoverProxy, RetryPolicy
from .settings import IpcSettings

_Self = TypeVar("_Self", bound="ProtocolClient")


class ProtocolClient:
    """Calls ``protocol`` on whichever of ``addresses`` answers, per ``policy``.

    ``rpc`` carries the connections; when it is not given the client makes
    (and closes) its own with ``settings``. Subclasses add the typed calls on
    top of :meth:`_call`.
    """

    def __init__(self, addresses: Sequence[AddressLike], protocol: RpcProtocol, *,
                 rpc: Optional[RpcClient] = None, settings: Optional[IpcSettings] = None,
                 user: Optional[User] = None, policy: Optional[RetryPolicy] = None,
                 token: Optional[Token] = None) -> None:
        self._owns_rpc = rpc is None
        self.rpc = rpc if rpc is not None else RpcClient(settings)
        self.proxy = FailoverProxy(self.rpc, addresses, protocol, user, policy=policy, token=token)

    @property
    def addresses(self) -> Tuple[str, ...]:
        """The servers' addresses, ``host:port``, in failover order."""
        return tuple(format_address(a) for a in self.proxy.addresses)

    @property
    def user(self) -> User:
        return self.proxy.user

    def close(self) -> None:
        """Close the connections, unless the RpcClient was given by the caller."""
        if self._owns_rpc:
            self.rpc.close()

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _call(self, method: str, request):
        return self.proxy.call(method, request)
