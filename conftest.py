# nbval checks the stored outputs of the deterministic cells (marked NBVAL_CHECK_OUTPUT) of the notebooks.
# 02 trains a real run by default, so it is run by papermill with small parameters (tests/test_notebooks.py)
# instead of being re-executed by nbval.
collect_ignore = ["notebooks/02_gan_training.ipynb"]
