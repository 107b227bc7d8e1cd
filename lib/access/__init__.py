"""Identity and access: who is calling (API key, user), from where, how often, and what they
may do. Runs on every request of every function, so it is strict and cheap."""
