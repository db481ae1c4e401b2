"""The bundled `zoneedit` plugin: keeps ZoneEdit dynamic-DNS records on the host's public IP,
which several echo services must agree on before anything is changed."""
