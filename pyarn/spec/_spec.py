"""The base of every spec class: loading, dumping, validation, and converters.

Each class says how to read itself from a mapping (``_from_obj``, given the
field path and the directory relative file paths are resolved against) and
how to check itself (``_check``, given the field path). Converters turn the
convenient forms (``'2 GiB'``, ``'archive'``, a dict for a nested part) into
the stored ones and leave anything else untouched, so that ``_check`` reports
it with its field path.
"""
from __future__ import annotations

import enum
import os
from typing import Any, ClassVar, Dict, Optional, Sequence, Tuple, Type, TypeVar, Union

import attrs

from . import _serial
from ._base import Path, SpecError, check_keys, check_mapping, describe, fail


class NamedEnum(str, enum.Enum):  # noqa: UP042 - enum.StrEnum needs Python 3.11
    """An enum written in specs as its lower-case name, read case-insensitively."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            for member in cls:
                if member.value == value.lower():
                    return member
        return None

    def __str__(self) -> str:
        return self.value

    @classmethod
    def choices(cls) -> str:
        """The accepted names, for messages."""
        return ", ".join(repr(m.value) for m in cls)


def convert_enum(cls: type, value: Any) -> Any:
    """For converters: a member of ``cls`` from its name, in any case."""
    try:
        return cls(value)
    except (ValueError, TypeError):
        return value


def to_list(value: Any) -> Any:
    """Converter: a fresh list from a list or tuple."""
    return list(value) if isinstance(value, (list, tuple)) else value


def to_dict(value: Any) -> Any:
    """Converter: a fresh dict."""
    return dict(value) if isinstance(value, dict) else value


def to_set(value: Any) -> Any:
    """Converter: a frozenset from a list, tuple or set."""
    if isinstance(value, (list, tuple, set, frozenset)):
        try:
            return frozenset(value)
        except TypeError:
            return value
    return value


def convert_nested(cls: Any, field: str, value: Any) -> Any:
    """For converters: an instance of the spec class ``cls`` from a dict."""
    return cls._from_obj(value, (field,), None) if isinstance(value, dict) else value


def check_enum(value: Any, cls: Any, path: Path) -> None:
    """``value`` must be a member of the :class:`NamedEnum` ``cls``."""
    if not isinstance(value, cls):
        fail(path, f"expected one of {cls.choices()}, got {describe(value)}")


def check_instance(value: Any, cls: Any, path: Path) -> None:
    """``value`` must be an instance of the spec class ``cls``."""
    if not isinstance(value, cls):
        fail(path, f"expected {cls._EXPECTED}, got {describe(value)}")


_NO_DEFAULT = object()
_S = TypeVar("_S", bound="SpecBase")


def _default_of(field: Any) -> Any:
    default = field.default
    if default is attrs.NOTHING:
        return _NO_DEFAULT
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return default.factory()
    return default


def _plain(value: Any, skip_defaults: bool) -> Any:
    """A YAML/JSON-ready copy of a field value."""
    if isinstance(value, SpecBase):
        return value._to_obj(skip_defaults)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, skip_defaults) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, skip_defaults) for k, v in value.items()}
    return value


class SpecBase:
    """Loading, dumping and validation shared by every spec class."""

    __slots__ = ()
    #: Field names, in the order they are written out.
    _FIELDS: ClassVar[Tuple[str, ...]] = ()
    #: Fields where ``null`` means "the default" (collections and optional parts).
    _NULL_IS_DEFAULT: ClassVar[Tuple[str, ...]] = ()
    #: pyarn's own fields, written only when set so that the output loads in Skein.
    _ADDITIONS: ClassVar[Tuple[str, ...]] = ()
    #: Fields written even when ``skip_defaults`` is set.
    _ALWAYS: ClassVar[Tuple[str, ...]] = ()
    #: What the mapping for this class is, for "expected ..." messages.
    _EXPECTED: ClassVar[str] = "a mapping"

    def __attrs_post_init__(self) -> None:
        self._complete()
        self._check((), False)

    def _complete(self) -> None:
        """Fill in derived values after construction."""

    def _check(self, path: Path, check_files: bool) -> None:
        raise NotImplementedError

    @classmethod
    def _from_obj(cls, obj: Any, path: Path, base_dir: Optional[str]) -> Any:
        return cls._build(cls._fields_of(obj, path), path)

    @classmethod
    def _fields_of(cls, obj: Any, path: Path, extra: Sequence[str] = ()) -> Dict[str, Any]:
        """The checked mapping ``obj`` as keyword arguments, nulls dropped where allowed."""
        check_mapping(obj, path, cls._EXPECTED)
        check_keys(obj, cls._FIELDS + tuple(extra), path)
        return {k: v for k, v in obj.items() if not (v is None and k in cls._NULL_IS_DEFAULT)}

    @classmethod
    def _build(cls, kwargs: Dict[str, Any], path: Path) -> Any:
        try:
            return cls(**kwargs)
        except SpecError as exc:
            raise exc.under(path) from None

    def _to_obj(self, skip_defaults: bool) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        fields = attrs.fields_dict(type(self))  # type: ignore[arg-type]
        for name in self._FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if ((skip_defaults or name in self._ADDITIONS) and name not in self._ALWAYS
                    and value == _default_of(fields[name])):
                continue
            out[name] = _plain(value, skip_defaults)
        return out

    # -- public API --------------------------------------------------------

    def validate(self, *, check_files: bool = True) -> None:
        """Check every field, raising :class:`SpecError` naming the first bad one.

        With ``check_files`` (the default), local file sources (no scheme, or
        ``file://``) must exist and be readable now. Construction checks
        everything else already; call this again after changing fields, and
        before submitting.
        """
        self._check((), check_files)

    @classmethod
    def from_dict(cls: Type[_S], obj: Any, *, base_dir: Optional[str] = None, check_files: bool = True) -> _S:
        """Build and validate from a dict, as read from YAML or JSON.

        Relative local file sources are resolved against ``base_dir`` (default:
        the current directory). ``check_files=False`` skips the check that
        local files exist, for a spec read back where those files are absent.
        """
        spec = cls._from_obj(obj, (), os.path.abspath(base_dir) if base_dir else None)
        if check_files:
            spec._check((), True)
        return spec

    @classmethod
    def from_yaml(cls: Type[_S], data: _serial.Source, *, base_dir: Optional[str] = None,
                  check_files: bool = True) -> _S:
        """Build from YAML text, or from a YAML file given as a path-like object.

        Relative file sources in a file are resolved against the file's
        directory unless ``base_dir`` is given.
        """
        text, file_dir = _serial.read_source(data)
        return cls._from_text(_serial.load_yaml(text), base_dir or file_dir, check_files)

    @classmethod
    def from_json(cls: Type[_S], data: _serial.Source, *, base_dir: Optional[str] = None,
                  check_files: bool = True) -> _S:
        """Build from JSON text, or from a JSON file given as a path-like object."""
        text, file_dir = _serial.read_source(data)
        return cls._from_text(_serial.load_json(text), base_dir or file_dir, check_files)

    @classmethod
    def from_file(cls: Type[_S], path: Union[str, os.PathLike], *, format: Optional[str] = None,
                  check_files: bool = True) -> _S:
        """Build from a ``.yaml``/``.yml`` or ``.json`` file (or as ``format`` says).

        Relative file sources are resolved against the file's directory.
        """
        path = os.fspath(path)
        fmt = _serial.infer_format(path, format)
        text = _serial.read_file(path)
        obj = _serial.load_yaml(text) if fmt == "yaml" else _serial.load_json(text)
        return cls._from_text(obj, os.path.dirname(os.path.abspath(path)), check_files)

    @classmethod
    def _from_text(cls, obj: Any, base_dir: Optional[str], check_files: bool) -> Any:
        if obj is None:
            raise SpecError("the spec is empty")
        if isinstance(obj, str):
            raise SpecError(f"expected {cls._EXPECTED}, got the string {describe(obj)} "
                            "(to load a file, use from_file or pass a pathlib.Path)")
        return cls.from_dict(obj, base_dir=base_dir, check_files=check_files)

    def to_dict(self, *, skip_defaults: bool = False) -> Dict[str, Any]:
        """A plain dict of YAML/JSON-ready values that :meth:`from_dict` reads back equal.

        Every Skein field is written (``skip_defaults``: only those that differ
        from the default, plus the required ones); pyarn's own additions only
        when set, so the output also loads in Skein.
        """
        self._check((), False)
        return self._to_obj(skip_defaults)

    def to_yaml(self, *, skip_defaults: bool = False) -> str:
        """YAML text that :meth:`from_yaml` reads back equal; scripts as literal blocks."""
        return _serial.dump_yaml(self.to_dict(skip_defaults=skip_defaults))

    def to_json(self, *, skip_defaults: bool = False, indent: Optional[int] = None) -> str:
        """JSON text that :meth:`from_json` reads back equal."""
        return _serial.dump_json(self.to_dict(skip_defaults=skip_defaults), indent=indent)

    def to_file(self, path: Union[str, os.PathLike], *, format: Optional[str] = None,
                skip_defaults: bool = False) -> None:
        """Write to a ``.yaml``/``.yml`` or ``.json`` file (or as ``format`` says)."""
        path = os.fspath(path)
        fmt = _serial.infer_format(path, format)
        if fmt == "yaml":
            text = self.to_yaml(skip_defaults=skip_defaults)
        else:
            text = self.to_json(skip_defaults=skip_defaults, indent=2) + "\n"
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
