"""Produce every generated file of ``hadoop_protos`` and write or check them."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Dict, List

from . import protoc, tables

GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_rpc.py")

_IMPORT = re.compile(r"^import (\w+_pb2) as (\w+)$", re.M)
_PYI_IMPORT = re.compile(r"^import (\w+_pb2) as (\w+)$", re.M)


def _fix_imports(text: str) -> str:
    """protoc writes ``import x_pb2``; our modules live in the hadoop_protos package."""
    return _IMPORT.sub(r"from hadoop_protos import \1 as \2", text)


def render_all() -> Dict[str, str]:
    """File name (relative to hadoop_protos/) -> expected content."""
    sources = protoc.our_sources()
    result: Dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="pyarn-codegen-") as tmp:
        protoc.run_protoc([f"-I{protoc.PROTO_DIR}", f"-I{protoc.well_known_include()}",
                           f"--python_out={tmp}", f"--pyi_out={tmp}", *map(str, sources)])
        for path in sorted(Path(tmp).iterdir()):
            result[path.name] = _fix_imports(path.read_text())
    fds = protoc.descriptor_set(sources, [protoc.PROTO_DIR])
    files = {f.name: f for f in fds.file}
    for src in sources:
        fd = files[src.name]
        if fd.service:
            result[tables.module_name(src.name)[:-len("_pb2")] + "_rpc.py"] = tables.render(fd, files)
    return result


def existing() -> List[Path]:
    return sorted(p for p in protoc.OUT_DIR.iterdir()
                  if p.is_file() and p.name.endswith(GENERATED_SUFFIXES))


def write() -> List[str]:
    """Regenerate; returns the names written or removed."""
    expected = render_all()
    changed = []
    for name, text in expected.items():
        path = protoc.OUT_DIR / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(name)
    for path in existing():
        if path.name not in expected:
            path.unlink()
            changed.append(f"{path.name} (removed)")
    return changed


def stale() -> List[str]:
    """Names of generated files that differ from what the sources produce."""
    expected = render_all()
    problems = []
    for name, text in expected.items():
        path = protoc.OUT_DIR / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif path.read_text() != text:
            problems.append(f"{name}: stale")
    for path in existing():
        if path.name not in expected:
            problems.append(f"{path.name}: no source produces it")
    return problems
