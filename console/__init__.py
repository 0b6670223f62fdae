"""The web console on port 8080: people place and follow orders, and admins watch stock, the
breaker and the latency light and toggle gremlins. It talks only to the two services' public APIs
(and to Prometheus' query API when one is configured); it owns no database."""
