"""UFT with generation on a vLLM server (TRL's server mode): hints reach vLLM as prompt token ids.

On a machine with GPUs, serve the model on one GPU and train on the others:

    CUDA_VISIBLE_DEVICES=0 trl vllm-serve --model Qwen/Qwen2.5-0.5B
    CUDA_VISIBLE_DEVICES=1,2 accelerate launch --num_processes 2 examples/vllm_server.py --model Qwen/Qwen2.5-0.5B

Every rollout of a prompt shares its hint, which server mode relies on: it generates once per group.
`--tiny` runs the same script offline on the tiny model, generating with transformers instead of a server;
`--dry-run` only builds and prints the server configuration.

    python examples/vllm_server.py --tiny
"""

import argparse

from _common import model_and_tokenizer, run_settings, train_and_report

from uft_trl import UFTConfig, UFTTrainer
from uft_trl.tasks import countdown


def build_config(args) -> UFTConfig:
    if args.tiny:  # no server: TRL's own generation, a few CPU steps
        return UFTConfig(output_dir=args.output_dir, learning_rate=1e-6, **run_settings(tiny=True))
    return UFTConfig(
        output_dir=args.output_dir,
        use_vllm=True,
        vllm_mode="server",
        vllm_server_host=args.host,
        vllm_server_port=args.port,
        max_steps=args.max_steps,
        per_device_train_batch_size=16,
        num_generations=4,
        max_completion_length=1024,
        learning_rate=1e-6,
        bf16=not args.dry_run,
        use_cpu=args.dry_run,
        report_to="none" if args.dry_run else "wandb",
    )


def parse(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="Qwen/Qwen2.5-0.5B")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--max-steps", type=int, default=500)
    parser.add_argument("--output-dir", default="outputs/countdown-vllm-server")
    parser.add_argument("--tiny", action="store_true", help="offline tiny model, transformers generation, CPU")
    parser.add_argument("--dry-run", action="store_true", help="build and print the server configuration only")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    config = build_config(args)
    if args.dry_run:
        print(f"use_vllm={config.use_vllm} vllm_mode={config.vllm_mode} server={args.host}:{args.port}")
        return config
    model, tokenizer = model_and_tokenizer(args.model, tiny=args.tiny)
    trainer = UFTTrainer(
        model=model,
        reward_funcs=countdown.accuracy_reward,
        args=config,
        train_dataset=countdown.build_dataset(64 if args.tiny else 10240, seed=0),
        processing_class=tokenizer,
    )
    return train_and_report(trainer, "vllm_server")


if __name__ == "__main__":
    main()
