"""Email one-time passcodes: six-digit codes mailed for discovery and organization login."""
