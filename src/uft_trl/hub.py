"""``--push_to_hub``, checked before training and failed softly after it: an unreachable Hub or a missing login is one
line at the start, not a traceback after hours of training; a push that fails at the end says where the files are."""

from __future__ import annotations

import os


class HubError(ValueError):
    """The Hub cannot take this run's push (one line, with the fix)."""


def check_push(training_args) -> None:
    """Before anything is trained: the Hub answers, a token is there, and it may write (a ``write`` or fine-grained
    token; the repository itself is created at the end, as TRL does)."""
    if not training_args.push_to_hub:
        return
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise HubError(
            "--push_to_hub needs the Hub, and HF_HUB_OFFLINE is set: unset it, or train without --push_to_hub"
        )
    from huggingface_hub import HfApi

    try:
        who = HfApi().whoami(token=training_args.hub_token)
    except Exception as error:  # no token (LocalTokenNotFoundError), a bad one (401), no network (ConnectionError)
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise HubError(
            f"--push_to_hub: the Hub did not accept this machine ({first}); log in with `hf auth login` (a token "
            "with write access), or train without --push_to_hub and upload the folder later"
        ) from None
    role = ((who.get("auth") or {}).get("accessToken") or {}).get("role")
    if role == "read":
        raise HubError(
            "--push_to_hub: the Hub token is read-only; log in with a token that can write (`hf auth login`)"
        )


def push_or_say_how(trainer, output_dir: str, **push_kwargs) -> None:
    """``trainer.push_to_hub``; a failure leaves the trained run where it is and says how to upload it later."""
    try:
        trainer.push_to_hub(**push_kwargs)
    except Exception as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        repo = trainer.hub_model_id or os.path.basename(os.path.normpath(output_dir))
        raise HubError(
            f"the run is trained and saved in {output_dir}/, but pushing it to the Hub failed ({first}); upload it "
            f"later with `hf upload {repo} {output_dir}`"
        ) from None
