"""The database: models, migrations, transactions and the outbox table."""
