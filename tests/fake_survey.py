"""`survey` with the fake model registered: lets subprocess tests (the chat REPL in a pty) use it."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import fake_llm  # noqa: E402

fake_llm.register()
fake_llm.FAKE.delay = float(os.environ.get("FAKE_LLM_DELAY", "0"))

from agent.cli import main  # noqa: E402

main()
