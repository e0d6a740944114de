"""Which live calls have gone quiet: the floor's "no feed" marks, found without a walk.

Calls are kept in the order their producer was last heard from (a dict re-inserted on
every message), so a frame looks only at the quiet end of the floor: the calls heard
from recently stop the scan. On a 5,000-call floor this is a handful of dict steps a
frame instead of a pass over every call.
"""

from __future__ import annotations

from collections.abc import Callable


class Liveness:
    """When each live call was last heard from (wall time), and which are silent."""

    __slots__ = ("_heard", "silent")

    def __init__(self) -> None:
        self._heard: dict[str, float] = {}  # oldest first; silent and quiet holds leave it
        self.silent: set[str] = set()  # marked "no feed" until heard from again

    def __contains__(self, call_id: str) -> bool:
        return call_id in self._heard or call_id in self.silent

    def heard(self, call_id: str, wall: float) -> bool:
        """A message from (or about) the call at `wall`; True if it was silent until now."""
        heard = self._heard
        heard.pop(call_id, None)
        heard[call_id] = wall
        if call_id in self.silent:
            self.silent.discard(call_id)
            return True
        return False

    def forget(self, call_id: str) -> None:
        """The call ended."""
        self._heard.pop(call_id, None)
        self.silent.discard(call_id)

    def quiet(self, since: float, on_hold: Callable[[str], bool]) -> list[str]:
        """Calls last heard before `since` and not on hold, now marked silent.

        A quiet call on hold is not silent (the hub moves a quiet hold on by itself);
        it leaves the order like a silent one and comes back with its next message,
        which is also the only way its hold can end."""
        heard = self._heard
        quiet = []
        for call_id, wall in heard.items():
            if wall >= since:
                break
            quiet.append(call_id)
        for call_id in quiet:
            del heard[call_id]
        silent = [call_id for call_id in quiet if not on_hold(call_id)]
        self.silent.update(silent)
        return silent
