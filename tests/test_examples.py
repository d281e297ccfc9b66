"""Each example runs in its offline form (the tiny model); the vLLM one builds its configuration only."""

import importlib
import math
import sys
from pathlib import Path

import pytest


pytestmark = pytest.mark.slow  # end-to-end runs


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(autouse=True)
def examples_on_path(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.chdir(tmp_path)
    yield
    for name in ("custom_dataset", "custom_schedule", "lora", "vllm_server", "_common"):
        sys.modules.pop(name, None)


def run(name, tmp_path, *extra):
    module = importlib.import_module(name)
    return module, module.main(["--tiny", "--output-dir", str(tmp_path / name), *extra])


def test_custom_dataset_splits_string_solutions_into_line_hints(tmp_path, monkeypatch):
    module = importlib.import_module("custom_dataset")
    seen, original = [], module.answer_reward

    def recording_reward(completions, hint_text, **kwargs):
        seen.extend(hint_text)
        return original(completions, hint_text=hint_text, **kwargs)

    monkeypatch.setattr(module, "answer_reward", recording_reward)
    trainer = module.main(["--tiny", "--output-dir", str(tmp_path / "custom")])
    assert trainer.state.global_step == 3
    solutions = [s for _, s, _ in module.PROBLEMS]
    hints = [h for h in seen if h]
    assert hints, "the schedule starts at p_high = 0.95: early steps are hinted"
    for hint in hints:  # every hint is a whole-line prefix of one of the solutions
        assert any(s.startswith(hint) and (hint == s or hint.endswith("\n")) for s in solutions)


def test_custom_schedule_is_used(tmp_path):
    module, trainer = run("custom_schedule", tmp_path)
    logged = [h["uft/p"] for h in trainer.state.log_history if "uft/p" in h]
    horizon = math.ceil(0.5 * 3)
    assert logged[0] == pytest.approx(0.95 * math.exp(-4.0 * 1 / horizon))
    assert logged[-1] == 0.0  # step 3 is past the horizon


def test_lora_example_trains_only_the_adapter(tmp_path):
    _, trainer = run("lora", tmp_path)
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert trainer.state.global_step == 3


def test_vllm_server_example_builds_its_configuration(tmp_path):
    module = importlib.import_module("vllm_server")
    args = module.parse(["--dry-run", "--port", "8123"])
    config = module.build_config(args)
    assert config.use_vllm and config.vllm_mode == "server" and config.vllm_server_port == 8123
    if importlib.util.find_spec("vllm") is None:
        assert module.main(["--dry-run"]).vllm_mode == "server"


def test_vllm_server_example_runs_offline_with_tiny(tmp_path):
    """Without a server (--tiny) the example is a hinted UFT run on transformers generation: hints drawn, the hint
    term computed, rewards logged, the model saved where it says."""
    module, trainer = run("vllm_server", tmp_path)
    assert trainer.state.global_step == 3 and not trainer.args.use_vllm
    logs = trainer.state.log_history
    assert [log["uft/p"] for log in logs if "uft/p" in log][0] > 0.5  # hinted from the start
    assert all(math.isfinite(log["uft/hint_nll"]) for log in logs if "uft/hint_nll" in log)
    assert any("uft/hint_nll" in log for log in logs) and any("reward" in log for log in logs)
    assert (tmp_path / "vllm_server" / "model.safetensors").is_file()


def test_examples_end_on_one_summary_line_and_save_their_model(tmp_path, capsys):
    run("custom_schedule", tmp_path)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("custom_schedule: 3 steps") and "model saved to" in lines[-1]
    assert not any(line.startswith("{") for line in lines)  # no raw metric dicts
    assert (tmp_path / "custom_schedule" / "model.safetensors").is_file()
