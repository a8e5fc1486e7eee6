"""The engine: turns a loaded spec into dlt resources and runs them."""
