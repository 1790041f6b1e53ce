"""Helpers the test modules share: builders, servers, clients and harnesses (no tests here)."""
