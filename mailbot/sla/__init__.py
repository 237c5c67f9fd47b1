"""Support time and the SLA clock: pure arithmetic over the rules' calendar."""
