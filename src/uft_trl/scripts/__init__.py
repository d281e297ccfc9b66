"""The ``uft-trl`` commands, one per module, each with ``main(argv)``; ``uft_trl.cli`` dispatches to them."""
