"""The ablation grid: its config, the runner, the results report, the paper's findings, the CPU demo."""
