"""Task definitions: the YAML schema, loading and lookup, datasets, prompts and few-shot sampling."""
