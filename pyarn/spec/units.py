"""Memory sizes as Skein writes them: ``512``, ``'512 MiB'``, ``'2 GiB'``, ``'1.5 GB'``."""
from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Dict

from ._base import SpecError, describe

__all__ = ["parse_memory", "MEMORY_UNITS"]

_MIB = 2**20

#: Bytes per unit, by lower-case unit name. A bare number means MiB.
MEMORY_UNITS: Dict[str, int] = {"b": 1, "": _MIB}
for _i, _prefix in enumerate("kmgtp", start=1):
    MEMORY_UNITS[_prefix] = MEMORY_UNITS[_prefix + "b"] = 1000**_i
    MEMORY_UNITS[_prefix + "i"] = MEMORY_UNITS[_prefix + "ib"] = 1024**_i

#: Beyond this many MiB (an exbibyte) a size is surely a typo.
_MAX_MIB = 2**40


def parse_memory(value: Any) -> int:
    """Convert a memory size to MiB, rounding up.

    An ``int`` is MiB already; a ``float`` is MiB rounded up. A string is a
    number (fractions and exponents allowed, spaces ignored) followed by an
    optional, case-insensitive unit: ``B``; ``K``/``KB``, ``M``/``MB``,
    ``G``/``GB``, ``T``/``TB``, ``P``/``PB`` (powers of 1000); ``Ki``/``KiB``
    ... ``Pi``/``PiB`` (powers of 1024). No unit means MiB, and a unit alone
    means one of it. This is what Skein accepts; the result is exact (no
    float rounding), e.g. ``'1.5 GB'`` is 1431 MiB.

    Raises :class:`SpecError` (a ``ValueError``) with no field path for
    anything else, including negative sizes.
    """
    if isinstance(value, bool):
        raise SpecError(f"expected a size, got {describe(value)}")
    if isinstance(value, int):
        mib = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(f"expected a finite size, got {describe(value)}")
        mib = math.ceil(value)
    elif isinstance(value, str):
        mib = _parse_string(value)
    else:
        raise SpecError(f"expected a size, got {describe(value)}")
    if mib < 0:
        raise SpecError(f"a size cannot be negative, got {describe(value)}")
    if mib > _MAX_MIB:
        raise SpecError(f"{describe(value)} is too large to be a container's memory")
    return mib


def _parse_string(text: str) -> int:
    compact = "".join(text.split())
    split = len(compact)
    while split > 0 and compact[split - 1].isalpha():
        split -= 1
    number, unit = compact[:split], compact[split:]
    multiplier = MEMORY_UNITS.get(unit.lower())
    if multiplier is None:
        raise SpecError(f"unknown unit {unit!r} in {text!r}; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB")
    if not number:
        if not unit:
            raise SpecError("expected a size, got an empty string")
        return math.ceil(Fraction(multiplier, _MIB))
    if not (number[0].isdigit() or number[0] == "."):
        raise SpecError(f"cannot read {number!r} in {text!r} as a number")
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise SpecError(f"cannot read {number!r} in {text!r} as a number") from None
    if not amount.is_finite() or amount.adjusted() > 30:
        raise SpecError(f"{text!r} is too large to be a container's memory")
    return math.ceil(Fraction(amount) * multiplier / _MIB)
