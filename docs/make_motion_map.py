"""Regenerates docs/motion_map.png: demo-clip poses, the warped avatar, and its motion map (64x64, 3 channels).

Usage: .venv/bin/python docs/make_motion_map.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.face.crop import CropBox  # noqa: E402
from engine.face.motion_map import MotionRenderer  # noqa: E402
from engine.face.portrait import load_portrait  # noqa: E402
from engine.face.retarget import RetargetConfig, Retargeter  # noqa: E402
from engine.face.tracker import FaceTracker  # noqa: E402
from engine.video import VideoFileSource  # noqa: E402
from engine.warp import build_mesh, warp_with_mesh  # noqa: E402

POSES = {"neutral": 96, "mouth open": 59, "blink": 42, "head tilt": 80, "head turn": 30}
TILE = 192


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> int:
    """Render the contact sheet."""
    with VideoFileSource(REPO / "assets/clips/carphone.mp4") as source:
        frames = list(source)
    with FaceTracker(static_image_mode=True) as tracker:
        portrait = load_portrait(REPO / "assets/portraits/astronaut.png", tracker)
        driving = {name: tracker.track(frames[i]) for name, i in POSES.items()}
    box = CropBox.from_landmarks(portrait.landmarks)
    renderer = MotionRenderer(64)
    mesh = build_mesh(portrait.landmarks[:, :2], portrait.image.shape[:2])
    rows = []
    for name, index in POSES.items():
        retargeter = Retargeter(portrait.landmarks, RetargetConfig(smoothing=None))
        retargeter.retarget(driving["neutral"], 0.0)
        motion = retargeter.retarget(driving[name], 1.0)
        avatar = box.crop(warp_with_mesh(portrait.image, mesh, motion.landmarks), TILE)
        motion_map = renderer.render(box.to_crop(motion.landmarks, 64))  # (3, 64, 64)
        map_rgb = (np.transpose(motion_map, (1, 2, 0)) * 255).astype(np.uint8)
        drive = cv2.resize(frames[index], (TILE * 176 // 144, TILE), interpolation=cv2.INTER_CUBIC)
        rows.append(np.concatenate([_label(drive, f"driving: {name}"), _label(avatar, "warp avatar"),
                                    _label(cv2.resize(map_rgb, (TILE, TILE), interpolation=cv2.INTER_NEAREST),
                                           "motion map 64x64")], axis=1))
    sheet = np.concatenate(rows, axis=0)
    out = REPO / "docs" / "motion_map.png"
    cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
