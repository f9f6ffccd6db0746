"""Training data: downstream task files, safety slices of a build, the mix, chat formatting, derived builds."""
