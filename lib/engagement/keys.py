"""KV keys of engagement data, importable without the document store's client."""


def recent_views_key(user_id: str) -> str:
    """The capped list of a user's recently viewed product ids, most recent first."""
    return f"user:{user_id}:recent_views"
