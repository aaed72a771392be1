"""The transformers backend: local folders, hub ids and GGUF files, scored and generated with torch.

model.py is the adapter (HFModel) and its per-task session; plan.py cuts a task's forward passes once;
scoring.py and aligned.py score loglikelihoods (fp32, and lm-eval's bf16 layout); generate.py decodes;
identity.py reads what a model is without loading it; gguf_cache.py keeps converted GGUF models.
Nothing here is imported until a transformers model is used (torch loads with it).
"""
