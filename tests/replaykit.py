"""A small hand-made recording for the replay and CLI tests.

Four calls over under three minutes of event time, each built to raise known
rules with realistic jitter: a 135 s hold (`hold_long`), two transfers
(`transfers`), a customer loud for 15 s then calm (`customer_distress`, then
`deescalated`) and an agent loud for 10 s (`agent_raised_voice`). Short enough
that `--speed 50` replays it in a few seconds.
"""

from __future__ import annotations

import random

T0 = 1_790_000_000.0
END = T0 + 170.0

#: (call, rule) of every flag the scenario must raise, and nothing else.
EXPECTED_RAISED = {
    ("hold-1", "hold_long"),
    ("xfer-1", "transfers"),
    ("calm-1", "customer_distress"),
    ("calm-1", "deescalated"),
    ("loud-1", "agent_raised_voice"),
}

CALLS = {"hold-1": "hold", "xfer-1": "transfer", "calm-1": "distress", "loud-1": "shout"}


def _voiced(rng: random.Random, kind: str, t: float) -> dict[str, float]:
    cust = -28.0 + rng.gauss(0, 1.0)
    agent = -26.0 + rng.gauss(0, 1.0)
    if kind == "distress" and T0 + 60 <= t < T0 + 75:
        cust += 12.0
    if kind == "shout" and T0 + 60 <= t < T0 + 70:
        agent += 12.0
    return {
        "cust_db": round(cust, 2),
        "cust_pitch": round(210.0 * (1 + rng.gauss(0, 0.02)), 1),
        "agent_db": round(agent, 2),
        "agent_pitch": round(120.0 * (1 + rng.gauss(0, 0.02)), 1),
    }


def scenario(seed: int = 7) -> list[dict]:
    """The scenario's messages in event-time order, samples every 0.5 s."""
    rng = random.Random(seed)
    out: list[dict] = []
    for i, call in enumerate(CALLS):
        out.append({"type": "call_start", "call": call, "t": T0 + i, "agent": f"ag{i}",
                    "team": "red" if i % 2 else "blue"})
    t = T0 + 4
    while t < END:
        t = round(t + 0.5, 3)
        for call, kind in CALLS.items():
            sample = {"type": "sample", "call": call, "t": t, "dt": 0.5}
            if not (kind == "hold" and T0 + 20 <= t < T0 + 155):
                sample.update(_voiced(rng, kind, t))
            out.append(sample)
        if t == T0 + 20:
            out.append({"type": "event", "call": "hold-1", "t": t, "event": "hold_start"})
        if t == T0 + 155:
            out.append({"type": "event", "call": "hold-1", "t": t, "event": "hold_end"})
        if t in (T0 + 30, T0 + 90):
            out.append({"type": "event", "call": "xfer-1", "t": t, "event": "transfer",
                        "to": "tier2", "mode": "warm"})
    for i, call in enumerate(CALLS):
        out.append({"type": "call_end", "call": call, "t": END + i, "reason": "hangup"})
    return out
