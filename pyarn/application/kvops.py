"""Key-value store operations and conditions: the building blocks of ``app.kv`` and its transactions.

Each operation class (:class:`get`, :class:`put`, :class:`discard_prefix`,
...) builds one request of ``pyarn.proto`` and reads its response; the
store runs them alone (``app.kv.get(...)``) or several at once in a
transaction. Conditions compare a key's ``value``, ``owner``, ``version``,
``create_revision`` or ``mod_revision`` (``value("k") == b"v"``), or test
:class:`exists` / :class:`missing`.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import attrs
from google.protobuf.message import Message

from hadoop_protos import pyarn_pb2 as pb

from .records import parse_container_id

__all__ = [
    "next_key", "NO_CHANGE", "ValueOwnerPair", "TransactionResult", "Operation", "Condition",
    "get", "get_prefix", "get_range", "pop", "pop_prefix", "pop_range", "discard", "discard_prefix",
    "discard_range", "exists", "missing", "count", "list_keys", "put", "swap",
    "comparison", "value", "owner", "version", "create_revision", "mod_revision",
]

class _NoChange:
    def __repr__(self) -> str:
        return "NO_CHANGE"


#: Leaves a key's value or owner as it is in :class:`put` and :class:`swap`.
NO_CHANGE: Any = _NoChange()


class ValueOwnerPair(NamedTuple):
    """A value and the container that owns it (None: no owner)."""

    value: Optional[bytes]
    owner: Optional[str]


class TransactionResult(NamedTuple):
    """Whether the conditions held, and the results of the operations of the branch taken."""

    succeeded: bool
    results: List[Any]


def _pair(kv: pb.KeyValueProto) -> ValueOwnerPair:
    return ValueOwnerPair(kv.value, kv.owner if kv.HasField("owner") else None)


def _check_str(name: str, value: Any, nullable: bool = False) -> None:
    if value is None and nullable:
        return
    if not isinstance(value, str):
        expected = "a string or None" if nullable else "a string"
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}")


def next_key(prefix: str) -> Optional[str]:
    """The smallest string above every string starting with ``prefix`` (None: no such bound)."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if code == 0xD800:  # skip the surrogates, which UTF-8 cannot carry
            code = 0xE000
        if code <= 0x10FFFF:
            return "".join(chars) + chr(code)
    return None


def _key_bounds(key: str) -> Tuple[str, str]:
    return key, key + "\x00"


def _prefix_bounds(prefix: str) -> Tuple[str, Optional[str]]:
    return prefix, next_key(prefix)


def _set_bounds(message, start: Optional[str], end: Optional[str]):
    if start is not None:
        message.start = start
    if end is not None:
        message.end = end
    return message


# ------------------------------------------------------------------ operations


class Operation:
    """A key-value store operation: run it with ``app.kv.<name>(...)`` or in a transaction."""

    _rpc = ""

    def _request(self) -> Message:
        raise NotImplementedError

    def _result(self, response: Any) -> Any:
        raise NotImplementedError

    def _op(self) -> pb.RequestOpProto:
        op = pb.RequestOpProto()
        field = {"kvRange": "range", "kvPut": "put", "kvDeleteRange": "delete_range"}[self._rpc]
        getattr(op, field).CopyFrom(self._request())
        return op

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Condition:
    """A condition of a transaction."""

    def _condition(self) -> pb.ConditionProto:
        raise NotImplementedError


class _Range(Operation):
    _rpc = "kvRange"
    _type = pb.RangeRequestProto.ITEMS

    def _bounds(self):
        raise NotImplementedError

    def _request(self) -> pb.RangeRequestProto:
        return _set_bounds(pb.RangeRequestProto(result_type=self._type), *self._bounds())


class _Delete(Operation):
    _rpc = "kvDeleteRange"
    _previous = True

    def _bounds(self):
        raise NotImplementedError

    def _request(self) -> pb.DeleteRangeRequestProto:
        return _set_bounds(pb.DeleteRangeRequestProto(return_previous=self._previous), *self._bounds())


class _Single:
    def __init__(self, key: str, default: Optional[bytes] = None, return_owner: bool = False) -> None:
        _check_str("key", key)
        self.key, self.default, self.return_owner = key, default, return_owner

    def _bounds(self):
        return _key_bounds(self.key)

    def _one(self, kvs) -> Any:
        if not kvs:
            return ValueOwnerPair(self.default, None) if self.return_owner else self.default
        return _pair(kvs[0]) if self.return_owner else kvs[0].value


class get(_Single, _Range):
    """A key's value (or ``default``); with ``return_owner``, a :class:`ValueOwnerPair`."""

    def _result(self, response: pb.RangeResponseProto) -> Any:
        return self._one(response.kvs)


class pop(_Single, _Delete):
    """Delete a key and return its value (or ``default``); with ``return_owner``, a pair."""

    def _result(self, response: pb.DeleteRangeResponseProto) -> Any:
        return self._one(response.previous)


class _Many:
    return_owner: bool
    def _items(self, kvs) -> Dict[str, Any]:
        return OrderedDict((kv.key, _pair(kv) if self.return_owner else kv.value) for kv in kvs)


class _Prefix(_Many):
    def __init__(self, prefix: str, return_owner: bool = False) -> None:
        _check_str("prefix", prefix)
        self.prefix, self.return_owner = prefix, return_owner

    def _bounds(self):
        return _prefix_bounds(self.prefix)


class _Span(_Many):
    def __init__(self, start: Optional[str] = None, end: Optional[str] = None,
                 return_owner: bool = False) -> None:
        _check_str("start", start, nullable=True)
        _check_str("end", end, nullable=True)
        self.start, self.end, self.return_owner = start, end, return_owner

    def _bounds(self):
        return self.start, self.end


class get_prefix(_Prefix, _Range):
    """The keys starting with ``prefix`` and their values (pairs with ``return_owner``), in order."""

    def _result(self, response):
        return self._items(response.kvs)


class get_range(_Span, _Range):
    """The keys in ``[start, end)`` and their values (pairs with ``return_owner``), in order."""

    def _result(self, response):
        return self._items(response.kvs)


class pop_prefix(_Prefix, _Delete):
    """Delete the keys starting with ``prefix``; returns what they held."""

    def _result(self, response):
        return self._items(response.previous)


class pop_range(_Span, _Delete):
    """Delete the keys in ``[start, end)``; returns what they held."""

    def _result(self, response):
        return self._items(response.previous)


class discard(_Delete):
    """Delete a key; True if it existed."""

    _previous = False

    def __init__(self, key: str) -> None:
        _check_str("key", key)
        self.key = key

    def _bounds(self):
        return _key_bounds(self.key)

    def _result(self, response) -> bool:
        return response.deleted > 0


class _DiscardMany(_Delete):
    return_keys: bool
    def _result(self, response):
        return [kv.key for kv in response.previous] if self.return_keys else response.deleted

    @property
    def _previous(self) -> bool:  # type: ignore[override]
        return self.return_keys


class discard_prefix(_DiscardMany):
    """Delete the keys starting with ``prefix``; their count, or the keys with ``return_keys``."""

    def __init__(self, prefix: str, return_keys: bool = False) -> None:
        _check_str("prefix", prefix)
        self.prefix, self.return_keys = prefix, return_keys

    def _bounds(self):
        return _prefix_bounds(self.prefix)


class discard_range(_DiscardMany):
    """Delete the keys in ``[start, end)``; their count, or the keys with ``return_keys``."""

    def __init__(self, start: Optional[str] = None, end: Optional[str] = None,
                 return_keys: bool = False) -> None:
        _check_str("start", start, nullable=True)
        _check_str("end", end, nullable=True)
        self.start, self.end, self.return_keys = start, end, return_keys

    def _bounds(self):
        return self.start, self.end


class _Bounded:
    def __init__(self, start: Optional[str] = None, end: Optional[str] = None,
                 prefix: Optional[str] = None) -> None:
        _check_str("start", start, nullable=True)
        _check_str("end", end, nullable=True)
        _check_str("prefix", prefix, nullable=True)
        if prefix is not None and (start is not None or end is not None):
            raise ValueError("give either prefix or start/end, not both")
        self.start, self.end, self.prefix = start, end, prefix

    def _bounds(self):
        return _prefix_bounds(self.prefix) if self.prefix is not None else (self.start, self.end)


class count(_Bounded, _Range):
    """How many keys are in ``[start, end)`` (or start with ``prefix``); all keys by default."""

    _type = pb.RangeRequestProto.COUNT

    def _result(self, response) -> int:
        return response.count


class list_keys(_Bounded, _Range):
    """The keys in ``[start, end)`` (or starting with ``prefix``), in order."""

    _type = pb.RangeRequestProto.KEYS

    def _result(self, response) -> List[str]:
        return [kv.key for kv in response.kvs]


class exists(_Range, Condition):
    """Whether a key exists (also a condition)."""

    _type = pb.RangeRequestProto.COUNT

    def __init__(self, key: str) -> None:
        _check_str("key", key)
        self.key = key

    def _bounds(self):
        return _key_bounds(self.key)

    def _result(self, response) -> bool:
        return response.count > 0

    def _condition(self) -> pb.ConditionProto:
        return pb.ConditionProto(key=self.key, target=pb.ConditionProto.VERSION,
                                 operator=pb.ConditionProto.GREATER, number=0)


class missing(exists):
    """Whether a key is missing (also a condition)."""

    def _result(self, response) -> bool:
        return response.count == 0

    def _condition(self) -> pb.ConditionProto:
        return pb.ConditionProto(key=self.key, target=pb.ConditionProto.VERSION,
                                 operator=pb.ConditionProto.EQUAL, number=0)


def _check_owner(owner: Any) -> None:
    if owner is NO_CHANGE or owner is None:
        return
    _check_str("owner", owner)
    parse_container_id(owner)


class put(Operation):
    """Set a key's value and/or owner (``NO_CHANGE`` keeps one; ``owner=None`` clears it).

    Keeping the value of a key that does not exist is an error.
    """

    _rpc = "kvPut"
    _previous = False

    def __init__(self, key: str, value: Any = NO_CHANGE, owner: Any = NO_CHANGE) -> None:
        _check_str("key", key)
        if value is NO_CHANGE and owner is NO_CHANGE:
            raise ValueError("give a value, an owner, or both")
        if value is not NO_CHANGE and not isinstance(value, bytes):
            raise TypeError(f"value must be bytes, got {type(value).__name__}")
        _check_owner(owner)
        self.key, self.value, self.owner = key, value, owner

    def _request(self) -> pb.PutRequestProto:
        request = pb.PutRequestProto(key=self.key, ignore_value=self.value is NO_CHANGE,
                                     ignore_owner=self.owner is NO_CHANGE, return_previous=self._previous)
        if self.value is not NO_CHANGE:
            request.value = self.value
        if self.owner not in (NO_CHANGE, None):
            request.owner = self.owner
        return request

    def _result(self, response) -> None:
        return None


class swap(put):
    """Like :class:`put`, returning the previous value (a pair with ``return_owner``)."""

    _previous = True

    def __init__(self, key: str, value: Any = NO_CHANGE, owner: Any = NO_CHANGE,
                 return_owner: bool = False) -> None:
        super().__init__(key, value, owner)
        self.return_owner = return_owner

    def _result(self, response) -> Any:
        if response.HasField("previous"):
            return _pair(response.previous) if self.return_owner else response.previous.value
        return ValueOwnerPair(None, None) if self.return_owner else None


# ------------------------------------------------------------------ conditions

_OPERATORS = {"==": pb.ConditionProto.EQUAL, "!=": pb.ConditionProto.NOT_EQUAL,
              "<": pb.ConditionProto.LESS, "<=": pb.ConditionProto.LESS_EQUAL,
              ">": pb.ConditionProto.GREATER, ">=": pb.ConditionProto.GREATER_EQUAL}
_TARGETS = {"value": pb.ConditionProto.VALUE, "owner": pb.ConditionProto.OWNER,
            "version": pb.ConditionProto.VERSION, "create_revision": pb.ConditionProto.CREATE_REVISION,
            "mod_revision": pb.ConditionProto.MOD_REVISION}


@attrs.frozen
class comparison(Condition):
    """``field`` of ``key`` compared with ``rhs`` by ``operator`` (``==``, ``!=``, ``<``, ...).

    ``value`` compares bytes, ``owner`` container ids (None: no value/owner,
    which only ``==``/``!=`` compare); ``version`` and the revisions compare
    integers (0 for a missing key). Build them as ``kv.value(key) == b"x"``.
    """

    key: str
    field: str
    operator: str
    rhs: Any

    def __attrs_post_init__(self) -> None:
        _check_str("key", self.key)
        if self.field not in _TARGETS:
            raise ValueError(f"field must be one of {', '.join(_TARGETS)}, got {self.field!r}")
        if self.operator not in _OPERATORS:
            raise ValueError(f"operator must be one of {', '.join(_OPERATORS)}, got {self.operator!r}")
        if self.field == "value" and not (self.rhs is None or isinstance(self.rhs, bytes)):
            raise TypeError("a value comparison needs bytes or None")
        if self.field == "owner":
            _check_owner(self.rhs)
        numeric = isinstance(self.rhs, int) and not isinstance(self.rhs, bool)
        if self.field not in ("value", "owner") and not numeric:
            raise TypeError(f"a {self.field} comparison needs an int")

    def _condition(self) -> pb.ConditionProto:
        condition = pb.ConditionProto(key=self.key, target=_TARGETS[self.field],
                                      operator=_OPERATORS[self.operator])
        if self.rhs is not None:
            setattr(condition, {"value": "value", "owner": "owner"}.get(self.field, "number"), self.rhs)
        return condition


class _Field:
    _field = ""

    def __init__(self, key: str) -> None:
        _check_str("key", key)
        self.key = key

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"

    def _compare(self, operator: str, rhs: Any) -> comparison:
        return comparison(self.key, self._field, operator, rhs)

    def __eq__(self, rhs: Any) -> comparison:  # type: ignore[override]
        return self._compare("==", rhs)

    def __ne__(self, rhs: Any) -> comparison:  # type: ignore[override]
        return self._compare("!=", rhs)

    def __lt__(self, rhs: Any) -> comparison:
        return self._compare("<", rhs)

    def __le__(self, rhs: Any) -> comparison:
        return self._compare("<=", rhs)

    def __gt__(self, rhs: Any) -> comparison:
        return self._compare(">", rhs)

    def __ge__(self, rhs: Any) -> comparison:
        return self._compare(">=", rhs)

    __hash__ = None  # type: ignore[assignment]


class value(_Field):
    """A key's value in a condition: ``value("k") == b"v"``."""

    _field = "value"


class owner(_Field):
    """A key's owner in a condition: ``owner("k") == "worker_0"``."""

    _field = "owner"


class version(_Field):
    """A key's version in a condition (0: missing, 1: just created, +1 per change)."""

    _field = "version"


class create_revision(_Field):
    """The store revision that created a key, in a condition."""

    _field = "create_revision"


class mod_revision(_Field):
    """The store revision that last changed a key, in a condition."""

    _field = "mod_revision"
