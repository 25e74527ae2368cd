"""Running protoc (from grpcio-tools) over pyarn's proto sources."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable, List

from google.protobuf import descriptor_pb2

REPO = Path(__file__).resolve().parent.parent
PROTO_DIR = REPO / "hadoop_protos" / "proto"
OUT_DIR = REPO / "hadoop_protos"


class ProtocError(RuntimeError):
    """protoc rejected the sources; the message is protoc's own output."""


def well_known_include() -> Path:
    """The folder holding google/protobuf/*.proto shipped with grpcio-tools."""
    import grpc_tools

    return Path(grpc_tools.__file__).resolve().parent / "_proto"


def our_sources() -> List[Path]:
    return sorted(PROTO_DIR.glob("*.proto"))


def run_protoc(args: Iterable[str]) -> None:
    cmd = [sys.executable, "-m", "grpc_tools.protoc", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ProtocError(proc.stderr.strip() or proc.stdout.strip() or f"protoc exited {proc.returncode}")


def descriptor_set(sources: Iterable[Path], include_dirs: Iterable[Path]) -> descriptor_pb2.FileDescriptorSet:
    """Compile ``sources`` and return the FileDescriptorSet, imports included."""
    sources = [Path(s) for s in sources]
    with tempfile.TemporaryDirectory(prefix="pyarn-codegen-") as tmp:
        out = os.path.join(tmp, "set.pb")
        includes = [f"-I{d}" for d in include_dirs] + [f"-I{well_known_include()}"]
        run_protoc([*includes, f"--descriptor_set_out={out}", "--include_imports",
                    "--include_source_info", *map(str, sources)])
        fds = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            fds.ParseFromString(f.read())
    return fds
