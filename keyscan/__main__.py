"""Entry point for `python -m keyscan`."""

from keyscan.cli import main

raise SystemExit(main())
