"""``pyarn application ls`` against Hadoop's Java ``ApplicationCLI application -list``.

    python bench/bench_cli.py [--runs 7] [--all] [--conf-dir DIR] [--classpath CP]

Both list the applications of the same ResourceManager in the same run,
alternating, as child processes; each row gives the median over ``--runs``
runs (after one warm-up run each) of the wall time, the CPU time of the child
(user + system, from ``os.wait4``) and its peak RSS (``ru_maxrss``). The
configuration defaults to ``PYARN_TEST_HADOOP_CONF_DIR``, else the real
cluster of ``../shared/realcluster``; the Java classpath to
``realcluster.sh classpath yarn``. Python runs with its bytecode cached (in a
temporary ``PYTHONPYCACHEPREFIX`` filled by the warm-up run), as an installed
package does, unless ``--no-bytecode``. Numbers are printed, never asserted.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
REALCLUSTER = REPO.parent / "shared" / "realcluster" / "realcluster.sh"
JAVA_MAIN = "org.apache.hadoop.yarn.client.cli.ApplicationCLI"


class Sample(NamedTuple):
    wall: float  # seconds
    cpu: float  # seconds, user + system
    rss: int  # KiB


class Outcome(NamedTuple):
    sample: Sample
    status: int
    stdout: str
    stderr: str


def run(argv: Sequence[str], env: Dict[str, str]) -> Outcome:
    """Run ``argv`` to completion; its wall time, and CPU time and peak RSS from ``wait4``."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        sample = Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
        return Outcome(sample, proc.returncode, out.read(), err.read())


def _realcluster(*args: str) -> Optional[str]:
    if not REALCLUSTER.is_file():
        return None
    done = subprocess.run([str(REALCLUSTER), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def _median(samples: List[Sample]) -> Sample:
    return Sample(statistics.median(s.wall for s in samples), statistics.median(s.cpu for s in samples),
                  int(statistics.median(s.rss for s in samples)))


def _count_pyarn(out: str) -> int:
    return max(len(out.splitlines()) - 1, 0)  # the header, then one line per application


def _count_java(out: str) -> Optional[int]:
    # "Total number of applications (application-types: [], states: [...] and tags: []):N"
    for line in out.splitlines():
        if line.startswith("Total number of applications"):
            return int(line.rsplit(":", 1)[1])
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="measured runs of each command (default 7)")
    parser.add_argument("--all", action="store_true",
                        help="list applications in every state (-appStates ALL)")
    parser.add_argument("--conf-dir", help="Hadoop client configuration of the cluster")
    parser.add_argument("--classpath", help="Java classpath with the Hadoop YARN client and the conf dir")
    parser.add_argument("--java", default=shutil.which("java") or "java")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="run Python without cached bytecode (compile every import, every run)")
    args = parser.parse_args(argv)

    conf_dir = args.conf_dir or os.environ.get("PYARN_TEST_HADOOP_CONF_DIR") or _realcluster("conf-dir")
    classpath = (args.classpath or os.environ.get("PYARN_TEST_HADOOP_CLASSPATH")
                 or _realcluster("classpath", "yarn"))
    if not conf_dir or not classpath:
        print("bench_cli: need --conf-dir and --classpath (or a running ../shared/realcluster)",
              file=sys.stderr)
        return 2
    env = dict(os.environ, HADOOP_CONF_DIR=conf_dir, YARN_CONF_DIR=conf_dir)
    if not args.no_bytecode:  # as installed: compiled once (by the warm-up run), then cached
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache = tempfile.mkdtemp(prefix="pyarn-bench-pycache-")
    pyarn_script = shutil.which("pyarn")
    pyarn = [pyarn_script] if pyarn_script else [sys.executable, "-m", "pyarn.cli"]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "pyarn application ls": [*pyarn, "application", "ls", *(["--all"] if args.all else [])],
        "java ApplicationCLI -list": [
            args.java, "--add-opens=java.base/java.lang=ALL-UNNAMED", "-cp", classpath, JAVA_MAIN,
            "application", "-list", *(["-appStates", "ALL"] if args.all else [])],
    }
    samples: Dict[str, List[Sample]] = {name: [] for name in commands}
    listed: Dict[str, Optional[int]] = {}
    for round_number in range(args.runs + 1):  # round 0 warms caches and is not counted
        for name, command in commands.items():
            outcome = run(command, env)
            if outcome.status != 0:
                print(f"bench_cli: {name} exited {outcome.status}:\n{outcome.stderr.strip()}",
                      file=sys.stderr)
                return 1
            if round_number:
                samples[name].append(outcome.sample)
            if name.startswith("pyarn"):
                listed[name] = _count_pyarn(outcome.stdout)
            elif name.startswith("java"):
                listed[name] = _count_java(outcome.stdout)

    if not args.no_bytecode:
        shutil.rmtree(pycache, ignore_errors=True)
    medians = {name: _median(s) for name, s in samples.items()}
    java, ours = medians["java ApplicationCLI -list"], medians["pyarn application ls"]
    print(f"ResourceManager config: {conf_dir}; {args.runs} runs each, medians; Python bytecode "
          f"{'not cached' if args.no_bytecode else 'cached'}; "
          f"applications listed: pyarn {listed['pyarn application ls']}, "
          f"java {listed['java ApplicationCLI -list']}")
    header = f"{'command':<28}{'wall s':>9}{'CPU s':>9}{'peak RSS MiB':>14}"
    print(header)
    print("-" * len(header))
    for name, m in medians.items():
        print(f"{name:<28}{m.wall:>9.3f}{m.cpu:>9.3f}{m.rss / 1024:>14.1f}")
    print("-" * len(header))
    print(f"{'java / pyarn':<28}{java.wall / ours.wall:>8.1f}x{java.cpu / ours.cpu:>8.1f}x"
          f"{java.rss / ours.rss:>13.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
