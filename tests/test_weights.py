"""Weights files: a save/load round trip, and WeightsMismatchError naming what is wrong with a bad file."""

from __future__ import annotations

import json

import pytest
import torch

from engine.config import ModelConfig, replace
from engine.errors import WeightsMismatchError
from engine.knot.codec import FrameCodec
from engine.knot.model.dit import CausalDiT
from engine.knot.weights import FORMAT_VERSION, load_weights, read_metadata, save_weights

CFG = ModelConfig(resolution=32, latent_channels=4, codec_widths=(8, 8, 16), width=24, depth=1, heads=2,
                  motion_scale=1)


@pytest.fixture()
def saved(tmp_path):
    """A weights file of randomised modules (zero-initialised parts would hide a mix-up) and the modules."""
    torch.manual_seed(0)
    codec, dit = FrameCodec(CFG), CausalDiT(CFG)
    with torch.no_grad():
        for p in [*codec.parameters(), *dit.parameters()]:
            p.normal_(0, 0.2)
        codec.latent_scale.fill_(0.7)
    path = tmp_path / "knot.safetensors"
    save_weights(path, CFG, codec, dit, extra={"steps": 12})
    return path, codec, dit


def test_saved_weights_load_back_identical(saved):
    path, codec, dit = saved
    cfg, codec2, dit2, meta = load_weights(path, expected=CFG)
    assert cfg == CFG and meta["steps"] == 12 and meta["format_version"] == FORMAT_VERSION
    for a, b in ((codec, codec2), (dit, dit2)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not codec2.training and not dit2.training


def test_json_sidecar_describes_the_file(saved):
    path = saved[0]
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar == read_metadata(path)
    assert sidecar["model"]["width"] == CFG.width


def test_missing_file_raises_weights_mismatch(tmp_path):
    with pytest.raises(WeightsMismatchError, match="does not exist"):
        load_weights(tmp_path / "nowhere.safetensors")


@pytest.mark.parametrize("keep", [0.5, 0.02], ids=["truncated_data", "truncated_header"])
def test_truncated_file_raises_weights_mismatch_saying_corrupt(saved, keep):
    path = saved[0]
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(WeightsMismatchError, match="corrupt"):
        load_weights(path)


def test_file_that_is_not_safetensors_raises_weights_mismatch(tmp_path):
    path = tmp_path / "photo.safetensors"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(WeightsMismatchError, match="photo.safetensors"):
        load_weights(path)


def test_other_format_version_raises_weights_mismatch_naming_both_versions(saved):
    from safetensors.torch import load_file, save_file

    path = saved[0]
    meta = read_metadata(path)
    meta["format_version"] = FORMAT_VERSION + 1
    save_file(load_file(str(path)), str(path), metadata={"knotcam": json.dumps(meta)})
    with pytest.raises(WeightsMismatchError, match=f"version {FORMAT_VERSION + 1}.*version {FORMAT_VERSION}"):
        load_weights(path)


def test_other_config_raises_weights_mismatch_naming_the_differing_fields(saved):
    path = saved[0]
    other = replace(CFG, width=36, depth=2)
    with pytest.raises(WeightsMismatchError) as err:
        load_weights(path, expected=other)
    message = str(err.value)
    assert "width: file 24 vs expected 36" in message and "depth: file 1 vs expected 2" in message
    assert "heads" not in message


def test_tensors_that_do_not_fit_the_config_raise_weights_mismatch(saved):
    from safetensors.torch import load_file, save_file

    path = saved[0]
    tensors = load_file(str(path))
    tensors["dit.final.weight"] = torch.zeros(3, 3)
    save_file(tensors, str(path), metadata={"knotcam": json.dumps(read_metadata(path))})
    with pytest.raises(WeightsMismatchError, match="dit.*wrong shapes.*final.weight"):
        load_weights(path)
