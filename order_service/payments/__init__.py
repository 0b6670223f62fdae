"""Payments: the provider port (over HTTP, through the resilience layer), one payment per order,
the webhook inbox with its dead-letter queue, and refunds through the outbox."""
