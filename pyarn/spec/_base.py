"""The spec's error type and the small checks every spec class shares.

A field path is a tuple of parts: ``str`` for a mapping key or field name,
``int`` for a list index. Checks raise :class:`SpecError` at the path they are
given; callers pass the full path so that the message names the field the
user wrote.
"""
from __future__ import annotations

import difflib
import json
import re
from typing import Any, Iterable, NoReturn, Sequence, Tuple, Union

from ..errors import PyarnError

PathPart = Union[str, int]
Path = Tuple[PathPart, ...]

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


def format_path(path: Sequence[PathPart]) -> str:
    """Render a field path: ``services.worker.files["env.tar.gz"].source``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


class SpecError(ValueError, PyarnError):
    """An application spec that pyarn cannot run.

    ``str(error)`` is ``"<field path>: <problem>"``, for example
    ``services.worker.resources.memory: expected a positive size such as 512
    or '2 GiB', got '-3 GiB'``. The parts are also available as
    :attr:`path` (a tuple of keys and list indices), :attr:`field` (the
    rendered path, ``""`` for the spec as a whole) and :attr:`problem`.
    """

    def __init__(self, problem: str, path: Sequence[PathPart] = ()) -> None:
        self.problem = problem
        self.path: Path = tuple(path)
        super().__init__(problem, self.path)

    @property
    def field(self) -> str:
        """The field path as written in messages (``""`` for the whole spec)."""
        return format_path(self.path)

    def under(self, prefix: Sequence[PathPart]) -> SpecError:
        """The same error, seen from a spec that holds this field at ``prefix``."""
        return SpecError(self.problem, tuple(prefix) + self.path)

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}" if self.path else self.problem

    def __reduce__(self) -> Any:
        return (SpecError, (self.problem, self.path))


SpecError.__module__ = "pyarn.spec"


def fail(path: Sequence[PathPart], problem: str) -> NoReturn:
    """Raise a :class:`SpecError` for ``path``."""
    raise SpecError(problem, path)


def describe(value: Any) -> str:
    """A short description of a value the user wrote, for 'got ...'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57]) + "..."
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "a list"
    return f"a {type(value).__name__}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` when a choice is close to ``word``, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_mapping(value: Any, path: Path, expected: str) -> dict:
    """``value`` must be a mapping; ``expected`` says what kind, for the message."""
    if not isinstance(value, dict):
        fail(path, f"expected {expected}, got {describe(value)}")
    return value


def check_keys(obj: dict, allowed: Sequence[str], path: Path) -> None:
    """Every key of ``obj`` must be one of ``allowed``."""
    for key in obj:
        if not isinstance(key, str):
            fail(path, f"field names must be strings, got {describe(key)}")
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            if not hint:
                hint = "; known fields: " + ", ".join(allowed)
            fail(path + (key,), f"unknown field{hint}")


def require(obj: dict, key: str, path: Path) -> Any:
    """``obj[key]``, which the user must have written."""
    if key not in obj:
        fail(path + (key,), "required field is missing")
    return obj[key]


def check_str(value: Any, path: Path, *, nonempty: bool = False) -> None:
    """A string (optionally non-empty)."""
    if not isinstance(value, str):
        fail(path, f"expected a string, got {describe(value)}")
    if nonempty and not value:
        fail(path, "expected a non-empty string")


def check_bool(value: Any, path: Path) -> None:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        fail(path, f"expected true or false, got {describe(value)}")


def check_int(value: Any, path: Path, minimum: int, note: str = "") -> None:
    """An integer (not a bool) that is at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        fail(path, f"expected an integer >= {minimum}{note}, got {describe(value)}")


def check_str_list(value: Any, path: Path, *, unordered: bool = False) -> None:
    """A list of strings (``unordered``: a set is fine too)."""
    kinds: tuple = (list, tuple, set, frozenset) if unordered else (list, tuple)
    if not isinstance(value, kinds):
        fail(path, f"expected a list of strings, got {describe(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            if isinstance(value, (set, frozenset)):
                fail(path, f"expected a list of strings, got an item {describe(item)}")
            fail(path + (i,), f"expected a string, got {describe(item)}")


def check_env(value: Any, path: Path) -> None:
    """A mapping of environment variable name to string value."""
    check_mapping(value, path, "a mapping of environment variable names to values")
    for key, val in value.items():
        if not isinstance(key, str) or not key or "=" in key:
            fail(path, f"expected environment variable names, got {describe(key)}")
        if not isinstance(val, str):
            fail(path + (key,), f"expected a string (quote it in YAML), got {describe(val)}")
