"""SMS: one gateway interface (SSL Wireless, sms.net.bd, BulkSMSBD, the console), texts
queued in the durable outbox and delivered after the response (OTP codes, order news)."""
