"""`python -m agent` is the `survey` command."""

from agent.cli import main

main()
