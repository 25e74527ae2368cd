"""The generator: generated files are current, tables are right, definitions match Hadoop."""
from __future__ import annotations

import importlib
import subprocess
import sys

from codegen import generate, tables, verify
from codegen.__main__ import main as codegen_main
from hadoop_protos.protocol import RetrySafety, RpcProtocol


def test_generated_files_are_current():
    assert generate.stale() == []


def test_check_flag_reports_a_stale_file(tmp_path, monkeypatch, capsys):
    target = generate.protoc.OUT_DIR / "rpc_header_pb2.py"
    original = target.read_text()
    try:
        target.write_text(original + "# edited by hand\n")
        assert codegen_main(["--check"]) == 1
        assert "rpc_header_pb2.py: stale" in capsys.readouterr().out
    finally:
        target.write_text(original)


def test_constant_names():
    assert tables.constant_name("ApplicationClientProtocolService") == "APPLICATION_CLIENT_PROTOCOL"
    assert tables.constant_name("ClientNamenodeProtocol") == "CLIENT_NAMENODE_PROTOCOL"
    assert tables.constant_name("HAServiceProtocolService") == "HA_SERVICE_PROTOCOL"


def _tables():
    for path in sorted(generate.protoc.OUT_DIR.glob("*_rpc.py")):
        module = importlib.import_module(f"hadoop_protos.{path.stem}")
        for name in module.__all__:
            yield getattr(module, name)


def test_tables_name_hadoop_protocols_and_real_message_classes():
    found = {p.name: p for p in _tables()}
    expected = {
        "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB",
        "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB",
        "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB",
        "org.apache.hadoop.hdfs.protocol.ClientProtocol",
    }
    assert expected <= set(found)
    for protocol in found.values():
        assert isinstance(protocol, RpcProtocol) and protocol.version == 1
        for method in protocol.methods.values():
            assert method.request.DESCRIPTOR.full_name.endswith("Proto")
            assert method.response.DESCRIPTOR.full_name.endswith("Proto")


def test_retry_safety_follows_hadoop_annotations():
    found = {p.name: p for p in _tables()}
    acp = found["org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"]
    assert acp.methods["getApplicationReport"].retry_safety is RetrySafety.IDEMPOTENT
    assert acp.methods["submitApplication"].retry_safety is RetrySafety.IDEMPOTENT
    assert acp.methods["failApplicationAttempt"].retry_safety is RetrySafety.UNSAFE
    amp = found["org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB"]
    assert amp.methods["allocate"].retry_safety is RetrySafety.AT_MOST_ONCE
    assert amp.methods["registerApplicationMaster"].retry_safety is RetrySafety.IDEMPOTENT
    nn = found["org.apache.hadoop.hdfs.protocol.ClientProtocol"]
    assert nn.methods["getFileInfo"].retry_safety is RetrySafety.IDEMPOTENT
    assert nn.methods["create"].retry_safety is RetrySafety.AT_MOST_ONCE
    assert nn.methods["addBlock"].retry_safety is RetrySafety.IDEMPOTENT
    assert nn.methods["getFileInfo"].request.DESCRIPTOR.name == "GetFileInfoRequestProto"


def test_reference_check_reports_zero_differences(reference_protos):
    assert verify.verify(str(reference_protos)) == []


def test_reference_check_command_exit_status(reference_protos):
    proc = subprocess.run([sys.executable, "-m", "codegen", "verify", str(reference_protos)],
                          capture_output=True, text=True, cwd=generate.protoc.REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("0 difference(s)")


def test_reference_check_names_a_missing_folder(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "codegen", "verify", str(tmp_path / "nope")],
                          capture_output=True, text=True, cwd=generate.protoc.REPO)
    assert proc.returncode != 0
    assert "nope" in proc.stderr
