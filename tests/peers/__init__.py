"""Real peer LRSs run as separate processes, for the sync and forwarding tests."""
