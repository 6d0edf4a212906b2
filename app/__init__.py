"""KnotCam desktop app (PySide6): window, capture/generation workers, frame sinks, settings.

Talks to the engine only through `engine.animator.Animator`, `engine.pipeline.AvatarPipeline` and friends;
the engine never imports Qt.
"""
