"""Watching the key-value store: event filters and a queue fed by a long poll.

:class:`EventQueue` keeps one background thread that asks the AM
(``kvWatch``) for the events after its revision cursor that match any of
its filters; each filter only sees events after the moment it was
subscribed, and an event matching several filters is queued once per filter.
"""
from __future__ import annotations

import enum
import queue
import random
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Union

import attrs
from google.protobuf.message import Message

from hadoop_protos import pyarn_pb2 as pb

from ..errors import PyarnError
from .kvops import ValueOwnerPair, _check_str, _key_bounds, _pair, _prefix_bounds, _set_bounds

__all__ = ["EventType", "EventFilter", "Event", "EventQueue", "EventsLostError", "POLL_SECONDS", "Backoff"]

#: ``call(method, request, timeout)`` -> response: how a client reaches the AM.
Call = Callable[[str, Message, Optional[float]], Any]

#: Longest a single wait/watch call asks the AM to hold (the AM caps it at 30 s too).
POLL_SECONDS = 20.0
#: Pauses between polls the AM answered early with nothing (all its long-poll slots were taken):
#: the first one, and the longest as they double.
BUSY_PAUSE_FIRST = 0.05
BUSY_PAUSE_MAX = 1.0


class Backoff:
    """When to poll again after the AM answered a long poll early with nothing.

    The AM holds a bounded number of long polls at once and answers the others
    at once (:mod:`pyarn.am.service`); such an answer comes well before the time
    asked for. :meth:`pause` is then how long to wait before polling again:
    0 after a poll that was held (or answered something), else a jittered pause
    doubling from :data:`BUSY_PAUSE_FIRST` to :data:`BUSY_PAUSE_MAX`.
    """

    def __init__(self) -> None:
        self._next = BUSY_PAUSE_FIRST

    def pause(self, asked: float, took: float, answered: bool) -> float:
        """The pause after a poll that asked to be held ``asked`` s and took ``took`` s."""
        if answered or asked < 2 * BUSY_PAUSE_FIRST or took >= asked / 2:
            self._next = BUSY_PAUSE_FIRST
            return 0.0
        pause = self._next * random.uniform(0.5, 1.0)
        self._next = min(self._next * 2, BUSY_PAUSE_MAX)
        return pause


class EventsLostError(PyarnError):
    """The AM no longer holds events this queue had not yet received (it keeps the latest 10000)."""


class EventType(str, enum.Enum):  # noqa: UP042 (StrEnum is 3.11+)
    """Which events a filter selects."""

    ALL = "ALL"
    PUT = "PUT"
    DELETE = "DELETE"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object):
        return cls.__members__.get(value.upper()) if isinstance(value, str) else None


@attrs.frozen
class EventFilter:
    """Selects events on the keys in ``[start, end)`` (None: open) of ``event_type``.

    Build one with :meth:`of` from a ``key``, a ``prefix`` or ``start``/``end``.
    """

    start: Optional[str] = None
    end: Optional[str] = None
    event_type: EventType = attrs.field(default=EventType.ALL, converter=EventType)

    @classmethod
    def of(cls, key: Optional[str] = None, prefix: Optional[str] = None, start: Optional[str] = None,
           end: Optional[str] = None, event_type: Union[EventType, str, None] = None) -> EventFilter:
        if sum(x is not None for x in (key, prefix)) + (start is not None or end is not None) > 1:
            raise ValueError("give at most one of key, prefix and start/end")
        kind = EventType.ALL if event_type is None else EventType(event_type)
        if key is not None:
            _check_str("key", key)
            return cls(*_key_bounds(key), kind)
        if prefix is not None:
            _check_str("prefix", prefix)
            return cls(*_prefix_bounds(prefix), kind)
        _check_str("start", start, nullable=True)
        _check_str("end", end, nullable=True)
        return cls(start, end, kind)

    def _proto(self) -> pb.WatchFilterProto:
        kind: Any = pb.WatchFilterProto.EventType.Value(self.event_type.value)
        return _set_bounds(pb.WatchFilterProto(event_type=kind), self.start, self.end)


class Event(NamedTuple):
    """A change: ``result`` is the new (value, owner), None for a delete."""

    key: str
    result: Optional[ValueOwnerPair]
    event_type: EventType
    event_filter: EventFilter
    revision: int


class EventQueue:
    """A queue of the store's events matching its filters, filled by a background long poll.

    An event matching several filters is queued once per filter. Use it as
    an iterator or with :meth:`get`; close it (or use ``with``) to stop.
    An error (the AM went away, events were lost) is raised from :meth:`get`.
    """

    def __init__(self, call: Call) -> None:
        self._call = call
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Condition()
        self._since: Dict[EventFilter, int] = {}
        self._closed = False
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._poll, name="pyarn kv events", daemon=True)
        self._thread.start()

    @property
    def filters(self) -> List[EventFilter]:
        with self._lock:
            return list(self._since)

    def subscribe(self, event_filter: Optional[EventFilter] = None, **kwargs) -> EventFilter:
        """Add a filter (or build one from ``key``/``prefix``/``start``/``end``/``event_type``);
        events after this call that match it are queued."""
        event_filter = event_filter if event_filter is not None else EventFilter.of(**kwargs)
        response = self._call("kvWatch", pb.WatchRequestProto(), None)
        with self._lock:
            if event_filter not in self._since:
                self._since[event_filter] = response.revision
                self._lock.notify_all()
        return event_filter

    def unsubscribe(self, event_filter: Optional[EventFilter] = None, **kwargs) -> EventFilter:
        """Remove a filter; ValueError if it is not subscribed."""
        event_filter = event_filter if event_filter is not None else EventFilter.of(**kwargs)
        with self._lock:
            if self._since.pop(event_filter, None) is None:
                raise ValueError(f"not subscribed to {event_filter!r}")
        return event_filter

    def unsubscribe_all(self) -> None:
        with self._lock:
            self._since.clear()

    def close(self) -> None:
        """Stop listening (the poll in flight ends within its timeout)."""
        with self._lock:
            self._closed = True
            self._since.clear()
            self._lock.notify_all()

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Event:
        """The next event; ``queue.Empty`` when none came in time."""
        if self._error is not None:
            raise self._error
        item = self._queue.get(block=block, timeout=timeout)
        if isinstance(item, BaseException):
            self._error = item
            raise item
        return item

    def __iter__(self) -> Iterator[Event]:
        while True:
            yield self.get()

    def __enter__(self) -> EventQueue:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventQueue<{len(self.filters)} filters>"

    def _poll(self) -> None:
        backoff = Backoff()
        while True:
            with self._lock:
                while not self._since and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                snapshot = list(self._since.items())
            request = pb.WatchRequestProto(filters=[f._proto() for f, _ in snapshot],
                                           after_revision=min(since for _, since in snapshot),
                                           timeout_ms=int(POLL_SECONDS * 1000))
            began = time.monotonic()
            try:
                response = self._call("kvWatch", request, POLL_SECONDS + 30)
            except Exception as exc:
                self._queue.put(exc)
                return
            pause = backoff.pause(POLL_SECONDS, time.monotonic() - began,
                                  bool(response.events) or response.compacted)
            if pause:
                with self._lock:
                    self._lock.wait_for(lambda: self._closed, pause)
            if response.compacted:
                self._queue.put(EventsLostError("events were lost: the ApplicationMaster no longer holds "
                                                "them (the queue fell too far behind)"))
                return
            with self._lock:
                for proto in response.events:
                    for index in proto.filters:
                        event_filter, since = snapshot[index]
                        if proto.revision > since and event_filter in self._since:
                            self._queue.put(_event(proto, event_filter))
                for event_filter, _ in snapshot:
                    if event_filter in self._since:
                        self._since[event_filter] = max(self._since[event_filter], response.cursor)


def _event(proto: pb.EventProto, event_filter: EventFilter) -> Event:
    if proto.type == pb.EventProto.PUT:
        return Event(proto.kv.key, _pair(proto.kv), EventType.PUT, event_filter, proto.revision)
    return Event(proto.kv.key, None, EventType.DELETE, event_filter, proto.revision)
