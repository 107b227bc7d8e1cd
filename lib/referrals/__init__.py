"""Referrals (a customer's code brings a new customer; both earn points on the newcomer's first
delivered order, once) and affiliates (approved partners earn a commission on orders placed
with their code within their window). Order hooks in `hooks.py`."""
