"""Jarvis: the AI copilot over the tools plugins contribute, a built-in plugin.

Importing this package is cheap: the `openai` SDK (the `nebula-command[jarvis]` extra) is
imported only when a model is first called, so an agent with Jarvis disabled (or never
asked) does not pay for it.
"""
