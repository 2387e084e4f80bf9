"""Pure domain: entities, validation rules, the list query. No IO, no HTTP."""
