"""The SQLite store: every SQL statement of the project, and the storage format of versions."""
