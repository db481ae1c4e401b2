"""The bundled `plex` plugin: Plex Media Server health, now playing, libraries and the usual
maintenance (library scans, emptying the trash, optimising the database)."""
