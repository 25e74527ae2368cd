"""Entry point of the ``pyarn-am`` console script."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .._version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyarn-am",
        description=("pyarn's ApplicationMaster. YARN starts it inside the application's first "
                     "container; it reads the container's environment and tokens, registers "
                     "with the ResourceManager and runs the application's services."),
    )
    parser.add_argument("--version", action="version", version=f"pyarn-am {__version__}")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    build_parser().parse_args(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
