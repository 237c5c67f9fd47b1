"""Major incidents: declaring, updating, resolving, broadcasting, the status page."""
