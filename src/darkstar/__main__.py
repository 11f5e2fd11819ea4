"""Run the Darkstar CLI: ``python -m darkstar``."""

from darkstar.cli import main

main()
