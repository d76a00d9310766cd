"""Django's PostgreSQL backend with a health check that costs no round trip when the
server has said nothing (see base.DatabaseWrapper)."""
