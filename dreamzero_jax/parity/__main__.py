"""Run every parity check against reference fixture directories.

    python -m dreamzero_jax.parity --fixtures ../shared/fixtures/dreamzero_tiny [<dir> ...]

The check modules are listed in :data:`CHECK_MODULES`; each exposes
``checks(fixture_dir: Path) -> Iterator[ParityResult]`` (yielding nothing for a directory it does not
recognise) and declares ``HANDLES``: the fixture files it checks, as file names, or ``"file.npz:<part>"``
when it checks only part of a shared file. Prints one line per result, then the fixture files (``*.npz``)
checked only in parts, and those no module handled.

Exit codes: 0 every result within tolerance; 1 a result failed or a check module raised; 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from dreamzero_jax.parity import checks_dit, checks_schedulers, checks_text_image, checks_vae

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

CHECK_MODULES: tuple[ModuleType, ...] = (checks_dit, checks_schedulers, checks_text_image, checks_vae)


def _claims(module: ModuleType) -> list[tuple[str, str | None]]:
    """(file, part or None) pairs from the module's HANDLES."""
    out = []
    for entry in module.HANDLES:
        file, _, part = entry.partition(":")
        out.append((file, part or None))
    return out


def _short(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


def coverage(directory: Path, active: Iterable[ModuleType]) -> list[str]:
    """Lines about the fixture files (``*.npz``) in ``directory`` that no module checked as a whole.

    ``active``: modules that produced results here. A file claimed only in parts gets a "checked in parts"
    line naming the parts and modules; a file nobody claims gets "not handled: file".
    """
    whole, partial = set(), {}
    for module in active:
        for file, part in _claims(module):
            if part is None:
                whole.add(file)
            else:
                partial.setdefault(file, []).append(f"{part} by {_short(module)}")
    lines = []
    for path in sorted(directory.glob("*.npz")):
        if path.name in whole:
            continue
        if path.name in partial:
            lines.append(f"checked in parts: {path.name} — {'; '.join(partial[path.name])}")
        else:
            lines.append(f"not handled: {path.name} — no check module recognises it here")
    return lines


def run(directories: list[Path], modules: Iterable[ModuleType] = CHECK_MODULES) -> int:
    """Print every result of ``modules`` on each directory and the coverage lines; the exit code."""
    status, n_results = EXIT_OK, 0
    for directory in directories:
        print(f"== {directory}")
        active = []
        for module in modules:
            produced = False
            try:
                for result in module.checks(directory):
                    produced = True
                    n_results += 1
                    print(result.line())
                    if not result.passed:
                        status = EXIT_FAIL
            except Exception as e:
                status = EXIT_FAIL
                print(f"ERROR {_short(module)}: {type(e).__name__}: {e}")
                traceback.print_exc(limit=3, file=sys.stderr)
            if produced:
                active.append(module)
        for line in coverage(directory, active):
            print(line)
    print(f"{n_results} results, {'all passed' if status == EXIT_OK else 'FAILURES'}")
    return status


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m dreamzero_jax.parity",
        description="Compare the JAX port against the upstream PyTorch reference fixtures.",
        epilog="Exit codes: 0 all within tolerance, 1 a failure, 2 usage error.",
    )
    p.add_argument(
        "--fixtures",
        nargs="+",
        required=True,
        type=Path,
        help="fixture directories, e.g. ../shared/fixtures/dreamzero_tiny",
    )
    args = p.parse_args(argv)
    missing = [d for d in args.fixtures if not d.is_dir()]
    if missing:
        print(f"error: fixture directory {missing[0]} does not exist", file=sys.stderr)
        return EXIT_USAGE
    return run(args.fixtures)


if __name__ == "__main__":
    sys.exit(main())
