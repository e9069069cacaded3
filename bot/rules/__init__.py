"""Pure rules: validation, permissions, time maths, digests. No I/O, no Slack, no SQL."""
