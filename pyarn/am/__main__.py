"""Entry point of the ``pyarn-am`` console script (also ``python -m pyarn.am``)."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Dict, List, Optional

from .._version import __version__

#: Stack size of the AM's threads. It runs well over a hundred (IPC handlers, long polls, one reader
#: per client connection); at the default (``ulimit -s``, often 8 MiB) their stacks alone would
#: reserve a gigabyte of virtual memory, which YARN's vmem check counts. 1 MiB is what CPython
#: itself uses where the default is small (musl).
THREAD_STACK_SIZE = 1 << 20

#: Spec log levels (Skein's log4j names) -> Python logging levels.
_LEVELS = {"all": logging.DEBUG, "trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO,
           "warn": logging.WARNING, "error": logging.ERROR, "fatal": logging.CRITICAL,
           "off": logging.CRITICAL + 10}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyarn-am",
        description=("pyarn's ApplicationMaster. YARN starts it inside the application's first "
                     "container; it reads the container's environment and tokens, registers "
                     "with the ResourceManager and runs the application's services."),
    )
    parser.add_argument("--version", action="version", version=f"pyarn-am {__version__}")
    parser.add_argument("--conf-dir", metavar="DIR",
                        help="Hadoop configuration directory (default: YARN_CONF_DIR or HADOOP_CONF_DIR)")
    parser.add_argument("-D", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="set a Hadoop configuration key (repeatable), e.g. "
                             "-D yarn.resourcemanager.scheduler.address=rm:8030")
    parser.add_argument("--log-level", choices=sorted(_LEVELS),
                        help="log level (default: the spec's master.log_level)")
    return parser


def _overrides(items: List[str], parser: argparse.ArgumentParser) -> Dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"-D {item}: expected KEY=VALUE")
        out[key] = value
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = _overrides(args.overrides, parser)

    from ..conf import Configuration
    from ..errors import PyarnError
    from .master import ApplicationMaster, load_spec

    threading.stack_size(THREAD_STACK_SIZE)
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("pyarn.am")
    try:
        conf = Configuration.load(args.conf_dir, overrides=overrides)
        level = args.log_level or str(load_spec().master.log_level)
        logging.getLogger("pyarn").setLevel(_LEVELS.get(level, logging.INFO))
        master = ApplicationMaster.from_environment(conf)
    except PyarnError as exc:
        log.error("pyarn-am cannot start: %s", exc)
        return 2
    signal.signal(signal.SIGTERM, lambda signum, frame: master.request_stop(signum))
    log.info("pyarn-am %s starting for %s", __version__, master.env.attempt_id)
    return master.run()


if __name__ == "__main__":
    sys.exit(main())
