"""The ApplicationMaster's key-value store: sorted keys, revisions, ownership, waits and watches.

A pure, thread-safe data structure (no sockets) that answers the ``kv*``
messages of ``pyarn.proto`` directly:

* keys are strings kept in code-point order, values bytes; a range is
  ``[start, end)`` with open ends when a bound is absent;
* every change raises the store's revision by one; a transaction raises it
  once for all its changes. Each key keeps its create and modify revisions
  and a version (1 on creation, +1 per change), like etcd;
* a key may be *owned* by a container (``<service>_<instance>``): when the
  container ends, :meth:`KeyValueStore.release_owner` deletes its keys and
  the owner can never own keys again;
* :meth:`~KeyValueStore.wait` blocks until a key exists; :meth:`~KeyValueStore.watch`
  is a long poll over the recent events with a revision cursor. The last
  ``max_events`` events are kept; a cursor older than that is told so
  (``compacted``);
* for the journal (:mod:`pyarn.am.recovery`), :meth:`~KeyValueStore.dump`
  gives the whole store as JSON, :meth:`~KeyValueStore.restore` loads it back,
  and the :attr:`~KeyValueStore.recorder` is handed every change (under the
  store's lock, in order) in the same form, holding only what changed::

      {"revision": 7,                      # the store's revision
       "keys": {"a": ["dmFsdWU=", "worker_0", 3, 7, 2],   # value (base64), owner,
                "b": null},                #   create and modify revisions, version; null: deleted
       "retired": ["worker_1"]}            # containers that may never own keys again

  (a change carries ``revision`` only when it made one). Events before a
  restore are gone: a watch from an older cursor is told it is compacted.
"""
from __future__ import annotations

import base64
import bisect
import collections
import threading
import time
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Set, Tuple

import attrs

from hadoop_protos import pyarn_pb2 as pb

from ..application.errors import InvalidRequestError

__all__ = ["KeyValueStore", "OwnerCheck", "Recorder"]

#: ``owner -> None`` if the owner may own keys, else the reason it may not.
OwnerCheck = Callable[[str], Optional[str]]
#: Takes each change of the store, as JSON (see the module docstring).
Recorder = Callable[[Dict[str, Any]], None]

_ALL, _PUT_FILTER, _DELETE_FILTER = (pb.WatchFilterProto.ALL, pb.WatchFilterProto.PUT,
                                     pb.WatchFilterProto.DELETE)
_COMPARE = {
    pb.ConditionProto.EQUAL: lambda c: c == 0,
    pb.ConditionProto.NOT_EQUAL: lambda c: c != 0,
    pb.ConditionProto.LESS: lambda c: c < 0,
    pb.ConditionProto.LESS_EQUAL: lambda c: c <= 0,
    pb.ConditionProto.GREATER: lambda c: c > 0,
    pb.ConditionProto.GREATER_EQUAL: lambda c: c >= 0,
}


@attrs.define
class _Entry:
    value: bytes
    owner: Optional[str]
    create_revision: int
    mod_revision: int
    version: int

    def to_json(self) -> List[Any]:
        return [base64.b64encode(self.value).decode("ascii"), self.owner, self.create_revision,
                self.mod_revision, self.version]

    @classmethod
    def from_json(cls, item: List[Any]) -> _Entry:
        value, owner, create_revision, mod_revision, version = item
        return cls(base64.b64decode(value, validate=True), owner, int(create_revision), int(mod_revision),
                   int(version))


@attrs.frozen
class _Event:
    revision: int
    type: Any  # EventProto.Type
    key: str
    proto: pb.EventProto


def _in_range(key: str, start: Optional[str], end: Optional[str]) -> bool:
    return (start is None or key >= start) and (end is None or key < end)


def _bounds(message) -> Tuple[Optional[str], Optional[str]]:
    return (message.start if message.HasField("start") else None,
            message.end if message.HasField("end") else None)


def _compare(lhs, rhs) -> int:
    return (lhs > rhs) - (lhs < rhs)


class KeyValueStore:
    """The store; see the module docstring. ``owner_check`` vets owners on put."""

    def __init__(self, owner_check: Optional[OwnerCheck] = None, *, max_events: int = 10000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._owner_check = owner_check
        #: Called with each change (under the store's lock); None: changes are not recorded.
        self.recorder: Optional[Recorder] = None
        self._changed: Dict[str, Optional[_Entry]] = {}  # keys changed since the last commit
        self._clock = clock
        self._cond = threading.Condition(threading.RLock())
        self._entries: Dict[str, _Entry] = {}
        self._keys: List[str] = []  # sorted
        self._owned: Dict[str, Set[str]] = collections.defaultdict(set)
        self._retired: Set[str] = set()
        self._events: Deque[_Event] = collections.deque()
        self._max_events = max_events
        self._compacted_through = 0
        self._revision = 0
        self._closed = False

    # ----------------------------------------------------------------- reading

    @property
    def revision(self) -> int:
        """The revision of the last change (0 for a new store)."""
        with self._cond:
            return self._revision

    def __len__(self) -> int:
        with self._cond:
            return len(self._keys)

    def owned_keys(self, owner: str) -> Set[str]:
        """The keys ``owner`` owns now."""
        with self._cond:
            return set(self._owned.get(owner, ()))

    def owners(self) -> List[str]:
        """Every container that owns a key now."""
        with self._cond:
            return sorted(owner for owner, keys in self._owned.items() if keys)

    def _select(self, start: Optional[str], end: Optional[str]) -> List[str]:
        lo = 0 if start is None else bisect.bisect_left(self._keys, start)
        hi = len(self._keys) if end is None else bisect.bisect_left(self._keys, end)
        return self._keys[lo:hi] if lo < hi else []

    def _kv(self, key: str, keys_only: bool = False) -> pb.KeyValueProto:
        entry = self._entries[key]
        if keys_only:
            return pb.KeyValueProto(key=key)
        return pb.KeyValueProto(key=key, value=entry.value, owner=entry.owner,
                                create_revision=entry.create_revision, mod_revision=entry.mod_revision,
                                version=entry.version)

    def range(self, request: pb.RangeRequestProto) -> pb.RangeResponseProto:
        """The keys (or items, or only their count) in a range."""
        with self._cond:
            return self._range(request)

    def _range(self, request: pb.RangeRequestProto) -> pb.RangeResponseProto:
        keys = self._select(*_bounds(request))
        response = pb.RangeResponseProto(revision=self._revision, count=len(keys))
        if request.result_type != pb.RangeRequestProto.COUNT:
            keys_only = request.result_type == pb.RangeRequestProto.KEYS
            response.kvs.extend(self._kv(k, keys_only) for k in keys)
        return response

    # ----------------------------------------------------------------- writing

    def _check_put(self, request: pb.PutRequestProto) -> None:
        if request.ignore_value and request.ignore_owner:
            raise InvalidRequestError("put: ignore_value and ignore_owner cannot both be set")
        if not request.key:
            raise InvalidRequestError("put: the key is empty")
        if request.ignore_value and request.key not in self._entries:
            raise InvalidRequestError(f"put {request.key!r}: the key does not exist, so its value "
                                      "cannot be kept; give a value")
        if not request.ignore_owner and request.HasField("owner") and request.owner:
            owner = request.owner
            reason = "it has completed" if owner in self._retired else (
                self._owner_check(owner) if self._owner_check is not None else None)
            if reason:
                raise InvalidRequestError(f"put {request.key!r}: container {owner!r} cannot own keys: "
                                          f"{reason}")

    def put(self, request: pb.PutRequestProto) -> pb.PutResponseProto:
        """Set a key's value and/or owner."""
        with self._cond:
            self._check_put(request)
            revision = self._revision + 1
            response = self._put(request, revision)
            self._commit(revision)
            return response

    def _put(self, request: pb.PutRequestProto, revision: int) -> pb.PutResponseProto:
        key = request.key
        entry = self._entries.get(key)
        previous = self._kv(key) if entry is not None else None
        owner = request.owner if request.HasField("owner") and request.owner else None
        if entry is None:
            entry = _Entry(value=request.value, owner=None, create_revision=revision,
                           mod_revision=revision, version=0)
            self._entries[key] = entry
            bisect.insort(self._keys, key)
        if not request.ignore_value:
            entry.value = request.value
        if not request.ignore_owner and owner != entry.owner:
            if entry.owner is not None:
                self._owned[entry.owner].discard(key)
            if owner is not None:
                self._owned[owner].add(key)
            entry.owner = owner
        entry.mod_revision = revision
        entry.version += 1
        self._changed[key] = entry
        self._record(revision, pb.EventProto.PUT, key, self._kv(key))
        response = pb.PutResponseProto(revision=revision)
        if request.return_previous and previous is not None:
            response.previous.CopyFrom(previous)
        return response

    def delete_range(self, request: pb.DeleteRangeRequestProto) -> pb.DeleteRangeResponseProto:
        """Delete the keys in a range."""
        with self._cond:
            revision = self._revision + 1
            response = self._delete_range(request, revision)
            if response.deleted:
                self._commit(revision)
            response.revision = self._revision
            return response

    def _delete_range(self, request: pb.DeleteRangeRequestProto, revision: int
                      ) -> pb.DeleteRangeResponseProto:
        keys = self._select(*_bounds(request))
        response = pb.DeleteRangeResponseProto(deleted=len(keys))
        if request.return_previous:
            response.previous.extend(self._kv(k) for k in keys)
        self._delete(keys, revision)
        return response

    def _delete(self, keys: Iterable[str], revision: int) -> None:
        for key in list(keys):
            entry = self._entries.pop(key)
            del self._keys[bisect.bisect_left(self._keys, key)]
            if entry.owner is not None:
                self._owned[entry.owner].discard(key)
            self._changed[key] = None
            self._record(revision, pb.EventProto.DELETE, key,
                         pb.KeyValueProto(key=key, mod_revision=revision))

    def release_owner(self, owner: str) -> List[str]:
        """``owner`` has ended: delete its keys (one revision) and refuse it as an owner from now on."""
        with self._cond:
            self._retired.add(owner)
            keys = sorted(self._owned.pop(owner, ()))
            if keys:
                revision = self._revision + 1
                self._delete(keys, revision)
                self._commit(revision, retired=owner)
            elif self.recorder is not None:
                self.recorder({"retired": [owner]})
            return keys

    # ------------------------------------------------------------- transactions

    def _condition(self, condition: pb.ConditionProto) -> bool:
        entry = self._entries.get(condition.key)
        target, operator = condition.target, condition.operator
        if operator not in _COMPARE:
            raise InvalidRequestError(f"condition on {condition.key!r}: unknown operator {operator}")
        if target in (pb.ConditionProto.VALUE, pb.ConditionProto.OWNER):
            field = "value" if target == pb.ConditionProto.VALUE else "owner"
            lhs = getattr(entry, field) if entry is not None else None
            rhs = getattr(condition, field) if condition.HasField(field) else None
            if lhs is None or rhs is None:  # "no value/owner" only compares for (in)equality
                if operator == pb.ConditionProto.EQUAL:
                    return lhs is None and rhs is None
                if operator == pb.ConditionProto.NOT_EQUAL:
                    return (lhs is None) != (rhs is None)
                return False
            return _COMPARE[operator](_compare(lhs, rhs))
        if target == pb.ConditionProto.VERSION:
            lhs = entry.version if entry is not None else 0
        elif target == pb.ConditionProto.CREATE_REVISION:
            lhs = entry.create_revision if entry is not None else 0
        elif target == pb.ConditionProto.MOD_REVISION:
            lhs = entry.mod_revision if entry is not None else 0
        else:
            raise InvalidRequestError(f"condition on {condition.key!r}: unknown target {target}")
        return _COMPARE[operator](_compare(lhs, condition.number))

    def transaction(self, request: pb.TransactionRequestProto) -> pb.TransactionResponseProto:
        """If every condition holds, apply ``on_success``, else ``on_failure``; atomically.

        Every put is checked before anything is applied, so a refused put
        leaves the store unchanged.
        """
        with self._cond:
            succeeded = all(self._condition(c) for c in request.conditions)
            ops = request.on_success if succeeded else request.on_failure
            for op in ops:
                if op.WhichOneof("request") == "put":
                    self._check_put(op.put)
            revision = self._revision + 1
            changed = False
            response = pb.TransactionResponseProto(succeeded=succeeded)
            for op in ops:
                kind = op.WhichOneof("request")
                if kind == "range":
                    response.results.add(range=self._range(op.range))
                elif kind == "put":
                    response.results.add(put=self._put(op.put, revision))
                    changed = True
                elif kind == "delete_range":
                    deleted = self._delete_range(op.delete_range, revision)
                    changed = changed or deleted.deleted > 0
                    response.results.add(delete_range=deleted)
                else:
                    raise InvalidRequestError("transaction: an operation without a request")
            if changed:
                self._commit(revision)
            for result in response.results:  # every result reports the revision after the transaction
                getattr(result, result.WhichOneof("response")).revision = self._revision
            response.revision = self._revision
            return response

    # ------------------------------------------------------------------ events

    def _record(self, revision: int, kind: Any, key: str, kv: pb.KeyValueProto) -> None:
        if len(self._events) >= self._max_events:
            self._compacted_through = self._events.popleft().revision
        self._events.append(_Event(revision, kind, key, pb.EventProto(type=kind, kv=kv, revision=revision)))

    def _commit(self, revision: int, retired: Optional[str] = None) -> None:
        self._revision = revision
        if self.recorder is not None:
            change: Dict[str, Any] = {
                "revision": revision,
                "keys": {k: e.to_json() if e is not None else None for k, e in self._changed.items()}}
            if retired is not None:
                change["retired"] = [retired]
            self.recorder(change)
        self._changed.clear()
        self._cond.notify_all()

    def _wait_for(self, ready: Callable[[], bool], timeout: Optional[float]) -> bool:
        """Wait (lock held) until ``ready()`` or the timeout passes or the store closes."""
        deadline = None if timeout is None else self._clock() + max(timeout, 0.0)
        while not ready():
            if self._closed:
                return False
            remaining = None if deadline is None else deadline - self._clock()
            if remaining is not None and remaining <= 0:
                return False
            self._cond.wait(remaining)
        return True

    def wait(self, key: str, timeout: Optional[float]) -> pb.WaitResponseProto:
        """The key once it exists, waiting up to ``timeout`` seconds (None: forever)."""
        with self._cond:
            found = self._wait_for(lambda: key in self._entries, timeout)
            response = pb.WaitResponseProto(revision=self._revision)
            if found:
                response.kv.CopyFrom(self._kv(key))
            return response

    def watch(self, request: pb.WatchRequestProto) -> pb.WatchResponseProto:
        """The events after ``after_revision`` matching the filters (a long poll)."""
        filters = [(*_bounds(f), f.event_type) for f in request.filters] or [(None, None, _ALL)]
        timeout = request.timeout_ms / 1000.0 if request.HasField("timeout_ms") else 0.0
        limit = max(request.max_events, 1)
        with self._cond:
            if not request.HasField("after_revision"):
                return pb.WatchResponseProto(revision=self._revision, cursor=self._revision)
            after = request.after_revision
            # Older events are gone, or the cursor is from another store (a restarted AM): say so.
            if after < self._compacted_through or after > self._revision:
                return pb.WatchResponseProto(revision=self._revision, cursor=self._revision, compacted=True)
            found: List[pb.EventProto] = []
            cursor = after

            def collect() -> bool:
                nonlocal cursor
                found.clear()
                cursor = self._revision
                for event in self._events:
                    if event.revision <= after:
                        continue
                    if len(found) >= limit and event.revision != found[-1].revision:
                        cursor = found[-1].revision
                        break
                    matched = [i for i, (start, end, kind) in enumerate(filters)
                               if _in_range(event.key, start, end) and _matches(kind, event.type)]
                    if matched:
                        proto = pb.EventProto()
                        proto.CopyFrom(event.proto)
                        proto.filters.extend(matched)
                        found.append(proto)
                return bool(found)

            self._wait_for(collect, timeout)
            return pb.WatchResponseProto(revision=self._revision, cursor=cursor, events=found)

    # ------------------------------------------------------------------ journal

    def dump(self) -> Dict[str, Any]:
        """The whole store as JSON (see the module docstring)."""
        with self._cond:
            return {"revision": self._revision,
                    "keys": {key: entry.to_json() for key, entry in self._entries.items()},
                    "retired": sorted(self._retired)}

    def restore(self, state: Dict[str, Any]) -> None:
        """Replace the contents with ``state`` (from :meth:`dump` and later changes); ValueError
        for a state that does not read. Waiters are woken; earlier events are gone."""
        try:
            entries = {str(key): _Entry.from_json(item) for key, item in state.get("keys", {}).items()}
            revision = int(state.get("revision", 0))
            retired = {str(owner) for owner in state.get("retired", ())}
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"the key-value store's saved state does not read: {exc}") from None
        with self._cond:
            self._entries = entries
            self._keys = sorted(entries)
            self._owned = collections.defaultdict(set)
            for key, entry in entries.items():
                if entry.owner is not None:
                    self._owned[entry.owner].add(key)
            self._retired = retired
            self._revision = max([revision] + [e.mod_revision for e in entries.values()])
            self._events.clear()
            self._compacted_through = self._revision
            self._changed.clear()
            self._cond.notify_all()

    def close(self) -> None:
        """Wake every waiter; waits and watches then return at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def _matches(filter_type: int, event_type: int) -> bool:
    if filter_type == _ALL:
        return True
    return (filter_type == _PUT_FILTER) == (event_type == pb.EventProto.PUT)
