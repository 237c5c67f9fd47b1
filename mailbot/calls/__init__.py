"""Calls: their records, their life, the store the pipeline writes through, the mail about them."""
