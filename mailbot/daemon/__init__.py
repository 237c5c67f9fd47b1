"""The long-running service: intake, outbox sender, the metronome and its jobs, health."""
