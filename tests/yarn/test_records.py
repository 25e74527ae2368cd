"""Records and enums: every proto conversion, fully populated, both ways; enums cover their protos."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import attrs
import pytest
from google.protobuf.descriptor import FieldDescriptor

from hadoop_protos import yarn_records_pb2 as pb
from pyarn.security.tokens import Token
from pyarn.yarn import records
from pyarn.yarn.records import (
    ApplicationAttemptId,
    ApplicationAttemptReport,
    ApplicationAttemptState,
    ApplicationId,
    ApplicationReport,
    ApplicationState,
    ApplicationTimeout,
    ApplicationTimeoutType,
    ClusterMetrics,
    ContainerId,
    ContainerReport,
    ContainerState,
    ExecutionType,
    FinalStatus,
    LogAggregationStatus,
    NodeAttribute,
    NodeId,
    NodeReport,
    NodeState,
    NodeUpdateType,
    Queue,
    QueueState,
    QueueStatistics,
    Resource,
    ResourceUsageReport,
    ResourceUtilization,
)

UTC = timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+)

# ---- A fully populated proto of any message ----------------------------------------

FD = FieldDescriptor
_64_BIT = (FD.CPPTYPE_INT64, FD.CPPTYPE_UINT64)


def _scalar(field: FieldDescriptor, index: int):
    if field.type == FD.TYPE_STRING:
        return f"{field.name}-{index}"
    if field.type == FD.TYPE_BYTES:
        return f"{field.name}-{index}".encode()
    if field.type == FD.TYPE_BOOL:
        return True
    if field.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return 0.25 * (field.number + index)  # exact in float32
    if field.type == FD.TYPE_ENUM:  # not the default, so that it must really be carried
        values = field.enum_type.values
        return values[(len(values) - 1 - index) % len(values)].number
    if field.cpp_type in _64_BIT:  # a millisecond time in 2014 when it is one
        return 1410901177871 + 1000 * field.number + index
    return 100 + field.number + index


def populated(cls, index: int = 0, _stack: tuple = ()):
    """*cls* with every field set (repeated ones twice); recursive types two levels deep."""
    message = cls()
    stack = _stack + (cls.DESCRIPTOR.full_name,)
    for field in cls.DESCRIPTOR.fields:
        repeated = field.is_repeated
        if field.message_type is not None:
            if stack.count(field.message_type.full_name) >= 2:
                continue
            sub = field.message_type._concrete_class
            if repeated:
                getattr(message, field.name).extend(populated(sub, i, stack) for i in range(2))
            else:
                getattr(message, field.name).CopyFrom(populated(sub, index, stack))
        elif repeated:
            getattr(message, field.name).extend(_scalar(field, index * 2 + i) for i in range(2))
        else:
            setattr(message, field.name, _scalar(field, index))
    return message


#: Proto fields the records leave out on purpose.
DROPPED = {
    # Hadoop itself ignores the deprecated app_id of a ContainerIdProto.
    "hadoop.yarn.ContainerIdProto": {"app_id"},
    # Other resource types travel as name -> amount in the type's configured units.
    "hadoop.yarn.ResourceInformationProto": {"units", "type", "tags", "attributes"},
    # Per-partition queue configuration: not reported by pyarn yet.
    "hadoop.yarn.QueueInfoProto": {"queueConfigurationsMap"},
}


def without_dropped(message):
    message = type(message).FromString(message.SerializeToString())
    _strip(message)
    return message


def _strip(message):
    for name in DROPPED.get(message.DESCRIPTOR.full_name, ()):
        message.ClearField(name)
    for field, value in message.ListFields():
        if field.message_type is not None:
            for item in (value if field.is_repeated else [value]):
                _strip(item)


RECORDS = [
    (ApplicationId, pb.ApplicationIdProto),
    (ApplicationAttemptId, pb.ApplicationAttemptIdProto),
    (ContainerId, pb.ContainerIdProto),
    (NodeId, pb.NodeIdProto),
    (Resource, pb.ResourceProto),
    (ResourceUtilization, pb.ResourceUtilizationProto),
    (ResourceUsageReport, pb.ApplicationResourceUsageReportProto),
    (ApplicationTimeout, pb.AppTimeoutsMapProto),
    (ApplicationReport, pb.ApplicationReportProto),
    (ApplicationAttemptReport, pb.ApplicationAttemptReportProto),
    (ContainerReport, pb.ContainerReportProto),
    (NodeAttribute, pb.NodeAttributeProto),
    (NodeReport, pb.NodeReportProto),
    (QueueStatistics, pb.QueueStatisticsProto),
    (Queue, pb.QueueInfoProto),
    (ClusterMetrics, pb.YarnClusterMetricsProto),
]


@pytest.mark.parametrize("record_cls, proto_cls", RECORDS, ids=[r.__name__ for r, _ in RECORDS])
def test_full_proto_round_trip(record_cls, proto_cls):
    full = populated(proto_cls)
    record = record_cls.from_proto(full)
    back = record.to_proto()
    assert isinstance(back, proto_cls)
    # Every field the record keeps comes back as it went in...
    assert back == without_dropped(full)
    # ...over the wire too, and reads back as the same record.
    assert record_cls.from_proto(proto_cls.FromString(back.SerializeToString())) == record
    hash(record)
    # A fully populated proto leaves no attribute of the record unset.
    unset = [f.name for f in attrs.fields(record_cls) if getattr(record, f.name) is None]
    assert unset == []


EMPTY_CASES = [
    (ApplicationReport, pb.ApplicationReportProto),
    (ApplicationAttemptReport, pb.ApplicationAttemptReportProto),
    (ContainerReport, pb.ContainerReportProto),
    (NodeReport, pb.NodeReportProto),
    (Queue, pb.QueueInfoProto),
]


@pytest.mark.parametrize("record_cls, proto_cls", EMPTY_CASES, ids=[r.__name__ for r, _ in EMPTY_CASES])
def test_unset_fields_read_as_none_and_stay_unset(record_cls, proto_cls):
    record = record_cls.from_proto(proto_cls())
    nullable = {f.name for f in attrs.fields(record_cls) if f.default is None}
    assert nullable and all(getattr(record, name) is None for name in nullable)
    back = record.to_proto()
    # What was None stays unset; only ids, resources and plain numbers, flags and names are always sent.
    for field, _ in back.ListFields():
        assert field.message_type is None or field.message_type.name in (
            "ApplicationIdProto", "ApplicationAttemptIdProto", "ContainerIdProto", "NodeIdProto",
            "ResourceProto"), field.name
    for name in ("startTime", "yarn_application_state", "diagnostics", "priority", "container_exit_status",
                 "node_state", "state", "capacity"):
        if name in back.DESCRIPTOR.fields_by_name:
            assert not back.HasField(name), name
    assert record_cls.from_proto(back) == record


def test_application_report_defaults_match_hadoop_readings():
    report = ApplicationReport.from_proto(pb.ApplicationReportProto(
        applicationId=ApplicationId(1, 2).to_proto(), startTime=0, finishTime=0, diagnostics=""))
    assert report.id == ApplicationId.parse("application_1_0002")
    assert report.start_time is None and report.finish_time is None  # 0 means "not yet"
    assert report.diagnostics == ""  # set but empty stays empty
    assert report.state is None and report.final_status is None and report.usage is None
    assert report.port == 0 and report.progress == 0.0 and report.unmanaged is False
    assert report.tags == frozenset() and report.timeouts == ()


def test_container_report_exit_status_is_none_until_set():
    cid = ContainerId.parse("container_e02_1_0001_01_000003")
    running = ContainerReport.from_proto(pb.ContainerReportProto(container_id=cid.to_proto()))
    assert running.exit_status is None
    done = ContainerReport.from_proto(pb.ContainerReportProto(container_id=cid.to_proto(),
                                                              container_exit_status=0))
    assert done.exit_status == 0
    assert done.execution_type is ExecutionType.GUARANTEED


# ---- Times -----------------------------------------------------------------------------


def test_times_are_utc_datetimes_to_the_millisecond():
    proto = pb.ApplicationReportProto(applicationId=ApplicationId(1, 1).to_proto(),
                                      startTime=1410901177871, finishTime=1410901237872)
    report = ApplicationReport.from_proto(proto)
    assert report.start_time == datetime(2014, 9, 16, 20, 59, 37, 871000, tzinfo=UTC)
    assert report.start_time.tzinfo is not None
    assert report.runtime == timedelta(seconds=60, milliseconds=1)
    assert report.to_proto().startTime == 1410901177871


def test_naive_datetimes_are_taken_as_utc():
    report = ApplicationReport(id=ApplicationId(1, 1), start_time=datetime(2014, 9, 16, 20, 59, 37, 871000))
    assert report.to_proto().startTime == 1410901177871


def test_runtime_of_unstarted_and_running_applications():
    assert ApplicationReport(id=ApplicationId(1, 1)).runtime == timedelta(0)
    started = datetime.now(UTC) - timedelta(seconds=5)
    assert ApplicationReport(id=ApplicationId(1, 1), start_time=started).runtime >= timedelta(seconds=5)


def test_absurd_time_from_a_peer_is_a_value_error():
    proto = pb.ApplicationReportProto(applicationId=ApplicationId(1, 1).to_proto(), startTime=2**62)
    with pytest.raises(ValueError, match="startTime"):
        ApplicationReport.from_proto(proto)


# ---- Resources and queues -----------------------------------------------------------


def test_resource_other_types():
    proto = pb.ResourceProto(memory=2048, virtual_cores=2, resource_value_map=[
        pb.ResourceInformationProto(key="memory-mb", value=2048, units="Mi"),
        pb.ResourceInformationProto(key="vcores", value=2),
        pb.ResourceInformationProto(key="yarn.io/gpu", value=1, units=""),
    ])
    resource = Resource.from_proto(proto)
    assert resource == Resource(memory=2048, vcores=2, resources={"yarn.io/gpu": 1})
    assert (resource.gpus, resource.fpgas) == (1, 0)
    sent = resource.to_proto()
    sent_entries = [(e.key, e.value, e.HasField("units")) for e in sent.resource_value_map]
    assert sent_entries == [("yarn.io/gpu", 1, False)]
    assert hash(resource) == hash(Resource(memory=2048, vcores=2))  # the dict stays out of the hash
    assert resource != Resource(memory=2048, vcores=2)


def test_resource_copies_its_dict():
    amounts = {"yarn.io/gpu": 1}
    resource = Resource(1024, 1, amounts)
    amounts["yarn.io/gpu"] = 2
    assert resource.gpus == 1


def test_queue_percentages_and_children():
    child = pb.QueueInfoProto(queueName="a", capacity=0.25, maximumCapacity=1.0, currentCapacity=1.5,
                              state=pb.Q_RUNNING)
    root = pb.QueueInfoProto(queueName="root", capacity=1.0, childQueues=[child],
                             minResourceMemory=1024)
    queue = Queue.from_proto(root)
    (a,) = queue.child_queues
    assert (a.name, a.state, a.capacity, a.max_capacity, a.percent_used) == ("a", QueueState.RUNNING,
                                                                            25.0, 100.0, 150.0)
    assert queue.min_resources == Resource(memory=1024, vcores=0)
    assert queue.max_resources is None and queue.statistics is None
    back = queue.to_proto()
    assert back.childQueues[0].currentCapacity == pytest.approx(1.5)
    assert back.HasField("minResourceVCore") and not back.HasField("maxResourceMemory")


def test_node_report_host_and_port():
    report = NodeReport(id=NodeId.parse("node1:8041"))
    assert (report.host, report.port) == ("node1", 8041)


def test_application_report_keeps_tokens():
    token = Token(b"id", b"secret", "YARN_CLIENT_TOKEN", "1.2.3.4:5")
    report = ApplicationReport(id=ApplicationId(1, 1), client_to_am_token=token)
    assert ApplicationReport.from_proto(report.to_proto()).client_to_am_token == token
    assert "secret" not in repr(report)


def test_records_are_frozen():
    report = ApplicationReport(id=ApplicationId(1, 1))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        report.name = "x"  # type: ignore[misc]


# ---- Enums -------------------------------------------------------------------------


ENUMS = [
    (ApplicationState, pb.YarnApplicationStateProto, ""),
    (FinalStatus, pb.FinalApplicationStatusProto, "APP_"),
    (ApplicationAttemptState, pb.YarnApplicationAttemptStateProto, "APP_ATTEMPT_"),
    (ContainerState, pb.ContainerStateProto, "C_"),
    (NodeState, pb.NodeStateProto, "NS_"),
    (NodeUpdateType, pb.NodeUpdateTypeProto, ""),
    (QueueState, pb.QueueStateProto, "Q_"),
    (LogAggregationStatus, pb.LogAggregationStatusProto, "LOG_"),
    (ExecutionType, pb.ExecutionTypeProto, ""),
    (ApplicationTimeoutType, pb.ApplicationTimeoutTypeProto, "APP_TIMEOUT_"),
]


@pytest.mark.parametrize("enum_cls, proto_enum, prefix", ENUMS, ids=[e.__name__ for e, _, _ in ENUMS])
def test_enum_covers_every_proto_value(enum_cls, proto_enum, prefix):
    values = proto_enum.DESCRIPTOR.values
    for value in values:
        member = enum_cls.from_proto(value.number)
        assert value.name == prefix + member.name
        assert member.to_proto() == value.number
        assert str(member) == member.value == member.name
    assert len(enum_cls) == len(values)


def test_every_proto_enum_a_record_reads_has_a_python_enum():
    mapped = {proto_enum.DESCRIPTOR.full_name for _, proto_enum, _ in ENUMS}
    unmapped = {
        f"{proto_cls.__name__}.{field.name}"
        for _, proto_cls in RECORDS for field in proto_cls.DESCRIPTOR.fields
        if field.enum_type is not None and field.enum_type.full_name not in mapped
    }
    # A node attribute's type has a single value, STRING, which NodeAttribute implies.
    assert unmapped == {"NodeAttributeProto.attributeType"}


def test_enum_lookup_and_text():
    assert ApplicationState("running") is ApplicationState.RUNNING
    assert ApplicationState("RUNNING") is ApplicationState.RUNNING
    assert FinalStatus.SUCCEEDED == "SUCCEEDED"
    assert f"{NodeState.RUNNING}|{NodeState.LOST:>6}" == "RUNNING|  LOST"
    assert json.dumps([QueueState.DRAINING]) == '["DRAINING"]'
    with pytest.raises(ValueError):
        ApplicationState("sleeping")
    with pytest.raises(ValueError, match="unknown proto value 99"):
        ApplicationState.from_proto(99)


def test_records_module_exports():
    for name in records.__all__:
        assert hasattr(records, name), name


def test_report_without_an_attempt_yet_has_no_current_attempt():
    # The RM sends attempt number -1 while the application is NEW_SAVING.
    from hadoop_protos import yarn_records_pb2 as pb
    from pyarn.yarn.records import ApplicationReport

    app = pb.ApplicationIdProto(id=1, cluster_timestamp=1)
    proto = pb.ApplicationReportProto(
        applicationId=app,
        currentApplicationAttemptId=pb.ApplicationAttemptIdProto(application_id=app, attemptId=-1))
    assert ApplicationReport.from_proto(proto).current_attempt_id is None
