#!/usr/bin/env python3
"""Small SAEs in every format Featurescope reads, written by the real libraries, with SAELens's own encodings
(optional tooling; the tests only read what this writes).

Writes Tests/Fixtures/sae-formats/:
  gemma-scope-2b-pt-att/layer_1/width_16k/average_l0_12/params.npz   numpy.savez (JumpReLU, like Gemma Scope)
  gemma-scope-2-270m-pt/resid_post/layer_3_width_16k_l0_small/{params.safetensors,config.json}   Gemma Scope 2 layout
  npz-variants/{compressed,f16,bigendian-fortran}.npz                 savez_compressed, float16, '>f4' Fortran-order arrays
  kissane/gpt2-small_L1_Hcat_z_….pt + …_cfg.json                     torch.save state dict + the paper's config
  llama-scope/Llama3_1-8B-Base-L1A-8x/{hyperparams.json,checkpoints/final.safetensors}   Llama Scope layout (bf16)
  saelens-hookz/{cfg.json,sae_weights.safetensors}                    SAELens save_model: hook_z, fold_value_biases
  refused-global.pt   torch.save of a dict holding a collections.Counter (a class the restricted unpickler refuses)
  expected.json   inputs and SAELens's encode of them for each SAE, loaded through SAELens's own loaders
                  (pretrained_sae_loaders with hf_hub_download pointed at these files), plus the tiny GPT-2's
                  TransformerLens hook_z (value biases folded) and SAELens's encode of it.

Needs sae-lens (and its torch / transformer-lens) in a venv:
    python3 -m venv --system-site-packages /tmp/venv && /tmp/venv/bin/pip install sae-lens
    /tmp/venv/bin/python scripts/make-sae-fixtures.py
"""
import json, os, shutil

import numpy as np
import torch
from safetensors.torch import save_file

import sae_lens
from sae_lens import SAE
from sae_lens.loading import pretrained_sae_loaders as loaders
from sae_lens.loading.pretrained_sae_loaders import handle_config_defaulting

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "Tests", "Fixtures", "sae-formats")
TINY_GPT2 = os.path.join(HERE, "..", "Tests", "Fixtures", "tiny-models", "gpt2")
torch.manual_seed(7)
rng = np.random.default_rng(7)


def rnd(*shape, scale=0.3):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def build(cfg_dict, state_dict):
    """What SAE.from_pretrained does with a loader's (cfg, state_dict)."""
    cfg_dict = handle_config_defaulting(cfg_dict)
    cls_cfg = SAE.get_sae_config_class_for_architecture(cfg_dict["architecture"])
    sae_cfg = cls_cfg.from_dict(cfg_dict)
    sae = SAE.get_sae_class_for_architecture(sae_cfg.architecture())(sae_cfg)
    sae.process_state_dict_for_loading(state_dict)
    sae.load_state_dict(state_dict)
    return sae.to(dtype=torch.float32)


def local_download(mapping):
    def download(repo_id, filename, subfolder=None, **_):
        name = f"{subfolder}/{filename}" if subfolder else filename
        return mapping[(repo_id, name)]
    return download


def encode(sae, x):
    """SAELens's encode; hook_z SAEs take [pos, heads, d_head] (reshape_activations flattens the heads back)."""
    t = torch.tensor(x)
    if sae.cfg.reshape_activations == "hook_z":
        t = t.reshape(t.shape[0], 4, -1)
    with torch.no_grad():
        return sae.encode(t).float().numpy()


def record(name, sae, x, extra=None):
    acts = encode(sae, x)
    out = {"inputs": x.tolist(), "shape": list(x.shape), "activations": acts.tolist(), "d_sae": int(acts.shape[1]),
           "l0": float((acts > 0).sum(1).mean())}
    out.update(extra or {})
    expected[name] = out


shutil.rmtree(ROOT, ignore_errors=True)
os.makedirs(ROOT)
expected = {"sae_lens": sae_lens.__version__, "torch": torch.__version__, "numpy": np.__version__}

# 1. Gemma Scope params.npz (numpy.savez), read by SAELens's gemma_2 loader.
d_in, d_sae = 32, 64
gs_dir = os.path.join(ROOT, "gemma-scope-2b-pt-att", "layer_1", "width_16k", "average_l0_12")
os.makedirs(gs_dir)
gs = {"W_enc": rnd(d_in, d_sae), "W_dec": rnd(d_sae, d_in), "b_enc": rnd(d_sae, scale=0.1), "b_dec": rnd(d_in, scale=0.1),
      "threshold": np.abs(rnd(d_sae, scale=0.4))}
np.savez(os.path.join(gs_dir, "params.npz"), **gs)
loaders.hf_hub_download = local_download({("google/gemma-scope-2b-pt-att", "layer_1/width_16k/average_l0_12/params.npz"):
                                          os.path.join(gs_dir, "params.npz")})
cfg, sd, _ = loaders.gemma_2_sae_huggingface_loader("google/gemma-scope-2b-pt-att", "layer_1/width_16k/average_l0_12",
                                                    cfg_overrides={"d_in": d_in, "d_sae": d_sae})
x = rnd(6, d_in, scale=1.0)
record("gemma_scope", build(cfg, sd), x, {"hook": "blocks.1.attn.hook_z"})

# npz variants: the same arrays compressed, as float16, and big-endian Fortran-ordered.
var_dir = os.path.join(ROOT, "npz-variants")
os.makedirs(var_dir)
np.savez_compressed(os.path.join(var_dir, "compressed.npz"), **gs)
np.savez(os.path.join(var_dir, "f16.npz"), **{k: v.astype(np.float16) for k, v in gs.items()})
np.savez(os.path.join(var_dir, "bigendian-fortran.npz"), **{k: np.asfortranarray(v.astype(">f4")) for k, v in gs.items()})
expected["npz_f16_W_enc_first"] = gs["W_enc"].astype(np.float16).astype(np.float32)[0, :8].tolist()

# 1b. Gemma Scope 2 (Gemma 3): resid_post/layer_L_width_…/params.safetensors (lowercase w_enc…) + config.json,
#     read by SAELens's gemma_3 loader.
d_in, d_sae = 32, 64
g3_rel = "resid_post/layer_3_width_16k_l0_small"
g3_dir = os.path.join(ROOT, "gemma-scope-2-270m-pt", g3_rel)
os.makedirs(g3_dir)
save_file({"w_enc": torch.tensor(rnd(d_in, d_sae)), "w_dec": torch.tensor(rnd(d_sae, d_in)), "b_enc": torch.tensor(rnd(d_sae, scale=0.1)),
           "b_dec": torch.tensor(rnd(d_in, scale=0.1)), "threshold": torch.tensor(np.abs(rnd(d_sae, scale=0.4)))},
          os.path.join(g3_dir, "params.safetensors"))
with open(os.path.join(g3_dir, "config.json"), "w") as f:
    json.dump({"architecture": "jump_relu", "model_name": "gemma-v3-270m-pt", "hf_hook_point_in": "model.layers.3.output",
               "width": d_sae, "l0": 10}, f, indent=2)
loaders.hf_hub_download = local_download({
    ("google/gemma-scope-2-270m-pt", g3_rel + "/config.json"): os.path.join(g3_dir, "config.json"),
    ("google/gemma-scope-2-270m-pt", g3_rel + "/params.safetensors"): os.path.join(g3_dir, "params.safetensors")})
loaders.get_safetensors_tensor_shapes = lambda repo, name: {"w_enc": [d_in, d_sae], "w_dec": [d_sae, d_in]}
cfg, sd, _ = loaders.gemma_3_sae_huggingface_loader("google/gemma-scope-2-270m-pt", g3_rel)
x = rnd(6, d_in, scale=1.0)
record("gemma_scope_2", build(cfg, sd), x, {"hook": cfg["hook_name"], "model": cfg["model_name"]})

# 2. The attention-SAE paper's .pt (torch.save of a state dict) + <name>_cfg.json, read by SAELens's
#    connor_rob_hook_z loader. d_in = the tiny GPT-2's 4 heads × 16.
d_in, d_sae = 64, 128
kk_dir = os.path.join(ROOT, "kissane")
os.makedirs(kk_dir)
stem = "gpt2-small_L1_Hcat_z_lr1.20e-03_l11.00e+00_ds128_bs4096_dc1.00e-06_rsanthropic_rie25000_nr4_v9"
kk_sd = {"W_enc": torch.tensor(rnd(d_in, d_sae)), "b_enc": torch.tensor(rnd(d_sae, scale=0.05)),
         # a transposed (non-contiguous) view, as a state dict can hold one
         "W_dec": torch.tensor(rnd(d_in, d_sae)).t(), "b_dec": torch.tensor(rnd(d_in, scale=0.1))}
torch.save(kk_sd, os.path.join(kk_dir, stem + ".pt"))
with open(os.path.join(kk_dir, stem + "_cfg.json"), "w") as f:
    json.dump({"seed": 49, "batch_size": 4096, "lr": 0.0012, "l1_coeff": 1.0, "dict_mult": 2, "seq_len": 128,
               "enc_dtype": "fp32", "model_name": "gpt2-small", "site": "z", "layer": 1, "device": "cuda", "head": "cat",
               "concat_heads": True, "act_name": "blocks.1.attn.hook_z", "act_size": d_in, "dict_size": d_sae,
               "name": "gpt2-small_1_128_z"}, f, indent=2)
loaders.hf_hub_download = local_download({
    ("ckkissane/attn-saes-gpt2-small-all-layers", stem + ".pt"): os.path.join(kk_dir, stem + ".pt"),
    ("ckkissane/attn-saes-gpt2-small-all-layers", stem + "_cfg.json"): os.path.join(kk_dir, stem + "_cfg.json")})
cfg, sd, _ = loaders.connor_rob_hook_z_huggingface_loader("ckkissane/attn-saes-gpt2-small-all-layers", stem + ".pt")
kk_sae = build(cfg, sd)
x = rnd(6, d_in, scale=1.0)
record("kissane", kk_sae, x, {"file": "kissane/" + stem + ".pt"})

# 3. Llama Scope folder, read by SAELens's llama_scope loader; the norm scaling factor folded as from_pretrained
#    does with the registry's norm_scaling_factor (√d_model / average norm).
d_in, d_sae = 32, 64
ls_dir = os.path.join(ROOT, "llama-scope", "Llama3_1-8B-Base-L1A-8x")
os.makedirs(os.path.join(ls_dir, "checkpoints"))
avg_norm = 9.5
hp = {"d_model": d_in, "d_sae": d_sae, "hook_point_in": "blocks.1.hook_attn_out", "hook_point_out": "blocks.1.hook_attn_out",
      "act_fn": "jumprelu", "jump_relu_threshold": 0.05, "norm_activation": "dataset-wise",
      "dataset_average_activation_norm": {"in": avg_norm, "out": avg_norm}, "top_k": 16, "use_decoder_bias": True,
      "apply_decoder_bias_to_pre_encoder": False, "sparsity_include_decoder_norm": True}
with open(os.path.join(ls_dir, "hyperparams.json"), "w") as f:
    json.dump(hp, f, indent=2)
save_file({"encoder.weight": torch.tensor(rnd(d_sae, d_in, scale=0.05)).to(torch.bfloat16),
           "decoder.weight": torch.tensor(rnd(d_in, d_sae)).to(torch.bfloat16),
           "encoder.bias": torch.tensor(rnd(d_sae, scale=0.05)).to(torch.bfloat16),
           "decoder.bias": torch.tensor(rnd(d_in, scale=0.1)).to(torch.bfloat16)},
          os.path.join(ls_dir, "checkpoints", "final.safetensors"))
loaders.hf_hub_download = local_download({
    ("fnlp/Llama3_1-8B-Base-LXA-8x", "Llama3_1-8B-Base-L1A-8x/hyperparams.json"): os.path.join(ls_dir, "hyperparams.json"),
    ("fnlp/Llama3_1-8B-Base-LXA-8x", "Llama3_1-8B-Base-L1A-8x/checkpoints/final.safetensors"):
        os.path.join(ls_dir, "checkpoints", "final.safetensors")})
cfg, sd, _ = loaders.llama_scope_sae_huggingface_loader("fnlp/Llama3_1-8B-Base-LXA-8x", "Llama3_1-8B-Base-L1A-8x",
                                                        cfg_overrides={"dtype": "float32"})
ls_sae = build(cfg, sd)
ls_sae.fold_activation_norm_scaling_factor(d_in ** 0.5 / avg_norm)
x = rnd(6, d_in, scale=3.0)
record("llama_scope", ls_sae, x, {"norm_scaling_factor": d_in ** 0.5 / avg_norm})

# 4. A SAELens hook_z SAE trained (per its config) on TransformerLens activations with folded value biases,
#    saved by SAELens itself; and the tiny GPT-2's TL hook_z at layer 1 to encode.
from sae_lens import StandardSAE, StandardSAEConfig
from sae_lens.saes.sae import SAEMetadata
d_in, d_sae = 64, 96
meta = SAEMetadata(model_name="tiny-gpt2", hook_name="blocks.1.attn.hook_z", context_size=32, prepend_bos=False,
                   dataset_path="fixture", model_from_pretrained_kwargs={"fold_value_biases": True})
hz = StandardSAE(StandardSAEConfig(d_in=d_in, d_sae=d_sae, apply_b_dec_to_input=True, reshape_activations="hook_z",
                                   metadata=meta))
with torch.no_grad():
    hz.W_enc.copy_(torch.tensor(rnd(d_in, d_sae)))
    hz.W_dec.copy_(torch.tensor(rnd(d_sae, d_in)))
    hz.b_enc.copy_(torch.tensor(rnd(d_sae, scale=0.05)))
    hz.b_dec.copy_(torch.tensor(rnd(d_in, scale=0.1)))
hz.save_model(os.path.join(ROOT, "saelens-hookz"))
hz = SAE.load_from_disk(os.path.join(ROOT, "saelens-hookz"))

from transformers import AutoModelForCausalLM
from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights
hf = AutoModelForCausalLM.from_pretrained(TINY_GPT2, torch_dtype=torch.float32).eval()
c = hf.config
tl_cfg = HookedTransformerConfig(n_layers=c.n_layer, d_model=c.n_embd, d_head=c.n_embd // c.n_head, n_heads=c.n_head,
                                 d_mlp=4 * c.n_embd, d_vocab=c.vocab_size, n_ctx=c.n_positions, act_fn="gelu_new",
                                 normalization_type="LN", eps=c.layer_norm_epsilon, default_prepend_bos=False,
                                 original_architecture="GPT2LMHeadModel", positional_embedding_type="standard")
tl = HookedTransformer(tl_cfg)
tl.load_and_process_state_dict(convert_gpt2_weights(hf, tl_cfg), fold_ln=True, center_writing_weights=True,
                               center_unembed=True, fold_value_biases=True)
tl.eval()
ids = [5, 17, 42, 99, 250, 3, 77, 128]
raw = {}
hook = hf.transformer.h[1].attn.c_proj.register_forward_pre_hook(lambda m, a: raw.__setitem__("z", a[0].detach()))
with torch.no_grad():
    hf(torch.tensor([ids]))
hook.remove()
with torch.no_grad():
    _, cache = tl.run_with_cache(torch.tensor([ids]), names_filter="blocks.1.attn.hook_z")
tl_z = cache["blocks.1.attn.hook_z"][0].reshape(len(ids), -1).numpy()
raw_z = raw["z"][0].numpy()
record("saelens_hookz_tl", hz, tl_z.astype(np.float32),
       {"ids": ids, "raw_hook_z": raw_z.tolist(), "tl_minus_raw": (tl_z - raw_z).mean(0).tolist(),
        "raw_activations": encode(hz, raw_z.astype(np.float32)).tolist()})

# The attention-SAE paper's SAE (fold_value_biases per its training) on the same TL hook_z: what
# `featurescope run --model tiny-models/gpt2 --sae gpt2-small-hook-z-kk/blocks.1.hook_z --ids …` must print.
record("kissane_tl", kk_sae, tl_z.astype(np.float32), {"ids": ids})

# 5. A .pt that pickles a class besides tensors and dicts (collections.Counter): the reader must refuse it.
import collections
torch.save({"W_enc": torch.zeros(2, 3), "counts": collections.Counter(a=1)}, os.path.join(ROOT, "refused-global.pt"))

with open(os.path.join(ROOT, "expected.json"), "w") as f:
    json.dump(expected, f)
print("wrote", ROOT)
