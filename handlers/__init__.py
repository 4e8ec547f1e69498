"""Conversations and buttons, one module per flow; thin over ``models``."""
