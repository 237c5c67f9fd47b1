"""Approval before work starts: the headteacher's authorisation and the Change Advisory Board."""
