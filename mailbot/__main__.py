"""`python -m mailbot`: the same command line as the installed `mailbot` command."""

from mailbot.cli.main import main

raise SystemExit(main())
