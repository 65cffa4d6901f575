"""Content Credentials (C2PA): sign /face files, read the manifest of any file.

Signing uses the operator's private key and certificate chain (PEM files, settings
FIGMENT_C2PA_KEY and FIGMENT_C2PA_CERT). They are loaded and tried once at start, so a missing
or bad pair stops the bot with a clear message instead of failing at /face time.
"""
from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import c2pa
from PIL import Image

log = logging.getLogger(__name__)

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
FIGMENT_ASSERTION = "org.figment.generation"
GENERATOR_NAME = "Figment face generator"
# The key types c2pa signs with, by what `cryptography` calls them.
_ALGORITHMS = {"secp256r1": b"es256", "secp384r1": b"es384", "secp521r1": b"es512", "ed25519": b"ed25519"}


class CredentialsError(RuntimeError):
    """The configured signing key or certificate cannot be used; the message says which and why."""


@dataclass(frozen=True)
class FaceFacts:
    """What a /face file's manifest states."""
    model_version: str
    seed: int
    psi: float
    edit: str = ""  # an edited face: the edit in words ("older", "age 70, smiling"); "" when unedited


def manifest_for(facts: FaceFacts, title: str) -> dict:
    description = "A face of a person who does not exist, made by a generative adversarial network."
    generation: dict = {"generator": GENERATOR_NAME, "model_version": facts.model_version,
                        "seed": facts.seed, "psi": facts.psi}
    if facts.edit:  # seed and psi alone would not make this face again: say what moved it
        description += f" Steered in the generator's latent space: {facts.edit}."
        generation["edit"] = facts.edit
    return {
        "claim_generator_info": [{"name": "Figment", "version": "0.1.0"}],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{
                "action": "c2pa.created",
                "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                "softwareAgent": {"name": GENERATOR_NAME, "version": facts.model_version},
                "description": description,
            }]}},
            {"label": FIGMENT_ASSERTION, "data": generation},
        ],
    }


def _algorithm(key_pem: bytes, key_path: Path) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as error:
        raise CredentialsError(f"the C2PA key {key_path} is not an unencrypted PEM private key ({error})") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return _ALGORITHMS["ed25519"]
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _ALGORITHMS:
        return _ALGORITHMS[key.curve.name]
    raise CredentialsError(f"the C2PA key {key_path} must be an EC (P-256, P-384, P-521) or Ed25519 key")


class Credentials:
    """A loaded signer: `sign(png_bytes, facts)` returns the PNG with its manifest embedded."""

    def __init__(self, key_path: Path, cert_path: Path) -> None:
        for what, path in (("key", key_path), ("certificate", cert_path)):
            if not path.is_file():
                raise CredentialsError(f"the C2PA {what} file {path} does not exist "
                                       "(make a test pair with: figment provenance init)")
        key_pem, cert_pem = key_path.read_bytes(), cert_path.read_bytes()
        self.algorithm = _algorithm(key_pem, key_path)
        self._info = c2pa.C2paSignerInfo(alg=self.algorithm, sign_cert=cert_pem, private_key=key_pem, ta_url=None)
        self.key_path, self.cert_path = key_path, cert_path
        try:  # one signature now: a certificate that does not match the key fails here, not at /face
            self.sign(_probe_png(), FaceFacts("probe", 0, 1.0))
        except c2pa.C2paError as error:
            raise CredentialsError(f"the C2PA key {key_path} and certificate {cert_path} cannot sign: {error}") from None

    def sign(self, png: bytes, facts: FaceFacts, title: str = "face.png") -> bytes:
        out = io.BytesIO()
        with c2pa.Signer.from_info(self._info) as signer, \
                c2pa.Builder(json.dumps(manifest_for(facts, title))) as builder:
            builder.sign(signer, "image/png", io.BytesIO(png), out)
        return out.getvalue()


def _probe_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, "PNG")
    return buffer.getvalue()


def load(key: Path | None, cert: Path | None) -> Credentials | None:
    """The configured credentials; None (with a loud warning) when neither file is configured.
    Raises CredentialsError when only one is set or the pair cannot sign."""
    if key is None and cert is None:
        log.warning("NO CONTENT CREDENTIALS: /face images carry the watermark but no signed C2PA manifest. "
                    "Set FIGMENT_C2PA_KEY and FIGMENT_C2PA_CERT (a test pair: figment provenance init).")
        return None
    if key is None or cert is None:
        raise CredentialsError("set both FIGMENT_C2PA_KEY and FIGMENT_C2PA_CERT, or neither")
    return Credentials(Path(key).expanduser(), Path(cert).expanduser())


@dataclass(frozen=True)
class ManifestReading:
    state: str                 # c2pa's validation state: Valid, Trusted or Invalid
    signer: str                # the signing certificate's common name (or issuer)
    ai_generated: bool         # an action states trainedAlgorithmicMedia
    facts: FaceFacts | None    # Figment's own assertion, when present


def read_manifest(data: bytes, mime: str) -> ManifestReading | None:
    """The active manifest of a file, or None when it has none (or its format holds none)."""
    if mime not in c2pa.Reader.get_supported_mime_types():
        return None
    try:
        with c2pa.Reader(mime, io.BytesIO(data)) as reader:
            manifest = reader.get_active_manifest()
            state = reader.get_validation_state() or "Unknown"
    except c2pa.C2paError:
        return None  # no manifest, or one too broken to read: no credentials to show
    except Exception:  # the reader is native code fed any upload: never let it end a /check
        log.exception("reading a C2PA manifest failed unexpectedly")
        return None
    if not manifest:
        return None
    facts, ai = None, False
    for assertion in manifest.get("assertions", []):
        data_ = assertion.get("data", {})
        if assertion.get("label", "").startswith("c2pa.actions"):
            ai = ai or any(a.get("digitalSourceType") == TRAINED_ALGORITHMIC_MEDIA for a in data_.get("actions", []))
        if assertion.get("label") == FIGMENT_ASSERTION:
            try:
                facts = FaceFacts(str(data_["model_version"]), int(data_["seed"]), float(data_["psi"]),
                                  str(data_.get("edit", "")))
            except (KeyError, TypeError, ValueError):
                facts = None
    info = manifest.get("signature_info", {})
    return ManifestReading(state, str(info.get("common_name") or info.get("issuer") or "unknown"), ai, facts)
