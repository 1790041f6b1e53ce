"""Calls and recordings: the PBX drivers, the call service and its routes."""
