"""Orders: placement support (stock, numbers), fraud screening and the status machine."""
