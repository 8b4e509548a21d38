"""keyscan: find leaked keys, tokens, private keys and passwords."""

__version__ = "0.1.0"
