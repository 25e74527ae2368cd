from hadoop_protos import yarn_records_pb2 as _yarn_records_pb2
from hadoop_protos import pyarn_options_pb2 as _pyarn_options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ContainerProto(_message.Message):
    __slots__ = ("service_name", "instance", "state", "yarn_container_id", "yarn_node_id", "yarn_node_http_address", "start_time", "finish_time", "exit_message", "exit_status")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        WAITING: _ClassVar[ContainerProto.State]
        REQUESTED: _ClassVar[ContainerProto.State]
        RUNNING: _ClassVar[ContainerProto.State]
        SUCCEEDED: _ClassVar[ContainerProto.State]
        FAILED: _ClassVar[ContainerProto.State]
        KILLED: _ClassVar[ContainerProto.State]
    WAITING: ContainerProto.State
    REQUESTED: ContainerProto.State
    RUNNING: ContainerProto.State
    SUCCEEDED: ContainerProto.State
    FAILED: ContainerProto.State
    KILLED: ContainerProto.State
    SERVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    YARN_CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    YARN_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    YARN_NODE_HTTP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    EXIT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EXIT_STATUS_FIELD_NUMBER: _ClassVar[int]
    service_name: str
    instance: int
    state: ContainerProto.State
    yarn_container_id: str
    yarn_node_id: str
    yarn_node_http_address: str
    start_time: int
    finish_time: int
    exit_message: str
    exit_status: int
    def __init__(self, service_name: _Optional[str] = ..., instance: _Optional[int] = ..., state: _Optional[_Union[ContainerProto.State, str]] = ..., yarn_container_id: _Optional[str] = ..., yarn_node_id: _Optional[str] = ..., yarn_node_http_address: _Optional[str] = ..., start_time: _Optional[int] = ..., finish_time: _Optional[int] = ..., exit_message: _Optional[str] = ..., exit_status: _Optional[int] = ...) -> None: ...

class GetSpecRequestProto(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSpecResponseProto(_message.Message):
    __slots__ = ("spec_json",)
    SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    spec_json: str
    def __init__(self, spec_json: _Optional[str] = ...) -> None: ...

class GetContainersRequestProto(_message.Message):
    __slots__ = ("services", "states")
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedScalarFieldContainer[str]
    states: _containers.RepeatedScalarFieldContainer[ContainerProto.State]
    def __init__(self, services: _Optional[_Iterable[str]] = ..., states: _Optional[_Iterable[_Union[ContainerProto.State, str]]] = ...) -> None: ...

class GetContainersResponseProto(_message.Message):
    __slots__ = ("containers",)
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    containers: _containers.RepeatedCompositeFieldContainer[ContainerProto]
    def __init__(self, containers: _Optional[_Iterable[_Union[ContainerProto, _Mapping]]] = ...) -> None: ...

class ScaleRequestProto(_message.Message):
    __slots__ = ("service_name", "count", "delta")
    SERVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    service_name: str
    count: int
    delta: int
    def __init__(self, service_name: _Optional[str] = ..., count: _Optional[int] = ..., delta: _Optional[int] = ...) -> None: ...

class ScaleResponseProto(_message.Message):
    __slots__ = ("containers",)
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    containers: _containers.RepeatedCompositeFieldContainer[ContainerProto]
    def __init__(self, containers: _Optional[_Iterable[_Union[ContainerProto, _Mapping]]] = ...) -> None: ...

class EnvEntryProto(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class AddContainerRequestProto(_message.Message):
    __slots__ = ("service_name", "env")
    SERVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    service_name: str
    env: _containers.RepeatedCompositeFieldContainer[EnvEntryProto]
    def __init__(self, service_name: _Optional[str] = ..., env: _Optional[_Iterable[_Union[EnvEntryProto, _Mapping]]] = ...) -> None: ...

class AddContainerResponseProto(_message.Message):
    __slots__ = ("container",)
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    container: ContainerProto
    def __init__(self, container: _Optional[_Union[ContainerProto, _Mapping]] = ...) -> None: ...

class KillContainerRequestProto(_message.Message):
    __slots__ = ("container_id",)
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    container_id: str
    def __init__(self, container_id: _Optional[str] = ...) -> None: ...

class KillContainerResponseProto(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ShutdownRequestProto(_message.Message):
    __slots__ = ("final_status", "diagnostics")
    FINAL_STATUS_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    final_status: _yarn_records_pb2.FinalApplicationStatusProto
    diagnostics: str
    def __init__(self, final_status: _Optional[_Union[_yarn_records_pb2.FinalApplicationStatusProto, str]] = ..., diagnostics: _Optional[str] = ...) -> None: ...

class ShutdownResponseProto(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetProgressRequestProto(_message.Message):
    __slots__ = ("progress",)
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    progress: float
    def __init__(self, progress: _Optional[float] = ...) -> None: ...

class SetProgressResponseProto(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KeyValueProto(_message.Message):
    __slots__ = ("key", "value", "owner", "create_revision", "mod_revision", "version")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATE_REVISION_FIELD_NUMBER: _ClassVar[int]
    MOD_REVISION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: bytes
    owner: str
    create_revision: int
    mod_revision: int
    version: int
    def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ..., owner: _Optional[str] = ..., create_revision: _Optional[int] = ..., mod_revision: _Optional[int] = ..., version: _Optional[int] = ...) -> None: ...

class RangeRequestProto(_message.Message):
    __slots__ = ("start", "end", "result_type")
    class ResultType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ITEMS: _ClassVar[RangeRequestProto.ResultType]
        KEYS: _ClassVar[RangeRequestProto.ResultType]
        COUNT: _ClassVar[RangeRequestProto.ResultType]
    ITEMS: RangeRequestProto.ResultType
    KEYS: RangeRequestProto.ResultType
    COUNT: RangeRequestProto.ResultType
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    RESULT_TYPE_FIELD_NUMBER: _ClassVar[int]
    start: str
    end: str
    result_type: RangeRequestProto.ResultType
    def __init__(self, start: _Optional[str] = ..., end: _Optional[str] = ..., result_type: _Optional[_Union[RangeRequestProto.ResultType, str]] = ...) -> None: ...

class RangeResponseProto(_message.Message):
    __slots__ = ("revision", "count", "kvs")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    KVS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    count: int
    kvs: _containers.RepeatedCompositeFieldContainer[KeyValueProto]
    def __init__(self, revision: _Optional[int] = ..., count: _Optional[int] = ..., kvs: _Optional[_Iterable[_Union[KeyValueProto, _Mapping]]] = ...) -> None: ...

class PutRequestProto(_message.Message):
    __slots__ = ("key", "value", "owner", "ignore_value", "ignore_owner", "return_previous")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    IGNORE_VALUE_FIELD_NUMBER: _ClassVar[int]
    IGNORE_OWNER_FIELD_NUMBER: _ClassVar[int]
    RETURN_PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: bytes
    owner: str
    ignore_value: bool
    ignore_owner: bool
    return_previous: bool
    def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ..., owner: _Optional[str] = ..., ignore_value: bool = ..., ignore_owner: bool = ..., return_previous: bool = ...) -> None: ...

class PutResponseProto(_message.Message):
    __slots__ = ("revision", "previous")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    previous: KeyValueProto
    def __init__(self, revision: _Optional[int] = ..., previous: _Optional[_Union[KeyValueProto, _Mapping]] = ...) -> None: ...

class DeleteRangeRequestProto(_message.Message):
    __slots__ = ("start", "end", "return_previous")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    RETURN_PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    start: str
    end: str
    return_previous: bool
    def __init__(self, start: _Optional[str] = ..., end: _Optional[str] = ..., return_previous: bool = ...) -> None: ...

class DeleteRangeResponseProto(_message.Message):
    __slots__ = ("revision", "deleted", "previous")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    deleted: int
    previous: _containers.RepeatedCompositeFieldContainer[KeyValueProto]
    def __init__(self, revision: _Optional[int] = ..., deleted: _Optional[int] = ..., previous: _Optional[_Iterable[_Union[KeyValueProto, _Mapping]]] = ...) -> None: ...

class ConditionProto(_message.Message):
    __slots__ = ("key", "target", "operator", "value", "owner", "number")
    class Target(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        VALUE: _ClassVar[ConditionProto.Target]
        OWNER: _ClassVar[ConditionProto.Target]
        VERSION: _ClassVar[ConditionProto.Target]
        CREATE_REVISION: _ClassVar[ConditionProto.Target]
        MOD_REVISION: _ClassVar[ConditionProto.Target]
    VALUE: ConditionProto.Target
    OWNER: ConditionProto.Target
    VERSION: ConditionProto.Target
    CREATE_REVISION: ConditionProto.Target
    MOD_REVISION: ConditionProto.Target
    class Operator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        EQUAL: _ClassVar[ConditionProto.Operator]
        NOT_EQUAL: _ClassVar[ConditionProto.Operator]
        LESS: _ClassVar[ConditionProto.Operator]
        LESS_EQUAL: _ClassVar[ConditionProto.Operator]
        GREATER: _ClassVar[ConditionProto.Operator]
        GREATER_EQUAL: _ClassVar[ConditionProto.Operator]
    EQUAL: ConditionProto.Operator
    NOT_EQUAL: ConditionProto.Operator
    LESS: ConditionProto.Operator
    LESS_EQUAL: ConditionProto.Operator
    GREATER: ConditionProto.Operator
    GREATER_EQUAL: ConditionProto.Operator
    KEY_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    key: str
    target: ConditionProto.Target
    operator: ConditionProto.Operator
    value: bytes
    owner: str
    number: int
    def __init__(self, key: _Optional[str] = ..., target: _Optional[_Union[ConditionProto.Target, str]] = ..., operator: _Optional[_Union[ConditionProto.Operator, str]] = ..., value: _Optional[bytes] = ..., owner: _Optional[str] = ..., number: _Optional[int] = ...) -> None: ...

class RequestOpProto(_message.Message):
    __slots__ = ("range", "put", "delete_range")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PUT_FIELD_NUMBER: _ClassVar[int]
    DELETE_RANGE_FIELD_NUMBER: _ClassVar[int]
    range: RangeRequestProto
    put: PutRequestProto
    delete_range: DeleteRangeRequestProto
    def __init__(self, range: _Optional[_Union[RangeRequestProto, _Mapping]] = ..., put: _Optional[_Union[PutRequestProto, _Mapping]] = ..., delete_range: _Optional[_Union[DeleteRangeRequestProto, _Mapping]] = ...) -> None: ...

class ResponseOpProto(_message.Message):
    __slots__ = ("range", "put", "delete_range")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PUT_FIELD_NUMBER: _ClassVar[int]
    DELETE_RANGE_FIELD_NUMBER: _ClassVar[int]
    range: RangeResponseProto
    put: PutResponseProto
    delete_range: DeleteRangeResponseProto
    def __init__(self, range: _Optional[_Union[RangeResponseProto, _Mapping]] = ..., put: _Optional[_Union[PutResponseProto, _Mapping]] = ..., delete_range: _Optional[_Union[DeleteRangeResponseProto, _Mapping]] = ...) -> None: ...

class TransactionRequestProto(_message.Message):
    __slots__ = ("conditions", "on_success", "on_failure")
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    ON_SUCCESS_FIELD_NUMBER: _ClassVar[int]
    ON_FAILURE_FIELD_NUMBER: _ClassVar[int]
    conditions: _containers.RepeatedCompositeFieldContainer[ConditionProto]
    on_success: _containers.RepeatedCompositeFieldContainer[RequestOpProto]
    on_failure: _containers.RepeatedCompositeFieldContainer[RequestOpProto]
    def __init__(self, conditions: _Optional[_Iterable[_Union[ConditionProto, _Mapping]]] = ..., on_success: _Optional[_Iterable[_Union[RequestOpProto, _Mapping]]] = ..., on_failure: _Optional[_Iterable[_Union[RequestOpProto, _Mapping]]] = ...) -> None: ...

class TransactionResponseProto(_message.Message):
    __slots__ = ("succeeded", "revision", "results")
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    succeeded: bool
    revision: int
    results: _containers.RepeatedCompositeFieldContainer[ResponseOpProto]
    def __init__(self, succeeded: bool = ..., revision: _Optional[int] = ..., results: _Optional[_Iterable[_Union[ResponseOpProto, _Mapping]]] = ...) -> None: ...

class WaitRequestProto(_message.Message):
    __slots__ = ("key", "timeout_ms")
    KEY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    key: str
    timeout_ms: int
    def __init__(self, key: _Optional[str] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class WaitResponseProto(_message.Message):
    __slots__ = ("revision", "kv")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    KV_FIELD_NUMBER: _ClassVar[int]
    revision: int
    kv: KeyValueProto
    def __init__(self, revision: _Optional[int] = ..., kv: _Optional[_Union[KeyValueProto, _Mapping]] = ...) -> None: ...

class WatchFilterProto(_message.Message):
    __slots__ = ("start", "end", "event_type")
    class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ALL: _ClassVar[WatchFilterProto.EventType]
        PUT: _ClassVar[WatchFilterProto.EventType]
        DELETE: _ClassVar[WatchFilterProto.EventType]
    ALL: WatchFilterProto.EventType
    PUT: WatchFilterProto.EventType
    DELETE: WatchFilterProto.EventType
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    start: str
    end: str
    event_type: WatchFilterProto.EventType
    def __init__(self, start: _Optional[str] = ..., end: _Optional[str] = ..., event_type: _Optional[_Union[WatchFilterProto.EventType, str]] = ...) -> None: ...

class EventProto(_message.Message):
    __slots__ = ("type", "kv", "revision", "filters")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PUT: _ClassVar[EventProto.Type]
        DELETE: _ClassVar[EventProto.Type]
    PUT: EventProto.Type
    DELETE: EventProto.Type
    TYPE_FIELD_NUMBER: _ClassVar[int]
    KV_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    type: EventProto.Type
    kv: KeyValueProto
    revision: int
    filters: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, type: _Optional[_Union[EventProto.Type, str]] = ..., kv: _Optional[_Union[KeyValueProto, _Mapping]] = ..., revision: _Optional[int] = ..., filters: _Optional[_Iterable[int]] = ...) -> None: ...

class WatchRequestProto(_message.Message):
    __slots__ = ("filters", "after_revision", "timeout_ms", "max_events")
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    AFTER_REVISION_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_FIELD_NUMBER: _ClassVar[int]
    filters: _containers.RepeatedCompositeFieldContainer[WatchFilterProto]
    after_revision: int
    timeout_ms: int
    max_events: int
    def __init__(self, filters: _Optional[_Iterable[_Union[WatchFilterProto, _Mapping]]] = ..., after_revision: _Optional[int] = ..., timeout_ms: _Optional[int] = ..., max_events: _Optional[int] = ...) -> None: ...

class WatchResponseProto(_message.Message):
    __slots__ = ("revision", "cursor", "events", "compacted")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    COMPACTED_FIELD_NUMBER: _ClassVar[int]
    revision: int
    cursor: int
    events: _containers.RepeatedCompositeFieldContainer[EventProto]
    compacted: bool
    def __init__(self, revision: _Optional[int] = ..., cursor: _Optional[int] = ..., events: _Optional[_Iterable[_Union[EventProto, _Mapping]]] = ..., compacted: bool = ...) -> None: ...
