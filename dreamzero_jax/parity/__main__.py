"""Run every parity check against reference fixture directories.

    python -m dreamzero_jax.parity --fixtures ../shared/fixtures/dreamzero_tiny [<dir> ...]

Check modules are discovered as ``dreamzero_jax/parity/checks_*.py``; each exposes
``checks(fixture_dir: Path) -> Iterator[ParityResult]`` (yielding nothing for a directory it does not
recognise) and should declare ``HANDLES``: the fixture files it checks, as file names, or
``"file.npz:<part>"`` when it checks only part of a shared file. Prints one line per result, then the
fixture files (``*.npz``) checked only in parts, and those no module handled, with the reason.

Exit codes: 0 every result within tolerance; 1 a result failed or a check module raised; 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import dreamzero_jax.parity as parity_pkg

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

# who is expected to check a fixture file no module claims yet (for the "not handled yet" reason)
EXPECTED_OWNER = {
    "forward_train.npz": "the DiT teacher-forcing forward: dreamzero_jax/parity/checks_dit.py",
    "forward_infer.npz": "the KV-cached DiT calls: dreamzero_jax/parity/checks_dit.py",
    "vae_io.npz": "the video VAE: dreamzero_jax/parity/checks_vae.py",
    "t5_io.npz": "umT5: dreamzero_jax/parity/checks_text_image.py",
    "clip_io.npz": "CLIP: dreamzero_jax/parity/checks_text_image.py",
    "y_io.npz": "the i2v conditioning y: dreamzero_jax/parity/checks_text_image.py",
    "views_io.npz": "the camera layout: dreamzero_jax/parity/checks_text_image.py",
}


def discover() -> tuple[list[ModuleType], list[str]]:
    """Import every ``checks_*`` module; returns (modules, one error line per module that failed)."""
    modules, errors = [], []
    for info in sorted(pkgutil.iter_modules(parity_pkg.__path__), key=lambda m: m.name):
        if not info.name.startswith("checks_"):
            continue
        try:
            modules.append(importlib.import_module(f"{parity_pkg.__name__}.{info.name}"))
        except Exception as e:  # a broken check module must not hide the others
            errors.append(f"ERROR {info.name}: import failed: {type(e).__name__}: {e}")
    return modules, errors


def _claims(module: ModuleType) -> list[tuple[str, str | None]]:
    """(file, part or None) pairs from the module's HANDLES."""
    out = []
    for entry in getattr(module, "HANDLES", ()):
        file, _, part = entry.partition(":")
        out.append((file, part or None))
    return out


def _short(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


def coverage(directory: Path, active: Iterable[ModuleType], undeclared_names: Iterable[str]) -> list[str]:
    """Lines about the fixture files (``*.npz``) in ``directory`` that no module checked as a whole.

    ``active``: modules that produced results here. A file claimed only in parts gets a "checked in parts"
    line naming the parts and modules; a file nobody claims gets "not handled yet: file — why".
    ``undeclared_names``: result names from modules without ``HANDLES``; a result named after a file's
    stem ("t5_io" or "t5") counts as handling that file.
    """
    whole, partial = set(), {}
    for module in active:
        for file, part in _claims(module):
            if part is None:
                whole.add(file)
            else:
                partial.setdefault(file, []).append(f"{part} by {_short(module)}")
    prefixes = {n.split(".", 1)[0] for n in undeclared_names}
    lines = []
    for path in sorted(directory.glob("*.npz")):
        stem = path.stem
        if path.name in whole or stem in prefixes or stem.removesuffix("_io") in prefixes:
            continue
        if path.name in partial:
            lines.append(f"checked in parts: {path.name} — {'; '.join(partial[path.name])}")
        else:
            owner = EXPECTED_OWNER.get(path.name, "no checks_*.py module recognises it")
            lines.append(f"not handled yet: {path.name} — needs {owner}")
    return lines


def run(directories: list[Path]) -> int:
    modules, errors = discover()
    status = EXIT_FAIL if errors else EXIT_OK
    for line in errors:
        print(line)
    n_results = 0
    for directory in directories:
        print(f"== {directory}")
        active, names = [], []
        for module in modules:
            produced = False
            try:
                for result in module.checks(directory):
                    produced = True
                    n_results += 1
                    if not hasattr(module, "HANDLES"):
                        names.append(result.name)
                    print(result.line())
                    if not result.passed:
                        status = EXIT_FAIL
            except Exception as e:
                status = EXIT_FAIL
                print(f"ERROR {_short(module)}: {type(e).__name__}: {e}")
                traceback.print_exc(limit=3, file=sys.stderr)
            if produced:
                active.append(module)
        for line in coverage(directory, active, names):
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
