"""The application secret is never logged, never on a command line or in an environment, and never
readable by others on disk.

An application runs on the mini cluster with the AM logging at DEBUG; while it
runs, every file under the cluster's directories and the submitter's, and the
command lines and environments of every process, are searched for the secret
in each encoding a careless program might use (raw, hex, Base64).
"""
from __future__ import annotations

import base64
import logging
import stat
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

from pyarn.application.security import load_secret, secret_path
from pyarn.client import Client

from .rawam import wait_for

SPEC = {"name": "hygiene", "master": {"log_level": "debug"}, "services": {"worker": {
    "resources": {"memory": 128, "vcores": 1},
    "script": f"{sys.executable} -c \"from pyarn.app_client import ApplicationClient as A; "
              "A.from_current().kv.put('up', b'1')\"; sleep 60"}}}


def _encodings(secret: bytes) -> List[bytes]:
    return [secret, secret.hex().encode(), secret.hex().upper().encode(), base64.b64encode(secret),
            base64.urlsafe_b64encode(secret), base64.b64encode(secret).rstrip(b"=")]


def _files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                yield path


def _processes() -> Iterator[Tuple[int, bytes]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            for name in ("cmdline", "environ"):
                try:
                    yield int(entry.name), (entry / name).read_bytes()
                except OSError:
                    continue


def test_the_secret_is_only_where_it_must_be(minicluster, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PYARN_HOME", str(tmp_path / "home"))
    caplog.set_level(logging.DEBUG)
    with Client(minicluster.conf_dir, python=sys.executable) as client:
        app_id = client.submit(SPEC)
        try:
            with client.connect(app_id, timeout=60) as am:
                wait_for(lambda: am.kv.get("up"), 60, "the worker to reach the AM")
            secret = load_secret(app_id)
            encodings = _encodings(secret)
            holders = []
            for path in _files(Path(minicluster.workdir), tmp_path):
                data = path.read_bytes()
                if any(e in data for e in encodings):
                    holders.append(path)
                    mode = stat.S_IMODE(path.stat().st_mode)
                    assert mode & 0o077 == 0, f"{path} holds the secret with mode {mode:o}"
            names = sorted(p.name for p in holders)
            assert names == ["container_tokens", "secret"], holders  # the AM's tokens, the submitter's copy
            assert secret_path(app_id) in holders
            leaks = [pid for pid, data in _processes() if any(e in data for e in encodings)]
            assert not leaks, f"the secret is on the command line or in the environment of {leaks}"
            assert not any(e.decode("latin-1") in caplog.text for e in encodings)
        finally:
            client.kill_application(app_id)
