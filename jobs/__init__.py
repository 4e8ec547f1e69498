"""Scheduled work on PTB's JobQueue: select due rows, send through the messenger, record it."""
