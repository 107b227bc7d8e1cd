"""The one Django app: models of the whole store and their admin."""
