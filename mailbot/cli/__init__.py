"""The `mailbot` command line: the one edge that reads the clock and the environment."""
