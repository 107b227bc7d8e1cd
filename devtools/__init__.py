"""Local stand-ins and developer tooling (never deployed)."""
