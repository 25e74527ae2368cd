"""Exit statuses and diagnostics text, worded as YARN words them.

The messages are those a Hadoop 3.3 ResourceManager and NodeManager produce
(checked against a real cluster); clients and users match on them, so they
live here, in one place.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Optional

# ``ContainerExitStatus``
SUCCESS = 0
INVALID = -1000
ABORTED = -100
DISKS_FAILED = -101
PREEMPTED = -102
KILLED_EXCEEDED_VMEM = -103
KILLED_EXCEEDED_PMEM = -104
KILLED_BY_APPMASTER = -105
KILLED_BY_RESOURCEMANAGER = -106
KILLED_AFTER_APP_COMPLETION = -107

#: Exit code of a process ended by SIGTERM (128 + 15), as the NM reports it.
TERMINATED_EXIT_CODE = 143
#: Bytes of ``prelaunch.err`` / ``stderr`` quoted in a failed container's diagnostics
#: (``yarn.nodemanager.container.stderr.tail.bytes``).
STDERR_TAIL_BYTES = 4096

# ``SchedulerUtils`` messages for containers the RM ends.
RELEASED_CONTAINER = "Container released by application"
COMPLETED_APPLICATION = "Container of a completed application"
EXPIRED_CONTAINER = "Container expired since it was unused"
KILLED_BY_APPMASTER_TEXT = "Container killed by the ApplicationMaster."
#: ``RMAppLifetimeMonitor``'s diagnostics of an application past its LIFETIME timeout.
LIFETIME_EXCEEDED = "Application is killed by ResourceManager as it has exceeded the lifetime period."


def stamp(now: Optional[float] = None) -> str:
    """``[2026-11-21 06:20:48.394]``: the NodeManager's prefix of each diagnostics line."""
    now = time.time() if now is None else now
    local = datetime.fromtimestamp(now)
    return f"[{local:%Y-%m-%d %H:%M:%S}.{int(now * 1000) % 1000:03d}]"


def rm_date(now: Optional[float] = None) -> str:
    """``Sat Nov 21 06:26:32 +0000 2026``: the RM's date in ACCEPTED-state diagnostics."""
    now = time.time() if now is None else now
    return datetime.fromtimestamp(now, timezone.utc).strftime("%a %b %d %H:%M:%S +0000 %Y")


def container_failed(container_id: str, exit_code: int, prelaunch_err: str, stderr: Optional[str]) -> str:
    """A container that exited non-zero: ``ContainerLaunch`` and ``ContainerExecutor``'s text.

    YARN repeats the "exited with a non-zero exit code" part (once from the
    launch, once from the container's exit event); so does this.
    """
    exited = (f"{stamp()}Container exited with a non-zero exit code {exit_code}. Error file: prelaunch.err.\n"
              f"Last {STDERR_TAIL_BYTES} bytes of prelaunch.err :\n{prelaunch_err}")
    if stderr is not None:
        exited += f"Last {STDERR_TAIL_BYTES} bytes of stderr :\n{stderr}\n"
    exited += "\n"
    return (f"{stamp()}Exception from container-launch.\nContainer id: {container_id}\n"
            f"Exit code: {exit_code}\n\n{exited}{exited}")


def container_killed(reason: str, exit_code: int, launched: bool) -> str:
    """A container killed on request (by the AM or the RM); ``launched`` if its process had started."""
    text = f"{stamp()}{reason}\n"
    if launched:
        text += f"{stamp()}Container killed on request. Exit code is {exit_code}\n"
    return text + f"{stamp()}Container exited with a non-zero exit code {exit_code}. \n"


def resource_changed(url: str, expected_ms: int, actual_ms: int) -> str:
    """``FSDownload``'s message for a resource whose modification time is not the one asked for."""
    def iso(ms: int) -> str:
        moment = datetime.fromtimestamp(ms / 1000, timezone.utc)
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}+0000"

    now = int(time.time() * 1000)
    return (f"Resource {url} changed on src filesystem - expected: \"{iso(expected_ms)}\", "
            f"was: \"{iso(actual_ms)}\", current time: \"{iso(now)}\"")


def localization_failed(message: str, java_class: str = "java.io.IOException") -> str:
    """A container whose resources could not be localized (its exit status is ``INVALID``)."""
    return f"{stamp()}{message}\n{java_class}: {message}\n\n"


def am_container_exited(attempt_id: str, exit_code: int, container_diagnostics: str,
                        tracking_url: str) -> str:
    """``RMAppAttemptImpl``'s diagnostics of an attempt whose AM container exited."""
    return (f"AM Container for {attempt_id} exited with  exitCode: {exit_code}\n"
            f"Failing this attempt.Diagnostics: {container_diagnostics}"
            f"For more detailed output, check the application tracking page: {tracking_url} "
            "Then click on links to logs of each attempt.\n")


def am_expired(attempt_id: str) -> str:
    return f"ApplicationMaster for attempt {attempt_id} timed out"


def app_failed(app_id: str, failures: int, attempt_diagnostics: str) -> str:
    """``RMAppImpl``'s diagnostics once the last attempt failed."""
    return (f"Application {app_id} failed {failures} times due to {attempt_diagnostics}. "
            "Failing the application.")


def app_killed(app_id: str, user: str, address: str, message: Optional[str]) -> str:
    text = f"Application {app_id} was killed by user {user} at {address}"
    return f"{text} with diagnostic message: {message}" if message else text


def resource_text(memory: int, vcores: int) -> str:
    """Hadoop's ``Resource.toString()``."""
    return f"<memory:{memory}, vCores:{vcores}>"
