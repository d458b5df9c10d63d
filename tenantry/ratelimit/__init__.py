"""Rate limits on the send endpoints: per recipient, per client address and per project.

A route declares what it limits with ``api(..., limit=SendLimit(...))``; ``tenantry.api.endpoint``
asks the project's ``RateLimiter`` to admit the request in its own committed transaction before
the handler's transaction begins. Counters live in the database (``store``) or in Redis
(``redis_store``) so every worker and machine shares them.
"""
