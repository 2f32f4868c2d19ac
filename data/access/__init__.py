"""Who may see what: roles and scopes (roles), the users, sessions and audit store (users) and the disclosure policy every number passes (disclosure)."""
