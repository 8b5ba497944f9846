"""`survey chat` driven through a pseudo-terminal, as a person would use it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect

LAUNCHER = Path(__file__).with_name("fake_survey.py")
PROMPT = "ask>"  # prompt_toolkit draws the trailing space as a cursor move


def test_chat_session_in_a_terminal(sample_store: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SURVEY_MODEL": "fake/rules", "SURVEY_CACHE_DIR": str(tmp_path / "cache"),
           "FAKE_LLM_DELAY": "0.15", "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "COLUMNS": "120", "LINES": "40"}
    child = pexpect.spawn(sys.executable, [str(LAUNCHER), "chat", "--store", str(sample_store)], env=env,
                          encoding="utf-8", timeout=120, dimensions=(40, 120))
    try:
        child.expect("297 papers")
        child.expect_exact(PROMPT)
        child.sendline("How long are the videos in InfiniBench on average?")
        child.expect("the model reads the evidence")  # the status line, before the first token
        child.expect("Sources")
        child.expect(r"\[@InfiniBench\]")
        child.expect_exact(PROMPT)

        child.sendline("How many question-answer pairs does it have?")  # a follow-up
        child.expect("Sources")
        child.expect_exact(PROMPT)

        child.sendline("/sources")
        child.expect("cited = in the last answer")
        child.expect(r"cited  \[@")
        child.expect_exact(PROMPT)

        child.sendline("/model nosuch/model")  # checked, refused, the old model kept
        child.expect("unknown model 'nosuch/model'")
        child.expect_exact(PROMPT)
        child.sendline("/model")
        child.expect("model: fake/rules")
        child.expect_exact(PROMPT)

        child.sendline("What do these papers say about hallucination in multimodal models?")
        # Wait until the answer is visibly streaming (rich's live view redraws its line: CR, erase-line,
        # text; the fake writes one word per 0.15 s, ~8 s in all) rather than sleeping a fixed time,
        # which a loaded CI machine outran.
        child.expect(r"\r\x1b\[2K\w+ \w+ \w+")
        child.sendintr()  # Ctrl-C stops the answer, not the session
        child.expect_exact("(answer stopped)")
        child.expect_exact(PROMPT)

        child.send("\x1b[A")  # arrow up: the last question comes back from history
        child.expect("hallucination")
        child.send("\r")
        child.expect("Sources", timeout=120)
        child.expect_exact(PROMPT)

        transcript = tmp_path / "chat.md"
        child.sendline(f"/save {transcript}")
        child.expect("saved 3 answer")
        child.expect_exact(PROMPT)

        child.sendeof()  # Ctrl-D leaves
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    saved = transcript.read_text()
    assert saved.count("\n## ") == 3 and "[@InfiniBench]" in saved and "**Sources**" in saved
