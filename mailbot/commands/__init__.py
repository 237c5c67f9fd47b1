"""The #command grammar and the one handler table shared by email replies and the command line."""
