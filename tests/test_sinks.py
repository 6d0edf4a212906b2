"""Frame sinks: letterboxing, the real pyvirtualcam Camera path (test backend at the device boundary), the
no-device guidance, and the MP4 recorder."""

import platform

import cv2
import numpy as np
import pytest

from app import texts
from app.sinks import RecorderSink, VirtualCameraSink, letterbox
from app.testing import make_recording_backend, registered_camera_backend
from engine.assets import DEFAULT_PORTRAIT
from engine.errors import VirtualCameraUnavailableError


@pytest.fixture
def portrait_rgb() -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(DEFAULT_PORTRAIT)), cv2.COLOR_BGR2RGB)  # (512, 512, 3)


def test_letterbox_fits_wide_image_between_black_bars():
    image = np.full((100, 200, 3), 200, np.uint8)
    out = letterbox(image, 640, 480)
    assert out.shape == (480, 640, 3)
    assert out[:80].max() == 0 and out[-80:].max() == 0  # 640x320 picture, 80 px bars top and bottom
    assert out[80:400].min() == 200


def test_letterbox_centres_square_image_in_landscape_frame(portrait_rgb):
    out = letterbox(portrait_rgb, 640, 480)
    assert out[:, :80].max() == 0 and out[:, 560:].max() == 0
    expected = cv2.resize(portrait_rgb, (480, 480), interpolation=cv2.INTER_AREA)
    assert np.array_equal(out[:, 80:560], expected)


def test_virtual_camera_sink_sends_letterboxed_frames_of_output_size(portrait_rgb):
    backend = make_recording_backend("KnotCam test camera")
    with registered_camera_backend("knotcam_test", backend) as name:
        sink = VirtualCameraSink(640, 480, 30, backend=name)
        sink.send(portrait_rgb)
        sink.send(portrait_rgb)
        device = sink.device
        sink.close()
    (camera,) = backend.instances
    assert device == "KnotCam test camera"
    assert (camera.width, camera.height, camera.fps) == (640, 480, 30)
    assert len(camera.frames) == 2 and camera.closed
    assert np.array_equal(camera.frames[0], letterbox(portrait_rgb, 640, 480))


def test_test_backend_is_unregistered_afterwards():
    from pyvirtualcam import camera

    with registered_camera_backend("knotcam_test", make_recording_backend()):
        assert "knotcam_test" in camera.BACKENDS
    assert "knotcam_test" not in camera.BACKENDS


@pytest.mark.skipif(platform.system() != "Linux", reason="the v4l2loopback backend exists on Linux only")
def test_missing_device_raises_guidance_with_modprobe_line():
    with pytest.raises(VirtualCameraUnavailableError) as info:
        VirtualCameraSink(640, 480, 30, backend="v4l2loopback", device="/dev/video-knotcam-missing")
    assert texts.LINUX_MODPROBE_LINE in str(info.value)
    assert "v4l2loopback-dkms" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)  # pyvirtualcam's own message kept for details


@pytest.mark.parametrize("system", ["Windows", "Darwin"])
def test_guidance_on_windows_and_macos_names_obs_virtual_camera(system):
    guidance = texts.virtual_camera_guidance(system)
    assert "OBS Studio" in guidance and "Start Virtual Camera" in guidance
    assert "modprobe" not in guidance


def test_recorder_sink_writes_playable_mp4_only_when_closed(tmp_path, portrait_rgb):
    path = tmp_path / "avatar.mp4"
    ticks = iter(range(100))
    recorder = RecorderSink(path, 30, (320, 240), clock=lambda: next(ticks) / 30)  # one frame per output period
    for _ in range(12):
        recorder.send(portrait_rgb)
    assert not path.exists()  # still a temporary file until the recording is finished
    recorder.close()
    capture = cv2.VideoCapture(str(path))
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    capture.release()
    assert len(frames) == 12
    assert frames[0].shape == (240, 320, 3)


def test_recorder_abort_leaves_nothing_under_the_name(tmp_path, portrait_rgb):
    path = tmp_path / "avatar.mp4"
    recorder = RecorderSink(path, 30, (320, 240))
    recorder.send(portrait_rgb)
    recorder.abort()
    assert list(tmp_path.iterdir()) == []
