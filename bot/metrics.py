"""Prometheus metrics, one registry per app so tests and replicas don't share state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "asyncstand_http_requests_total",
            "Inbound HTTP requests",
            ["route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "asyncstand_http_request_seconds",
            "Inbound request handling time",
            ["route"],
            registry=self.registry,
        )
        self.prompts = Counter(
            "asyncstand_prompts_total",
            "Prompts by outcome (sent, failed, missed, retried)",
            ["outcome"],
            registry=self.registry,
        )
        self.scheduler_lag = Histogram(
            "asyncstand_scheduler_lag_seconds",
            "From a prompt's due minute to its DM being posted",
            buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900),
            registry=self.registry,
        )
        self.slack_calls = Counter(
            "asyncstand_slack_api_calls_total",
            "Slack Web API calls by method and outcome (ok or the error code)",
            ["method", "outcome"],
            registry=self.registry,
        )
        self.slack_latency = Histogram(
            "asyncstand_slack_api_seconds",
            "Slack Web API call latency, rate-limit waits excluded",
            ["method"],
            registry=self.registry,
        )
        self.slack_rate_limited = Counter(
            "asyncstand_slack_api_429_total",
            "HTTP 429 answers from Slack, by method",
            ["method"],
            registry=self.registry,
        )
        self.prompts_due = Counter(
            "asyncstand_prompts_due_total",
            "Prompts found due by the scheduler (claimed for sending)",
            registry=self.registry,
        )
        self.reminders = Counter(
            "asyncstand_reminders_total",
            "Reminder DMs by outcome (sent, nudged, postponed, dropped, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.runs_closed = Counter(
            "asyncstand_runs_closed_total", "Runs finalised", registry=self.registry
        )
        # Socket Mode (SLACK_APP_TOKEN): the connection and the envelopes that came over it.
        self.socket_connected = Gauge(
            "asyncstand_slack_socket_connected",
            "1 while the Socket Mode connection is open and Slack said hello on it",
            registry=self.registry,
        )
        self.socket_connections = Counter(
            "asyncstand_slack_socket_connections_total",
            "Socket Mode connections opened (each hello from Slack)",
            registry=self.registry,
        )
        self.socket_envelopes = Counter(
            "asyncstand_slack_socket_envelopes_total",
            "Socket Mode envelopes by type and outcome (acked, not_acked, ack_failed, refused)",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.socket_ack_latency = Histogram(
            "asyncstand_slack_socket_ack_seconds",
            "From an envelope's arrival to its acknowledgement, by envelope type",
            ["type"],
            registry=self.registry,
        )
        self.webhook_deliveries = Counter(
            "asyncstand_webhook_deliveries_total",
            "Outgoing webhook delivery attempts by outcome (delivered, retried, gave_up)",
            ["outcome"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
