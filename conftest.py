import os

# Notebooks run by papermill and nbval (child kernels inherit this) print one line per training epoch
# and no progress bars, so that their outputs stay small and free of carriage-return floods.
os.environ.setdefault("MNIST_GAN_KIT_PROGRESS", "0")

# nbval checks the stored outputs of the deterministic cells (tagged nbval-check-output) of the notebooks.
# 02 trains a real run by default, so it is run by papermill with small parameters (tests/test_notebooks.py)
# instead of being re-executed by nbval.
collect_ignore = ["notebooks/02_gan_training.ipynb"]
