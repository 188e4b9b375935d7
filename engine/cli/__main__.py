"""`python -m engine.cli` = `playbook`."""

from engine.cli.app import main

main()
