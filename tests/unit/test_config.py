import pytest

from harness.config import RunConfig, load_config
from harness.errors import ConfigError


def test_defaults_run_the_starter_suite_on_the_embedded_model():
    config = load_config({}, env={})
    assert config.models == ["smollm2-135m"] and config.tasks == ["starter"] and config.output_dir == "runs"


def test_precedence_defaults_file_env_cli(tmp_path):
    file = tmp_path / "evalh.yaml"
    file.write_text("limit: 5\nseed: 1\ndata_dir: /from/file\ntasks: [qa]\n")
    env = {"EVALH_LIMIT": "7", "EVALH_TASKS": "starter_mc,arc_easy"}
    config = load_config({"limit": 9}, file, env)
    assert (config.limit, config.seed, config.data_dir, config.tasks) == (9, 1, "/from/file", ["starter_mc", "arc_easy"])
    assert load_config({}, file, env).limit == 7


def test_bad_values_name_their_origin(tmp_path):
    with pytest.raises(ConfigError, match=r"option 'limit' \(from environment\)"):
        load_config({}, env={"EVALH_LIMIT": "lots"})
    file = tmp_path / "c.yaml"
    file.write_text("limt: 3\n")
    with pytest.raises(ConfigError, match="config file: unknown option"):
        load_config({}, file, {})
    file.write_text("limit: [\n")
    with pytest.raises(ConfigError, match=r"c.yaml:\d+: malformed YAML"):
        load_config({}, file, {})


def test_runconfig_rejects_unknown_fields():
    with pytest.raises(Exception):
        RunConfig(modles=["x"])


def test_batch_size_is_a_positive_int_or_auto():
    assert load_config({"batch_size": "auto"}, env={}).batch_size == "auto"
    assert load_config({"batch_size": "8"}, env={}).batch_size == 8
    for bad in ("0", "big"):
        with pytest.raises(ConfigError, match="option 'batch_size"):
            load_config({"batch_size": bad}, env={})


def test_lm_eval_model_args_from_every_layer(tmp_path):
    from harness.config import load_config

    config_file = tmp_path / "run.yaml"
    config_file.write_text("models: [hf]\nmodel_args: {pretrained: /models/x, trust_remote_code: true, max_length: 512}\n")
    config = load_config({}, config_file, env={})
    assert (config.models, config.model_args) == (["/models/x"], {"trust_remote_code": True, "max_length": 512})
    assert load_config({}, env={"EVALH_MODEL_ARGS": "revision=abc,dtype=torch.float16"}).dtype == "float16"
    with pytest.raises(ConfigError, match="model_args: expected key=value,... or a mapping, got 5"):
        load_config({"model_args": 5}, env={})


@pytest.mark.parametrize("limit, total, kept", [(None, 7, 7), (3, 7, 3), (30, 7, 7), (0.1, 48, 5), (0.5, 7, 4)])
def test_limit_count_takes_n_items_or_a_fraction_rounded_up(limit, total, kept):
    from harness.config import limit_count

    assert limit_count(limit, total) == kept
