"""The audit log: who did what to which object, with the decision and the reason."""
