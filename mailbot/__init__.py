"""mailbot: turns a school's email into a logged, confirmed and tracked support call."""

import os

__version__ = "0.1.0"

# mailbot uses no pydantic plugin, and pydantic looks for plugins when it
# builds its first model by reading the entry points of every installed
# distribution: some 30-70 ms of CPU in each command and in each intake
# worker.  An administrator who does want plugins sets the variable (an empty
# value lets them all load); see README's dependency notes.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
