"""The web layer: thin handlers that parse, call the domain and render."""
