"""Jarvis: the AI copilot over the tools plugins contribute.

Importing this package is cheap: the `openai` SDK is imported only when a model is first
called, so an agent with Jarvis disabled (or never asked) does not pay for it.
"""
