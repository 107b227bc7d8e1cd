"""Local stand-ins of the payment providers (WSGI apps with pay pages and test hooks)."""
