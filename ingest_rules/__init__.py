"""Rule profiles of the Vietnamese archival input standards, as data, and the engine that applies them."""
