"""The google plugin of Nebula Command."""
