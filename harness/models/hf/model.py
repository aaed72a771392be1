"""Hugging Face transformers adapter: hub ids, local folders and GGUF files.

Scoring follows lm-eval's `hf` model exactly (tokenisation of context/continuation pairs, the prefix
token for empty contexts, left truncation, greedy check), so the same items give the same numbers, through
shared-prefix scoring (hf_scoring) whose numbers do not depend on the batch size. With
match_batching='lm-eval', bf16/fp16 scoring goes through hf_aligned instead, which reproduces lm-eval's
rounding (it depends on lm-eval's batch layout). The forward passes are laid out per task (`plan`,
hf_plan), so a request's numbers do not depend on how the runner splits the task into calls.
A local folder or GGUF file loads lazily: its identity (ModelInfo, fingerprint) is read from its files
(hf_identity; a GGUF file's header), and the tokenizer and weights load on the first call that needs
them (a GGUF file is converted to a transformers folder then, once), so a run answered entirely by the
response cache never loads or converts them. Hub models load at once.
torch and transformers are imported here only, when a model is really loaded.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.errors import EvalhError, ModelError
from harness.models.hf import identity as hf_identity
from harness.models.base import ModelAdapter, ModelInfo, Progress, Session
from harness.models.hf.identity import FolderFacts
from harness.models.hf.plan import TaskPlan
from harness.requests import Generate, Loglikelihood, Request, Rolling

_DEFAULT_MAX_LENGTH = 2048
SCORING_VERSION = "9"
"""Part of the fingerprint: bump it when scoring code changes numbers, so cached responses are not reused."""
_TOKENIZER_INFINITY = 1000000000000000019884624838656


class HFModel(ModelAdapter):
    """A causal LM loaded with transformers' Auto classes; lazily for local folders and GGUF files.

    `model` and `tokenizer` load on first use; `info()` never loads anything and is the same before and
    after a load. Bad paths fail here, in the constructor (see resolve.py); a folder whose weights cannot
    be loaded later raises ModelError from the call that needed them.
    """

    def __init__(self, name: str, source: str, *, gguf_file: Path | None = None, device: str = "auto",
                 dtype: str = "auto", batch_size: int | str = 16, revision: str | None = None,
                 local_files_only: bool = False, size_label: str | None = None,
                 threads: int | None = None, cache_dir: str | None = None, match_batching: str = "none",
                 load_args: dict[str, Any] | None = None) -> None:
        self.name = name
        load_args = dict(load_args or {})
        revision = load_args.pop("revision", None) or revision
        self._peft = hf_identity.check_peft(name, load_args.pop("peft", None))
        max_length = load_args.pop("max_length", None)
        self._model_kwargs = {k: load_args.pop(k) for k in ("attn_implementation", "device_map") if k in load_args}
        trust = bool(load_args.pop("trust_remote_code", False))
        if load_args:
            raise ModelError(f"model '{name}': model_args {', '.join(sorted(load_args))} do not apply to hf models")
        self.device = hf_identity.resolve_device(device)
        self._dtype_name, self._dtype_reason = hf_identity.resolve_dtype(dtype, self.device)
        self.threads = threads  # torch intra-op threads set on load (None: torch's own); bits depend on it
        if match_batching not in ("none", "lm-eval"):
            raise ModelError(f"model '{name}': match_batching must be 'none' or 'lm-eval', not {match_batching!r}")
        self.match_batching = match_batching
        self._source, self._gguf_sha, self._size_label = source, None, size_label
        self._batch_size = batch_size if batch_size == "auto" else max(1, int(batch_size))
        self._tokenizer: Any = None
        self._model: Any = None
        self._greedy: bool | None = None  # whether hf_generate.greedy can drive the model (known once loaded)
        self.decode_counts: dict[str, int] | None = None  # set to hf_invariant.new_counts() to count decode work
        folder = Path(source) if Path(source).is_dir() else None
        self._gguf_file, self._cache_dir = gguf_file, cache_dir
        facts = None
        if gguf_file is not None:
            from harness.models.hf.gguf_cache import file_sha256

            self._gguf_sha = file_sha256(gguf_file, cache_dir)
            facts, label = hf_identity.read_gguf(gguf_file)
            self._size_label = self._size_label or label
            if facts is None:  # a header that does not say plainly: convert now and read the folder
                folder = self._converted()
        self._load_from = str(folder) if folder else source
        self._load_kwargs: dict[str, Any] = {"revision": revision, "local_files_only": local_files_only,
                                             **({"trust_remote_code": True} if trust else {})}
        self._revision = (hf_identity.folder_revision(folder) if folder else None) or revision
        facts = facts or (hf_identity.read_folder(folder) if folder else None)
        if facts is None:  # a hub model, or a folder whose files do not say plainly: load now, ask the model
            facts = self._load_eagerly()
        self.max_length = max_length or facts.context_length
        self._parameters, self._architecture = facts.parameters, facts.architecture
        weights = (f"gguf-sha256:{self._gguf_sha}" if self._gguf_sha
                   else f"{source}@{self._revision or 'local'}:{hf_identity.folder_digest(source)}")
        # a GGUF file holds its tokenizer, so its sha256 covers both
        tokenizer = "gguf" if self._gguf_sha else hf_identity.tokenizer_digest(folder)
        # arguments that change the numbers: a model without them keeps the fingerprint it always had
        changes = {**self._model_kwargs, **({"max_length": max_length} if max_length else {}),
                   **({"peft": f"{self._peft}:{hf_identity.folder_digest(self._peft)}"} if self._peft else {})}
        changes.pop("device_map", None)
        self._fingerprint = hf_identity.fingerprint(
            weights, self._dtype_name, tokenizer,
            f"{SCORING_VERSION}-{match_batching}" + "".join(f"|{k}={v}" for k, v in sorted(changes.items())))
        self._load_args = {**changes, **({"revision": revision} if revision else {}),
                           **({"trust_remote_code": True} if trust else {})}

    # -- loading ---------------------------------------------------------------------------------
    @property
    def tokenizer(self) -> Any:
        """The transformers tokenizer, loaded on first use."""
        if self._tokenizer is None:
            self._lazily(self._load_tokenizer)
        return self._tokenizer

    @property
    def model(self) -> Any:
        """The transformers model (with its tokenizer), loaded on first use."""
        self._ensure_loaded()
        return self._model

    @property
    def batch_size(self) -> int:
        """Requests per forward pass; `auto` is measured on the loaded model, so asking for it loads it."""
        if self._batch_size == "auto":
            self._ensure_loaded()
        return self._batch_size

    @property
    def dtype(self) -> Any:
        """The torch dtype the weights load in."""
        import torch

        return getattr(torch, self._dtype_name)

    @property
    def weights_loaded(self) -> bool:
        """Whether the weights are loaded (a run answered by the response cache never loads them)."""
        return self._model is not None

    def load(self, before: Callable[[], None] = lambda: None) -> bool:
        """Load tokenizer and weights now unless they are loaded (see ModelAdapter.load)."""
        if self._model is not None:
            return False
        before()
        self._ensure_loaded()
        return True

    def _ensure_loaded(self) -> None:
        """Load tokenizer and weights, and measure `--batch-size auto`, unless done already."""
        if self._model is None:
            self._lazily(lambda: (self._load_weights(), self._resolve_batch_size()))

    def _lazily(self, load: Callable[[], object]) -> None:
        """Run a deferred load; its failure becomes a ModelError that names the model."""
        try:
            load()
        except EvalhError:
            raise
        except Exception as exc:
            raise ModelError(f"model '{self.name}': loading {self._load_from} failed: {exc}") from exc

    def _converted(self) -> Path:
        """The transformers folder of the GGUF file (converted on first use, then kept in the cache)."""
        from harness.models.hf.gguf_cache import converted_folder

        folder, _ = converted_folder(self._gguf_file, self._cache_dir)
        self._load_from = str(folder)
        return folder

    def _load_tokenizer(self) -> None:
        from transformers import AutoTokenizer

        if self._gguf_file is not None and not Path(self._load_from).is_dir():
            self._converted()

        self._tokenizer = AutoTokenizer.from_pretrained(self._load_from, **self._load_kwargs)

    def _load_weights(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        if self.threads:
            torch.set_num_threads(self.threads)
        if self._tokenizer is None:
            self._load_tokenizer()
        model = AutoModelForCausalLM.from_pretrained(
            self._load_from, dtype=self.dtype, **self._load_kwargs, **self._model_kwargs)
        if "device_map" not in self._model_kwargs:  # placed by accelerate otherwise
            model = model.to(self.device)
        if self._peft:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, self._peft)
        self._model = model.eval()

    def _resolve_batch_size(self) -> None:
        import torch

        if self._batch_size == "auto":
            from harness.models.hf.batching import auto_batch_size

            self._batch_size = max(1, int(auto_batch_size(self._model, min(self.max_length, 2048), self.device)))
        torch.set_grad_enabled(False)

    def _load_eagerly(self) -> FolderFacts:
        """Load now (errors propagate as they are) and read the identity from the loaded model."""
        self._load_weights()
        self._revision = getattr(self._model.config, "_commit_hash", None) or self._revision
        self.max_length = self._max_length()
        self._resolve_batch_size()
        return FolderFacts(parameters=sum(p.numel() for p in self._model.parameters()),
                           context_length=self.max_length, architecture=type(self._model).__name__)

    # -- identity --------------------------------------------------------------------------------
    def _max_length(self) -> int:
        cfg = getattr(self.model.config, "text_config", None) or self.model.config
        for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
            if getattr(cfg, attr, None) is not None:
                return int(getattr(cfg, attr))
        limit = getattr(self.tokenizer, "model_max_length", None)
        return int(limit) if limit and limit != _TOKENIZER_INFINITY else _DEFAULT_MAX_LENGTH

    def info(self) -> ModelInfo:
        """Read from the model's files (or the eagerly loaded hub model); never loads, same before and after."""
        return ModelInfo(
            name=self.name, adapter="hf", source=self._source, parameters=self._parameters,
            size_label=self._size_label, fingerprint=self._fingerprint, dtype=self._dtype_name, device=self.device,
            context_length=self.max_length, revision=self._revision,
            extra={"architecture": self._architecture, **({"gguf_sha256": self._gguf_sha} if self._gguf_sha else {}),
                   **({"dtype_reason": self._dtype_reason} if self._dtype_reason else {}),
                   **({"threads": self.threads} if self.threads and self.device == "cpu" else {}),
                   **({"match_batching": self.match_batching} if self.match_batching != "none" else {}),
                   **({"model_args": self._load_args} if self._load_args else {})},
        )

    # -- tokenisation (lm-eval's rules) ------------------------------------------------------------
    @property
    def prefix_token_id(self) -> int:
        tok = self.tokenizer
        return tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id

    def _encode(self, text: str) -> list[int]:
        bos = self.tokenizer.bos_token
        return self.tokenizer.encode(text, add_special_tokens=not (bos and text.startswith(bos)))

    def _encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """`_encode` of every text, through the tokenizer's batch call (fast tokenizers encode in parallel)."""
        bos = self.tokenizer.bos_token
        out: list[list[int]] = [[] for _ in texts]
        for special in (True, False):
            chosen = [i for i, t in enumerate(texts) if (not (bos and t.startswith(bos))) == special]
            if chosen:
                ids = self.tokenizer([texts[i] for i in chosen], add_special_tokens=special)["input_ids"]
                for i, tokens in zip(chosen, ids):
                    out[i] = list(tokens)
        return out

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """Token ids of context and continuation, split the way lm-eval splits them."""
        return self.encode_pairs([(context, continuation)])[0]

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
        """`encode_pair` of every pair; each distinct text is encoded once (a few-shot context once, not per choice).

        lm-eval's split: trailing spaces of the context move to the continuation; the continuation's tokens
        are those of context + continuation after the context's tokens; an empty context becomes the
        prefix token (unless the continuation starts with it).
        """
        split: list[tuple[str, str] | None] = []
        for context, continuation in pairs:
            if context == "":
                split.append(None)
                continue
            spaces = len(context) - len(context.rstrip())
            if spaces:
                context, continuation = context[:-spaces], context[-spaces:] + continuation
            split.append((context, context + continuation))
        texts = list(dict.fromkeys(t for both in split if both for t in both))
        encoded = dict(zip(texts, self._encode_many(texts)))
        out = []
        for (_, continuation), both in zip(pairs, split):
            if both is None:
                cont = self.tokenizer.encode(continuation, add_special_tokens=False)
                out.append((cont[:1], cont[1:]) if cont and cont[0] == self.prefix_token_id
                           else ([self.prefix_token_id], cont))
                continue
            ctx = encoded[both[0]]
            out.append((ctx, encoded[both[1]][len(ctx):]))
        return out

    def chat_conversation(self, messages: Sequence[dict[str, str]]) -> str:
        """A whole conversation (`[{"role": "user", "content": ...}, {"role": "assistant", ...}, ...]`) in the
        tokenizer's chat template, ready for the assistant's next turn, or, when the last message is the
        assistant's, for the model to continue it (transformers' `continue_final_message`, as lm-eval does for
        a `gen_prefix`). A template that rejects the system role gets the system text at the top of the first
        user turn instead."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelError(f"model {self.name} has no chat template; it cannot hold a conversation")
        messages = [dict(m) for m in messages]
        opened = bool(messages) and messages[-1]["role"] == "assistant"
        options = {"tokenize": False, "add_generation_prompt": not opened, "continue_final_message": opened}
        try:
            return self.tokenizer.apply_chat_template(messages, **options)
        except Exception:  # jinja2 TemplateError raised by the template itself ("System role not supported")
            if not messages or messages[0]["role"] != "system" or len(messages) < 2:
                raise
            system, first = messages[0], messages[1]
            merged = [{"role": first["role"], "content": f"{system['content']}\n\n{first['content']}"}, *messages[2:]]
            return self.tokenizer.apply_chat_template(merged, **options)

    # -- a task's layout ----------------------------------------------------------------------------
    def open(self, requests: Sequence[Request]) -> HFSession:
        """A session whose forward passes are cut from the whole task (hf_plan), as lm-eval batches a task:
        a request's numbers then never depend on how the task is split into calls, and in bf16/fp16 they
        are lm-eval's (hf_aligned). Nothing is tokenised or loaded until a call needs it."""
        return HFSession(self, TaskPlan(requests))

    def _order(self, task: TaskPlan, requests: Sequence[Request]) -> list[Request]:
        if not requests:
            return []
        kind = type(requests[0])
        if not task.covers(kind, requests):
            return list(requests)
        if kind is Generate:
            planned = task.generation
            rank: dict[Request, int] = {}
            if self.match_batching == "lm-eval":
                runs = [i for cohort in self._generation_batches(task, planned) for i in cohort]
            else:
                from harness.models.hf import invariant as hf_invariant

                runs = hf_invariant.order(self._jobs(task, planned))
            for i in runs:
                rank.setdefault(planned[i], len(rank))
        else:
            planned = task.scoring if kind is Loglikelihood else task.rolling
            scorer = self._scorer(task) if kind is Loglikelihood else self._roller(task)
            rank = {}
            for i in scorer.order():
                rank.setdefault(planned[i], len(rank))
        return sorted(requests, key=lambda r: rank.get(r, len(rank)))

    # -- scoring ---------------------------------------------------------------------------------
    def _scorer(self, task: TaskPlan):
        """The plan's scorer: batch-invariant shared-prefix scoring, or lm-eval's layout in bf16/fp16 when
        asked to match its batching (hf_aligned)."""
        if task.scorer is None:
            pairs = self.encode_pairs([(r.context, r.continuation) for r in task.scoring])
            if any(not cont for _, cont in pairs):
                raise ModelError("a continuation encoded to no tokens; nothing to score")
            if self._aligned():
                from harness.models.hf import aligned as hf_aligned

                if any(len(cont) > self.max_length for _, cont in pairs):
                    raise ModelError(f"model {self.name}: a continuation is longer than the context window "
                                     f"({self.max_length} tokens)")
                widths = hf_aligned.plan_widths(pairs, self.batch_size, self.max_length)
                task.scorer = hf_aligned.Scorer(self.model, pairs, widths, self.max_length, self.batch_size, self.device)
            else:
                from harness.models.hf.plan import InvariantScorer

                text = getattr(self.model.config, "text_config", None) or self.model.config
                task.scorer = InvariantScorer(self.model, pairs, self.max_length, self.batch_size, self.device,
                                          getattr(text, "sliding_window", None))
        return task.scorer

    def loglikelihood(self, requests: Sequence[Loglikelihood], progress: Progress = None) -> list[tuple[float, bool]]:
        """Sum of log-probabilities of each continuation given its context, and whether it is greedy.

        Shared-prefix scoring (hf_scoring.Packed), pairs that need lm-eval's left truncation plainly; with
        match_batching='lm-eval', bf16/fp16 models give lm-eval's numbers bit for bit (hf_aligned).
        """
        return self._loglikelihood(TaskPlan(requests), requests, progress)

    def _loglikelihood(self, task: TaskPlan, requests: Sequence[Loglikelihood], progress: Progress) -> list[tuple[float, bool]]:
        index = task.index[Loglikelihood]
        return self._scorer(task).answers([index[r] for r in requests], progress)

    def _aligned(self) -> bool:
        """Score the way that reproduces lm-eval's bf16/fp16 numbers bit for bit (hf_aligned): only when asked
        (match_batching='lm-eval'), since those numbers change with the batch size."""
        from harness.models.hf import aligned as hf_aligned

        return self.match_batching == "lm-eval" and hf_aligned.applies(self.model)

    def _roller(self, task: TaskPlan):
        if task.roller is None:
            from harness.models.hf.plan import RollingScorer

            windows: list[tuple[list[int], list[int]]] = []
            owners: list[int] = []
            for number, request in enumerate(task.rolling):
                for window in rolling_windows(self._encode(request.text), self.prefix_token_id, self.max_length):
                    windows.append(window)
                    owners.append(number)
            vocab = int(self.model.config.get_text_config().vocab_size)
            rows = max(1, min(self.batch_size, _LOGITS_BUDGET // (self.max_length * vocab)))
            task.roller = RollingScorer(self.model, windows, owners, len(task.rolling), self.max_length, rows, self.device)
        return task.roller

    def loglikelihood_rolling(self, requests: Sequence[Rolling], progress: Progress = None) -> list[float]:
        """Total log-likelihood of each text, as lm-eval's `HFLM.loglikelihood_rolling`.

        The text is encoded as lm-eval's `tok_encode`, cut into `rolling_windows` of at most `max_length`
        scored tokens (the first conditioned on the prefix token), and each window scored the plain lm-eval
        way; a text's windows are summed. Passes hold as many full windows as ~`_LOGITS_BUDGET` logits allow.
        """
        return self._rolling(TaskPlan(requests), requests, progress)

    def _rolling(self, task: TaskPlan, requests: Sequence[Rolling], progress: Progress) -> list[float]:
        index = task.index[Rolling]
        return self._roller(task).answers([index[r] for r in requests], progress)

    # -- generation ------------------------------------------------------------------------------
    def _jobs(self, task: TaskPlan, requests: Sequence[Generate]) -> list:
        from harness.models.hf import generate as hf_generate

        known = task.prompt_tokens
        for r in requests:
            if (r.prompt, r.max_tokens) not in known:
                tokens = self._encode(r.prompt) or [self.prefix_token_id]
                known[(r.prompt, r.max_tokens)] = tokens[-max(1, self.max_length - r.max_tokens):]
        return [hf_generate.Job(known[(r.prompt, r.max_tokens)], r.max_tokens, tuple(s for s in r.until if s), r.prompt)
                for r in requests]

    def _generation_batches(self, task: TaskPlan, requests: Sequence[Generate]) -> list[list[int]]:
        from harness.models.hf import generate as hf_generate

        return hf_generate.batches(self._jobs(task, requests), self.batch_size)

    def generate(self, requests: Sequence[Generate], progress: Progress = None) -> list[str]:
        """Continuations, cut at each request's first stop string: greedy (harness.models.hf.generate), or
        drawn as a request's `sampling` says, from its own seeded generator (harness.models.hf.sample).

        By default a row's numbers do not depend on its batch mates (harness.models.hf.invariant): the same
        texts for any batch size, sharding or resume point, with finished rows refilled from the queue.
        With match_batching='lm-eval' the rows run in lm-eval's batches, cut from the task's planned list
        (outputs equal lm-eval's bit for bit, in any dtype), several batches together on a schedule fixed
        by the whole task; a call runs it until its own requests are done and keeps the other texts for
        later calls. Models `greedy` cannot drive go through transformers' `generate` in lm-eval's batches.
        """
        return self._generate(TaskPlan(requests), requests, progress)

    def _generate(self, task: TaskPlan, requests: Sequence[Generate], progress: Progress) -> list[str]:
        wanted = set(requests)
        for r in wanted:
            if r.max_tokens <= 0:  # no budget: no batch, an empty text
                task.texts[r] = ""
        todo = {r for r in wanted if r not in task.texts}
        if progress and len(todo) < len(wanted):
            progress(len(wanted) - len(todo))
        sampled = {r for r in todo if r.sampling is not None}
        if sampled:
            self._sample(task, sampled, progress)
            todo -= sampled
        if todo:
            if self._greedy is None:  # decided once per loaded model
                from harness.models.hf import generate as hf_generate

                self._greedy = hf_generate.supports_greedy(self.model)
            (self._decode if self._greedy else self._generate_batches)(task, todo, progress)
        return [task.texts[r] for r in requests]

    def _sample(self, task: TaskPlan, todo: set[Generate], progress: Progress) -> None:
        """Draw every sampled request in `todo`; the repeats of one prompt and settings share a prefill."""
        from harness.models.hf import sample as hf_sample

        groups: dict[tuple, list[Generate]] = {}
        for r in sorted(todo, key=lambda r: (r.prompt, r.max_tokens, r.until, r.sampling.seed, r.sampling.index)):
            key = (r.prompt, r.max_tokens, r.until, r.sampling.temperature, r.sampling.top_p, r.sampling.top_k)
            groups.setdefault(key, []).append(r)
        for members in groups.values():
            job = self._jobs(task, members[:1])[0]
            for start in range(0, len(members), self.batch_size):
                rows = members[start:start + self.batch_size]
                texts = hf_sample.sample_group(self.model, self.tokenizer, job.prompt, rows[0].prompt, job.max_tokens,
                                               job.stops, [r.sampling for r in rows], self.device)
                task.texts.update(zip(rows, texts))
                if progress:
                    progress(len(rows))

    def _decode(self, task: TaskPlan, todo: set[Generate], progress: Progress) -> None:
        """Greedy texts of every request in `todo`: by default each row decodes independently of its batch
        mates (hf_invariant), so only `todo` runs; with match_batching='lm-eval' the task's schedule of
        lm-eval's batches continues until every request in `todo` has its text."""
        from harness.models.hf import attention as hf_attention
        from harness.models.hf import generate as hf_generate

        if self.match_batching != "lm-eval":
            self._decode_invariant(task, todo, progress)
            return
        plan = task.generation
        if task.schedule is None:  # several of lm-eval's batches at once, within one batch's cache at full length
            task.schedule = hf_generate.decode(self.model, self.tokenizer, self._jobs(task, plan), self.batch_size,
                                               self.device, max_positions=self.batch_size * self.max_length)
        with hf_attention.installed(self.model):
            while todo:
                finished = next(task.schedule, None)
                if finished is None:  # cannot happen for planned requests; a clear error if it does
                    raise ModelError(f"model {self.name}: decoding ended with {len(todo)} prompt(s) unanswered")
                for i, text in finished:
                    task.texts.setdefault(plan[i], text)
                done = {plan[i] for i, _ in finished} & todo
                todo -= done
                if progress and done:
                    progress(len(done))

    def _decode_invariant(self, task: TaskPlan, todo: set[Generate], progress: Progress) -> None:
        """Decode the requests in `todo` (each once) with continuous batching; a row's numbers do not depend
        on the other rows, so nothing else of the task needs computing. The running rows' caches hold at
        most batch size x context length positions."""
        from harness.models.hf import attention as hf_attention
        from harness.models.hf import invariant as hf_invariant

        requests = sorted(todo, key=task.index[Generate].get) if task.covers(Generate, list(todo)) else list(todo)
        jobs = self._jobs(task, requests)
        with hf_attention.installed(self.model):
            for finished in hf_invariant.decode(self.model, self.tokenizer, jobs, self.device,
                                                self.batch_size * self.max_length, self.decode_counts):
                for i, text in finished:
                    task.texts[requests[i]] = text
                if progress and finished:
                    progress(len(finished))

    def _generate_batches(self, task: TaskPlan, todo: set[Generate], progress: Progress) -> None:
        """transformers' `generate` on each of lm-eval's batches that holds a request in `todo`."""
        from harness.models.hf import generate as hf_generate

        plan = task.generation
        jobs = self._jobs(task, plan)
        chosen = [i for cohort in hf_generate.batches(jobs, self.batch_size)
                  if any(plan[i] in todo for i in cohort) for i in cohort]
        seen: set[Generate] = set()
        for i in chosen:  # progress counts each requested prompt once
            jobs[i].report = plan[i] in todo and plan[i] not in seen
            seen.add(plan[i])
        rows = [jobs[i] for i in chosen]
        texts = hf_generate.batched(self.model, self.tokenizer, rows, self.batch_size, self.device, progress)
        for i, text in zip(chosen, texts):
            task.texts.setdefault(plan[i], text)


class HFSession(Session):
    """One task on a transformers model: its layout (hf_plan.TaskPlan) lives here and dies with the session.
    A call for requests the task does not hold is laid out on its own."""

    def __init__(self, model: HFModel, task: TaskPlan) -> None:
        super().__init__(model)
        self.hf, self.task = model, task

    def _for(self, kind: type, requests: Sequence[Request]) -> TaskPlan:
        return self.task if self.task.covers(kind, requests) else TaskPlan(requests)

    def order(self, requests: Sequence[Request]) -> list[Request]:
        """`requests` (one kind) in the order their forward passes run."""
        return self.hf._order(self.task, requests)

    def loglikelihood(self, requests: Sequence[Loglikelihood], progress: Progress = None) -> list[tuple[float, bool]]:
        return self.hf._loglikelihood(self._for(Loglikelihood, requests), requests, progress)

    def generate(self, requests: Sequence[Generate], progress: Progress = None) -> list[str]:
        return self.hf._generate(self._for(Generate, requests), requests, progress)

    def loglikelihood_rolling(self, requests: Sequence[Rolling], progress: Progress = None) -> list[float]:
        return self.hf._rolling(self._for(Rolling, requests), requests, progress)

    def close(self) -> None:
        self.task = TaskPlan([])


def rolling_windows(tokens: list[int], prefix_token: int, max_length: int) -> list[tuple[list[int], list[int]]]:
    """(context, continuation) token windows that score every token of `tokens` exactly once.

    lm-eval's `get_rolling_token_windows(token_list, prefix_token, max_seq_len, context_len=1)` followed by
    `make_disjoint_window`: the first window predicts the first `max_length` tokens after the prefix token;
    each later one predicts the next (up to) `max_length` tokens, conditioned on the tokens before them, so
    that context + continuation is `max_length + 1` tokens (the model sees `max_length`).
    """
    if not tokens:
        return []
    first = min(max_length, len(tokens))
    windows = [([prefix_token], tokens[:first])]
    predicted = first
    while predicted < len(tokens):
        count = min(len(tokens) - predicted, max_length)
        end = predicted + count
        window = tokens[end - max_length - 1:end - 1]
        windows.append((window[:len(window) - (count - 1)], tokens[end - count:end]))
        predicted = end
    return windows


_LOGITS_BUDGET = 400_000_000
"""Logits (tokens x vocabulary) one rolling batch may hold: 1.6 GB in float32."""


