"""Progress reporting: a tqdm bar over episodes (ETA + running success rate) and one log line per episode."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def episode_line(row: dict[str, Any], done: int, total: int) -> str:
    outcome = "SUCCESS" if row["success"] else ("ERROR" if row["termination_reason"] == "error" else "fail")
    line = (
        f"[{done:>{len(str(total))}}/{total}] {row['case_id']} seed={row['seed']} {outcome} "
        f"steps={row['steps']} progress={row['final_progress']:.2f} wall={row['wall_seconds']:.1f}s"
    )
    if row["termination_reason"] == "error":
        line += f" {row['error_type']}: {row['error'][:160]}"
    return line


class Progress:
    """Counts finished episodes; `quiet` suppresses the bar and the per-episode lines."""

    def __init__(self, total: int, *, already_done: int = 0, already_succeeded: int = 0, quiet: bool = False):
        self.total = total
        self.done = already_done
        self.successes = already_succeeded
        self.quiet = quiet
        self.bar = None
        if not quiet:
            self.bar = tqdm(total=total, initial=already_done, unit="ep", dynamic_ncols=True, file=sys.stderr)
            self._postfix()

    def _postfix(self) -> None:
        if self.bar is not None and self.done:
            self.bar.set_postfix_str(
                f"success {self.successes}/{self.done} ({self.successes / self.done:.0%})"
            )

    def update(self, row: dict[str, Any]) -> None:
        self.done += 1
        self.successes += int(bool(row["success"]))
        if self.bar is not None:
            self.bar.write(episode_line(row, self.done, self.total), file=sys.stderr)
            self.bar.update(1)
            self._postfix()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
