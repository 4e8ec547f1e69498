"""The WeCom (企业微信) channel: a second transport for the same handlers.

``crypto`` signs and seals callbacks, ``inbound`` turns a callback into a ``telegram.Update``,
``request`` turns the Bot API calls of the WeCom ``Application`` into WeCom API calls.
"""
