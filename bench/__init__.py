"""Benchmarks: hot routes measured against the framework floor, same server, same run."""
