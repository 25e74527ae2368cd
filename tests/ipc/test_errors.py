"""The error hierarchy: Java class registry, built-in error bases, pickling."""
from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from pyarn import errors
from pyarn.errors import (
    AccessControlError,
    ApplicationNotFoundError,
    FailoverExhaustedError,
    FileAlreadyExistsError,
    PyarnError,
    RemoteError,
    RemoteFileNotFoundError,
    RpcTimeoutError,
    YarnError,
    java_class_of,
    remote_error,
)

EXPECTED = {
    "org.apache.hadoop.ipc.StandbyException": errors.StandbyError,
    "org.apache.hadoop.ipc.RetriableException": errors.RetriableError,
    "org.apache.hadoop.security.AccessControlException": errors.AccessControlError,
    "org.apache.hadoop.security.token.SecretManager$InvalidToken": errors.InvalidTokenError,
    "org.apache.hadoop.yarn.exceptions.YarnException": errors.YarnError,
    "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException": errors.ApplicationNotFoundError,
    "org.apache.hadoop.yarn.exceptions.ApplicationAttemptNotFoundException":
        errors.ApplicationAttemptNotFoundError,
    "org.apache.hadoop.yarn.exceptions.ContainerNotFoundException": errors.ContainerNotFoundError,
    "org.apache.hadoop.yarn.exceptions.InvalidApplicationMasterRequestException":
        errors.InvalidApplicationMasterRequestError,
    "org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException":
        errors.ApplicationMasterNotRegisteredError,
    "java.io.FileNotFoundException": errors.RemoteFileNotFoundError,
    "org.apache.hadoop.fs.FileAlreadyExistsException": errors.FileAlreadyExistsError,
    "org.apache.hadoop.fs.ParentNotDirectoryException": errors.ParentNotDirectoryError,
    "org.apache.hadoop.hdfs.server.namenode.SafeModeException": errors.SafeModeError,
    "org.apache.hadoop.ipc.RpcNoSuchMethodException": errors.NoSuchMethodError,
    "org.apache.hadoop.ipc.RpcNoSuchProtocolException": errors.NoSuchProtocolError,
    "org.apache.hadoop.ipc.RpcServerException": errors.RpcServerError,
    "javax.security.sasl.SaslException": errors.SaslError,
    "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException": errors.InvalidResourceRequestError,
    "org.apache.hadoop.yarn.exceptions.InvalidResourceBlacklistRequestException":
        errors.InvalidResourceBlacklistRequestError,
    "org.apache.hadoop.yarn.exceptions.InvalidContainerReleaseException": errors.InvalidContainerReleaseError,
    "org.apache.hadoop.yarn.exceptions.InvalidContainerException": errors.InvalidContainerError,
    "org.apache.hadoop.yarn.exceptions.YARNFeatureNotEnabledException": errors.YarnFeatureNotEnabledError,
    "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException": errors.DirectoryNotEmptyError,
    "org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException": errors.NotReplicatedYetError,
    "org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException": errors.LeaseExpiredError,
    "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException": errors.AlreadyBeingCreatedError,
    "org.apache.hadoop.hdfs.protocol.QuotaExceededException": errors.QuotaExceededError,
}
#: pyarn's own AM error; checked in a fresh process only, as pyarn.application.errors still
#: registers a class of its own for it when imported.
PYARN_EXPECTED = {"pyarn.am.InvalidRequestException": errors.InvalidRequestError}

#: Every Java class pyarn.errors maps; nothing else may be needed for the mapping to hold.
_MAPPED_WITHOUT_IMPORTS = """
import sys
from pyarn.errors import remote_error
for name in sys.argv[1:]:
    print(type(remote_error(name, "x")).__name__)
elsewhere = ("pyarn.hdfs", "pyarn.yarn", "pyarn.am", "pyarn.application")
assert not [m for m in sys.modules if m.startswith(elsewhere)]
"""


@pytest.mark.parametrize("java_class, cls", sorted(EXPECTED.items()))
def test_registry_maps_java_classes_and_back(java_class, cls):
    error = remote_error(java_class, "boom")
    assert type(error) is cls
    assert isinstance(error, RemoteError) and isinstance(error, PyarnError)
    assert error.java_class == java_class
    assert java_class_of(error) == java_class
    assert java_class_of(cls("raised locally")) == java_class


def test_the_mapping_does_not_depend_on_what_else_was_imported():
    """A process that only imports pyarn.errors maps every Java class (it once took pyarn.hdfs)."""
    expected = {**EXPECTED, **PYARN_EXPECTED}
    names = sorted(expected)
    out = subprocess.run([sys.executable, "-c", _MAPPED_WITHOUT_IMPORTS, *names], check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == [expected[name].__name__ for name in names]


def test_yarn_request_errors_are_yarn_errors():
    for cls in (errors.InvalidResourceRequestError, errors.InvalidResourceBlacklistRequestError,
                errors.InvalidContainerReleaseError, errors.InvalidContainerError,
                errors.YarnFeatureNotEnabledError):
        assert issubclass(cls, YarnError)


def test_message_is_the_first_line_and_the_java_text_is_kept():
    text = "Application with id 'x' doesn't exist in RM.\r\n\tat a.b.C.d(C.java:1)\n\tat e.f.G.h(G.java:2)"
    error = remote_error("org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException", text, 1)
    assert str(error) == error.message == "Application with id 'x' doesn't exist in RM."
    assert error.java_text == text and error.error_code == 1
    assert isinstance(error, YarnError)


def test_unknown_java_class_is_a_plain_remote_error_keeping_the_name():
    error = remote_error("com.example.WeirdException", None)
    assert type(error) is RemoteError
    assert (error.java_class, error.message, error.java_text) == ("com.example.WeirdException", "", "")


def test_some_remote_errors_are_python_builtins_too():
    assert isinstance(remote_error("java.io.FileNotFoundException", "/x"), FileNotFoundError)
    assert isinstance(remote_error("org.apache.hadoop.fs.FileAlreadyExistsException", "/x"), FileExistsError)
    assert isinstance(remote_error("org.apache.hadoop.security.AccessControlException", "no"),
                      PermissionError)
    assert isinstance(remote_error("org.apache.hadoop.security.authorize.AuthorizationException", "no"),
                      AccessControlError)
    assert isinstance(RpcTimeoutError("t"), TimeoutError)
    assert isinstance(errors.ConnectionClosedError("c"), ConnectionError)
    with pytest.raises(FileNotFoundError):
        raise remote_error("java.io.FileNotFoundException", "/x")


def test_python_builtins_map_to_java_names_for_the_server():
    assert java_class_of(FileNotFoundError("x")) == "java.io.FileNotFoundException"
    assert java_class_of(PermissionError("x")) == "org.apache.hadoop.security.AccessControlException"
    assert java_class_of(FileExistsError("x")) == "org.apache.hadoop.fs.FileAlreadyExistsException"
    assert java_class_of(KeyError("x")) == "java.io.IOException"
    assert java_class_of(RemoteError("x", "org.example.Custom")) == "org.example.Custom"


@pytest.mark.parametrize("error", [
    remote_error("java.io.FileNotFoundException", "line one\nline two", 1),
    RemoteFileNotFoundError("local"),
    FileAlreadyExistsError("exists", java_text="exists\n\tat x"),
    ApplicationNotFoundError("gone"),
])
def test_remote_errors_survive_pickling(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.message, copy.java_class, copy.java_text, copy.error_code) == (
        error.message, error.java_class, error.java_text, error.error_code)


def test_failover_exhausted_lists_attempts_and_pickles():
    error = FailoverExhaustedError("getClusterMetrics", [
        ("rm1:8032", errors.ConnectFailedError("cannot connect to rm1:8032: Connection refused")),
        ("rm2:8032", errors.StandbyError("standby")),
        ("rm1:8032", errors.ConnectFailedError("again")),
    ])
    assert error.addresses == ("rm1:8032", "rm2:8032")
    assert str(error).splitlines() == [
        "getClusterMetrics: all 3 attempt(s) failed (rm1:8032, rm2:8032)",
        "  rm1:8032: ConnectFailedError: cannot connect to rm1:8032: Connection refused",
        "  rm2:8032: StandbyError: standby",
        "  rm1:8032: ConnectFailedError: again",
    ]
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
