"""Serving policies over the openpi / RoboArena websocket protocol (``python -m evals.serve``)."""
