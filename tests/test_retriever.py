"""The LangChain retriever drops into any LangChain app."""

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from retrieval import SanadIndex, SanadRetriever


async def test_retriever_returns_documents_with_citation_metadata(lexical_settings):
    index = SanadIndex(lexical_settings)
    retriever = SanadRetriever(index=index, k=3)
    assert isinstance(retriever, BaseRetriever)

    docs = retriever.invoke("ماذا قال الجنرال مارك ميلي عن طالبان؟")
    assert len(docs) == 3
    assert all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert top.metadata["doc_id"] == "003_ff37ad843cbdfbf5"
    original = index.catalog.document_text(top.metadata["doc_id"])
    assert original is not None
    assert original[top.metadata["start"] : top.metadata["end"]] == top.page_content
    assert {"title", "url", "lang", "chunk_id", "rank", "score"} <= set(top.metadata)

    async_docs = await retriever.ainvoke("ماذا قال الجنرال مارك ميلي عن طالبان؟")
    assert [d.id for d in async_docs] == [d.id for d in docs]
