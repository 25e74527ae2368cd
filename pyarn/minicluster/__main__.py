"""``python -m pyarn.minicluster start [--nodes N] [--memory-mb M] [--vcores V]``."""
import sys

from .cli import main

sys.exit(main())
