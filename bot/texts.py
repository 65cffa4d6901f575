"""Every text the bot says, in one place, so each front-end says the same thing, in every language.

Texts are plain (no markup). Functions that insert a user's name take `escape`, which the
front-end sets to its platform's escaping (identity where messages are sent as plain text).

English is the source: `texts.X` is the English text, `texts.lang("es").X` the same text in
Spanish (bot.i18n picks the catalogue; anything unknown is English). A new text:
    a constant:  NAME = N_("English text.")
    a function:  def name(count: int, *, tr: Texts = EN) -> str:
                     return tr.ngettext("%(n)s face", "%(n)s faces", count)   # or tr._("... %(x)s", x=...)
Placeholders are python-format and named (%(name)s); a literal percent next to one is %%.
"""
from __future__ import annotations

import inspect
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from bot import i18n
from bot.i18n import N_, NC_, Msg
from generator.interface import MAX_PSI, MAX_SEED, MIN_PSI

if TYPE_CHECKING:  # plain readings (leaf modules), so texts imports nothing that imports texts
    from bot.provenance.credentials import ManifestReading
    from bot.provenance.watermark import MarkReading

Escape = Callable[[str], str]
__all__ = ["N_", "NC_", "Msg", "Texts", "EN", "lang"]


def _plain(text: str) -> str:
    return text


class Texts:
    """Every text of this module in one language: the same names, translated.

    A constant (N_) reads translated; a function taking `tr` is bound to this language; the
    derived texts (HELP, COMMANDS, ...) are built in it; anything else reads as it is."""

    def __init__(self, language: str | None) -> None:
        self.lang = i18n.normalise(language)
        self._tr = i18n.translations(self.lang)

    def _(self, msgid: str, **values: Any) -> str:
        text = self._tr.gettext(msgid)
        return self._fill(text, msgid, values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        english = singular if n == 1 else plural
        return self._fill(self._tr.ngettext(singular, plural, n), english, {"n": n, **values})

    def _fill(self, text: str, english: str, values: dict[str, Any]) -> str:
        """text with its placeholders filled; a translation whose placeholders do not match (the
        tests refuse it, a live bot survives it) says the English text instead."""
        try:
            return text % values
        except (KeyError, ValueError, TypeError):
            i18n.log_once(self.lang, f"a {self.lang} text has placeholders that do not match: {english!r}")
            return english % values

    def pgettext(self, context: str, msgid: str) -> str:
        return self._tr.pgettext(context, msgid)

    def say(self, text: str) -> str:
        """A text made elsewhere (a UserError's message, a stored reason) said in this language:
        a later() text is made again here, a catalogue text is looked up, anything else is as is."""
        if isinstance(text, Later):
            return text.again(self)
        return self._tr.gettext(text) if text else text

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in _DERIVED:
            return _DERIVED[name](self)
        try:
            value = globals()[name]
        except KeyError:
            raise AttributeError(f"texts has no {name}") from None
        if isinstance(value, Msg):
            return self._(value)
        if inspect.isfunction(value) and "tr" in inspect.signature(value).parameters:
            return partial(value, tr=self)
        return value

    def __repr__(self) -> str:
        return f"Texts({self.lang!r})"


_languages: dict[str, Texts] = {}


def lang(language: str | None) -> Texts:
    """The texts in a platform's language code (normalised by bot.i18n; English if unknown)."""
    key = i18n.normalise(language)
    if key not in _languages:
        _languages[key] = Texts(key)
    return _languages[key]


EN = lang(i18n.ENGLISH)


class Later(str):
    """A text from one of this module's functions: English as a str, made again in another
    language by Texts.say (a UserError raised where nobody knows the reader's language)."""

    def __new__(cls, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> "Later":
        made = super().__new__(cls, getattr(EN, name)(*args, **kwargs))
        made._call = (name, args, kwargs)
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        # made again from its call when unpickled (the /check worker process sends refusals back)
        return (Later, self._call)

    def again(self, tr: Texts) -> str:
        """Made again in tr's language, with any later() text among its values made again too."""
        name, args, kwargs = self._call
        args = tuple(value.again(tr) if isinstance(value, Later) else value for value in args)
        kwargs = {key: value.again(tr) if isinstance(value, Later) else value for key, value in kwargs.items()}
        return getattr(tr, name)(*args, **kwargs)


class _Later:
    def __getattr__(self, name: str) -> Callable[..., Later]:
        return lambda *args, **kwargs: Later(name, args, kwargs)


# texts.later.bad_rounds(5): the English text now, the reader's language where it is shown.
later = _Later()


BOT_NAME = "Figment"
AI_NOTICE = N_("AI-generated: this person does not exist.")

# (command, arguments, what it does): the one list that /help and the platforms' command menus show.
# Command names and the words typed after them (pairs, hard, week, all, global, seconds, rounds)
# stay as they are in every language: the bot understands only those.
COMMAND_TABLE: tuple[tuple[str, str, Msg], ...] = (
    ("face", "[seed] [psi] [older|younger|smile|serious|age N] [strip]", N_("a face of someone who does not exist, "
     "as is or edited (older, smiling, or a strip of five steps)")),
    ("morph", "A B", N_("an animation of face A turning into face B")),
    ("quiz", "[pairs|hard] [rounds]", N_("play real photo or AI fake (pairs: which of two faces is real? hard: faces from the hall of fakes)")),
    ("daily", "", N_("today's challenge: the same faces for everyone, one try a day, played in private")),
    ("stop", "", N_("end the game in this chat")),
    ("tips", "", N_("what gives a fake away")),
    ("leaderboard", "[week|all] [global]", N_("who spots fakes best")),
    ("stats", "", N_("your record, and how often the generator fools people")),
    ("hall", "[week|all]", N_("the hall of fakes: the faces that fooled the most players")),
    ("forgetme", "", N_("delete everything Figment stores about you")),
    ("settings", "[seconds|rounds|language] [N]", N_("round length, rounds per game and the chat's language (admins)")),
    ("check", "", N_("is this image a Figment face? Send it with /check, or reply /check to it")),
)
HELP_HEAD = N_("Figment shows faces of people who do not exist, and a game: real photo or AI fake?")
START_HELLO = N_("Hi! I am Figment.")
COMMAND_START = N_("Say hello and see what Figment does")
COMMAND_HELP = N_("List the commands")


def _command_table(tr: Texts) -> tuple[tuple[str, str, str], ...]:
    return tuple((name, args, tr._(what)) for name, args, what in COMMAND_TABLE)


def _help(tr: Texts) -> str:
    return tr.HELP_HEAD + "\n" + "\n".join(
        f"/{name}{' ' + args if args else ''} - {what}" for name, args, what in _command_table(tr))


def _commands(tr: Texts) -> tuple[tuple[str, str], ...]:
    """As Telegram's setMyCommands lists them: a name and a short description."""
    return (("start", tr.COMMAND_START), ("help", tr.COMMAND_HELP),
            *((name, f"{args} {what[0].upper()}{what[1:]}".strip()) for name, args, what in _command_table(tr)))


GENERATOR_UNAVAILABLE = N_("The face generator is unavailable right now. Please try again in a minute.")
ROUND_NOT_POSTED = N_("A round could not be posted for sure, so the game stopped here (no round is shown twice).")
GENERATOR_BUSY = N_("The face generator is busy. Please try again in a few seconds.")
NO_PHOTOS = N_(
    "The quiz needs real photos to mix with generated faces, and none are imported yet. "
    "An operator can add some with: figment photos import DIR --pack NAME"
)
GAME_RUNNING = N_("A game is already running in this chat. Answer its rounds, or end it with /stop.")
NO_GAME = N_("No game is running in this chat. Start one with /quiz.")
NOT_ADMIN = N_("Only chat admins can change the settings.")
FORGOTTEN_NOTHING = N_("Figment has nothing stored about you.")
ERROR = N_("Something went wrong on our side. Please try again.")

ANSWER_RECORDED = N_("Answer recorded.")
ANSWER_ALREADY = N_("You already answered this round.")
ANSWER_CLOSED = N_("This round is closed.")
ANSWER_UNKNOWN = N_("This round no longer exists.")

BUTTON_REAL = N_("Real")
BUTTON_FAKE = N_("Fake")
BUTTON_ANOTHER = N_("Another face")


def bad_seed(*, tr: Texts = EN) -> str:
    return tr._("The seed must be a whole number from 0 to %(max_seed)s, for example /face 42.", max_seed=MAX_SEED)


def bad_psi(*, tr: Texts = EN) -> str:
    return tr._("The truncation (psi) must be a number from %(low)s to %(high)s, for example /face 42 0.7.",
                low=MIN_PSI, high=MAX_PSI)


# --- game modes: pair rounds ---
BUTTON_A_REAL = N_("A is real")
BUTTON_B_REAL = N_("B is real")
ANSWER_WRONG_KIND = N_("That button does not belong to this round. Use the buttons under its picture.")
PAIRS_NO_PHOTO = N_("A pair round needs a real photo, and none could be read, so the game stopped here.")
QUIZ_USAGE = N_("Use /quiz, /quiz 5, /quiz pairs, /quiz pairs 5, /quiz hard or /quiz hard 5.")


def pair_caption(number: int, total: int, seconds: int, *, tr: Texts = EN) -> str:
    return tr._("Round %(number)s/%(total)s: one face is a real photo, one is AI-made. Which is real? "
                "You have %(seconds)s s.", number=number, total=total, seconds=seconds)


def pair_truth(a_is_real: bool, *, tr: Texts = EN) -> str:
    if a_is_real:
        return tr._("A was the REAL photo, B the AI FAKE (this person does not exist)")
    return tr._("B was the REAL photo, A the AI FAKE (this person does not exist)")


# --- the daily challenge ---
DAILY_PRIVATE = N_("The daily challenge is played in private: send me /daily in a direct message.")
DAILY_OVER = N_("That daily challenge is over. Today's is waiting: /daily")
DAILY_USAGE = N_("Just type /daily on its own to play today's challenge.")
DAILY_NO_PHOTOS = N_("The daily challenge needs real photos, and none are imported yet. "
                     "An operator can add some with: figment photos import DIR --pack NAME")
DAILY_RIGHT = N_("Right!")
DAILY_WRONG = N_("Wrong.")


def daily_caption(number: int, round_number: int, total: int, *, tr: Texts = EN) -> str:
    return tr._("Figment daily #%(number)s, round %(round)s/%(total)s: real photo or AI fake?",
                number=number, round=round_number, total=total)


def daily_result(round_number: int, total: int, is_real: bool, right: bool, *, tr: Texts = EN) -> str:
    verdict = tr.DAILY_RIGHT if right else tr.DAILY_WRONG
    if is_real:
        return tr._("Round %(round)s/%(total)s: it was a REAL photo. %(verdict)s",
                    round=round_number, total=total, verdict=verdict)
    return tr._("Round %(round)s/%(total)s: it was an AI FAKE (this person does not exist). %(verdict)s",
                round=round_number, total=total, verdict=verdict)


def daily_share(number: int, correct: int, total: int, marks: str, *, tr: Texts = EN) -> str:
    """The line to share: the score and a square per round, nothing about which face was which."""
    squares = "".join("\U0001F7E9" if mark == "y" else "\U0001F7E5" for mark in marks)
    return tr._("Figment daily #%(number)s: %(correct)s/%(total)s %(squares)s",
                number=number, correct=correct, total=total, squares=squares)


def daily_done(share: str, *, tr: Texts = EN) -> str:
    return tr._("You played today's daily challenge already (one try a day). Your result:\n%(share)s\n"
                "A new one starts at midnight UTC.", share=share)


def daily_finish(correct: int, total: int, share: str, board: str, *, tr: Texts = EN) -> str:
    return tr._("Done! %(correct)s/%(total)s right. Share it:\n%(share)s", correct=correct, total=total,
                share=share) + "\n\n" + board


def daily_board(number: int, today: list[tuple[str, int, int]], ever: list[tuple[str, int, int]],
                escape: Escape = _plain, *, tr: Texts = EN) -> str:
    """The daily boards: today's (name, correct, rounds) and all time's (name, correct, days)."""
    lines = [tr._("Daily #%(number)s board:", number=number)]
    lines += [f"{n}. {escape(name)}: {correct}/{rounds}" for n, (name, correct, rounds) in enumerate(today, 1)] \
        or [tr._("nobody has finished today's yet.")]
    lines.append(tr._("All-time daily board:"))
    lines += [f"{n}. {escape(name)}: " + tr.ngettext("%(correct)s right in %(n)s day", "%(correct)s right in %(n)s days",
                                                      days, correct=correct)
              for n, (name, correct, days) in enumerate(ever, 1)] or [tr._("nobody yet.")]
    return "\n".join(lines)


def bad_rounds(maximum: int, *, tr: Texts = EN) -> str:
    return tr._("The number of rounds must be a whole number from 1 to %(maximum)s, for example /quiz 5.",
                maximum=maximum)


def slow_down(seconds: int, *, tr: Texts = EN) -> str:
    return tr._("Easy there! You can ask again in %(seconds)s s.", seconds=seconds)


def chat_busy(seconds: int, *, tr: Texts = EN) -> str:
    """A /face the chat has no room for now: Telegram lets a group see only so many messages a minute."""
    return tr._("This chat has a lot of messages on the way right now. Try /face again in %(seconds)s s.",
                seconds=seconds)


def face_caption(seed: int, psi: float, model_version: str, *, tr: Texts = EN) -> str:
    return tr.AI_NOTICE + "\n" + tr._("seed %(seed)s · psi %(psi)s · model %(model)s",
                                      seed=seed, psi=f"{psi:g}", model=model_version)


def round_caption(number: int, total: int, seconds: int, *, tr: Texts = EN) -> str:
    return tr._("Round %(number)s/%(total)s: real photo or AI fake? You have %(seconds)s s.",
                number=number, total=total, seconds=seconds)


# --- a round's reveal and a game's summary (bot.quiz.posts) ---
NOBODY_ANSWERED = N_("Nobody answered.")
NOBODY_THIS_TIME = N_("Nobody answered this time.")


def reveal_head(number: int, total: int, is_real: bool, pair_truth_text: str | None, *, tr: Texts = EN) -> str:
    """The first line of a reveal: the round and its truth."""
    if pair_truth_text is not None:
        return tr._("Round %(number)s/%(total)s: %(truth)s.", number=number, total=total, truth=pair_truth_text)
    if is_real:
        return tr._("Round %(number)s/%(total)s: it was a REAL photo.", number=number, total=total)
    return tr._("Round %(number)s/%(total)s: it was an AI FAKE (this person does not exist).", number=number, total=total)


def reveal_share(correct: int, answers: int, *, tr: Texts = EN) -> str:
    if not answers:
        return tr.NOBODY_ANSWERED
    return tr.ngettext("%(correct)s of %(n)s got it right (%(percent)s).",
                       "%(correct)s of %(n)s got it right (%(percent)s).",
                       answers, correct=correct, percent=percent(correct / answers, tr=tr))


def summary_head(stopped: bool, rounds_played: int, *, tr: Texts = EN) -> str:
    if stopped:
        return tr.ngettext("Game stopped. %(n)s round played.", "Game stopped. %(n)s rounds played.", rounds_played)
    return tr.ngettext("Game over! %(n)s round played.", "Game over! %(n)s rounds played.", rounds_played)


def summary_line(place: int, name: str, correct: int, answers: int, *, tr: Texts = EN) -> str:
    return tr._("%(place)s. %(name)s: %(correct)s/%(answers)s right",
                place=place, name=name, correct=correct, answers=answers)


def photo_credit(pack: str | None, source: str | None, licence: str | None, *, tr: Texts = EN) -> str:
    """Where a real photo came from (None pack: its record is gone)."""
    if pack is None:
        return tr._("Real photo (its record has since been removed).")
    parts = [tr._("Real photo from the '%(pack)s' pack", pack=pack)]
    if source:
        parts.append(tr._("source: %(source)s", source=source))
    if licence:
        parts.append(tr._("licence: %(licence)s", licence=licence))
    return "; ".join(parts) + "."


def face_credit(model_version: str, seed: int, psi: float, *, tr: Texts = EN) -> str:
    return tr._("Generated by model %(model)s, seed %(seed)s, psi %(psi)s.",
                model=model_version, seed=seed, psi=f"{psi:g}")


def forgotten(answers: int, *, tr: Texts = EN) -> str:
    return tr.ngettext("Done: your profile and %(n)s answer are deleted.",
                       "Done: your profile and %(n)s answers are deleted.", answers)


# --- /settings ---
UNKNOWN_SETTING = N_("Unknown setting.")


def unknown_setting(*, tr: Texts = EN) -> str:
    return f"{tr.UNKNOWN_SETTING} {tr.SETTINGS_USAGE}"
SETTING_SECONDS = N_("round length in seconds")
SETTING_ROUNDS = N_("rounds per game")


def settings_now(round_seconds: int, rounds_per_game: int, language: str | None = None, *, tr: Texts = EN) -> str:
    text = tr.ngettext("Settings: rounds last %(seconds)s s, a game has %(n)s round.",
                       "Settings: rounds last %(seconds)s s, a game has %(n)s rounds.",
                       rounds_per_game, seconds=round_seconds)
    if language:
        text += "\n" + tr._("Language: %(language)s.", language=language)
    return text + "\n" + tr._("Change with /settings seconds N, /settings rounds N or /settings language CODE.")


def settings_bad(low: int, high: int, what: str, *, tr: Texts = EN) -> str:
    return tr._("The %(what)s must be a whole number from %(low)s to %(high)s.", what=tr._(what), low=low, high=high)


def settings_language_bad(known: str, *, tr: Texts = EN) -> str:
    return tr._("I don't speak that language yet. Pick one of: %(known)s.", known=known)


def settings_language_set(language: str, *, tr: Texts = EN) -> str:
    # TRANSLATORS: language is the language's own name, e.g. "Español"
    return tr._("From now on this chat's games speak %(language)s.", language=language)


def percent(value: float | None, *, tr: Texts = EN) -> str:
    # TRANSLATORS: how a share is written, e.g. "48%" (French "48 %", Turkish "%48")
    return "-" if value is None else tr._("%(value)s%%", value=f"{100 * value:.0f}")


# --- boards and /stats (bot.boards) ---
BOARD_USAGE = N_("Use /leaderboard, /leaderboard week, /leaderboard all global or /leaderboard week global; "
                 "add pairs for the pair game's board.")
NO_ANSWERS_YET = N_("No answers yet: play a /quiz!")
STATS_IN_CHAT = N_("In this chat")
STATS_EVERYWHERE = N_("Everywhere")
STATS_THIS_WEEK = N_("This week")
STATS_PAIRS_IN_CHAT = N_("Pairs in this chat")
STATS_PAIRS_EVERYWHERE = N_("Pairs everywhere")
STATS_PAIRS_THIS_WEEK = N_("Pairs this week")
FOOL_RATES_HEAD = N_("How often our generator fools people (answers on fakes that said 'real', 95% CI):")


def board_title(scope: str, pairs: bool, week: bool, *, tr: Texts = EN) -> str:
    titles = {
        ("global", False, False): tr._("Global board, all time"),
        ("global", False, True): tr._("Global board this week"),
        ("global", True, False): tr._("Global pairs board, all time"),
        ("global", True, True): tr._("Global pairs board this week"),
        ("chat", False, False): tr._("This chat's board, all time"),
        ("chat", False, True): tr._("This chat's board this week"),
        ("chat", True, False): tr._("This chat's pairs board, all time"),
        ("chat", True, True): tr._("This chat's pairs board this week"),
    }
    return titles[("global" if scope == "global" else "chat", pairs, week)]


def board_empty(title: str, minimum: int, *, tr: Texts = EN) -> str:
    return tr.ngettext("%(title)s: nobody is ranked yet (players need %(n)s answer).",
                       "%(title)s: nobody is ranked yet (players need %(n)s answers).", minimum, title=title)


def board_head(title: str, minimum: int, *, tr: Texts = EN) -> str:
    return tr.ngettext("%(title)s (ranked by the lower 95%% bound of accuracy, min %(n)s answer):",
                       "%(title)s (ranked by the lower 95%% bound of accuracy, min %(n)s answers):",
                       minimum, title=title)


def board_line(rank: int, name: str, accuracy: float, answers: int, best_streak: int, *, tr: Texts = EN) -> str:
    return tr.ngettext("%(rank)s. %(name)s: %(percent)s of %(n)s answer, best streak %(streak)s",
                       "%(rank)s. %(name)s: %(percent)s of %(n)s answers, best streak %(streak)s",
                       answers, rank=rank, name=name, percent=percent(accuracy, tr=tr), streak=best_streak)


def stats_head(name: str, *, tr: Texts = EN) -> str:
    return tr._("Stats for %(name)s:", name=name)


def stats_line(label: str, correct: int, answers: int, accuracy: float, best_streak: int, rank: int | None,
               minimum: int, *, tr: Texts = EN) -> str:
    line = tr._("%(label)s: %(correct)s/%(answers)s right (%(percent)s), best streak %(streak)s",
                label=label, correct=correct, answers=answers, percent=percent(accuracy, tr=tr), streak=best_streak)
    if rank:
        return line + tr._(", rank %(rank)s", rank=rank)
    return line + tr.ngettext(" (ranked after %(n)s answer)", " (ranked after %(n)s answers)", minimum)


def stats_everyone(share_right: float, answers: int, pnas: float, *, tr: Texts = EN) -> str:
    return tr.ngettext("Everyone: %(percent)s right over %(n)s answer (people judged StyleGAN2 faces at %(pnas)s in PNAS 2022).",
                       "Everyone: %(percent)s right over %(n)s answers (people judged StyleGAN2 faces at %(pnas)s in PNAS 2022).",
                       answers, percent=percent(share_right, tr=tr), pnas=percent(pnas, tr=tr))


def fool_rate_line(model_version: str, psi: float, rate: float, low: float, high: float, answers: int,
                   *, tr: Texts = EN) -> str:
    return tr._("model %(model)s, psi %(psi)s: %(rate)s [%(low)s-%(high)s] of %(answers)s",
                model=model_version, psi=f"{psi:g}", rate=percent(rate, tr=tr), low=percent(low, tr=tr),
                high=percent(high, tr=tr), answers=answers)


# --- the playground (local web page) ---
WEB_NEED_NAME = N_("Type your name in the name field first, so the others know who you are.")
WEB_BAD_CLIENT = N_("This page lost its player id. Please reload the page.")
WEB_EMPTY_MESSAGE = N_("Type a message or a command such as /face 42 or /quiz 5. /help lists them all.")
WEB_BAD_REQUEST = N_("The page sent something the server did not understand. Please reload the page.")
WEB_BAD_ANSWER = N_("That answer button is broken. Please reload the page.")
WEB_PHOTOS_HINT = N_(
    "Folders like those in ../shared/faces work as they are (photos in subfolders are found too), "
    "for example:\n"
    "figment photos import ../shared/faces/celeba-6k --pack celeba\n"
    "Then type /quiz again (no restart needed). To let the quiz draw from some packs only, set "
    "FIGMENT_PHOTO_PACKS='[\"celeba\"]' in the environment or in .env."
)
# The page itself (bot/web_app/static): its labels, read by the page in the chosen language.
PAGE_TITLE = N_("Figment playground")
PAGE_SUBTITLE = N_("playground")
PAGE_NAME = N_("Your name")
PAGE_NAME_EXAMPLE = N_("e.g. Ada")
PAGE_PLACEHOLDER = N_("Type /face 42, /quiz 5, /daily, /leaderboard, /stats or /help")
PAGE_MESSAGE = N_("Message")
PAGE_SEND = N_("Send")
PAGE_SHORTCUTS = N_("Shortcuts")
PAGE_CHECK = N_("/check an image")
PAGE_BOARD = N_("Board")
# The playground's face editor: a seed box and sliders for age and smile
PAGE_EDIT_TITLE = N_("Edit a face")
PAGE_EDIT_SEED = N_("Seed")
PAGE_EDIT_AGE = N_("Age")
# TRANSLATORS: the age slider's value before it is moved: the face keeps its own age
PAGE_EDIT_AS_IS = N_("as is")
PAGE_EDIT_SMILE = N_("Smile")
# TRANSLATORS: the face editor's button: show the edited face
PAGE_EDIT_SHOW = N_("Show")
PAGE_OTHER_TAB = N_("Open this page in another tab or browser, pick another name, and play the same round.")
PAGE_LANGUAGE = N_("Language")
PAGE_QUIZ_IMAGE = N_("Quiz image: real photo or AI fake?")
PAGE_FACE_IMAGE = N_("AI-generated face")
PAGE_ANSWERED = N_("Answered:")
PAGE_ONLY_YOU = N_("Figment (only you see this)")
PAGE_ONLINE = N_("Online:")
PAGE_RECONNECTING = N_("Connection to the server lost; reconnecting…")
PAGE_UNREACHABLE = N_("The server could not be reached. Is `figment demo` still running?")
# The names of the page's strings (the page reads them by these keys).
PAGE_KEYS = ("TITLE", "SUBTITLE", "NAME", "NAME_EXAMPLE", "PLACEHOLDER", "MESSAGE", "SEND", "SHORTCUTS", "CHECK",
             "BOARD", "OTHER_TAB", "LANGUAGE", "QUIZ_IMAGE", "FACE_IMAGE", "ANSWERED", "ONLY_YOU", "ONLINE",
             "RECONNECTING", "UNREACHABLE", "EDIT_TITLE", "EDIT_SEED", "EDIT_AGE", "EDIT_AS_IS", "EDIT_SMILE",
             "EDIT_SHOW")


# --- first run: starter photos, imported in the background (bot.ops.starter_photos) ---
STARTER_LICENCE = "as stated by the datasets the folder holds (see its README); research use"  # stored, not said


def starter_source(folder_name: str) -> str:
    return f"a first-run sample of the '{folder_name}' folder"  # stored with the photos, not said


def starter_no_folder(*, tr: Texts = EN) -> str:
    return (tr._("No real photos are imported yet, so /quiz cannot start.") + " " + tr.WEB_PHOTOS_HINT + "\n"
            + tr._("Or set FIGMENT_STARTER_PHOTOS to a folder of face photos (for example ../shared/faces): "
                   "the next start imports a sample of it by itself."))


def starter_missing(folder: str, *, tr: Texts = EN) -> str:
    return (tr._("FIGMENT_STARTER_PHOTOS names %(folder)s, which is not here, so no photos were imported.",
                 folder=folder) + " " + tr.WEB_PHOTOS_HINT)


def starter_importing(folder: str, sample: int, done: int, total: int, imported: int, *, tr: Texts = EN) -> str:
    text = tr.ngettext("First run: importing a sample of %(n)s photo from %(folder)s in the background",
                       "First run: importing a sample of %(n)s photos from %(folder)s in the background",
                       sample, folder=folder)
    if total:
        text += " " + tr._("(%(done)s of %(total)s done)", done=done, total=total)
    text += ": " + tr._("each face is found and aligned.")
    if imported:
        return text + " " + tr._("/quiz works already.")
    return text + " " + tr._("/quiz works as soon as the first ones are in.")


def starter_ready(folder: str, imported: int, *, tr: Texts = EN) -> str:
    return tr.ngettext("Photos ready: %(n)s real photo from %(folder)s. Type /quiz or /quiz pairs to play.",
                       "Photos ready: %(n)s real photos from %(folder)s. Type /quiz or /quiz pairs to play.",
                       imported, folder=folder)


def starter_failed(error: str, *, tr: Texts = EN) -> str:
    return tr._("The starter photos could not be imported (%(error)s).", error=error) + " " + tr.WEB_PHOTOS_HINT


def web_name_too_long(maximum: int, *, tr: Texts = EN) -> str:
    return tr.ngettext("That name is too long: %(n)s character at most.",
                       "That name is too long: %(n)s characters at most.", maximum)


def web_message_too_long(maximum: int, *, tr: Texts = EN) -> str:
    return tr.ngettext("That message is too long: %(n)s character at most. Please send a shorter one.",
                       "That message is too long: %(n)s characters at most. Please send a shorter one.", maximum)


def web_unknown_command(command: str, *, tr: Texts = EN) -> str:
    return tr._("I don't know %(command)s. Type /help to see what I can do.", command=command)


HALL_USAGE = N_("Use /hall (this week) or /hall all (all time).")


def hall_empty(period: str, minimum: int, *, tr: Texts = EN) -> str:
    if period == "week":
        return tr.ngettext("The hall of fakes is empty this week: a face enters once %(n)s player has answered it "
                           "and its round is revealed.",
                           "The hall of fakes is empty this week: a face enters once %(n)s players have answered it "
                           "and its round is revealed.", minimum)
    return tr.ngettext("The hall of fakes is empty yet: a face enters once %(n)s player has answered it "
                       "and its round is revealed.",
                       "The hall of fakes is empty yet: a face enters once %(n)s players have answered it "
                       "and its round is revealed.", minimum)


def hall_title(period: str, minimum: int, *, tr: Texts = EN) -> str:
    if period == "week":
        return tr.ngettext("Hall of fakes, this week: the AI faces that fooled the most players "
                           "(ranked by the lower 95%% bound of the fool rate, min %(n)s answer):",
                           "Hall of fakes, this week: the AI faces that fooled the most players "
                           "(ranked by the lower 95%% bound of the fool rate, min %(n)s answers):", minimum)
    return tr.ngettext("Hall of fakes, all time: the AI faces that fooled the most players "
                       "(ranked by the lower 95%% bound of the fool rate, min %(n)s answer):",
                       "Hall of fakes, all time: the AI faces that fooled the most players "
                       "(ranked by the lower 95%% bound of the fool rate, min %(n)s answers):", minimum)


def hall_line(rank: int, fooled: int, answers: int, seed: int, psi: float, model_version: str,
              *, tr: Texts = EN) -> str:
    return tr.ngettext("%(rank)s. fooled %(fooled)s of %(n)s (%(percent)s) · seed %(seed)s · psi %(psi)s · model %(model)s",
                       "%(rank)s. fooled %(fooled)s of %(n)s (%(percent)s) · seed %(seed)s · psi %(psi)s · model %(model)s",
                       answers, rank=rank, fooled=fooled, percent=percent(fooled / answers, tr=tr), seed=seed,
                       psi=f"{psi:g}", model=model_version)


HALL_PICTURED = N_("Pictured left to right, top to bottom: the ranked faces of the current model.")
HALL_CAPTION_TEXT = N_("The hall of fakes: these people do not exist.")


def _hall_caption(tr: Texts) -> str:
    return f"{tr.AI_NOTICE}\n{tr.HALL_CAPTION_TEXT}"


FACE_USAGE = N_("Use /face, /face SEED or /face SEED PSI, for example /face 42 0.7.")
SETTINGS_USAGE = N_("Use /settings, /settings seconds N, /settings rounds N or /settings language CODE.")
BUTTON_UNKNOWN = N_("This button no longer works.")


# --- tips (bot.quiz.tips holds the tips themselves) ---
TIPS_USAGE = N_("Just type /tips on its own to see every tip.")
TIPS_HEAD = N_("What gives a fake away:")


def tip_line(tip: str, *, tr: Texts = EN) -> str:
    return tr._("Tip: %(tip)s", tip=tip)


# --- Discord ---
DISCORD_QUIZ_STARTED = N_("Real photo or AI fake? The game starts now: answer with the buttons under each picture.")
DISCORD_GAME_STOPPED = N_("Game stopped.")
DISCORD_FACE_TITLE = N_("This person does not exist")
DISCORD_BAD_OPTION = N_("I can't use one of those options here. Please pick it from the list Discord offers.")
DISCORD_SERVER_ONLY = N_("The quiz channel can only be set in a server.")
DISCORD_FIELD_SEED = N_("Seed")
DISCORD_FIELD_PSI = N_("Truncation (psi)")
DISCORD_FIELD_MODEL = N_("Model")


def discord_quiz_elsewhere(channel: str, *, tr: Texts = EN) -> str:
    return tr._("The game starts now in %(channel)s.", channel=channel)


def discord_quiz_channel(channel: str | None, *, tr: Texts = EN) -> str:
    if channel:
        return tr._("Quiz channel: %(channel)s.", channel=channel)
    return tr._("Quiz channel: the channel where /quiz is used.")


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
CHECK_HOW = N_("Send /check with an image attached, or reply /check to a message with an image "
               "(as a photo or a file), and I will look for Figment's marks.")
CHECK_HOW_DISCORD = N_("That message has no image. Use Apps > Check with Figment on a message with an image.")
CHECK_EMPTY = N_("That file is empty.")
CHECK_NOT_IMAGE = N_("That is not an image I can read (PNG, JPEG, WebP, GIF, TIFF or BMP).")
CHECK_BROKEN = N_("That image is damaged or cut short, so I cannot check it.")
CREDENTIALS_NOT_YET = N_("This round is still open: its image comes with credentials after the reveal.")
CREDENTIALS_REAL_PHOTO = N_("That round showed a real photo: it has no Figment credentials.")
CREDENTIALS_OLD_MODEL = N_("That face was made by an earlier model, so it cannot be made again with credentials.")
CREDENTIALS_LINK = N_("Download with credentials")
CHECK_BOMB = N_("That image is far too large to check (it would unpack to too many pixels).")
CHECK_BUSY = N_("I am busy checking other images. Please try again in a few seconds.")
CHECK_TIMEOUT = N_("I couldn't check this image: reading it took too long. Please try again later.")


PROGRESSIVE_JPEG = N_("a progressive JPEG")  # a kind of file in check_too_big


def check_too_big(limit: int, kind: str = "", *, tr: Texts = EN) -> str:
    megabytes = limit // (1024 * 1024)
    if kind:  # kind: a catalogue text such as PROGRESSIVE_JPEG, said in tr's language too
        return tr._("That file is too big to check (the limit is %(mb)s MB for %(kind)s).", mb=megabytes,
                    kind=tr.say(kind))
    return tr._("That file is too big to check (the limit is %(mb)s MB).", mb=megabytes)


def check_too_many_pixels(width: int, height: int, *, tr: Texts = EN) -> str:
    return tr._("That image is too large to check (%(width)sx%(height)s pixels); no Figment face is that big.",
                width=width, height=height)


def check_reply(manifest: "ManifestReading | None", mark: "MarkReading", model_version: str | None,
                *, tr: Texts = EN) -> str:
    """/check's answer (bot.provenance.check.CheckResult.reply): the Content Credentials read,
    the invisible watermark, and what they mean together."""
    lines = []
    if manifest and manifest.facts:
        facts = manifest.facts
        if facts.edit:
            # TRANSLATORS: %(edit)s stays in English, as the file's manifest states it ("older", "age 70, smiling")
            lines.append(tr._("Made by Figment: model %(model)s, seed %(seed)s, psi %(psi)s, edited: %(edit)s.",
                              model=facts.model_version, seed=facts.seed, psi=f"{facts.psi:g}", edit=facts.edit))
        else:
            lines.append(tr._("Made by Figment: model %(model)s, seed %(seed)s, psi %(psi)s.",
                              model=facts.model_version, seed=facts.seed, psi=f"{facts.psi:g}"))
        if manifest.state == "Trusted":
            lines.append(tr._("Content Credentials: signed by %(signer)s, valid and trusted.", signer=manifest.signer))
        elif manifest.state == "Valid":
            lines.append(tr._("Content Credentials: signed by %(signer)s, valid.", signer=manifest.signer))
        else:
            lines.append(tr._("Content Credentials: signed by %(signer)s, NOT valid (changed after signing).",
                              signer=manifest.signer))
    elif manifest:
        if manifest.ai_generated:
            lines.append(tr._("Content Credentials from %(signer)s (AI-generated), no Figment mark in them.",
                              signer=manifest.signer))
        else:
            lines.append(tr._("Content Credentials from %(signer)s (not from Figment), no Figment mark in them.",
                              signer=manifest.signer))
    if mark.found:
        model = model_version or f"id {mark.model_id:04x}"
        if not (manifest and manifest.facts):
            lines.append(tr._("Made by Figment, model %(model)s (from the invisible watermark).", model=model))
        lines.append(tr.ngettext("Watermark: found, %(n)s of 40 check bits off; chance of a false alarm below %(chance)s.",
                                 "Watermark: found, %(n)s of 40 check bits off; chance of a false alarm below %(chance)s.",
                                 mark.sync_errors, chance=f"{max(mark.false_alarm, 1e-12):.0e}"))
    if not (mark.found or (manifest and manifest.facts)):
        lines.append(tr.ngettext("No Figment mark found: no Figment Content Credentials and no watermark "
                                 "(best match %(n)s of 40 check bits; a mark needs 37).",
                                 "No Figment mark found: no Figment Content Credentials and no watermark "
                                 "(best match %(n)s of 40 check bits; a mark needs 37).", 40 - mark.sync_errors))
        lines.append(tr._("Heavy edits (strong compression, small sizes, big crops) can remove the watermark, "
                          "so this does not prove the image is a real photo."))
    elif not manifest:
        lines.append(tr._("No Content Credentials (re-saving or uploading a file usually removes them)."))
    return "\n".join(lines)


# -- Figment anywhere: Telegram inline mode, challenges, Discord user installs --
INLINE_CHALLENGE_TITLE = N_("Challenge: real photo or AI fake?")
INLINE_CHALLENGE_DESCRIPTION = N_("Post one face; everyone in the chat guesses. You see the truth only when they do.")
INLINE_FACE_TITLE = N_("A face of someone who does not exist")
INLINE_SETUP_TITLE = N_("Inline mode is not set up yet")
INLINE_SETUP = N_("Inline faces need a place to keep their photos: the bot's operator sets "
                  "FIGMENT_TELEGRAM_STORAGE_CHAT to a chat the bot can post in (a private channel works), "
                  "or runs the bot in webhook mode with a public HTTPS FIGMENT_TELEGRAM_WEBHOOK_URL.")
INLINE_BAD_QUERY_TITLE = N_("Try: a seed, or a seed and a psi")
INLINE_BUSY_TITLE = N_("Not now")
CHALLENGE_UNKNOWN = N_("This challenge is not one of mine any more.")
CHALLENGE_CLOSED = N_("This challenge is closed: the answer is in the message.")
DISCORD_USER_INSTALL_ONLY = N_("This command needs Figment in the server (or in a direct message with it): "
                               "ask an admin to add it with the server install link. /face, /challenge, /stats "
                               "and /daily work anywhere once you add Figment to your account.")


def inline_face_description(seed: int, psi: float, *, tr: Texts = EN) -> str:
    return tr._("seed %(seed)s, psi %(psi)s: %(notice)s", seed=seed, psi=f"{psi:g}", notice=tr.AI_NOTICE)


def challenge_caption(answers: int, correct: int, seconds: int, most: int, *, tr: Texts = EN) -> str:
    """The public challenge message: how many answered and the share right, never the truth."""
    head = tr.ngettext("Real photo or AI fake? Guess privately: the answer shows in %(minutes)s min or after %(n)s answer.",
                       "Real photo or AI fake? Guess privately: the answer shows in %(minutes)s min or after %(n)s answers.",
                       most, minutes=seconds // 60 or 1)
    if not answers:
        return head + "\n" + tr._("Nobody has answered yet.")
    return head + "\n" + tr.ngettext("%(n)s answered so far, %(percent)s right.", "%(n)s answered so far, %(percent)s right.",
                                     answers, percent=percent(correct / answers, tr=tr))


def challenge_answer(right: bool, is_real: bool, *, tr: Texts = EN) -> str:
    """The clicker's own answer, privately (a toast, an ephemeral reply)."""
    texts_ = {(True, True): tr._("Right: it's a real photo. Keep it to yourself until the reveal!"),
              (True, False): tr._("Right: it's an AI fake. Keep it to yourself until the reveal!"),
              (False, True): tr._("Wrong: it's a real photo. Keep it to yourself until the reveal!"),
              (False, False): tr._("Wrong: it's an AI fake. Keep it to yourself until the reveal!")}
    return texts_[(right, is_real)]


def challenge_reveal(is_real: bool, answers: int, correct: int, attribution: str, *, tr: Texts = EN) -> str:
    head = tr._("Challenge over: it was a REAL photo.") if is_real else \
        tr._("Challenge over: it was an AI FAKE (this person does not exist).")
    return f"{head}\n{reveal_share(correct, answers, tr=tr)}\n{attribution}"


def discord_install_links(server: str, user: str, *, tr: Texts = EN) -> str:
    return tr._("Add Figment to a server: %(server)s\nAdd Figment to your account (use it anywhere): %(user)s",
                server=server, user=user)


# ---- /face edits and /morph: faces steered in W, and animations between two faces ----------
MORPH_USAGE = N_("Give two seeds, for example /morph 42 7: an animation of face 42 turning into face 7.")
MORPH_SAME = N_("Those are the same face. Give two different seeds, for example /morph 42 7.")
MORPH_RUNNING = N_("Your last morph is still being made. Wait for it, then ask for another.")
MORPH_TOO_BIG = N_("That morph came out too big to upload here. Try two other seeds.")
EDITS_UNAVAILABLE = N_("Edits and morphs need a StyleGAN generator (Figment's own or imported weights), in this bot "
                       "or on its generator server; this one cannot make them. Plain /face works.")
def too_slow_here(seconds: float, *, tr: Texts = EN) -> str:
    return tr._("That would keep this bot's processor busy for about %(seconds)d seconds with its generator, "
                "so it is not made here. Plain /face works.", seconds=round(seconds))


EDIT_NO_DIRECTIONS = N_("This generator has no attribute directions yet, so faces cannot be edited. Plain /face works.")
EDIT_USAGE = N_("Edit a face like this: /face 42 older, /face 42 younger, /face 42 smile, /face 42 serious, "
                "/face 42 age 70, or add strip for five steps: /face 42 older strip.")
EDIT_NEEDS_SEED = N_("An edit needs a seed, so you can see the same face before and after: for example /face 42 older.")


# What an edit did, in an edited face's caption (joined by ", "): "older", "age 70", "smile +1.5".
# TRANSLATORS: an edited face, made to look older (in a caption: "seed 42 · psi 0.7 · older · model ...")
EDIT_OLDER = N_("older")
# TRANSLATORS: an edited face, made to look younger
EDIT_YOUNGER = N_("younger")
# TRANSLATORS: an edited face, made to smile
EDIT_SMILING = N_("smiling")
# TRANSLATORS: an edited face, made to look serious (not smiling)
EDIT_SERIOUS = N_("serious")


def edit_age(age: float, *, tr: Texts = EN) -> str:
    # TRANSLATORS: an edited face shown at an age in years
    return tr._("age %(age)s", age=f"{age:g}")


def edit_smile(amount: float, *, tr: Texts = EN) -> str:
    # TRANSLATORS: an edited face's smile moved by an amount, e.g. "smile +1.5" (negative: more serious)
    return tr._("smile %(amount)s", amount=f"{amount:+g}")


def morph_bad_seed(*, tr: Texts = EN) -> str:
    return tr._("Each seed must be a whole number from 0 to %(max_seed)s, for example /morph 42 7.", max_seed=MAX_SEED)


def edit_unknown(word: str, known: "tuple[str, ...]", *, tr: Texts = EN) -> str:
    return tr._('I don\'t know the edit "%(word)s". Try one of: %(known)s; or age N.', word=word[:40], known=", ".join(known))


def edit_bad_age(low: int, high: int, *, tr: Texts = EN) -> str:
    return tr._("The age must be a whole number from %(low)s to %(high)s, for example /face 42 age 70.", low=low, high=high)


def edit_caption(seed: int, psi: float, model_version: str, what: str, *, tr: Texts = EN) -> str:
    return tr.AI_NOTICE + "\n" + tr._("seed %(seed)s · psi %(psi)s · %(what)s · model %(model)s",
                                      seed=seed, psi=f"{psi:g}", what=what, model=model_version)


def edit_strip_caption(seed: int, psi: float, model_version: str, what: str, *, tr: Texts = EN) -> str:
    return tr.AI_NOTICE + "\n" + tr._("seed %(seed)s · psi %(psi)s · %(what)s, five steps left to right · model %(model)s",
                                      seed=seed, psi=f"{psi:g}", what=what, model=model_version)


def morph_caption(seed_a: int, seed_b: int, psi: float, model_version: str, *, tr: Texts = EN) -> str:
    return tr._("%(notice)s (neither person exists)\nmorph: seed %(a)s to seed %(b)s · psi %(psi)s · model %(model)s",
                notice=tr.AI_NOTICE, a=seed_a, b=seed_b, psi=f"{psi:g}", model=model_version)


# Texts built from others, per language (Texts reads them by these names).
_DERIVED: dict[str, Callable[[Texts], Any]] = {
    "COMMAND_TABLE": _command_table,
    "HELP": _help,
    "START": lambda tr: f"{tr.START_HELLO} {_help(tr)}",
    "COMMANDS": _commands,
    "HALL_CAPTION": _hall_caption,
    "BAD_SEED": lambda tr: bad_seed(tr=tr),
    "BAD_PSI": lambda tr: bad_psi(tr=tr),
    "MORPH_BAD_SEED": lambda tr: morph_bad_seed(tr=tr),
}
HELP = _help(EN)
START = _DERIVED["START"](EN)
COMMANDS = _commands(EN)
HALL_CAPTION = _hall_caption(EN)
BAD_SEED = bad_seed()
BAD_PSI = bad_psi()
MORPH_BAD_SEED = morph_bad_seed()
