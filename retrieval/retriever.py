"""Sanad's hybrid search as a LangChain `BaseRetriever`, for anyone's LangChain app."""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.index import SanadIndex
from retrieval.search import Mode, SearchResult, search

__all__ = ["SanadRetriever", "to_document"]


def to_document(result: SearchResult) -> Document:
    """A search result as a LangChain `Document`: the passage and where it stands."""
    return Document(
        page_content=result.chunk.text,
        id=result.chunk.chunk_id,
        metadata={
            "rank": result.rank,
            "score": result.score,
            "doc_id": result.chunk.doc_id,
            "chunk_id": result.chunk.chunk_id,
            "ordinal": result.chunk.ordinal,
            "start": result.chunk.start,
            "end": result.chunk.end,
            "lang": result.chunk.lang,
            "title": result.document.title,
            "url": result.document.url,
            "author": result.document.author,
            "publisher": result.document.publisher,
            "date": result.document.date,
        },
    )


class SanadRetriever(BaseRetriever):
    """Retrieve citable passages (with offsets into their source) for a question.

    >>> retriever = SanadRetriever(index=SanadIndex(load_settings()), k=4)  # doctest: +SKIP
    >>> retriever.invoke("When did the war between the Taliban and ISIS begin?")  # doctest: +SKIP
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: SanadIndex
    k: int = 5
    mode: Mode | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        response = search(self.index, query, k=self.k, mode=self.mode)
        return [to_document(r) for r in response.results]
