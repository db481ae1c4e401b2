"""Dynamic DNS, provider-neutral: the part of a DDNS plugin that does not depend on who
keeps the records.

- `echo`: the public IP, believed only when every echo service (and, for IPv6, optionally
  the host's own global address) that answered agrees, and enough of them did;
- `published`: what DNS serves for a host, resolver by resolver;
- `outcome`: a provider's answer as one `Outcome` (updated, unchanged, rate_limited,
  bad_auth, unknown_host, bad_request, failed) with the provider's own code;
- `updater`: `Updater`, the runtime: one shared observation, the update cycle (one request
  per host per change, verified through DNS, minimum interval, backoff, credentials pause
  per account, history in the store, the `public_ip` event), over `Provider`s;
- `verdict`, `rows`, `contributions`: the check, panels, actions, job and tools built on it;
- `schema`: the config keys every DDNS plugin shares.

The zoneedit plugin is ZoneEdit on this; the ddns plugin is RFC 2136, Cloudflare and DuckDNS.
A third-party plugin for another provider writes a `Provider` and its config schema."""
