"""Cross-worker signals (credential changes now; new events later)."""
