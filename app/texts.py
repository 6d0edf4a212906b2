"""Every sentence the user reads in the window, in one place (so wording and translation stay consistent)."""

from __future__ import annotations

import platform

APP_NAME = "KnotCam"
WINDOW_TITLE = "KnotCam: live portrait avatar"

# The exact line a Linux user runs to create the virtual camera device.
LINUX_MODPROBE_LINE = 'sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label="KnotCam"'

VIRTUAL_CAMERA_MISSING = "KnotCam could not find a virtual camera device."

_GUIDANCE = {
    "Linux": (
        "Install v4l2loopback (Debian/Ubuntu: sudo apt install v4l2loopback-dkms; Fedora: sudo dnf install "
        "v4l2loopback; Arch: sudo pacman -S v4l2loopback-dkms), then create the device with:\n"
        f"{LINUX_MODPROBE_LINE}\n"
        "and press Start virtual camera again."
    ),
    "Windows": (
        "Install OBS Studio (https://obsproject.com), open it once, click Start Virtual Camera, then stop it and "
        "close OBS; press Start virtual camera here again and choose \"OBS Virtual Camera\" in your meeting app."
    ),
    "Darwin": (
        "Install OBS Studio (https://obsproject.com), open it once and click Start Virtual Camera (allow the "
        "system extension in System Settings when macOS asks), then stop it and close OBS; press Start virtual "
        "camera here again and choose \"OBS Virtual Camera\" in your meeting app."
    ),
}


_BUSY_GUIDANCE = {
    "Linux": (
        "Another program is already sending to the v4l2loopback device. Close it, or add a second device with:\n"
        'sudo modprobe -r v4l2loopback && sudo modprobe v4l2loopback devices=2 exclusive_caps=1 card_label="KnotCam"\n'
        "and press Start virtual camera again."
    ),
    "Windows": (
        "OBS Virtual Camera is already in use, usually by OBS itself: click Stop Virtual Camera in OBS (or close "
        "OBS), then press Start virtual camera here again."
    ),
    "Darwin": (
        "OBS Virtual Camera is already in use, usually by OBS itself: click Stop Virtual Camera in OBS (or quit "
        "OBS), then press Start virtual camera here again."
    ),
}
VIRTUAL_CAMERA_BUSY = "The virtual camera device is busy."


def virtual_camera_busy_guidance(system: str | None = None) -> str:
    """What to do when the virtual camera exists but another program holds it, for `system` (default: this OS)."""
    system = system or platform.system()
    fallback = _BUSY_GUIDANCE["Windows"] if system.startswith("Win") else _BUSY_GUIDANCE["Linux"]
    steps = _BUSY_GUIDANCE.get(system, fallback)
    return f"{VIRTUAL_CAMERA_BUSY} {steps}"


def virtual_camera_guidance(system: str | None = None) -> str:
    """What to install so a virtual camera exists, for `system` (platform.system() name; default: this OS)."""
    system = system or platform.system()
    steps = _GUIDANCE.get(system, _GUIDANCE["Windows"] if system.startswith("Win") else _GUIDANCE["Linux"])
    return f"{VIRTUAL_CAMERA_MISSING} {steps}"


# Portrait panel
ADD_PORTRAIT = "Add portrait..."
ADD_PORTRAIT_TIP = "Choose a photo of a face (Ctrl+O), or drop an image file onto the window."
PORTRAIT_FILE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff);;All files (*)"
GALLERY_BUNDLED = "Bundled"
GALLERY_RECENT = "Recent"
CROP_PREVIEW_EMPTY = "Detected face"
PORTRAIT_LOADING = "Loading portrait {name}..."
PORTRAIT_ACTIVE = "Portrait: {name}"
PORTRAIT_KEPT = "{reason} The previous portrait stays active."
DROP_NOT_A_FILE = "Only image files can be dropped here."
PORTRAIT_GRAYSCALE = "{name} is a grayscale photo, so the avatar is grey too."
PORTRAIT_ALPHA = "{name} has a transparent background; it is shown on white."
PORTRAIT_SEVERAL_FACES = ("{name} shows {count} faces; the largest one is animated. Click another face in the "
                          "preview to animate it instead.")
PICK_ANOTHER_FACE = "Click a face to animate it."
PORTRAIT_SHRUNK = "{name} is {width}x{height} pixels; it was scaled down to {limit} pixels on its longer side."

# Driving source
SOURCE_GROUP = "Driving source"
SOURCE_AUTO = "Automatic (webcam 0, else demo clip)"
SOURCE_WEBCAM = "Webcam {index}: {name}"
SOURCE_DEMO_CLIP = "Demo clip (carphone)"
SOURCE_VIDEO_FILE = "Video file..."
SOURCE_FILE = "File: {name}"
VIDEO_FILE_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm);;All files (*)"
MIRROR = "Mirror"
MIRROR_TIP = "Flip the driving video left-right, like a mirror."
CALIBRATE = "Calibrate neutral face"
CALIBRATE_TIP = ("Look straight at the camera with a relaxed face and press (Ctrl+Shift+C); KnotCam also "
                 "calibrates by itself on a new source or portrait.")
CALIBRATED = "Neutral face calibrated."
CALIBRATING = "Hold still \u2014 calibrating"
SOURCE_OPENED = "Driving source: {description}"
NO_WEBCAM_FALLBACK = "No webcam delivered a frame; playing the demo clip instead."
WEBCAM_UNAVAILABLE = "Webcam {index} could not be opened or delivered no frame; trying again in {seconds:g} s."
WEBCAM_LOST = "Webcam {index} stopped delivering frames; the avatar idles while KnotCam reconnects."
VIDEO_ENDED = "{name} stopped delivering frames; the avatar idles. Choose another driving source."
SOURCE_FAILED = "{reason}"
RETRY = "Retry"
CHOOSE_SOURCE = "Choose another source"
CHOOSE_PORTRAIT = "Choose a portrait..."
DISMISS = "Dismiss"
SAVED_PORTRAIT_MISSING = "The saved portrait {name} no longer exists; the default portrait is used instead."

# Preview
VIEW_GROUP = "Preview"
OVERLAY = "Show landmarks"
AVATAR_ONLY = "Avatar only"
DRIVING_TITLE = "Driving"
AVATAR_TITLE = "Avatar"
NO_FRAME = "Waiting for frames..."

# Engine
ENGINE_GROUP = "Engine"
ANIMATOR_KNOT = "Knot Forcing"
ANIMATOR_WARP = "Warp (baseline)"
PRESET = "Preset"
DEVICE = "Device"
ANIMATOR_FALLBACK = "Knot Forcing is not available ({reason}); using the warp animator."
OUT_OF_MEMORY = "The {device} ran out of memory running Knot Forcing {preset}; switched to {fallback}."
ANIMATOR_ACTIVE = "Animator: {name}"
PRESET_NO_WEIGHTS = "{name} (no weights)"
PRESET_NO_WEIGHTS_TIP = "No trained weights ship for the {name} preset yet; it can only be trained (main.py train)."

# Output
OUTPUT_GROUP = "Output"
RESOLUTION = "Resolution"
FPS = "FPS"
FRAMING = "Framing"
FRAMING_TIP = "Head and shoulders at the left; slide right to come closer. Applies to the camera and recordings."
FULL_PHOTO = "Full photo"
FULL_PHOTO_TIP = "Send the whole portrait photo instead of the head-and-shoulders framing."
START_CAMERA = "Start virtual camera"
STOP_CAMERA = "Stop virtual camera"
CAMERA_TIP = "Send the avatar to a virtual camera your meeting app can pick (Ctrl+Shift+V)."
CAMERA_STARTING = "Starting virtual camera..."
CAMERA_RUNNING = "Virtual camera: {device} {width}x{height} @ {fps:.1f} fps"
CAMERA_OFF = "Virtual camera: off"
RECORD = "Record..."
STOP_RECORD = "Stop recording"
RECORD_TIP = "Save the avatar stream to an MP4 (H.264) video, in real time (Ctrl+R)."
RECORD_DIALOG = "Save recording as"
RECORDING = "Recording to {name}"
RECORD_SAVED = "Recording saved to {path}."
RECORD_FILE_FILTER = "MP4 video, H.264 (*.mp4);;WebM video, VP8 (*.webm)"
RECOVER_TITLE = "Unfinished recordings"
RECOVER_QUESTION = ("KnotCam was closed while recording ({names}). Save what was recorded up to the last "
                    "second? Discard deletes the unfinished files.")
RECOVER_BUTTON = "Recover"
RECOVERED = "Recovered {saved}."
RECOVER_NOTHING = "Nothing of {name} could be played, so it was removed."
RECORDING_INDICATOR = "\u25cf REC {elapsed}"

# Status bar
GENERATION_FPS = "Avatar {fps:.1f} fps"
LATENCY = "Latency {ms:.0f} ms"

# Menus and shortcuts
MENU_FILE = "&File"
MENU_CAMERA = "&Camera"
MENU_HELP = "&Help"
OPEN_VIDEO = "Open driving video..."
QUIT = "Quit"
ABOUT = "About KnotCam"
ABOUT_TITLE = "About KnotCam"
ABOUT_INTRO = (
    "KnotCam turns one portrait photo into a live avatar that follows your face, and sends it to a "
    "virtual camera for video calls. The engine implements Knot Forcing, a causal few-step video "
    "diffusion transformer, with a piecewise-affine warp animator as its baseline."
)
ABOUT_VERSIONS = "Versions"
ABOUT_ASSETS = "Bundled assets and their licences"
ABOUT_NO_ASSET_NOTES = "assets/README.md is missing; see the project repository for asset licences."
ERROR_TITLE = "KnotCam"

# Self-test (python main.py --self-test)
SELF_TEST_PORTRAIT = "portrait: {name} {width}x{height}, face found"
SELF_TEST_ANIMATOR = "animator: {name}"
SELF_TEST_ENGINE_BROKEN = "the default engine (Knot Forcing) cannot load: {reason}"
SELF_TEST_RENDERED = "rendered {frames} frames in {seconds:.2f} s ({fps:.1f} fps)"
SELF_TEST_CAMERA_OK = "virtual camera: available ({device})"
SELF_TEST_CAMERA_MISSING = "virtual camera: not available. {guidance}"
SELF_TEST_QT = "Qt: PySide6 {version}, platform {platform}"
SELF_TEST_PASSED = "self-test passed"
SELF_TEST_FAILED = "self-test failed: {reason}"
