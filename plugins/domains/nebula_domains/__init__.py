"""The bundled `domains` plugin: per-host DNS (with propagation across resolvers), HTTPS and
TLS-certificate health, checked concurrently with one slow host never holding up the rest."""
