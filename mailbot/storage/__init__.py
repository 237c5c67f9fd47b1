"""The database: engine, sessions, tables, migrations, and queries several rooms share."""
