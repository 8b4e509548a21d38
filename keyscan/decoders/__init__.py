"""Decoders that expose secrets hidden inside encoded text (base64, URL, hex, escapes, notebooks)."""
