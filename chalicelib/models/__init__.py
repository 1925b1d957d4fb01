"""PynamoDB models, one table per aggregate; table names come from the settings."""
