"""Policy options: ``--policy-opt KEY=VALUE`` on the command line, typed by the registry.

Both CLIs (``python -m evals.run`` and ``python -m evals.serve``) take the same repeatable flag; the registry
(:data:`evals.policies.registry.REGISTRY`) says which keys each policy accepts and their types, so a new
policy setting is a new registry option, not a new flag.

Example:
    >>> parse_policy_opts(["config=tiny", "seed=3"])
    {'config': 'tiny', 'seed': '3'}
    >>> coerce(bool, "false"), coerce(int, "3"), coerce(str, "a=b")
    (False, 3, 'a=b')
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class PolicyOptionError(ValueError):
    """A ``--policy-opt`` is not ``KEY=VALUE`` or repeats a key (the message says which)."""


def parse_policy_opts(items: Iterable[str] | None) -> dict[str, str]:
    """``["k=v", ...]`` -> ``{"k": "v"}``; values may contain ``=``; a key given twice is an error."""
    options: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise PolicyOptionError(f"--policy-opt expects KEY=VALUE (e.g. seed=3), got {item!r}")
        if key in options:
            raise PolicyOptionError(f"--policy-opt {key} given twice ({options[key]!r} and {value!r})")
        options[key] = value
    return options


def coerce(typ: type, value: Any) -> Any:
    """``value`` (a CLI string or already typed) as ``typ``; ValueError when it is not one.

    Booleans are parsed by word (``bool("false")`` would be True).
    """
    if typ is bool and isinstance(value, str):
        word = value.strip().lower()
        if word not in _TRUE + _FALSE:
            raise ValueError(f"expected true or false, got {value!r}")
        return word in _TRUE
    return typ(value)
