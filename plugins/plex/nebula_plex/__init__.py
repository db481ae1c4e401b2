"""The plex plugin of Nebula Command."""
