"""The homeassistant plugin of Nebula Command."""
