"""python -m switchboard: the same as the switchboard command."""

from switchboard.cli.main import main

main()
