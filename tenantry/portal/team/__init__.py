"""The clinic's team: members and invitations, each action checked against ``portal.roles``
before it is sent to Stytch with the acting member's own session, and recorded in the audit log."""
