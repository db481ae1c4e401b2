"""The streambot plugin of Nebula Command."""
