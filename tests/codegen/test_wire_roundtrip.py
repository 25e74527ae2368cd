"""Every message we define, fully populated, crosses to Hadoop's own definition and back.

Our generated class encodes; a class built on the fly from the matching
reference ``.proto`` (compiled in a temp dir, loaded in a private descriptor
pool) decodes; then the reverse. Any difference in a field number, type,
label or enum value shows up as a field that does not survive the trip.
"""
from __future__ import annotations

import importlib
from typing import Dict, Iterator, List

import pytest
from google.protobuf import descriptor, descriptor_pool, json_format, message_factory

from codegen import generate, verify

_MAX_DEPTH = 4
FD = descriptor.FieldDescriptor


def _our_modules():
    for path in sorted(generate.protoc.OUT_DIR.glob("*_pb2.py")):
        module = importlib.import_module(f"hadoop_protos.{path.stem}")
        if module.DESCRIPTOR.package.startswith("hadoop."):
            yield module


def _all_messages(desc_container) -> Iterator[descriptor.Descriptor]:
    for msg in desc_container.message_types_by_name.values():
        yield from _walk(msg)


def _walk(msg: descriptor.Descriptor) -> Iterator[descriptor.Descriptor]:
    if msg.GetOptions().map_entry:
        return
    yield msg
    for nested in msg.nested_types:
        yield from _walk(nested)


def _scalar(field: FD, salt: int):
    t = field.type
    if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
        return -1000 - salt
    if t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return -(2**40) - salt
    if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return 3_000_000_000 + salt
    if t in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return 2**63 + salt
    if t == FD.TYPE_BOOL:
        return True
    if t in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return 0.5 + salt
    if t == FD.TYPE_STRING:
        return f"{field.name}-{salt}-é"
    if t == FD.TYPE_BYTES:
        return bytes([0, 255, salt % 256]) + field.name.encode()
    if t == FD.TYPE_ENUM:
        values = field.enum_type.values
        return values[(salt + len(values) - 1) % len(values)].number
    raise AssertionError(f"unhandled type {t} of {field.full_name}")


def _is_repeated(field: FD) -> bool:
    flag = getattr(field, "is_repeated", None)
    return flag if flag is not None else field.label == FD.LABEL_REPEATED


def _is_required(field: FD) -> bool:
    flag = getattr(field, "is_required", None)
    return flag if flag is not None else field.label == FD.LABEL_REQUIRED


def populate(msg, depth: int = 0) -> None:
    """Set every field of ``msg`` (one member per oneof), recursively; below
    ``_MAX_DEPTH`` only required ones, so recursive messages end."""
    oneofs_done = set()
    for field in msg.DESCRIPTOR.fields:
        if field.containing_oneof is not None:
            if field.containing_oneof.name in oneofs_done:
                continue
            oneofs_done.add(field.containing_oneof.name)
        is_repeated = _is_repeated(field)
        if field.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP):
            if depth >= _MAX_DEPTH and not _is_required(field):
                continue
            if field.message_type.GetOptions().map_entry:
                key_field, value_field = field.message_type.fields_by_name["key"], \
                    field.message_type.fields_by_name["value"]
                key = _scalar(key_field, 1)
                if value_field.type == FD.TYPE_MESSAGE:
                    populate(getattr(msg, field.name)[key], depth + 1)
                else:
                    getattr(msg, field.name)[key] = _scalar(value_field, 1)
            elif is_repeated:
                for _ in range(2):
                    populate(getattr(msg, field.name).add(), depth + 1)
            else:
                sub = getattr(msg, field.name)
                sub.SetInParent()
                populate(sub, depth + 1)
        elif is_repeated:
            getattr(msg, field.name).extend([_scalar(field, 1), _scalar(field, 2)])
        else:
            setattr(msg, field.name, _scalar(field, 0))


@pytest.fixture(scope="module")
def reference_classes(reference_protos) -> Dict[str, type]:
    pool = descriptor_pool.DescriptorPool()
    for file_proto in verify.reference_descriptor_set(reference_protos).file:
        try:
            pool.Add(file_proto)
        except TypeError:
            continue  # a second file defining the same messages (ProtobufRpcEngine2)
    classes = {}
    for file_proto in verify.reference_descriptor_set(reference_protos).file:
        try:
            fd = pool.FindFileByName(file_proto.name)
        except KeyError:
            continue
        for msg in _all_messages(fd):
            classes[msg.full_name] = message_factory.GetMessageClass(msg)
    return classes


def _our_messages() -> List[descriptor.Descriptor]:
    return [m for module in _our_modules() for m in _all_messages(module.DESCRIPTOR)]


def test_we_define_the_messages_pyarn_speaks():
    names = {m.full_name for m in _our_messages()}
    for required in ("hadoop.common.RpcRequestHeaderProto", "hadoop.yarn.SubmitApplicationRequestProto",
                     "hadoop.yarn.AMRMTokenIdentifierProto", "hadoop.hdfs.AddBlockRequestProto",
                     "hadoop.hdfs.OpWriteBlockProto"):
        assert required in names


def test_every_message_round_trips_through_the_reference(reference_classes):
    checked = 0
    failures = []
    for desc in _our_messages():
        ours_cls = message_factory.GetMessageClass(desc)
        ref_cls = reference_classes.get(desc.full_name)
        assert ref_cls is not None, f"{desc.full_name} has no reference definition"
        ours = ours_cls()
        populate(ours)
        data = ours.SerializeToString()
        theirs = ref_cls.FromString(data)
        as_dict = json_format.MessageToDict(ours, preserving_proto_field_name=True)
        if json_format.MessageToDict(theirs, preserving_proto_field_name=True) != as_dict:
            failures.append(f"{desc.full_name}: ours -> reference changed the fields")
            continue
        back = ours_cls.FromString(theirs.SerializeToString())
        if back != ours:
            failures.append(f"{desc.full_name}: reference -> ours changed the fields")
        checked += 1
    assert failures == []
    assert checked > 300


def test_populate_sets_every_kind_of_field():
    from hadoop_protos.rpc_header_pb2 import RpcSaslProto

    msg = RpcSaslProto()
    populate(msg)
    assert len(msg.auths) == 2 and msg.auths[0].challenge
    assert msg.state == RpcSaslProto.WRAP  # the last enum value, not the default
