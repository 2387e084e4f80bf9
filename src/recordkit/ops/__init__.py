"""Operations: readiness, Prometheus metrics and structured logs (no HTTP here; see ``api.observe``
and ``api.ops_routes`` for the middleware and the endpoints)."""
