"""The switchboard command (main.py) and its command groups, one module each."""
