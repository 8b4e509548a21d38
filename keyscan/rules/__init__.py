"""Rule schema, loading and the compiled, immutable ruleset."""
