"""`python -m runner build` works where the `runner` script is not on PATH."""

from runner.cli import main

main()
