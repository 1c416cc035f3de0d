"""Password hashing and token signing: infrastructure the services use, importing none of
them."""
