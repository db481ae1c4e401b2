"""The bundled `docker` plugin: containers on a Docker-API engine (Docker or Podman) —
state from the event stream, checks, actions with approvals, logs, prune, disk use and
one-click databases."""
