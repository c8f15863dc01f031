"""Comparison primitives shared by every parity check (CLI and tests alike)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ParityResult:
    """Outcome of comparing one output of ours against one reference array."""

    name: str
    max_abs_err: float
    cosine: float
    tol: float
    note: str = ""

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.max_abs_err) and self.max_abs_err <= self.tol)

    def line(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        extra = f"  ({self.note})" if self.note else ""
        return f"{status}  {self.name:<48} max_abs_err={self.max_abs_err:.3e}  cos={self.cosine:.8f}  tol={self.tol:.0e}{extra}"


def compare(name: str, ours, ref, tol: float = 1e-4, note: str = "") -> ParityResult:
    """Max absolute error and cosine similarity of ``ours`` against ``ref`` (shapes must match)."""
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(ref, dtype=np.float64)
    if a.shape != b.shape:
        return ParityResult(name, float("inf"), float("nan"), tol, f"shape {a.shape} != reference {b.shape}")
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    cos = float(np.dot(a.ravel(), b.ravel()) / denom) if denom > 0 else float(a.size == 0 or np.all(a == b))
    return ParityResult(name, err, cos, tol, note)
