"""Named exceptions for errors a user can cause. `str(err)` is one sentence fit for the GUI and the CLI."""


class KnotCamError(Exception):
    """Base class: an expected, user-facing failure (never a bug)."""


class NoFaceFoundError(KnotCamError):
    """An image or video frame in which no face was detected."""


class InvalidImageError(KnotCamError):
    """A file that is not a readable image, or one too small to animate."""


class VideoSourceError(KnotCamError):
    """A webcam that cannot be opened or disappeared, or a video file that cannot be read."""


class WeightsMismatchError(KnotCamError):
    """A weights file that is missing, corrupt, or made for another model version or config."""


class VirtualCameraUnavailableError(KnotCamError):
    """No virtual camera device could be opened; the message says what to install for this OS."""


class OutputRefusedError(KnotCamError):
    """An output refused before any work: a path that is an input, a folder, unwritable, of an unknown type."""


class RecordingWriteError(KnotCamError):
    """A video file that could not be written to the end (disk full, device gone); nothing is left under its name."""


class EngineUnavailableError(KnotCamError):
    """The Knot Forcing engine was asked for but cannot be loaded (weights or module); never a silent warp."""
