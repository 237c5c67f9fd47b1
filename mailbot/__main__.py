"""`python -m mailbot`: the same command line as the installed `mailbot` command."""

from mailbot.cli.launch import main

raise SystemExit(main())
