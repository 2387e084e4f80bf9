"""What the SQLite and PostgreSQL stores share, written once and free of either dialect: the row
codec, the list planner (count and walk decisions, their limits), the import passes, the staging file."""
