"""mailbot: turns a school's email into a logged, confirmed and tracked support call."""

__version__ = "0.1.0"
