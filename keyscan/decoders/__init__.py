"""Decoders that expose secrets inside encoded text (base64, URL, hex, escapes, notebooks)."""
