"""Credentials: API tokens (stored hashed) and the cipher for storage secrets at rest."""
