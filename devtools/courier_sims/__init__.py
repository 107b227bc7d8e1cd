"""Local stand-ins for the couriers (Pathao, Steadfast, RedX), speaking their public APIs."""
