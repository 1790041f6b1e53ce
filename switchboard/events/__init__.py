"""Events: the event log, the subscribe long-poll, webhooks and their delivery."""
