"""Outbound HTTP that cannot be aimed at the wrong place: address policy, pinning, caps."""
