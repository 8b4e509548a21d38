"""Talking to providers about a found secret: verify rules, revocation plans, audit records."""
