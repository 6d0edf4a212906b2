"""KnotCam engine: driving signal, animators (warp baseline, Knot Forcing), training and evaluation.

Importable without Qt. Heavy dependencies (mediapipe, torch) are imported by the modules that need them.
"""
