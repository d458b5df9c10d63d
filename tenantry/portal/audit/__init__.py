"""The portal's delegation audit log: append-only, hash-chained, verifiable offline.

``log.record`` appends, ``chain.verify`` walks the chain, ``query`` reads events back for the audit
page and the exports, ``cli`` is ``tenantry audit verify | export``.
"""
