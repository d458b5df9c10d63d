"""What an operator sees of a running server: JSON logs with request ids, Prometheus metrics,
health and readiness probes."""
