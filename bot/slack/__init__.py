"""The Slack Web API gateway: clients pointed at SLACK_API_URL, rate limits, retries, tokens."""
