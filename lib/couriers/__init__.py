"""Couriers: one interface, an adapter per courier (Pathao, Steadfast, RedX), consignments
booked from packed orders and moved forward by the couriers' webhooks and a poll cron."""
