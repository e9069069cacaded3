"""Slack surface views: Block Kit builders and mrkdwn, the one place for wording and escaping."""
