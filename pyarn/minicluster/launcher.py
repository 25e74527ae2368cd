"""Container launch as a NodeManager's ``ContainerLaunch`` and ``DefaultContainerExecutor`` do it.

Each container gets a ``launch_container.sh`` in its working directory that
sends its own output to ``prelaunch.out`` / ``prelaunch.err`` in the log dir,
exports the environment, links the localized resources and finally ``exec``\\ s
``/bin/bash -c "<commands joined by spaces>"``, with ``<LOG_DIR>``,
``<CPS>`` and ``{{VAR}}`` expanded. The process starts with an empty
environment (YARN does not pass the NodeManager's own on), in a new session
so that killing the group reaches everything it started.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from .diagnostics import STDERR_TAIL_BYTES

#: ``yarn.nodemanager.env-whitelist``'s default: variables a container inherits from the NM
#: unless its launch context sets them.
DEFAULT_ENV_WHITELIST = ("JAVA_HOME", "HADOOP_COMMON_HOME", "HADOOP_HDFS_HOME", "HADOOP_CONF_DIR",
                         "CLASSPATH_PREPEND_DISTCACHE", "HADOOP_YARN_HOME", "HADOOP_HOME", "PATH", "LANG",
                         "TZ")

LOG_DIR_EXPANSION = "<LOG_DIR>"
CLASSPATH_SEPARATOR_EXPANSION = "<CPS>"


def expand(value: str, log_dir: Path) -> str:
    """``ContainerLaunch.expandEnvironment`` on Unix."""
    return (value.replace(LOG_DIR_EXPANSION, str(log_dir)).replace(CLASSPATH_SEPARATOR_EXPANSION, os.pathsep)
            .replace("{{", "$").replace("}}", ""))


def launch_script(env: Mapping[str, str], whitelisted: Mapping[str, str], links: Mapping[str, Path],
                  command: str, log_dir: Path) -> str:
    """The text of ``launch_container.sh``.

    Values are written inside double quotes unescaped, exactly as YARN
    writes them, so ``$VAR`` references expand when the script runs.
    """
    lines = ["#!/bin/bash", "", "set -o pipefail -e",
             f'export PRELAUNCH_OUT="{log_dir}/prelaunch.out"', 'exec >"${PRELAUNCH_OUT}"',
             f'export PRELAUNCH_ERR="{log_dir}/prelaunch.err"', 'exec 2>"${PRELAUNCH_ERR}"',
             'echo "Setting up env variables"']
    lines += [f'export {key}=${{{key}:-"{value}"}}' for key, value in whitelisted.items()]
    lines += [f'export {key}="{env[key]}"' for key in order_by_dependencies(env)]
    lines.append('echo "Setting up job resources"')
    for name, target in links.items():
        parent = os.path.dirname(name)
        if parent:
            lines.append(f'mkdir -p "{parent}"')
        lines.append(f'ln -sf -- "{target}" "{name}"')
    lines += ['echo "Launching container"', f'exec /bin/bash -c "{command}"', ""]
    return "\n".join(lines)


_REFERENCE = re.compile(r"\$\{?#?([A-Za-z_][A-Za-z0-9_]*)")


def order_by_dependencies(env: Mapping[str, str]) -> List[str]:
    """The names of ``env`` with each after the variables its value references
    (``ContainerLaunch.orderEnvByDependencies``); otherwise in the given order."""
    ordered: List[str] = []
    visiting: set = set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting:
            return
        visiting.add(name)
        for dependency in _REFERENCE.findall(env[name]):
            if dependency in env and dependency != name:
                visit(dependency)
        visiting.discard(name)
        ordered.append(name)

    for name in env:
        visit(name)
    return ordered


def tail(path: Path, size: int = STDERR_TAIL_BYTES) -> str:
    """The last ``size`` bytes of ``path`` as text ("" when it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            length = f.tell()
            f.seek(max(length - size, 0))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def stderr_file(log_dir: Path) -> Optional[Path]:
    """The newest file matching ``{*stderr*,*STDERR*}`` in the log dir
    (``yarn.nodemanager.container.stderr.pattern``)."""
    try:
        matches = [p for p in log_dir.iterdir() if "stderr" in p.name or "STDERR" in p.name]
    except OSError:
        return None
    return max(matches, key=lambda p: p.stat().st_mtime) if matches else None


class ContainerProcess:
    """One running ``launch_container.sh``; :meth:`kill` ends its whole process group."""

    def __init__(self, script: Path, work_dir: Path) -> None:
        self.popen = subprocess.Popen(["/bin/bash", str(script)], cwd=str(work_dir), env={},
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait(self) -> int:
        """The exit code as the NM reports it: 128 + signal for a process ended by a signal."""
        code = self.popen.wait()
        return 128 - code if code < 0 else code

    def kill(self, grace: float) -> None:
        """SIGTERM the group, then SIGKILL it after ``grace`` seconds if it is still there."""
        with self._lock:
            if self.popen.poll() is not None:
                return
            _signal_group(self.pid, signal.SIGTERM)
        timer = threading.Timer(grace, self._force)
        timer.daemon = True
        timer.start()

    def _force(self) -> None:
        _signal_group(self.pid, signal.SIGKILL)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def prepare_dirs(work_dir: Path, log_dir: Path) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "tmp").mkdir(exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)


def write_script(work_dir: Path, log_dir: Path, text: str) -> Path:
    """Write ``launch_container.sh`` and keep a copy in the log dir, as YARN does."""
    script = work_dir / "launch_container.sh"
    script.write_text(text)
    script.chmod(0o700)
    shutil.copyfile(script, log_dir / "launch_container.sh")
    return script


def join_command(commands: List[str], log_dir: Path) -> str:
    return expand(" ".join(commands), log_dir)


def whitelisted_env(names: List[str], nm_env: Mapping[str, str],
                    container_env: Dict[str, str]) -> Dict[str, str]:
    """The NM's values of whitelisted variables the container does not set itself."""
    return {name: nm_env[name] for name in names if name in nm_env and name not in container_env}
