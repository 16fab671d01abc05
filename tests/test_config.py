import pytest

from labkit import config
from labkit.errors import ConfigError


def test_defaults_without_environment():
    cfg = config.resolve(env={})
    assert (cfg.backend, cfg.seed, cfg.time_scale) == ("sim", 0, config.DEFAULT_TIME_SCALE)
    assert cfg.simulated and (cfg.data_dir / "models.yaml").is_file()


def test_explicit_values_win_over_environment():
    env = {"LABKIT_BACKEND": "live", "LABKIT_SEED": "9", "LABKIT_TIME_SCALE": "0.5", "ANTHROPIC_API_KEY": "k"}
    assert config.resolve(env=env).backend == "live"
    cfg = config.resolve(backend="sim", seed=3, time_scale=0.0, env=env)
    assert (cfg.backend, cfg.seed, cfg.time_scale) == ("sim", 3, 0.0)


def test_unknown_backend_is_a_short_clear_error():
    with pytest.raises(ConfigError, match="unknown backend 'cloud': choose one of sim, live"):
        config.resolve(backend="cloud", env={})


@pytest.mark.parametrize("field, value", [("seed", "abc"), ("time_scale", "fast")])
def test_malformed_numbers_are_named(field, value):
    with pytest.raises(ConfigError, match=field):
        config.resolve(env={f"LABKIT_{field.upper()}": value})


def test_time_scale_out_of_range():
    with pytest.raises(ConfigError, match="time_scale"):
        config.resolve(time_scale=-1, env={})


def test_live_mode_without_key_says_what_to_do():
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        config.resolve(backend="live", env={})


def test_key_never_appears_in_repr_or_description():
    secret = "sk-ant-api03-" + "x" * 40
    cfg = config.resolve(backend="live", env={"ANTHROPIC_API_KEY": secret})
    assert cfg.api_key == secret
    assert secret not in repr(cfg) and secret not in cfg.describe() and secret not in str(cfg)
