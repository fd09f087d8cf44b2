"""The chat model behind LLM answers, follow-up rewriting and translation.

Any LangChain chat model works (`init_chat_model("provider:model")`); with
`SANAD_LLM_BASE_URL` any OpenAI-compatible server does (vLLM, llama.cpp server,
Ollama, OpenRouter). Passages and questions go to the model as delimited data,
never as instructions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from prompts import LANGUAGE_NAMES, template, ui_language
from retrieval.config import Settings
from retrieval.errors import SanadError
from retrieval.search import SearchResult

__all__ = ["NO_ANSWER", "ChatLLM", "LLMError", "OnDraft", "Turn"]

log = logging.getLogger(__name__)

#: What the answer prompt tells the model to reply when the passages don't answer.
NO_ANSWER = "NO_ANSWER"

Turn = tuple[str, str]  # (question, answer)

#: Called with the text so far while an answer streams in (a draft, not yet verified).
OnDraft = Callable[[str], None]


class LLMError(SanadError):
    """The language model failed: unreachable, slow, an error, or an unusable reply."""


def _data(text: str) -> str:
    """Neutralize markup inside data so it cannot close our delimiters."""
    return text.replace("<", "‹").replace(">", "›")


class ChatLLM:
    """A configured chat model with Sanad's uses of it: answers, follow-ups, translation
    and chat summaries."""

    def __init__(self, settings: Settings, model: Any = None) -> None:
        self.settings = settings
        self.model = model if model is not None else self._create(settings)

    @staticmethod
    def _create(settings: Settings) -> Any:
        from langchain.chat_models import init_chat_model

        kwargs: dict[str, Any] = {
            "timeout": settings.llm_timeout,
            "max_retries": 0,  # a slow or failing model falls back to extractive at once
            "temperature": settings.llm_temperature,
        }
        if settings.llm_base_url:
            kwargs["base_url"] = settings.llm_base_url
        if settings.llm_api_key is not None:
            kwargs["api_key"] = settings.llm_api_key.get_secret_value()
        elif settings.llm_base_url:
            kwargs["api_key"] = "not-needed"  # local servers ignore it; the client requires one
        try:
            return init_chat_model(settings.llm_model, **kwargs)
        except Exception as e:
            raise LLMError(f"Cannot set up the language model {settings.llm_model}: {e}") from e

    def _invoke(
        self, messages: list[BaseMessage], what: str, on_draft: OnDraft | None = None
    ) -> str:
        try:
            if on_draft is None:
                reply = self.model.invoke(messages)
                content = reply.content if isinstance(reply.content, str) else str(reply.content)
            else:
                content = ""
                for chunk in self.model.stream(messages):
                    content += chunk.content if isinstance(chunk.content, str) else ""
                    on_draft(content)
        except Exception as e:
            log.warning("LLM %s failed: %s", what, type(e).__name__)
            raise LLMError(f"The language model failed ({type(e).__name__}).") from e
        if not content.strip():
            raise LLMError("The language model returned nothing.")
        return content.strip()

    def answer(
        self,
        question: str,
        lang: str,
        passages: Sequence[SearchResult],
        on_draft: OnDraft | None = None,
    ) -> str:
        """A draft answer with `[n]` markers, or NO_ANSWER; streamed to `on_draft` if given."""
        blocks = "\n".join(
            f'<passage id="{i}" title="{_data(p.document.title)}">\n{_data(p.chunk.text)}\n</passage>'
            for i, p in enumerate(passages, 1)
        )
        user = (
            f"<passages>\n{blocks}\n</passages>\n\n<question>\n{_data(question)}\n</question>\n\n"
            f"Answer the question in {LANGUAGE_NAMES[ui_language(lang)]}, citing passages as [n]."
        )
        return self._invoke(
            [SystemMessage(template("answer", lang)), HumanMessage(user)], "answer", on_draft
        )

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """The question made standalone, given the recent turns."""
        turns = "\n".join(
            f"<turn>\n<question>{_data(q)}</question>\n<answer>{_data(a)}</answer>\n</turn>"
            for q, a in history
        )
        user = f"<conversation>\n{turns}\n</conversation>\n\n<last_question>{_data(question)}</last_question>"
        rewritten = self._invoke(
            [SystemMessage(template("rewrite")), HumanMessage(user)], "rewrite"
        )
        return rewritten.splitlines()[0].strip() or question

    def summarize(self, messages: Sequence[tuple[str, str]]) -> str:
        """One short bullet on what `messages` ((author, text), in order) say, written in
        their own language so that every word of it can be checked against them."""
        blocks = "\n".join(
            f'<message author="{_data(author)}">\n{_data(text)}\n</message>'
            for author, text in messages
        )
        return self._invoke(
            [
                SystemMessage(template("summary")),
                HumanMessage(f"<messages>\n{blocks}\n</messages>"),
            ],
            "summary",
        )

    def translate(self, text: str, target_lang: str) -> str:
        """`text` rendered in `target_lang`."""
        system = template("translate").format(language=LANGUAGE_NAMES[ui_language(target_lang)])
        return self._invoke(
            [SystemMessage(system), HumanMessage(f"<passage>\n{_data(text)}\n</passage>")],
            "translate",
        )
