"""Live chat: shoppers (signed in, or guests holding a conversation token) talk to the
support team. `services` writes, `selectors` reads, `poll` keeps the per-conversation "last
message id" in the KV so an unchanged poll costs no SQL, `attachments` checks uploads."""
