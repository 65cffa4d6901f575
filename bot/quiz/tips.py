"""What gives a fake away: the tips shown after each reveal, and the /tips list.

The one place for tip texts, in our own words. A game shows its tips in an order drawn from
its id, so no tip repeats within a game (up to as many rounds as there are tips) and a restart
shows the same tip for the same round. Tips are shown only at the reveal: nothing here is
chosen from, or says anything about, a round still open.
"""
from __future__ import annotations

import random

from bot import texts
from bot.errors import UserError
from bot.i18n import N_, Msg

# Things a generated face tends to get wrong. At least as many as the most rounds in a default
# game (FIGMENT_MAX_ROUNDS_PER_GAME, 20), so a game never sees one twice.
FAKE_TIPS: tuple[Msg, ...] = (
    N_("Look past the face: generated backgrounds often melt into smears and blobs that are no real place."),
    N_("Check both earrings: a generator draws each ear on its own, so earrings often do not match."),
    N_("Follow single strands of hair: fakes paint hair as brush strokes that fade into the skin or background."),
    N_("Count the teeth: generated smiles can have too many, too few, or one long tooth in the middle."),
    N_("Compare the ears: one may be a different shape, size or height than the other."),
    N_("Trace glasses frames: in fakes the two sides often differ, or a frame dissolves into the cheek."),
    N_("Read any text: letters on shirts, caps or signs come out as scribbles in generated faces."),
    N_("Look at the edges: a second person at the border of a fake is usually a distorted smudge."),
    N_("Check where hair meets the background: fakes leave a halo or a watery ripple there."),
    N_("Look at the collar and neckline: generated clothes fold in ways no fabric does."),
    N_("Compare the pupils: real pupils are round and alike; fakes can have odd shapes or different sizes."),
    N_("Look at the light in both eyes: in a real photo the reflections match; fakes often disagree."),
    N_("Look at the skin: fakes are often too smooth, like wax, with no pores where a photo would show them."),
    N_("Check the hands if any show: generators are bad at fingers, which bend or multiply."),
    N_("Look for repeated patterns: the same ripple in hair or background twice is a fingerprint of a generator."),
    N_("Look at the neck and chin: a fake's jaw can blend into the neck with no shadow between."),
    N_("Check hats and headbands: generated ones merge into the hair or stop for no reason."),
    N_("Look at the shoulders: one may be cut off, melted or far wider than the other."),
    N_("Watch the colours at the borders: fakes get splashes of colour that belong to nothing."),
    N_("Look at the eyes' position: StyleGAN-type fakes put both eyes in almost the same place in every picture."),
    N_("Check the eyebrows: in fakes one may thin out or change texture halfway."),
    N_("Look at freckles and moles: fakes scatter them as blur, or on one cheek only."),
)

# Why a real photo looks real: shown with the tip when the face was a real photo.
REAL_LINES: tuple[Msg, ...] = (
    N_("It was real: the background is a real place, with straight lines and objects that make sense."),
    N_("It was real: both ears and any earrings match, as they do on real people."),
    N_("It was real: the hair has separate strands that end properly."),
    N_("It was real: the teeth are regular, each one its own shape."),
    N_("It was real: the light and shadows agree across the face, the hair and the background."),
    N_("It was real: the clothes have seams and folds that real fabric makes."),
    N_("It was real: the reflections in both eyes match."),
    N_("It was real: the edges of the picture hold whole objects, not smears."),
)

TIPS_USAGE = texts.TIPS_USAGE


def _order(game_id: int, size: int) -> list[int]:
    # A seeded shuffle: the same game shows the same tip for the same round, even after a restart.
    return random.Random(f"figment-tips:{game_id}").sample(range(size), size)


def tip_for(game_id: int, number: int, lang: str = "en") -> str:
    """The tip shown after round `number` (1-based) of a game, in a language (bot.i18n code)."""
    order = _order(game_id, len(FAKE_TIPS))
    return texts.lang(lang)._(FAKE_TIPS[order[(number - 1) % len(order)]])


def real_line_for(game_id: int, number: int, lang: str = "en") -> str:
    order = _order(game_id, len(REAL_LINES))
    return texts.lang(lang)._(REAL_LINES[order[(number - 1) % len(order)]])


def after_reveal(game_id: int, number: int, real_shown: bool, lang: str = "en") -> str:
    """What follows a reveal: why a real photo was real (when it was one), then a tip."""
    tip = texts.lang(lang).tip_line(tip_for(game_id, number, lang))
    return f"{real_line_for(game_id, number, lang)}\n{tip}" if real_shown else tip


def tips_text(args: list[str] | None = None, lang: str = "en") -> str:
    """The /tips reply. Anything after /tips is a mistake, answered kindly."""
    t = texts.lang(lang)
    if args:
        raise UserError(t.TIPS_USAGE)
    lines = [t.TIPS_HEAD]
    lines += [f"{n}. {t._(tip)}" for n, tip in enumerate(FAKE_TIPS, 1)]
    return "\n".join(lines)
