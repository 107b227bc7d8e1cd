"""Notifications: the in-app feed, email templates, web push and each user's preferences.

Other areas call `lib.notifications.services.notify()` inside their own transaction.
"""
