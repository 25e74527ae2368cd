"""The Hadoop configuration: defaults, site files, overrides, ``${...}`` expansion, typed getters.

Rules follow ``org.apache.hadoop.conf.Configuration``:

* layers, lowest first: pyarn's table of Hadoop defaults (:mod:`pyarn.conf.defaults`), then
  ``core-site.xml``, ``hdfs-site.xml``, ``yarn-site.xml`` from the configuration directory, then
  overrides given in code;
* a property marked ``<final>true</final>`` cannot be changed by a later file (overrides given
  in code still win, as ``Configuration.set`` does in Java);
* a deprecated key (``fs.default.name``...) is stored and looked up under its current name;
* values are expanded when read: the left-most ``${name}`` is replaced by the environment
  variable for ``env.NAME`` (``${env.NAME:-default}`` when unset or empty,
  ``${env.NAME-default}`` when unset) or else by the raw value of key ``name``, repeatedly, at
  most 20 times (``MAX_SUBST``); an unknown name stops the expansion and stays literal. Where
  Java silently returns the unexpanded text of a value that refers to itself, pyarn raises a
  :class:`ConfigError`, as it does when the 20 substitutions run out (a loop through several
  keys). Java system properties (``${user.name}``) are not looked up.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional, Tuple, Union, overload

from ..net import parse_address
from .defaults import DEFAULTS, DEPRECATIONS
from .errors import ConfigError
from .xml import read_properties

MAX_SUBST = 20
#: The site files read from the configuration directory, in load order.
SITE_FILES = ("core-site.xml", "hdfs-site.xml", "yarn-site.xml")
DEFAULTS_LABEL = "<hadoop defaults>"
OVERRIDES_LABEL = "<overrides>"

_VAR = re.compile(r"\$\{([^}$ ]+)\}")
_INT = re.compile(r"[+-]?[0-9]+")
_HEX = re.compile(r"(-?)0[xX]([0-9a-fA-F]+)")
_NANOS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
          "d": 86400 * 10**9}
_BINARY_PREFIXES = "kmgtpe"
_REQUIRED: Any = object()

Origin = Tuple[str, Optional[int]]
Address = Tuple[str, int]


def find_conf_dir(conf_dir: Union[str, os.PathLike[str], None] = None,
                  env: Optional[Mapping[str, str]] = None) -> Optional[Path]:
    """The configuration directory: ``conf_dir`` when given, else ``YARN_CONF_DIR``, else
    ``HADOOP_CONF_DIR`` (Hadoop 3's ``yarn`` launcher lets ``YARN_CONF_DIR`` replace
    ``HADOOP_CONF_DIR``), else ``$HADOOP_HOME/etc/hadoop`` (``$HADOOP_HOME/conf`` when it holds
    ``hadoop-env.sh``) if it exists, else None. A directory that is named but missing is a
    :class:`ConfigError`."""
    env = os.environ if env is None else env
    named = None
    if conf_dir is not None:
        named = (Path(conf_dir), f"configuration directory {conf_dir}")
    else:
        var = next((v for v in ("YARN_CONF_DIR", "HADOOP_CONF_DIR") if env.get(v)), None)
        if var is not None:
            named = (Path(env[var]), f"{var}={env[var]}")
    if named is not None:
        path, what = named
        if not path.is_dir():
            raise ConfigError(f"{what} does not exist or is not a directory")
        return path
    home = env.get("HADOOP_HOME")
    if home:
        old_style = Path(home, "conf")
        path = old_style if (old_style / "hadoop-env.sh").exists() else Path(home, "etc", "hadoop")
        if path.is_dir():
            return path
    return None


class Configuration(Mapping[str, str]):
    """A read-only mapping of Hadoop configuration keys to their expanded values.

    ``Configuration()`` holds Hadoop's defaults only (plus ``values``);
    :meth:`load` reads the site files of a configuration directory. Instances never change;
    :meth:`with_overrides` returns a new one.
    """

    def __init__(self, values: Optional[Mapping[str, Any]] = None, *, defaults: bool = True,
                 env: Optional[Mapping[str, str]] = None) -> None:
        self._raw: Dict[str, str] = dict(DEFAULTS) if defaults else {}
        self._origins: Dict[str, Origin] = dict.fromkeys(self._raw, (DEFAULTS_LABEL, None))
        self._finals: FrozenSet[str] = frozenset()
        self._env: Dict[str, str] = dict(os.environ if env is None else env)
        self._cache: Dict[str, str] = {}
        #: The configuration directory the site files came from (None when there was none).
        self.source_dir: Optional[Path] = None
        #: The site files read, in load order.
        self.files: Tuple[Path, ...] = ()
        if values:
            self._set_all(values, OVERRIDES_LABEL)

    @classmethod
    def load(cls, conf_dir: Union[str, os.PathLike[str], None] = None, *,
             overrides: Optional[Mapping[str, Any]] = None,
             env: Optional[Mapping[str, str]] = None) -> Configuration:
        """Defaults, then the site files of ``conf_dir`` (see :func:`find_conf_dir`; files that
        are absent are skipped), then ``overrides``. ``env`` (default ``os.environ``) serves
        both to find the directory and for ``${env.NAME}``."""
        conf = cls(env=env)
        directory = find_conf_dir(conf_dir, conf._env)
        conf.source_dir = directory
        finals: set = set()
        files = []
        if directory is not None:
            for name in SITE_FILES:
                path = directory / name
                if path.exists():
                    conf._load_file(path, finals)
                    files.append(path)
        conf._finals = frozenset(finals)
        conf.files = tuple(files)
        if overrides:
            conf._set_all(overrides, OVERRIDES_LABEL)
        return conf

    def with_overrides(self, values: Mapping[str, Any]) -> Configuration:
        """A copy with ``values`` set (a value of None unsets the key). Strings are stored as
        given; booleans become ``true``/``false`` and other values ``str(value)``."""
        new = Configuration.__new__(Configuration)
        new._raw = dict(self._raw)
        new._origins = dict(self._origins)
        new._finals = self._finals
        new._env = self._env
        new._cache = {}
        new.source_dir = self.source_dir
        new.files = self.files
        new._set_all(values, OVERRIDES_LABEL)
        return new

    def _load_file(self, path: Path, finals: set) -> None:
        for prop in read_properties(str(path)):
            key = DEPRECATIONS.get(prop.name, prop.name)
            if prop.value is not None and key not in finals:
                self._raw[key] = prop.value
                self._origins[key] = (prop.file, prop.line)
            if prop.final:
                finals.add(key)

    def _set_all(self, values: Mapping[str, Any], label: str) -> None:
        for name, value in values.items():
            key = self.canonical_key(name)
            if value is None:
                self._raw.pop(key, None)
                self._origins.pop(key, None)
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            self._raw[key] = value if isinstance(value, str) else str(value)
            self._origins[key] = (label, None)

    # -- mapping --------------------------------------------------------------------------

    @staticmethod
    def canonical_key(name: str) -> str:
        """The name a key is stored under: trimmed, with a deprecated name replaced."""
        name = name.strip()
        return DEPRECATIONS.get(name, name)

    def __getitem__(self, key: str) -> str:
        name = self.canonical_key(key)
        if name not in self._raw:
            raise KeyError(key)
        value = self._cache.get(name)
        if value is None:
            value = self._cache[name] = self._expand(name)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.canonical_key(key) in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"<Configuration source_dir={str(self.source_dir)!r} keys={len(self._raw)}>"

    def raw(self, key: str) -> Optional[str]:
        """The value as written, before ``${...}`` expansion (None when unset)."""
        return self._raw.get(self.canonical_key(key))

    def origin(self, key: str) -> Optional[Origin]:
        """Where the value was set: ``(file, line)``, or ``("<hadoop defaults>", None)`` /
        ``("<overrides>", None)``; None when unset."""
        return self._origins.get(self.canonical_key(key))

    def is_final(self, key: str) -> bool:
        return self.canonical_key(key) in self._finals

    # -- expansion ------------------------------------------------------------------------

    def _expand(self, key: str) -> str:
        expr = self._raw[key]
        value = expr
        for _ in range(MAX_SUBST):
            m = _VAR.search(value)
            if m is None:
                return value
            name = m.group(1)
            sub = self._env_value(name[4:]) if name.startswith("env.") and len(name) > 4 else None
            if sub is None:
                sub = self._raw.get(self.canonical_key(name))
            if sub is None:
                return value
            if m.group(0) in sub:
                raise self._error(f"{m.group(0)} refers to itself (value {expr!r})", key)
            value = value[:m.start()] + sub + value[m.end():]
        raise self._error(f"variable substitution depth too large: more than {MAX_SUBST} "
                          f"substitutions in {expr!r} (a ${{...}} loop?)", key)

    def _env_value(self, spec: str) -> Optional[str]:
        for i, c in enumerate(spec):
            if c == ":" and spec[i + 1:i + 2] == "-" and i < len(spec) - 1:
                val = self._env.get(spec[:i])
                return val if val else spec[i + 2:]
            if c == "-":
                val = self._env.get(spec[:i])
                return spec[i + 1:] if val is None else val
        return self._env.get(spec)

    def _error(self, message: str, key: str) -> ConfigError:
        file, line = self._origins.get(self.canonical_key(key), (None, None))
        return ConfigError(message, file=file, line=line, key=key)

    def error(self, key: str, message: str) -> ConfigError:
        """The :class:`ConfigError` for a bad value of ``key``, naming the file and line it came
        from (for checks made outside this class)."""
        return self._error(message, key)

    # -- typed getters --------------------------------------------------------------------

    def get_str(self, key: str, default: Any = _REQUIRED) -> str:
        """The trimmed value; ``default`` when unset (a :class:`ConfigError` without one)."""
        value = self.get(key)
        if value is None:
            return self._missing(key, default)
        return value.strip()

    def _missing(self, key: str, default: Any) -> Any:
        if default is _REQUIRED:
            where = f" (configuration directory: {self.source_dir})" if self.source_dir else ""
            raise ConfigError(f"is not set{where}", key=key)
        return default

    def get_int(self, key: str, default: Any = _REQUIRED) -> int:
        """An integer (decimal, or hex with ``0x``) as ``Configuration.getInt`` / ``getLong``."""
        value = self.get_str(key, None)
        if value is None:
            return self._missing(key, default)
        m = _HEX.fullmatch(value)
        if m:
            return int(m.group(1) + m.group(2), 16)
        if not _INT.fullmatch(value):
            raise self._error(f"expected an integer, got {value!r}", key)
        return int(value)

    def get_bool(self, key: str, default: Any = _REQUIRED) -> bool:
        """``true`` / ``false`` in any case; an empty value counts as unset. Where Java
        silently takes the default for any other text, pyarn raises a :class:`ConfigError`."""
        value = self.get_str(key, "")
        if not value:
            return self._missing(key, default)
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self._error(f"expected true or false, got {value!r}", key)

    def get_time_duration(self, key: str, default: Any = _REQUIRED, unit: str = "ms") -> int:
        """A duration converted to ``unit`` (``ns``, ``us``, ``ms``, ``s``, ``m``, ``h``, ``d``),
        truncated as Java's ``TimeUnit.convert``. The value may carry one of those suffixes; a
        bare number is in ``unit`` (``Configuration.getTimeDuration``). ``default`` is a number
        in ``unit`` or a string with a suffix."""
        if unit not in _NANOS:
            raise ValueError(f"unknown time unit {unit!r}")
        value = self.get(key)
        if value is None:
            default = self._missing(key, default)
            if not isinstance(default, str):
                return default
            value = default
        text = value.strip().lower()
        suffix = next((s for s in _NANOS if text.endswith(s)), None)
        number = text[: -len(suffix)] if suffix else text
        if not _INT.fullmatch(number):
            raise self._error(f"expected a duration such as 30s or 500ms, got {value!r}", key)
        nanos = int(number) * _NANOS[suffix or unit]
        q = abs(nanos) // _NANOS[unit]
        return q if nanos >= 0 else -q

    def get_bytes(self, key: str, default: Any = _REQUIRED) -> int:
        """A size with an optional binary prefix ``k m g t p e`` (``128m``), as
        ``Configuration.getLongBytes``."""
        value = self.get_str(key, None)
        if value is None:
            return self._missing(key, default)
        multiplier = 1
        number = value
        if value and value[-1].lower() in _BINARY_PREFIXES:
            multiplier = 1024 ** (_BINARY_PREFIXES.index(value[-1].lower()) + 1)
            number = value[:-1]
        if not _INT.fullmatch(number):
            raise self._error(f"expected a size such as 134217728 or 128m, got {value!r}", key)
        return int(number) * multiplier

    @overload
    def get_list(self, key: str) -> List[str]: ...

    @overload
    def get_list(self, key: str, default: None) -> Optional[List[str]]: ...

    @overload
    def get_list(self, key: str, default: Iterable[str]) -> List[str]: ...

    def get_list(self, key: str, default: Optional[Iterable[str]] = ()) -> Optional[List[str]]:
        """The comma- (or newline-) separated items, trimmed, empty ones dropped; when unset,
        ``default`` as a list (``None`` stays ``None``: "not set" apart from "set to nothing")."""
        value = self.get(key)
        if value is None:
            return None if default is None else list(default)
        return [item.strip() for item in re.split(r"[,\n]", value) if item.strip()]

    def get_address(self, key: str, default_port: Optional[int] = None,
                    default: Any = _REQUIRED) -> Address:
        """``host:port`` (or ``[v6]:port``, or a URI with an authority) as ``(host, port)``;
        ``default_port`` when the value has no port (``NetUtils.createSocketAddr``)."""
        value = self.get_str(key, None)
        if not value:
            return self._missing(key, default)
        try:
            return parse_address(value, default_port)
        except ValueError as e:
            raise self._error(str(e), key) from None
