"""Ground truth of generated floors, and scoring the engine's flags against it.

`expected_episodes` reads only the plans (never the engine): for each call,
which rules must raise and the window of event time within which the raise
must happen. Holds, transfers and talk-overs raise at an exact time; voice
rules within the planned incident (the engine needs a couple of seconds of
the party's speech to see it). An episode whose window runs past the end of
the floor (`CallPlan.stop`) is optional: it may or may not be raised.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from feeds.core.config import DEFAULT
from feeds.core.flags import RULE_KINDS, Flag
from feeds.sim.plan import CallPlan

#: Tolerance for rules that raise at an exact planned time (times are rounded to 1 ms).
EXACT_S = 0.01
#: A customer escalation is flagged within this long of its start.
DISTRESS_WITHIN_S = 15.0
#: After a calmed escalation, the kudos comes within this window around its end.
KUDOS_FROM_S = -3.0
KUDOS_TO_S = 20.0


@dataclass(frozen=True, slots=True)
class Expected:
    """A flag the plan must raise: `rule` on `call`, raised within [t_from, t_to]."""

    call: str
    rule: str
    t_from: float
    t_to: float
    must: bool
    why: str


def _call_episodes(plan: CallPlan) -> list[tuple[str, float, float, str]]:
    rules = DEFAULT.rules
    out = []
    shouts = [e for e in plan.effects if e.kind == "shout"]
    for e in plan.effects:
        if e.kind == "escalation":
            what = f"customer escalation +{e.db} dB/+{e.st} st for {e.t1 - e.t0:.0f} s"
            out.append(("customer_distress", e.t0, e.t0 + DISTRESS_WITHIN_S, what))
            shouted = any(s.t0 < e.t1 and e.t0 < s.t1 for s in shouts)
            # Planned escalations last <= 45 s (calmed) or >= 80 s (not): the engine's
            # episode, a few seconds shorter or longer, is clearly within or over 60 s.
            if e.t1 - e.t0 <= 45.0 and not shouted:
                out.append(("deescalated", e.t1 + KUDOS_FROM_S, e.t1 + KUDOS_TO_S,
                            f"{what}, calmed"))
        elif e.kind == "shout":
            out.append(("agent_raised_voice", e.t0, e.t1,
                        f"agent +{e.db} dB for {e.t1 - e.t0:.0f} s"))
    total = 0.0
    total_raised = False
    for hold in plan.holds:
        length = hold.t1 - hold.t0
        if length >= rules.hold_long.seconds:
            at = hold.t0 + rules.hold_long.seconds
            out.append(("hold_long", at - EXACT_S, at + EXACT_S, f"hold of {length:.0f} s"))
        if not total_raised and total + length >= rules.hold_total.seconds:
            at = hold.t0 + rules.hold_total.seconds - total
            out.append(("hold_total", at - EXACT_S, at + EXACT_S,
                        f"holds adding up to {sum(h.t1 - h.t0 for h in plan.holds):.0f} s"))
            total_raised = True
        total += length
    n = rules.transfers.count
    if len(plan.transfers) >= n:
        at = plan.transfers[n - 1].t
        out.append(("transfers", at - EXACT_S, at + EXACT_S,
                    f"{len(plan.transfers)} transfers"))
    times = [o.t for o in plan.talk_overs if o.dur >= rules.talk_over.min_dur_s]
    k = rules.talk_over.count
    for i in range(k - 1, len(times)):
        if times[i] - times[i - k + 1] <= rules.talk_over.window_s:
            out.append(("talk_over", times[i] - EXACT_S, times[i] + EXACT_S,
                        f"{len(times)} agent talk-overs"))
            break
    return out


def expected_episodes(plans: Iterable[CallPlan]) -> list[Expected]:
    """The flags the plans must raise (default thresholds), in order of call and time."""
    out = []
    for plan in plans:
        for rule, t_from, t_to, why in _call_episodes(plan):
            if t_from > plan.stop:
                continue
            out.append(Expected(plan.call, rule, round(t_from, 3), round(t_to, 3),
                                t_to <= plan.stop, why))
    return out


@dataclass(slots=True)
class RuleScore:
    """Matches of one rule: true positives, misses (false negatives), false positives."""

    tp: int = 0
    fn: int = 0
    fp: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass(slots=True)
class Score:
    rules: dict[str, RuleScore]
    misses: list[Expected]
    extras: list[Flag]

    def table(self) -> str:
        """A plain-text table of per-rule counts, precision and recall."""
        lines = [f"{'rule':<20} {'expected':>8} {'raised':>7} {'tp':>5} {'fn':>4} {'fp':>4} "
                 f"{'precision':>9} {'recall':>7}"]
        for rule, s in self.rules.items():
            lines.append(f"{rule:<20} {s.tp + s.fn:>8} {s.tp + s.fp:>7} {s.tp:>5} {s.fn:>4} "
                         f"{s.fp:>4} {s.precision:>9.3f} {s.recall:>7.3f}")
        return "\n".join(lines)


def score(expected: Iterable[Expected], flags: Iterable[Flag]) -> Score:
    """Match raised flags to expected episodes per call and rule, earliest first.

    A raise inside an expected window matches it; an optional episode matched
    counts neither way; every other raise is a false positive.
    """
    wanted: dict[tuple[str, str], list[Expected]] = defaultdict(list)
    for e in expected:
        wanted[e.call, e.rule].append(e)
    raised: dict[tuple[str, str], list[Flag]] = defaultdict(list)
    for flag in flags:
        if flag.state == "raised":
            raised[flag.call, flag.rule].append(flag)
    result = Score({rule: RuleScore() for rule in RULE_KINDS}, [], [])
    for key in sorted(wanted.keys() | raised.keys()):
        pending = sorted(raised.get(key, []), key=lambda f: f.t)
        for e in sorted(wanted.get(key, []), key=lambda e: e.t_from):
            hit = next((f for f in pending if e.t_from <= f.t <= e.t_to), None)
            if hit is not None:
                pending.remove(hit)
                if e.must:
                    result.rules[e.rule].tp += 1
            elif e.must:
                result.rules[e.rule].fn += 1
                result.misses.append(e)
        for flag in pending:
            result.rules[flag.rule].fp += 1
            result.extras.append(flag)
    return result
