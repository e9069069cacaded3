"""AsyncStand: asynchronous standups for Slack."""
