"""SFT must train the prompt/answer token boundary that RL and evaluation see: prompt and answer tokenized apart.

Every K&K and Countdown prompt ends with ``<think> ``. Tokenized with the answer, as TRL's SFTTrainer does, that
space merges into the answer's first word; tokenized alone, as RL rollouts and evaluation do, it is a lone token.
The official UFT SFT (verl ``SFTDataset``) tokenizes the two apart, and so does ``uft_trl.sft``.
"""

import pytest
import torch
from datasets import Dataset
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast
from trl import SFTConfig, SFTTrainer
from trl.data_utils import common_prefix_length

from uft_trl.data import sft_dataset
from uft_trl.sft import official_sft_ids, tokenize_like_official
from uft_trl.tasks import get_task


N = 100
TASKS = ("kk_logic", "countdown")
# Llama 3's pre-tokenizer split (its tokenizer.json): a space joins the letters after it but never a digit.
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


@pytest.fixture(scope="module")
def rows():
    return {name: sft_dataset(get_task(name).generate(N, seed=0), get_task(name)) for name in TASKS}


@pytest.fixture(scope="module")
def tokenizers(qwen2_checkpoint, llama_checkpoint, rows):
    """The tiny checkpoints' tokenizers, and one with Llama 3's own split.

    Transformers loads the Qwen2 checkpoint's as a ``Qwen2Tokenizer``, with Qwen2.5's own split; the Llama one keeps
    GPT-2's byte-level split, which, unlike Llama 3's, joins a space to the digits after it.
    """
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    texts = [row["prompt"] + row["completion"] for dataset in rows.values() for row in dataset]
    trainer = trainers.BpeTrainer(
        vocab_size=1024, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    backend.train_from_iterator(texts, trainer=trainer)
    return {
        "qwen2": AutoTokenizer.from_pretrained(qwen2_checkpoint),
        "llama": AutoTokenizer.from_pretrained(llama_checkpoint),
        "llama3-split": PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>"),
    }


def apart(tokenizer, prompt, answer):
    """The official ids: prompt, then answer + EOS, each tokenized alone without special tokens."""
    ids = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in (prompt, answer + tokenizer.eos_token)]
    return ids[0], ids[1]


# --------------------------------------------------------------------------------------------- the problem


# Measured: rows (of N) whose ids differ. Qwen2.5's and Llama 3's splits keep digits apart from a space, so Countdown
# answers (which start with a number) keep their boundary; K&K answers start with a word and never do. GPT-2's split
# (the tiny Llama tokenizer's) joins the space to digits too.
@pytest.mark.parametrize(
    ("name", "task", "differing"),
    [
        ("qwen2", "kk_logic", N),
        ("qwen2", "countdown", 0),
        ("llama3-split", "kk_logic", N),
        ("llama3-split", "countdown", 0),
        ("llama", "kk_logic", N),
        ("llama", "countdown", N),
    ],
)
def test_joint_tokenization_moves_the_prompt_answer_boundary(tokenizers, rows, name, task, differing):
    tokenizer = tokenizers[name]
    moved = 0
    for row in rows[task]:
        prompt_ids, answer_ids = apart(tokenizer, row["prompt"], row["completion"])
        joint = tokenizer(row["prompt"] + row["completion"] + tokenizer.eos_token, add_special_tokens=False)
        joint = joint["input_ids"]
        if joint != prompt_ids + answer_ids:
            moved += 1
            # Only the prompt's last token, the lone space after <think>, is lost: it went into the answer.
            assert tokenizer.decode(prompt_ids[-1:]) == " "
            assert common_prefix_length(prompt_ids, joint) == len(prompt_ids) - 1
            assert tokenizer.decode(joint[len(prompt_ids) - 1 :]).startswith(" " + row["completion"][:1])
    assert moved == differing


def test_trl_own_preparation_trains_an_answer_that_starts_inside_the_prompt(
    qwen2_checkpoint, tokenizers, rows, tmp_path
):
    """TRL 1.16 itself: the first trained token is the merged " Assume", after a prompt cut before its space."""
    tokenizer = tokenizers["qwen2"]
    trainer = SFTTrainer(
        model=str(qwen2_checkpoint),
        args=SFTConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none", save_strategy="no"),
        train_dataset=rows["kk_logic"].select(range(4)),
        processing_class=tokenizer,
    )
    for row, prepared in zip(rows["kk_logic"], trainer.train_dataset, strict=False):
        prompt_ids, answer_ids = apart(tokenizer, row["prompt"], row["completion"])
        first = next(i for i, label in enumerate(prepared["labels"]) if label != -100)
        assert first == len(prompt_ids) - 1
        assert prepared["input_ids"][:first] == prompt_ids[:-1]
        assert tokenizer.decode(prepared["input_ids"][first]) == " " + tokenizer.decode(answer_ids[0])


# ----------------------------------------------------------------------------------------------- the fix


@pytest.mark.parametrize("name", ["qwen2", "llama"])
@pytest.mark.parametrize("task", TASKS)
def test_ids_are_the_prompt_then_the_answer_tokenized_apart_and_only_the_answer_is_trained(
    tokenizers, rows, name, task
):
    tokenizer = tokenizers[name]
    prepared = tokenize_like_official(rows[task], tokenizer)
    assert prepared.column_names == ["input_ids", "labels"]
    for row, out in zip(rows[task], prepared, strict=True):
        prompt_ids, answer_ids = apart(tokenizer, row["prompt"], row["completion"])
        assert out["input_ids"] == prompt_ids + answer_ids
        assert out["labels"] == [-100] * len(prompt_ids) + answer_ids
        assert out["input_ids"][-1] == tokenizer.eos_token_id and out["input_ids"].count(tokenizer.eos_token_id) == 1
        assert tokenizer.bos_token_id not in out["input_ids"]  # no BOS, as the official SFT and RL prompts
        assert tokenizer.decode(out["input_ids"][: len(prompt_ids)]) == row["prompt"]  # ends on "<think> "


def test_llama_tokenizer_would_add_a_bos_that_the_official_ids_leave_out(tokenizers, rows):
    tokenizer = tokenizers["llama"]
    row = rows["countdown"][0]
    assert tokenizer(row["prompt"])["input_ids"][0] == tokenizer.bos_token_id  # TRL's default tokenization
    assert official_sft_ids(tokenizer, row["prompt"], row["completion"])[0][0] != tokenizer.bos_token_id


def test_max_length_cuts_on_the_right_as_the_official_truncation(tokenizers, rows):
    tokenizer = tokenizers["qwen2"]
    row = rows["kk_logic"][0]
    prompt_ids, answer_ids = apart(tokenizer, row["prompt"], row["completion"])
    input_ids, labels = official_sft_ids(tokenizer, row["prompt"], row["completion"], max_length=len(prompt_ids) + 3)
    assert input_ids == prompt_ids + answer_ids[:3]
    assert labels == [-100] * len(prompt_ids) + answer_ids[:3]  # no EOS: it was cut off
    input_ids, labels = official_sft_ids(tokenizer, row["prompt"], row["completion"], max_length=5)
    assert input_ids == prompt_ids[:5] and labels == [-100] * 5  # no answer left: TRL drops such a row


def test_eos_token_follows_the_sft_config(tokenizers, rows):
    tokenizer = tokenizers["qwen2"]
    row = rows["countdown"][0]
    input_ids, labels = official_sft_ids(tokenizer, row["prompt"], row["completion"], eos_token="<|im_end|>")
    assert input_ids[-1] == labels[-1] == tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_chat_prompts_are_left_to_trl(tokenizers):
    chat = Dataset.from_dict(
        {
            "prompt": [[{"role": "user", "content": "2 + 2?"}]],
            "completion": [[{"role": "assistant", "content": "4"}]],
        }
    )
    assert tokenize_like_official(chat, tokenizers["qwen2"]) is chat


# ---------------------------------------------------------------------------------------------- end to end


def test_sft_trainer_keeps_the_official_ids_and_its_loss_covers_only_answer_tokens(qwen2_checkpoint, rows, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(qwen2_checkpoint)
    prepared = tokenize_like_official(rows["kk_logic"].select(range(8)), tokenizer, max_length=1024)
    args = SFTConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        bf16=False,
        max_steps=2,
        per_device_train_batch_size=2,
        max_length=1024,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
    )
    model = AutoModelForCausalLM.from_pretrained(qwen2_checkpoint)
    trainer = SFTTrainer(model=model, args=args, train_dataset=prepared, processing_class=tokenizer)
    assert trainer.train_dataset["input_ids"] == prepared["input_ids"]  # not re-tokenized
    assert trainer.train_dataset["labels"] == prepared["labels"]

    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    for i, row in enumerate(rows["kk_logic"].select(range(2))):
        prompt_ids, answer_ids = apart(tokenizer, row["prompt"], row["completion"])
        trained = batch["labels"][i] != -100
        answer_end = min(len(prompt_ids + answer_ids), 1024)  # some K&K rows run past max_length: cut on the right
        assert trained.nonzero().flatten().tolist() == list(range(len(prompt_ids), answer_end))

    # The trainer's loss is the mean cross-entropy of the answer tokens alone.
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch))
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    targets = batch["labels"][:, 1:]
    per_token = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), targets, reduction="none")
    answer_only = per_token[targets != -100].mean()
    every_token = per_token[batch["attention_mask"][:, 1:] == 1].mean()
    assert loss.item() == pytest.approx(answer_only.item(), rel=1e-5)
    assert abs(answer_only.item() - every_token.item()) > 1e-3

    history = trainer.train().metrics
    assert history["train_loss"] > 0 and trainer.state.global_step == 2
