"""Every text the bot says, in one place, so each front-end says the same thing.

Texts are plain (no markup). Functions that insert a user's name take `escape`, which the
front-end sets to its platform's escaping (identity where messages are sent as plain text).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from generator.interface import MAX_PSI, MAX_SEED, MIN_PSI

if TYPE_CHECKING:  # plain readings (leaf modules), so texts imports nothing that imports texts
    from bot.provenance.credentials import ManifestReading
    from bot.provenance.watermark import MarkReading

Escape = Callable[[str], str]


def _plain(text: str) -> str:
    return text


BOT_NAME = "Figment"
AI_NOTICE = "AI-generated: this person does not exist."

# (command, arguments, what it does): the one list that /help and the platforms' command menus show.
COMMAND_TABLE: tuple[tuple[str, str, str], ...] = (
    ("face", "[seed] [psi] [older|younger|smile|serious|age N] [strip]", "a face of someone who does not exist, "
     "as is or edited (older, smiling, or a strip of five steps)"),
    ("morph", "A B", "an animation of face A turning into face B"),
    ("quiz", "[pairs|hard] [rounds]", "play real photo or AI fake (pairs: which of two faces is real? hard: faces from the hall of fakes)"),
    ("daily", "", "today's challenge: the same faces for everyone, one try a day, played in private"),
    ("stop", "", "end the game in this chat"),
    ("tips", "", "what gives a fake away"),
    ("leaderboard", "[week|all] [global]", "who spots fakes best"),
    ("stats", "", "your record, and how often the generator fools people"),
    ("hall", "[week|all]", "the hall of fakes: the faces that fooled the most players"),
    ("forgetme", "", "delete everything Figment stores about you"),
    ("settings", "[seconds|rounds] [N]", "round length and rounds per game (admins)"),
    ("check", "(with or in reply to an image)", "is this image a Figment face?"),
)
HELP = "Figment shows faces of people who do not exist, and a game: real photo or AI fake?\n" + "\n".join(
    f"/{name}{' ' + args if args else ''} - {what}" for name, args, what in COMMAND_TABLE)
# As Telegram's setMyCommands lists them: a name and a short description.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Say hello and see what Figment does"),
    ("help", "List the commands"),
    *((name, f"{args} {what[0].upper()}{what[1:]}".strip()) for name, args, what in COMMAND_TABLE),
)
START = "Hi! I am Figment. " + HELP

BAD_SEED = f"The seed must be a whole number from 0 to {MAX_SEED}, for example /face 42."
BAD_PSI = f"The truncation (psi) must be a number from {MIN_PSI} to {MAX_PSI}, for example /face 42 0.7."
GENERATOR_UNAVAILABLE = "The face generator is unavailable right now. Please try again in a minute."
ROUND_NOT_POSTED = "A round could not be posted for sure, so the game stopped here (no round is shown twice)."
GENERATOR_BUSY = "The face generator is busy. Please try again in a few seconds."
NO_PHOTOS = (
    "The quiz needs real photos to mix with generated faces, and none are imported yet. "
    "An operator can add some with: figment photos import DIR --pack NAME"
)
GAME_RUNNING = "A game is already running in this chat. Answer its rounds, or end it with /stop."
NO_GAME = "No game is running in this chat. Start one with /quiz."
NOT_ADMIN = "Only chat admins can change the settings."
FORGOTTEN_NOTHING = "Figment has nothing stored about you."
ERROR = "Something went wrong on our side. Please try again."

ANSWER_RECORDED = "Answer recorded."
ANSWER_ALREADY = "You already answered this round."
ANSWER_CLOSED = "This round is closed."
ANSWER_UNKNOWN = "This round no longer exists."

BUTTON_REAL = "Real"
BUTTON_FAKE = "Fake"
BUTTON_ANOTHER = "Another face"


# --- game modes: pair rounds ---
BUTTON_A_REAL = "A is real"
BUTTON_B_REAL = "B is real"
ANSWER_WRONG_KIND = "That button does not belong to this round. Use the buttons under its picture."
PAIRS_NO_PHOTO = "A pair round needs a real photo, and none could be read, so the game stopped here."
QUIZ_USAGE = "Use /quiz, /quiz 5, /quiz pairs, /quiz pairs 5, /quiz hard or /quiz hard 5."


def pair_caption(number: int, total: int, seconds: int) -> str:
    return f"Round {number}/{total}: one face is a real photo, one is AI-made. Which is real? You have {seconds} s."


def pair_truth(a_is_real: bool) -> str:
    real, fake = ("A", "B") if a_is_real else ("B", "A")
    return f"{real} was the REAL photo, {fake} the AI FAKE (this person does not exist)"


# --- the daily challenge ---
DAILY_PRIVATE = "The daily challenge is played in private: send me /daily in a direct message."
DAILY_OVER = "That daily challenge is over. Today's is waiting: /daily"
DAILY_USAGE = "Just type /daily on its own to play today's challenge."
DAILY_NO_PHOTOS = "The daily challenge needs real photos, and none are imported yet. " \
    "An operator can add some with: figment photos import DIR --pack NAME"
DAILY_RIGHT = "Right!"
DAILY_WRONG = "Wrong."


def daily_caption(number: int, round_number: int, total: int) -> str:
    return f"Figment daily #{number}, round {round_number}/{total}: real photo or AI fake?"


def daily_result(round_number: int, total: int, is_real: bool, right: bool) -> str:
    truth = "a REAL photo" if is_real else "an AI FAKE (this person does not exist)"
    return f"Round {round_number}/{total}: it was {truth}. {DAILY_RIGHT if right else DAILY_WRONG}"


def daily_share(number: int, correct: int, total: int, marks: str) -> str:
    """The line to share: the score and a square per round, nothing about which face was which."""
    squares = "".join("\U0001F7E9" if mark == "y" else "\U0001F7E5" for mark in marks)
    return f"Figment daily #{number}: {correct}/{total} {squares}"


def daily_done(share: str) -> str:
    return f"You played today's daily challenge already (one try a day). Your result:\n{share}\n" \
        "A new one starts at midnight UTC."


def bad_rounds(maximum: int) -> str:
    return f"The number of rounds must be a whole number from 1 to {maximum}, for example /quiz 5."


def slow_down(seconds: int) -> str:
    return f"Easy there! You can ask again in {seconds} s."


def chat_busy(seconds: int) -> str:
    """A /face the chat has no room for now: Telegram lets a group see only so many messages a minute."""
    return f"This chat has a lot of messages on the way right now. Try /face again in {seconds} s."


def face_caption(seed: int, psi: float, model_version: str) -> str:
    return f"{AI_NOTICE}\nseed {seed} · psi {psi:g} · model {model_version}"


def round_caption(number: int, total: int, seconds: int) -> str:
    return f"Round {number}/{total}: real photo or AI fake? You have {seconds} s."


def forgotten(answers: int) -> str:
    return f"Done: your profile and {answers} answers are deleted."


def settings_now(round_seconds: int, rounds_per_game: int) -> str:
    return (f"Settings: rounds last {round_seconds} s, a game has {rounds_per_game} rounds.\n"
            "Change with /settings seconds N or /settings rounds N.")


def settings_bad(low: int, high: int, what: str) -> str:
    return f"The {what} must be a whole number from {low} to {high}."


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


# --- the playground (local web page) ---
WEB_NEED_NAME = "Type your name in the name field first, so the others know who you are."
WEB_BAD_CLIENT = "This page lost its player id. Please reload the page."
WEB_EMPTY_MESSAGE = "Type a message or a command such as /face 42 or /quiz 5. /help lists them all."
WEB_BAD_REQUEST = "The page sent something the server did not understand. Please reload the page."
WEB_BAD_ANSWER = "That answer button is broken. Please reload the page."
WEB_PHOTOS_HINT = (
    "Folders like those in ../shared/faces work as they are (photos in subfolders are found too), "
    "for example:\n"
    "figment photos import ../shared/faces/celeba-6k --pack celeba\n"
    "Then type /quiz again (no restart needed). To let the quiz draw from some packs only, set "
    "FIGMENT_PHOTO_PACKS='[\"celeba\"]' in the environment or in .env."
)


# --- first run: starter photos, imported in the background (bot.ops.starter_photos) ---
STARTER_LICENCE = "as stated by the datasets the folder holds (see its README); research use"


def starter_source(folder_name: str) -> str:
    return f"a first-run sample of the '{folder_name}' folder"


def starter_no_folder() -> str:
    return ("No real photos are imported yet, so /quiz cannot start. " + WEB_PHOTOS_HINT + "\n"
            "Or set FIGMENT_STARTER_PHOTOS to a folder of face photos (for example ../shared/faces): "
            "the next start imports a sample of it by itself.")


def starter_missing(folder: str) -> str:
    return (f"FIGMENT_STARTER_PHOTOS names {folder}, which is not here, so no photos were imported. "
            + WEB_PHOTOS_HINT)


def starter_importing(folder: str, sample: int, done: int, total: int, imported: int) -> str:
    counted = f" ({done} of {total} done)" if total else ""
    ready = " /quiz works as soon as the first ones are in." if not imported else " /quiz works already."
    return (f"First run: importing a sample of {sample} photos from {folder} in the background{counted}: "
            f"each face is found and aligned.{ready}")


def starter_ready(folder: str, imported: int) -> str:
    return f"Photos ready: {imported} real photos from {folder}. Type /quiz or /quiz pairs to play."


def starter_failed(error: str) -> str:
    return f"The starter photos could not be imported ({error}). " + WEB_PHOTOS_HINT


def web_name_too_long(maximum: int) -> str:
    return f"That name is too long: {maximum} characters at most."


def web_message_too_long(maximum: int) -> str:
    return f"That message is too long: {maximum} characters at most. Please send a shorter one."


def web_unknown_command(command: str) -> str:
    return f"I don't know {command}. Type /help to see what I can do."


HALL_USAGE = "Use /hall (this week) or /hall all (all time)."


def hall_empty(period: str, minimum: int) -> str:
    when = "this week" if period == "week" else "yet"
    return (f"The hall of fakes is empty {when}: a face enters once {minimum} players have answered it "
            "and its round is revealed.")


def hall_title(period: str, minimum: int) -> str:
    when = "this week" if period == "week" else "all time"
    return (f"Hall of fakes, {when}: the AI faces that fooled the most players "
            f"(ranked by the lower 95% bound of the fool rate, min {minimum} answers):")


def hall_line(rank: int, fooled: int, answers: int, seed: int, psi: float, model_version: str) -> str:
    return (f"{rank}. fooled {fooled} of {answers} ({percent(fooled / answers)}) · "
            f"seed {seed} · psi {psi:g} · model {model_version}")


HALL_PICTURED = "Pictured left to right, top to bottom: the ranked faces of the current model."
HALL_CAPTION = f"{AI_NOTICE}\nThe hall of fakes: these people do not exist."


FACE_USAGE = "Use /face, /face SEED or /face SEED PSI, for example /face 42 0.7."
SETTINGS_USAGE = "Use /settings, /settings seconds N or /settings rounds N."
BUTTON_UNKNOWN = "This button no longer works."


# --- Discord ---
DISCORD_QUIZ_STARTED = "Real photo or AI fake? The game starts now: answer with the buttons under each picture."
DISCORD_GAME_STOPPED = "Game stopped."
DISCORD_FACE_TITLE = "This person does not exist"
DISCORD_BAD_OPTION = "I can't use one of those options here. Please pick it from the list Discord offers."
DISCORD_SERVER_ONLY = "The quiz channel can only be set in a server."


def discord_quiz_elsewhere(channel: str) -> str:
    return f"The game starts now in {channel}."


def discord_quiz_channel(channel: str | None) -> str:
    return f"Quiz channel: {channel}." if channel else "Quiz channel: the channel where /quiz is used."


def clip(text: str, limit: int) -> str:
    """text in at most `limit` characters: cut at a word, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:max(limit, 0)]
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:  # a word boundary not too far back
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def split_message(text: str, limit: int) -> list[str]:
    """Split a long text into messages of at most `limit` characters, at line breaks where possible."""
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single overlong line: cut it
            if current:
                out.append(current)
                current = ""
            out.append(line[:limit])
            line = line[limit:]
        candidate = line if not current else current + "\n" + line
        if len(candidate) > limit:
            out.append(current)
            current = line
        else:
            current = candidate
    if current or not out:
        out.append(current)
    return out


# ---- /check and `figment check`: where an image came from ---------------------------------
CHECK_HOW = ("Send /check with an image attached, or reply /check to a message with an image "
             "(as a photo or a file), and I will look for Figment's marks.")
CHECK_HOW_DISCORD = "That message has no image. Use Apps > Check with Figment on a message with an image."
CHECK_EMPTY = "That file is empty."
CHECK_NOT_IMAGE = "That is not an image I can read (PNG, JPEG, WebP, GIF, TIFF or BMP)."
CHECK_BROKEN = "That image is damaged or cut short, so I cannot check it."
CREDENTIALS_NOT_YET = "This round is still open: its image comes with credentials after the reveal."
CREDENTIALS_REAL_PHOTO = "That round showed a real photo: it has no Figment credentials."
CREDENTIALS_OLD_MODEL = "That face was made by an earlier model, so it cannot be made again with credentials."
CREDENTIALS_LINK = "Download with credentials"
CHECK_BOMB = "That image is far too large to check (it would unpack to too many pixels)."
CHECK_BUSY = "I am busy checking other images. Please try again in a few seconds."
CHECK_TIMEOUT = "I couldn't check this image: reading it took too long. Please try again later."


def check_too_big(limit: int, kind: str = "") -> str:
    return f"That file is too big to check (the limit is {limit // (1024 * 1024)} MB{' for ' + kind if kind else ''})."


def check_too_many_pixels(width: int, height: int) -> str:
    return f"That image is too large to check ({width}x{height} pixels); no Figment face is that big."


def check_reply(manifest: "ManifestReading | None", mark: "MarkReading", model_version: str | None) -> str:
    """/check's answer (bot.provenance.check.CheckResult.reply): the Content Credentials read,
    the invisible watermark, and what they mean together."""
    lines = []
    if manifest and manifest.facts:
        facts = manifest.facts
        lines.append(f"Made by Figment: model {facts.model_version}, seed {facts.seed}, psi {facts.psi:g}.")
        state = "valid" if manifest.state in ("Valid", "Trusted") else "NOT valid (changed after signing)"
        trusted = " and trusted" if manifest.state == "Trusted" else ""
        lines.append(f"Content Credentials: signed by {manifest.signer}, {state}{trusted}.")
    elif manifest:
        kind = "AI-generated" if manifest.ai_generated else "not from Figment"
        lines.append(f"Content Credentials from {manifest.signer} ({kind}), no Figment mark in them.")
    if mark.found:
        model = model_version or f"id {mark.model_id:04x}"
        if not (manifest and manifest.facts):
            lines.append(f"Made by Figment, model {model} (from the invisible watermark).")
        lines.append(f"Watermark: found, {mark.sync_errors} of 40 check bits off; "
                     f"chance of a false alarm below {max(mark.false_alarm, 1e-12):.0e}.")
    if not (mark.found or (manifest and manifest.facts)):
        lines.append("No Figment mark found: no Figment Content Credentials and no watermark "
                     f"(best match {40 - mark.sync_errors} of 40 check bits; a mark needs 37).")
        lines.append("Heavy edits (strong compression, small sizes, big crops) can remove the watermark, "
                     "so this does not prove the image is a real photo.")
    elif not manifest:
        lines.append("No Content Credentials (re-saving or uploading a file usually removes them).")
    return "\n".join(lines)


# ---- /face edits and /morph: faces steered in W, and animations between two faces ----------
MORPH_USAGE = "Give two seeds, for example /morph 42 7: an animation of face 42 turning into face 7."
MORPH_SAME = "Those are the same face. Give two different seeds, for example /morph 42 7."
MORPH_BAD_SEED = f"Each seed must be a whole number from 0 to {MAX_SEED}, for example /morph 42 7."
MORPH_RUNNING = "Your last morph is still being made. Wait for it, then ask for another."
MORPH_TOO_BIG = "That morph came out too big to upload here. Try two other seeds."
EDITS_UNAVAILABLE = ("Edits and morphs need Figment's own generator running in this bot process; "
                     "this one cannot make them. Plain /face works.")
EDIT_NO_DIRECTIONS = "This generator has no attribute directions yet, so faces cannot be edited. Plain /face works."
EDIT_USAGE = ("Edit a face like this: /face 42 older, /face 42 younger, /face 42 smile, /face 42 serious, "
              "/face 42 age 70, or add strip for five steps: /face 42 older strip.")
EDIT_NEEDS_SEED = "An edit needs a seed, so you can see the same face before and after: for example /face 42 older."


def edit_unknown(word: str, known: "tuple[str, ...]") -> str:
    return f"I don't know the edit \"{word[:40]}\". Try one of: {', '.join(known)}; or age N."


def edit_bad_age(low: int, high: int) -> str:
    return f"The age must be a whole number from {low} to {high}, for example /face 42 age 70."


def edit_caption(seed: int, psi: float, model_version: str, what: str) -> str:
    return f"{AI_NOTICE}\nseed {seed} · psi {psi:g} · {what} · model {model_version}"


def edit_strip_caption(seed: int, psi: float, model_version: str, what: str) -> str:
    return f"{AI_NOTICE}\nseed {seed} · psi {psi:g} · {what}, five steps left to right · model {model_version}"


def morph_caption(seed_a: int, seed_b: int, psi: float, model_version: str) -> str:
    return f"{AI_NOTICE} (neither person exists)\nmorph: seed {seed_a} to seed {seed_b} · psi {psi:g} · model {model_version}"
