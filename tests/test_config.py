"""Config dataclasses: presets are consistent, derived sizes follow the design, bad values are refused."""

from __future__ import annotations

import json

import pytest

from engine.config import PRESETS, ModelConfig, StreamConfig, config_dict, get_preset, model_config_from_dict


@pytest.mark.parametrize("name,resolution", [("tiny", 128), ("base", 256), ("large", 512)])
def test_presets_have_their_documented_output_resolution(name, resolution):
    assert get_preset(name).model.resolution == resolution
    assert get_preset(name).model.name == name


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_token_grid_and_rope_bands_fit(name):
    cfg = PRESETS[name].model
    assert cfg.latent_size % cfg.patch == 0
    assert cfg.head_dim * cfg.heads == cfg.width and cfg.head_dim % 6 == 0
    assert cfg.tokens_per_frame == (cfg.resolution // 8 // cfg.patch) ** 2
    stream = PRESETS[name].stream
    assert 0 <= stream.knot_frames <= stream.chunk_frames and stream.window_frames >= stream.chunk_frames


def test_condition_channels_are_motion_map_warp_latent_i2v_latent_and_mask():
    cfg = ModelConfig(latent_channels=8, motion_channels=3, motion_scale=4)
    assert cfg.cond_channels == 3 * 16 + 8 + 8 + 1
    assert cfg.motion_size == cfg.latent_size * 4


def test_unknown_preset_names_the_choices():
    with pytest.raises(ValueError, match="tiny, base, large"):
        get_preset("huge")


def test_model_config_survives_a_json_round_trip():
    cfg = PRESETS["large"].model
    assert model_config_from_dict(json.loads(json.dumps(config_dict(cfg)))) == cfg


def test_model_config_from_dict_rejects_unknown_keys():
    with pytest.raises(TypeError):
        model_config_from_dict({**config_dict(ModelConfig()), "colour": "blue"})


@pytest.mark.parametrize("kwargs", [{"resolution": 100}, {"width": 146, "heads": 4}, {"width": 64, "heads": 2}],
                         ids=["resolution_not_multiple_of_16", "width_not_divisible", "head_dim_not_multiple_of_6"])
def test_model_config_refuses_shapes_the_model_cannot_build(kwargs):
    with pytest.raises(ValueError):
        ModelConfig(**kwargs)


@pytest.mark.parametrize("kwargs", [{"chunk_frames": 0}, {"knot_frames": -1}, {"window_frames": 0},
                                    {"chunk_frames": 2, "knot_frames": 3}])
def test_stream_config_refuses_impossible_chunking(kwargs):
    with pytest.raises(ValueError):
        StreamConfig(**kwargs)


def test_frames_per_chunk_counts_the_knot():
    assert StreamConfig(chunk_frames=3, knot_frames=1).frames_per_chunk == 4
    assert StreamConfig(chunk_frames=3, knot_frames=0).frames_per_chunk == 3


def test_params_command_prints_codec_and_dit_counts_per_preset(capsys):
    import argparse

    from engine.cli import params

    parser = argparse.ArgumentParser()
    params.add_arguments(parser)
    assert params.run(parser.parse_args(["--presets", "tiny,base"])) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["preset", "tiny", "base"]
    tiny = params.parameter_counts("tiny")
    assert f"{tiny['dit_params'] / 1e6:.3f}M" in lines[1] and f"{tiny['codec_params'] / 1e6:.3f}M" in lines[1]
    with pytest.raises(SystemExit):
        parser.parse_args(["--presets", "tiny,huge"])
