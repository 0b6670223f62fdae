"""Resilience strategies, one module per family: breaker, bulkhead, retry policy."""
