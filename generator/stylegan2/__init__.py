"""The official StyleGAN2 / StyleGAN2-ADA generator, written for Figment, and a safe importer for the
weights the field publishes (stylegan2-ada-pytorch snapshot pickles, rosinality checkpoints).

- `networks`: mapping and synthesis networks, the same maths as NVlabs/stylegan2-ada-pytorch.
- `ops`: the FIR resampling and biased leaky ReLU they use.
- `pickle_import`: a restricted unpickler that reads a snapshot as plain data, never running its code.
- `rosinality`: the key mapping for rosinality/stylegan2-pytorch checkpoints.
- `store`: the safetensors file and model card an import writes; `model`: the FaceModel that serves it.
"""
