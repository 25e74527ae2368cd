"""YAML and JSON text for specs. PyYAML is imported only when YAML is used."""
from __future__ import annotations

import json
import os
from typing import Any, Optional, Tuple, Union

from ._base import SpecError

Source = Union[str, bytes, "os.PathLike[str]"]

_yaml_classes: Optional[Tuple[type, type]] = None


def _yaml() -> Tuple[type, type]:
    """A safe loader that rejects duplicate keys, and a dumper for readable output."""
    global _yaml_classes
    if _yaml_classes is None:
        import yaml

        class Loader(yaml.SafeLoader):
            def construct_mapping(self, node: Any, deep: bool = False) -> Any:
                # YAML requires unique keys; PyYAML silently keeps the last one,
                # which would drop e.g. a whole service. Merge keys (<<) may
                # legitimately be overridden, so only the written keys count.
                seen: dict = {}
                for key_node, _ in node.value:
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node)
                    line = key_node.start_mark.line + 1
                    if key in seen:
                        raise SpecError(f"duplicate key {key!r} on line {line} (first on line {seen[key]})")
                    seen[key] = line
                return super().construct_mapping(node, deep=deep)

        class Dumper(yaml.SafeDumper):
            def ignore_aliases(self, data: Any) -> bool:
                return True

        def represent_str(dumper: Any, data: str) -> Any:
            # Scripts read best as literal blocks; PyYAML falls back to a quoted
            # scalar by itself when a block cannot hold the text exactly. It
            # writes the Unicode line breaks NEL, LS and PS unescaped in other
            # styles and misreads them, so those strings are double-quoted.
            style: Optional[str] = None
            if any(c in data for c in "\x85\u2028\u2029"):
                style = '"'
            elif "\n" in data:
                style = "|"
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

        Dumper.add_representer(str, represent_str)
        _yaml_classes = (Loader, Dumper)
    return _yaml_classes


def read_source(data: Source) -> Tuple[Union[str, bytes], Optional[str]]:
    """The text of ``data`` and, when it names a file, that file's directory."""
    if isinstance(data, os.PathLike):
        path = os.fspath(data)
        return read_file(path), os.path.dirname(os.path.abspath(path))
    if not isinstance(data, (str, bytes)):
        raise TypeError(f"expected spec text or a path, got {type(data).__name__}")
    return data, None


def read_file(path: str) -> str:
    """The text of a spec file; a file that cannot be read is a :class:`SpecError`."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(f"cannot read spec file {path!r}: {reason}") from exc


def load_yaml(text: Union[str, bytes]) -> Any:
    """Parse YAML (safe subset) with duplicate keys rejected."""
    import yaml

    loader, _ = _yaml()
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"invalid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}") from None


def load_json(text: Union[str, bytes]) -> Any:
    """Parse JSON."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SpecError(f"invalid JSON: {exc}") from None


def dump_yaml(obj: Any) -> str:
    """YAML for a plain dict, keys in the order given, scripts as literal blocks."""
    import yaml

    _, dumper = _yaml()
    return yaml.dump(obj, Dumper=dumper, default_flow_style=False, sort_keys=False, allow_unicode=True)


def dump_json(obj: Any, indent: Optional[int] = None) -> str:
    """JSON for a plain dict."""
    return json.dumps(obj, indent=indent)


def infer_format(path: str, format: Optional[str]) -> str:
    """``'yaml'`` or ``'json'``: ``format`` if given, else from the file extension."""
    if format is None:
        ext = os.path.splitext(path)[1].lower()
        if ext in (".yaml", ".yml"):
            return "yaml"
        if ext == ".json":
            return "json"
        raise SpecError(f"cannot tell the format of {path!r} from its extension; "
                        "use .yaml, .yml or .json, or pass format='yaml' or 'json'")
    if format not in ("yaml", "json"):
        raise ValueError(f"format must be 'yaml' or 'json', got {format!r}")
    return format
