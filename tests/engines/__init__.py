"""Real components the tests start: a throwaway PostgreSQL cluster, a Podman service with a
Docker API, dnsmasq. Shared by the core's tests and every plugin's (one per xdist worker)."""
