"""Real speech through the analysis and the unchanged detection engine: what a
supervisor would see for calls built from espeak-ng voices altered by sox."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.core.engine import Engine
from feeds.core.protocol import Message
from feeds.sources.codec import read_wav
from feeds.sources.recorded import call_messages
from tests.speech import Line, Speech, Turn

T0 = 1_790_000_000.0
RANT = "I have been waiting for this refund for weeks and nobody has ever called me back."
INTERRUPT = "Let me stop you there, I need your account number first."


def analyse(path: Path) -> list[Message]:
    return list(call_messages(read_wav(path), "c1", "a1", "billing", T0))


def raised(messages: list[Message]) -> list[tuple[str, float]]:
    """(rule, seconds into the call) of every flag raised."""
    engine = Engine()
    return [(flag.rule, flag.t - T0) for msg in messages for flag in engine.process(msg)
            if flag.state == "raised"]


def talk_overs(messages: list[Message]) -> list[tuple[str, float]]:
    return [(m["by"], m["dur"]) for m in messages if m.get("event") == "talk_over"]


def after(speech: Speech, turns: list[Turn], pause: float = 0.6) -> float:
    last = turns[-1]
    return last.at + speech.seconds(last) + pause


@pytest.mark.parametrize("line", [Line(), Line(noise_db=-50.0), Line(bleed_db=-28.0),
                                  Line(ulaw=True, bleed_db=-25.0, noise_db=-55.0)],
                         ids=["clean", "noisy", "bleed", "ulaw-bleed-noise"])
def test_a_calm_call_raises_nothing(speech: Speech, line: Line) -> None:
    messages = analyse(speech.call(f"calm-{id(line)}", speech.conversation(0.5, 90.0), line))
    assert raised(messages) == []
    samples = [m for m in messages if m["type"] == "sample"]
    both = [m for m in samples if m["cust_db"] is not None and m["agent_db"] is not None]
    spoken = [m for m in samples if m["cust_db"] is not None]
    assert len(spoken) > 100  # the customer is heard, through the noise
    assert len(both) <= 3  # and the other party's bleed is not taken for their speech
    assert all(dur < 1.0 for _, dur in talk_overs(messages))


@pytest.mark.parametrize(("line", "tempo"), [
    (Line(), 1.0), (Line(ulaw=True, bleed_db=-30.0, noise_db=-55.0), 1.25)],
    ids=["clean", "ulaw-bleed-noise-faster"])
def test_a_customer_who_gets_louder_and_higher_then_calms(speech: Speech, line: Line,
                                                          tempo: float) -> None:
    """Louder (+9 dB), higher (+450 cents) and, in one case, 25 % faster (sox tempo)."""
    turns = speech.conversation(0.5, 30.0)
    change = at = after(speech, turns)
    for text in [RANT, "This is the third time I have had to explain all of this to you."]:
        turns.append(Turn("customer", at, text, gain_db=9.0, cents=450, tempo=tempo))
        at = after(speech, turns, 0.4)
    turns += speech.conversation(at + 0.3, at + 40.0)
    flags = raised(analyse(speech.call(f"distress-{id(line)}", turns, line)))
    rules = [rule for rule, _ in flags]
    assert rules == ["customer_distress", "deescalated"]
    distress, calmed = (t for _, t in flags)
    assert change < distress <= change + 5.0
    assert at < calmed < at + 10.0


def test_an_agent_who_shouts(speech: Speech) -> None:
    turns = speech.conversation(0.5, 30.0)
    shout = at = after(speech, turns)
    for text in ["I already told you that three times, you need to listen to me.",
                 "That is not how this works and I cannot change it for you."]:
        turns.append(Turn("agent", at, text, voice="en-gb", pitch=40, gain_db=10.0))
        at = after(speech, turns, 0.4)
    turns += speech.conversation(at + 0.3, at + 20.0)
    flags = raised(analyse(speech.call("shout", turns, Line(bleed_db=-30.0))))
    assert [rule for rule, _ in flags] == ["agent_raised_voice"]
    assert shout < flags[0][1] <= shout + 5.0


def _interrupted(speech: Speech, cut_in: list[tuple[float, str]]) -> list[Turn]:
    """A calm start, then the customer's long sentences, each cut into at `cut_in`'s
    offset by the agent saying its text."""
    turns = speech.conversation(0.5, 20.0)
    at = after(speech, turns)
    for offset, text in cut_in:
        said = Turn("customer", at, RANT)
        turns += [said, Turn("agent", at + offset, text, voice="en-gb", pitch=40)]
        at += speech.seconds(said) + 1.0
    return turns + speech.conversation(at, at + 10.0)


def test_three_interruptions_by_the_agent_raise_talk_over(speech: Speech) -> None:
    turns = _interrupted(speech, [(1.5, INTERRUPT)] * 3)
    messages = analyse(speech.call("interrupt", turns, Line(bleed_db=-30.0)))
    overs = [o for o in talk_overs(messages) if o[1] >= 1.0]
    assert [by for by, _ in overs] == ["agent"] * 3
    assert raised(messages) and [rule for rule, _ in raised(messages)] == ["talk_over"]


def test_backchannels_and_coughs_raise_nothing(speech: Speech, tmp_path: Path) -> None:
    """'mm-hm', 'right', 'okay' under the customer's sentences stay under 1 s of double
    talk; the customer's coughs (loud noise bursts) are not distress."""
    turns = _interrupted(speech, [(2.0, word) for word in
                                  ["mm-hm", "right", "okay", "yes", "mm-hm", "I see"]])
    path = speech.call("backchannel", turns, Line(bleed_db=-28.0, noise_db=-55.0))
    cough = speech.cough(tmp_path / "cough.wav")
    messages = analyse(speech.add(path, cough, "customer", [33.0, 47.0, 61.0]))
    overs = talk_overs(messages)
    assert len(overs) >= 2 and all(dur < 1.0 for _, dur in overs), overs
    coughs = [m["cust_db"] for m in messages if m["type"] == "sample"
              and any(0 <= m["t"] - T0 - at < 0.5 for at in (33.0, 47.0, 61.0))]
    assert max(coughs) > -30.0  # loud: ~10 dB over this customer's speech, but brief
    assert raised(messages) == []
