"""workshop-bot playground: the real bot against a local chat service, shown on a web page."""
