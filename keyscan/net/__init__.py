"""Outbound HTTP that cannot be pointed at the wrong place: address policy, pinned connections, caps."""
