"""Compare pyarn's proto definitions with Hadoop's reference ``.proto`` files.

Everything that decides the bytes on the wire is compared: message and enum
names (with their package), field numbers, names, types, labels, defaults and
packing, oneof membership, extension ranges, enum values, services, methods and
their request/response types. A reference file counts as mirrored as soon as
we carry one of its definitions; from then on each definition of it that we
lack is a difference too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

from google.protobuf import descriptor_pb2 as d

from . import protoc

#: Folders of the reference tree that hold superseded copies, not current definitions.
SKIPPED_DIRS = {"historical"}

_Defs = Dict[str, Tuple[str, object]]  # full name -> (file name, descriptor proto)


def _walk_messages(prefix: str, messages, file_name: str, out_msgs: _Defs, out_enums: _Defs) -> None:
    for m in messages:
        name = f"{prefix}.{m.name}"
        out_msgs[name] = (file_name, m)
        for e in m.enum_type:
            out_enums[f"{name}.{e.name}"] = (file_name, e)
        _walk_messages(name, m.nested_type, file_name, out_msgs, out_enums)


def _index(fds: d.FileDescriptorSet, files: Set[str]) -> Tuple[_Defs, _Defs, _Defs]:
    msgs: _Defs = {}
    enums: _Defs = {}
    services: _Defs = {}
    for f in fds.file:
        if f.name not in files:
            continue
        prefix = f".{f.package}" if f.package else ""
        if any(f".{f.package}.{m.name}" in msgs for m in f.message_type):
            continue  # a second file defining the same messages
        _walk_messages(prefix, f.message_type, f.name, msgs, enums)
        for e in f.enum_type:
            enums[f"{prefix}.{e.name}"] = (f.name, e)
        for s in f.service:
            services[f"{prefix}.{s.name}"] = (f.name, s)
    return msgs, enums, services


def _reference_sources(refdir: Path) -> List[Path]:
    return sorted(p for p in refdir.rglob("*.proto")
                  if not SKIPPED_DIRS.intersection(p.relative_to(refdir).parts))


def reference_descriptor_set(refdir: Path) -> d.FileDescriptorSet:
    """Every reference file compiled, each once, dependencies before dependants.

    One protoc run per file: Hadoop ships two files that define the same
    message (ProtobufRpcEngine.proto and ProtobufRpcEngine2.proto).
    """
    sources = _reference_sources(Path(refdir))
    include_dirs = sorted({p.parent for p in sources})
    fds = d.FileDescriptorSet()
    seen: Set[str] = set()
    for source in sources:
        for f in protoc.descriptor_set([source], include_dirs).file:
            if f.name not in seen:
                seen.add(f.name)
                fds.file.append(f)
    return fds


def _ours() -> Tuple[d.FileDescriptorSet, Set[str]]:
    sources = protoc.our_sources()
    fds = protoc.descriptor_set(sources, [protoc.PROTO_DIR])
    mine = {f.name for f in fds.file
            if f.name in {s.name for s in sources} and not f.package.startswith("pyarn")}
    return fds, mine


_LABELS = {1: "optional", 2: "required", 3: "repeated"}


def _type_of(f: d.FieldDescriptorProto) -> str:
    if f.type_name:
        return f.type_name
    return d.FieldDescriptorProto.Type.Name(f.type).replace("TYPE_", "").lower()


def _field_traits(msg: d.DescriptorProto, f: d.FieldDescriptorProto) -> Dict[str, object]:
    return {
        "name": f.name,
        "label": _LABELS.get(f.label, f.label),
        "type": _type_of(f),
        "default": f.default_value if f.HasField("default_value") else None,
        "packed": f.options.packed if f.options.HasField("packed") else None,
        "oneof": msg.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") else None,
    }


def _compare_message(name: str, ours: d.DescriptorProto, ref: d.DescriptorProto) -> Iterator[str]:
    our_fields = {f.number: f for f in ours.field}
    ref_fields = {f.number: f for f in ref.field}
    for number in sorted(set(our_fields) | set(ref_fields)):
        if number not in ref_fields:
            yield f"message {name}: field {number} ({our_fields[number].name}) is not in the reference"
            continue
        if number not in our_fields:
            yield f"message {name}: field {number} ({ref_fields[number].name}) is missing"
            continue
        a = _field_traits(ours, our_fields[number])
        b = _field_traits(ref, ref_fields[number])
        for trait in a:
            if a[trait] != b[trait]:
                yield (f"message {name}: field {number} ({b['name']}) {trait} is "
                       f"{a[trait]!r}, reference has {b[trait]!r}")
    a_ranges = sorted((r.start, r.end) for r in ours.extension_range)
    b_ranges = sorted((r.start, r.end) for r in ref.extension_range)
    if a_ranges != b_ranges:
        yield f"message {name}: extension ranges {a_ranges}, reference has {b_ranges}"


def _compare_enum(name: str, ours: d.EnumDescriptorProto, ref: d.EnumDescriptorProto) -> Iterator[str]:
    a = {v.name: v.number for v in ours.value}
    b = {v.name: v.number for v in ref.value}
    for value in sorted(set(a) | set(b)):
        if value not in b:
            yield f"enum {name}: value {value} = {a[value]} is not in the reference"
        elif value not in a:
            yield f"enum {name}: value {value} = {b[value]} is missing"
        elif a[value] != b[value]:
            yield f"enum {name}: value {value} is {a[value]}, reference has {b[value]}"


def _compare_service(name: str, ours: d.ServiceDescriptorProto,
                     ref: d.ServiceDescriptorProto) -> Iterator[str]:
    a = {m.name: m for m in ours.method}
    b = {m.name: m for m in ref.method}
    for method in sorted(set(a) | set(b)):
        if method not in b:
            yield f"service {name}: method {method} is not in the reference"
        elif method not in a:
            yield f"service {name}: method {method} is missing"
        else:
            for trait in ("input_type", "output_type", "client_streaming", "server_streaming"):
                x, y = getattr(a[method], trait), getattr(b[method], trait)
                if x != y:
                    yield f"service {name}: method {method} {trait} is {x!r}, reference has {y!r}"


def verify(refdir: str) -> List[str]:
    """Every difference between our definitions and the reference, one line each."""
    root = Path(refdir)
    if not root.is_dir():
        raise FileNotFoundError(f"reference folder not found: {refdir}")
    ref_fds = reference_descriptor_set(root)
    ref_files = {f.name for f in ref_fds.file if not f.name.startswith("google/")}
    our_fds, our_files = _ours()

    ours = _index(our_fds, our_files)
    refs = _index(ref_fds, ref_files)
    comparers = (_compare_message, _compare_enum, _compare_service)
    kinds = ("message", "enum", "service")

    mirrored = {refs[k][name][0] for k in range(3) for name in ours[k] if name in refs[k]}
    out: List[str] = []
    for k in range(3):
        for name in sorted(set(ours[k]) | set(refs[k])):
            if name not in refs[k]:
                out.append(f"{kinds[k]} {name} ({ours[k][name][0]}): not in the reference")
            elif name not in ours[k]:
                if refs[k][name][0] in mirrored:
                    out.append(f"{kinds[k]} {name}: missing (reference {refs[k][name][0]})")
            else:
                out.extend(comparers[k](name, ours[k][name][1], refs[k][name][1]))
    return out
