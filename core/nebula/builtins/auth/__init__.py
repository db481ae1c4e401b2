"""Signing in to the web panel, a built-in plugin: users (argon2 password hashes, TOTP with
recovery codes), sessions with their CSRF tokens, lockouts and the failed-login log, the
sign-in and /security pages, `/api/v1/users` and `nebula user` (docs/web.md).

The core authenticates bearer tokens itself and asks this plugin's authenticator about
everything else; with the plugin disabled the API still takes tokens and the panel says how
to turn sign-in on."""
