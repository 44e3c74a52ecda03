"""`python -m server` is the `charter` command."""

from server.cli import main

raise SystemExit(main())
