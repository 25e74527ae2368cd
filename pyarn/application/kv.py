"""The application's key-value store, as clients use it (Skein's ``skein.kv`` API).

``app.kv`` (see :class:`pyarn.app_client.ApplicationClient`) is a
:class:`KeyValueStore`: a mutable mapping of ``str`` keys to ``bytes``
values held by the ApplicationMaster, plus::

    app.kv.wait("ready", timeout=60)             # block until a key exists
    app.kv.put("addr", b"host:1234", owner=app.container_id)   # deleted when the container ends
    app.kv.get_prefix("workers/")                # ordered {key: value}
    for event in app.kv.events(prefix="jobs/"):  # PUT and DELETE events, as they happen
        ...
    app.kv.transaction(conditions=[kv.value("lock") == b"free"],   # compare-and-swap
                       on_success=[kv.put("lock", b"mine")])

The operation classes (:class:`get`, :class:`put`, :class:`discard_prefix`,
...) are both the methods of the store and the building blocks of
transactions; the conditions compare a key's ``value``, ``owner``,
``version``, ``create_revision`` or ``mod_revision``, or test :class:`exists`
/ :class:`missing`.
"""
from __future__ import annotations

import time
from typing import Any, Dict, Iterator, List, MutableMapping, Optional, Sequence, Union

from google.protobuf.message import Message

from hadoop_protos import pyarn_pb2 as pb

from ..errors import PyarnError
from .kvevents import POLL_SECONDS, Backoff, Call, Event, EventFilter, EventQueue, EventsLostError, EventType
from .kvops import (
    NO_CHANGE,
    Condition,
    Operation,
    TransactionResult,
    ValueOwnerPair,
    _check_str,
    _pair,
    comparison,
    count,
    create_revision,
    discard,
    discard_prefix,
    discard_range,
    exists,
    get,
    get_prefix,
    get_range,
    list_keys,
    missing,
    mod_revision,
    owner,
    pop,
    pop_prefix,
    pop_range,
    put,
    swap,
    value,
    version,
)

__all__ = [
    "KeyValueStore", "ValueOwnerPair", "TransactionResult", "EventType", "EventFilter", "Event", "EventQueue",
    "KvTimeoutError", "EventsLostError", "NO_CHANGE", "Operation", "Condition",
    "get", "get_prefix", "get_range", "pop", "pop_prefix", "pop_range", "discard", "discard_prefix",
    "discard_range", "exists", "missing", "count", "list_keys", "put", "swap",
    "comparison", "value", "owner", "version", "create_revision", "mod_revision",
]


class KvTimeoutError(PyarnError, TimeoutError):
    """A key did not appear within the time given to :meth:`KeyValueStore.wait`."""


# ----------------------------------------------------------------------- store


class KeyValueStore(MutableMapping[str, bytes]):
    """The application's key-value store (see the module docstring)."""

    def __init__(self, call: Call) -> None:
        self._call_fn = call

    def _call(self, method: str, request: Message, timeout: Optional[float] = None) -> Any:
        return self._call_fn(method, request, timeout)

    def _apply(self, op: Operation) -> Any:
        return op._result(self._call(op._rpc, op._request()))

    # -- mapping

    def __getitem__(self, key: str) -> bytes:
        result = self.get(key)
        if result is None:
            raise KeyError(key)
        return result

    def __setitem__(self, key: str, value: bytes) -> None:
        self.put(key, value)

    def __delitem__(self, key: str) -> None:
        if not self.discard(key):
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.exists(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.list_keys())

    def __len__(self) -> int:
        return self.count()

    def __repr__(self) -> str:
        return "KeyValueStore<pyarn application>"

    # -- operations

    def get(self, key: str, default: Optional[bytes] = None, return_owner: bool = False) -> Any:  # type: ignore[override]
        """A key's value, or ``default``; with ``return_owner`` a :class:`ValueOwnerPair`."""
        return self._apply(get(key, default, return_owner))

    def get_prefix(self, prefix: str, return_owner: bool = False) -> Dict[str, Any]:
        return self._apply(get_prefix(prefix, return_owner))

    def get_range(self, start: Optional[str] = None, end: Optional[str] = None,
                  return_owner: bool = False) -> Dict[str, Any]:
        return self._apply(get_range(start, end, return_owner))

    def pop(self, key: str, default: Optional[bytes] = None, return_owner: bool = False) -> Any:  # type: ignore[override]
        """Delete a key and return its value, or ``default``."""
        return self._apply(pop(key, default, return_owner))

    def pop_prefix(self, prefix: str, return_owner: bool = False) -> Dict[str, Any]:
        return self._apply(pop_prefix(prefix, return_owner))

    def pop_range(self, start: Optional[str] = None, end: Optional[str] = None,
                  return_owner: bool = False) -> Dict[str, Any]:
        return self._apply(pop_range(start, end, return_owner))

    def discard(self, key: str) -> bool:
        return self._apply(discard(key))

    def discard_prefix(self, prefix: str, return_keys: bool = False) -> Union[int, List[str]]:
        return self._apply(discard_prefix(prefix, return_keys))

    def discard_range(self, start: Optional[str] = None, end: Optional[str] = None,
                      return_keys: bool = False) -> Union[int, List[str]]:
        return self._apply(discard_range(start, end, return_keys))

    def exists(self, key: str) -> bool:
        return self._apply(exists(key))

    def missing(self, key: str) -> bool:
        return self._apply(missing(key))

    def count(self, start: Optional[str] = None, end: Optional[str] = None,
              prefix: Optional[str] = None) -> int:
        return self._apply(count(start, end, prefix))

    def list_keys(self, start: Optional[str] = None, end: Optional[str] = None,
                  prefix: Optional[str] = None) -> List[str]:
        return self._apply(list_keys(start, end, prefix))

    def put(self, key: str, value: Any = NO_CHANGE, owner: Any = NO_CHANGE) -> None:
        """Set a key's value and/or owner; a key owned by a container is deleted when it ends."""
        self._apply(put(key, value, owner))

    def swap(self, key: str, value: Any = NO_CHANGE, owner: Any = NO_CHANGE,
             return_owner: bool = False) -> Any:
        return self._apply(swap(key, value, owner, return_owner))

    def clear(self) -> None:
        self.discard_range()

    def setdefault(self, key: str, default: bytes) -> bytes:  # type: ignore[override]
        """The key's value, setting it to ``default`` first if it is missing (atomically)."""
        result = self.transaction([exists(key)], [get(key)], [put(key, default)])
        return result.results[0] if result.succeeded else default

    def update(self, *args, **kwargs) -> None:  # type: ignore[override]
        """Set several keys at once (atomically)."""
        items = dict(*args, **kwargs)
        self.transaction(on_success=[put(k, v) for k, v in items.items()])

    def transaction(self, conditions: Sequence[Condition] = (), on_success: Sequence[Operation] = (),
                    on_failure: Sequence[Operation] = ()) -> TransactionResult:
        """If all ``conditions`` hold, run ``on_success``, else ``on_failure``, atomically."""
        conditions, on_success, on_failure = list(conditions), list(on_success), list(on_failure)
        if not all(isinstance(c, Condition) for c in conditions):
            raise TypeError("conditions must be Conditions (kv.value(key) == b'...', kv.exists(key), ...)")
        if not all(isinstance(o, Operation) for o in on_success + on_failure):
            raise TypeError("on_success and on_failure must be Operations (kv.put(...), kv.get(...), ...)")
        request = pb.TransactionRequestProto(
            conditions=[c._condition() for c in conditions], on_success=[o._op() for o in on_success],
            on_failure=[o._op() for o in on_failure])
        response = self._call("kvTransaction", request)
        ops = on_success if response.succeeded else on_failure
        results = [op._result(getattr(r, r.WhichOneof("response"))) for op, r in zip(ops, response.results)]
        return TransactionResult(response.succeeded, results)

    # -- waiting and events

    def wait(self, key: str, timeout: Optional[float] = None, return_owner: bool = False) -> Any:
        """The key's value once it exists; KvTimeoutError after ``timeout`` seconds (None: forever)."""
        _check_str("key", key)
        deadline = None if timeout is None else time.monotonic() + timeout
        backoff = Backoff()
        while True:
            remaining = POLL_SECONDS if deadline is None else min(POLL_SECONDS, deadline - time.monotonic())
            request = pb.WaitRequestProto(key=key, timeout_ms=max(int(remaining * 1000), 0))
            began = time.monotonic()
            response = self._call("kvWait", request, max(remaining, 0) + 30)
            if response.HasField("kv"):
                return _pair(response.kv) if return_owner else response.kv.value
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise KvTimeoutError(f"key {key!r} was not set within {timeout:g} s")
            pause = backoff.pause(remaining, now - began, False)  # the AM was too busy to hold it
            if pause:
                time.sleep(pause if deadline is None else min(pause, deadline - now))

    def events(self, event_filter: Optional[EventFilter] = None, key: Optional[str] = None,
               prefix: Optional[str] = None, start: Optional[str] = None, end: Optional[str] = None,
               event_type: Union[EventType, str, None] = None) -> EventQueue:
        """A new :class:`EventQueue` subscribed to one filter (all events by default)."""
        if event_filter is None:
            event_filter = EventFilter.of(key=key, prefix=prefix, start=start, end=end, event_type=event_type)
        elif any(x is not None for x in (key, prefix, start, end, event_type)):
            raise ValueError("give either event_filter or key/prefix/start/end/event_type, not both")
        event_queue = EventQueue(self._call)
        try:
            event_queue.subscribe(event_filter)
        except BaseException:
            event_queue.close()
            raise
        return event_queue
