"""The reliability suite (issue 6): faults and races against real ``tenantry serve`` processes on
loopback, SQLite and PostgreSQL, bounded to a few minutes of CI.

- test_worker_kill.py: ``kill -9`` of one of two workers under an onboarding load, then the
  invariants read from the tables (reliability/invariants.py) and every queued mail delivered.
- test_postgres_outage.py: PostgreSQL crashed and restarted under load (a cluster of its own):
  fast Stytch-format 503s while down, service back by itself, nothing acknowledged lost.
- test_races.py: single-use intermediate sessions and invitations, slug claims, several rounds.
- test_long_fuzz.py: thousands of schemathesis cases over every implemented operation with a
  new seed each run (TENANTRY_RELIABILITY_SEED replays one, TENANTRY_RELIABILITY_EXAMPLES sizes
  it); test_fuzz_findings.py keeps what it found as fixed cases.
"""
