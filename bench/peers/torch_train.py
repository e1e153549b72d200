"""The PyTorch peer of `electrolite bench train --vs torch` (optional: never required, never in CI).

Trains the same encoder sizes with `transformers` on the CPU and prints one JSON line per
objective: {"objective", "tokens_per_s", "step_ms"} — the median of `--steps` optimizer steps
after two untimed ones, as the engine's figures are taken. What a step does, as the engine's:
  mlm: BertModel + BertForMaskedLM's head at the 15 % selected positions only (the sparse
       head), cross-entropy, AdamW;
  rts: ElectraForPreTraining's discriminator on the whole batch with a replaced-token target
       (the statistical generator's sampling is a table lookup: left out), BCE, AdamW.
Inputs are random ids of the vocabulary (throughput does not depend on the text).

    python3 bench/peers/torch_train.py --hidden 128 --layers 2 --heads 2 --intermediate 512 \
        --vocab 8192 --batch 32 --seq-len 128 --objectives mlm,rts --steps 6
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForMaskedLM, ElectraConfig, ElectraForPreTraining


def main() -> None:
    p = argparse.ArgumentParser()
    for name in ("hidden", "layers", "heads", "intermediate", "vocab", "batch", "seq-len", "steps"):
        p.add_argument(f"--{name}", type=int, required=name != "steps", default=6 if name == "steps" else None)
    p.add_argument("--objectives", default="mlm,rts")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own choice)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    B, T, V = a.batch, a.seq_len, a.vocab
    sizes = dict(vocab_size=V, hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads,
                 intermediate_size=a.intermediate, max_position_embeddings=max(512, T), hidden_dropout_prob=0.1,
                 attention_probs_dropout_prob=0.1)
    for objective in a.objectives.split(","):
        if objective == "mlm":
            model = BertForMaskedLM(BertConfig(**sizes))
            n_sel = max(1, round(0.15 * B * T))

            def step() -> torch.Tensor:
                ids = torch.randint(5, V, (B, T))
                flat = torch.randperm(B * T)[:n_sel]
                hidden = model.bert(input_ids=ids).last_hidden_state.reshape(B * T, -1)[flat]
                return F.cross_entropy(model.cls(hidden), ids.reshape(-1)[flat])
        elif objective == "rts":
            model = ElectraForPreTraining(ElectraConfig(embedding_size=a.hidden, **sizes))

            def step() -> torch.Tensor:
                ids = torch.randint(5, V, (B, T))
                target = (torch.rand(B, T) < 0.15).float()
                logits = model(input_ids=ids).logits
                return F.binary_cross_entropy_with_logits(logits, target)
        else:
            raise SystemExit(f"torch_train.py: objective '{objective}' has no peer (mlm, rts)")
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        times = []
        for k in range(a.steps + 2):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            step().backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if k >= 2:
                times.append(time.perf_counter() - t0)
        ms = statistics.median(times) * 1000
        print(json.dumps({"objective": objective, "tokens_per_s": round(B * T * 1000 / ms), "step_ms": round(ms, 2), "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
