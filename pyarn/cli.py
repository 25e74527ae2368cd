"""The ``pyarn`` command line.

Library errors (``PyarnError``) become one line on stderr and exit status 1;
anything else is a bug and keeps its traceback. Imports stay lazy so that
``pyarn --help`` costs a Python start, not a protobuf load.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from ._version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyarn",
        description="Deploy and run applications on Apache Hadoop YARN, from pure Python.",
    )
    parser.add_argument("--version", action="version", version=f"pyarn {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``pyarn`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
