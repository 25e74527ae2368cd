"""The installed console scripts answer --version and --help."""
from __future__ import annotations

import shutil
import subprocess

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
