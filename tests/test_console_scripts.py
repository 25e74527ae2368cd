"""The installed console scripts answer --version and --help."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pytest

from pyarn import __version__


def _run(*argv: str) -> subprocess.CompletedProcess:
    exe = shutil.which(argv[0])
    if exe is None:
        pytest.fail(f"console script {argv[0]!r} is not installed (pip install -e .)")
    return subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=60)


def test_pyarn_version():
    proc = _run("pyarn", "--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"pyarn {__version__}"


def test_pyarn_help():
    proc = _run("pyarn", "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: pyarn")


def test_pyarn_am_help():
    proc = _run("pyarn-am", "--help")
    assert proc.returncode == 0
    assert "ApplicationMaster" in proc.stdout


def test_unknown_option_is_a_usage_error():
    proc = _run("pyarn", "--no-such-flag")
    assert proc.returncode == 2
    assert "--no-such-flag" in proc.stderr


def test_help_imports_no_protobuf():
    code = ("import sys\nfrom pyarn.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "from pyarn import __version__\n"
            "heavy = ('google', 'hadoop_protos', 'pyarn.yarn', 'pyarn.ipc')\n"
            "loaded = sorted(m for m in sys.modules if m.startswith(heavy))\n"
            "print(loaded, file=sys.stderr)\nsys.exit(1 if loaded else 0)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"pyarn --help imported {proc.stderr}"


def _conf_dir(tmp_path, address: str) -> str:
    (tmp_path / "yarn-site.xml").write_text(
        "<configuration><property><name>yarn.resourcemanager.address</name>"
        f"<value>{address}</value></property></configuration>")
    return str(tmp_path)


def test_user_errors_are_one_line_with_exit_status_1(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    conf_dir = _conf_dir(tmp_path, address)
    proc = _run("pyarn", "--conf-dir", conf_dir, "application", "status", "application_oops")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "invalid ApplicationId 'application_oops'" in proc.stderr
    proc = _run("pyarn", "--conf-dir", conf_dir, "application", "ls")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert address in proc.stderr and conf_dir in proc.stderr
