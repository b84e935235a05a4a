"""Cryptographic primitives: key agreement, ratchet, AEAD, signing."""
