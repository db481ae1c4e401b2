"""The discordbot plugin of Nebula Command."""
