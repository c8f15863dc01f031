"""Which sessions the served policy holds, and which to evict: idle ones, and the least recently used one when
a new session needs a slot and all are taken.

Pure bookkeeping (no policy calls, no I/O): the batcher decides with it, then calls the policy.

Example:
    >>> table = SessionTable(max_sessions=2, idle_timeout_s=60)
    >>> table.touch("a", now=0.0); table.touch("b", now=5.0)
    >>> table.victim_for_new(protected={"b"}), table.idle(now=62.0)
    ('a', ['a'])
"""

from __future__ import annotations

from collections import OrderedDict


class SessionTable:
    """Live session keys in least-recently-used order, with the time each was last used."""

    def __init__(self, max_sessions: int, idle_timeout_s: float) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, got {max_sessions}")
        if not idle_timeout_s > 0:
            raise ValueError(f"idle_timeout_s must be > 0, got {idle_timeout_s}")
        self.max_sessions = int(max_sessions)
        self.idle_timeout_s = float(idle_timeout_s)
        self._last_used: OrderedDict[str, float] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._last_used

    def __len__(self) -> int:
        return len(self._last_used)

    def touch(self, key: str, now: float) -> None:
        """Mark ``key`` live and used at ``now`` (it becomes the most recently used)."""
        self._last_used[key] = now
        self._last_used.move_to_end(key)

    def remove(self, key: str) -> bool:
        """Forget ``key``; True if it was live."""
        return self._last_used.pop(key, None) is not None

    def idle_for(self, key: str, now: float) -> float:
        return now - self._last_used[key]

    def idle(self, now: float) -> list[str]:
        """Keys unused for longer than the idle timeout, oldest first."""
        return [k for k, t in self._last_used.items() if now - t > self.idle_timeout_s]

    def victim_for_new(self, protected: set[str]) -> str | None:
        """The key to evict so that one more session fits (least recently used, not in ``protected``), or
        None when there is room (or nothing may be evicted)."""
        if len(self._last_used) < self.max_sessions:
            return None
        return next((k for k in self._last_used if k not in protected), None)
