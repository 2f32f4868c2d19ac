"""The store: the DuckDB file (db), results cached per data version (cache), the one filter model (filters) and every SQL query (queries*)."""
