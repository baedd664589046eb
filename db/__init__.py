"""Local storage: peewee models over SQLite, schema migrations, backup and restore."""
