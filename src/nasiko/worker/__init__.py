"""The worker edge: claims jobs from the queue and runs their handlers."""
