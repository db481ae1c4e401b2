"""Helpers for plugin authors: what most plugins need and none should write again.

Public and documented (docs/plugins.md), like `nebula.api`; a plugin imports from
`nebula.api` (the contract) and `nebula.helpers.*` (these tools), nothing else of the core.
"""
