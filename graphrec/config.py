"""Generic config checks shared by every layer that reads user settings (data, models, training)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def check_keys(given: Iterable[str], valid: Iterable[str], section: str) -> None:
    """Raise ``ValueError`` for keys not in ``valid``, with a did-you-mean suggestion."""
    valid = sorted(valid)
    unknown = sorted(set(given) - set(valid))
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, valid, n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ValueError(f"unknown key(s) in [{section}]: {', '.join(hints)}; valid keys: {valid}")


__all__ = ["check_keys"]
