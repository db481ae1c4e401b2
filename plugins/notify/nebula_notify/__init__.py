"""The notify plugin of Nebula Command."""
