"""Monitoring of the user-activity log (MongoDB `user_activity`, written by
`lib.access.activity`): browsing with filters (`selectors.activity_page`), suspicious patterns
(`selectors.suspicious_activity`) and the order placements recorded there (`hooks`)."""
