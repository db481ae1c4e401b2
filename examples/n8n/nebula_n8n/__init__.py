"""nebula-n8n: watch and steer an n8n automation server from Nebula Command."""
