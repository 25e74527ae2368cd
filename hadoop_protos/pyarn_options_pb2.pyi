from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class RetrySafety(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSAFE: _ClassVar[RetrySafety]
    IDEMPOTENT: _ClassVar[RetrySafety]
    AT_MOST_ONCE: _ClassVar[RetrySafety]
UNSAFE: RetrySafety
IDEMPOTENT: RetrySafety
AT_MOST_ONCE: RetrySafety
HADOOP_PROTOCOL_FIELD_NUMBER: _ClassVar[int]
hadoop_protocol: _descriptor.FieldDescriptor
HADOOP_PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
hadoop_protocol_version: _descriptor.FieldDescriptor
RETRY_SAFETY_FIELD_NUMBER: _ClassVar[int]
retry_safety: _descriptor.FieldDescriptor
