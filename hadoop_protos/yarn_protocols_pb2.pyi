from hadoop_protos import security_pb2 as _security_pb2
from hadoop_protos import yarn_records_pb2 as _yarn_records_pb2
from hadoop_protos import yarn_service_pb2 as _yarn_service_pb2
from hadoop_protos import pyarn_options_pb2 as _pyarn_options_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
