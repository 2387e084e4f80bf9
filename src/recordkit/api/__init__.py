"""HTTP only: app factory, routes, auth, error mapping, wire shapes."""
