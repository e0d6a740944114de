"""What a screen may read of the floor: `Floor`'s queries, and nothing that changes it."""

from __future__ import annotations

from collections.abc import Sequence

from feeds.floor.model import Floor
from feeds.floor.shift import AgentStats, EndedCall
from feeds.floor.view import CallDetail, FlagView


class FloorReader:
    """What a screen may read of the floor: its queries and nothing that changes it.

    The app owns the `Floor` and folds the feed into it; each screen is given one of
    these, so the only way a screen changes anything is by asking the app (a Message).
    """

    __slots__ = ("_floor",)

    def __init__(self, floor: Floor) -> None:
        self._floor = floor

    @property
    def t(self) -> float:
        """The newest event time seen on the feed."""
        return self._floor.t

    @property
    def alerts(self) -> tuple[FlagView, ...]:
        """The latest flag transitions, oldest first (the alerts screen's list)."""
        return tuple(self._floor.alerts)

    def order(self, teams: frozenset[str] = frozenset(), kinds: frozenset[str] = frozenset(),
              text: str = "", by_agent: bool = False,
              keep: Sequence[str] | None = None) -> list[str]:
        return self._floor.order(teams, kinds, text, by_agent, keep)

    def detail(self, call_id: str) -> CallDetail | None:
        return self._floor.detail(call_id)

    def agent_name(self, call_id: str) -> str:
        return self._floor.agent_name(call_id)

    def agent_stats(self) -> list[AgentStats]:
        return self._floor.agent_stats()

    def ended_calls(self) -> list[EndedCall]:
        return self._floor.ended_calls()
