"""The translator as a real A2A server, with and without the fake model server."""

from __future__ import annotations

import re

from agent_harness import ask, data_part

DOC = """# Install guide

Run the installer, then restart the service.

```bash
pip install nasiko  # keep this comment
nasiko up --data ./data
```

Use `nasiko status` to check it. Read https://example.org/docs for more. Open a pull request.
"""

# A toy "model": translates a few English words to German word by word and leaves anything else
# (placeholders included) untouched, the way a well-behaved model treats protected tokens.
WORDS = {"install": "Installations", "guide": "anleitung", "run": "Führe", "the": "den",
         "installer": "Installer", "then": "dann", "restart": "starte", "service": "Dienst",
         "use": "Nutze", "to": "um", "check": "prüfen", "it": "es", "read": "Lies",
         "for": "für", "more": "mehr", "open": "Öffne", "a": "einen"}  # fmt: skip


def toy_german(request) -> str:
    return re.sub(r"[A-Za-z]+", lambda m: WORDS.get(m.group(0).lower(), m.group(0)), request.user)


async def test_detects_languages_without_model(start_agent) -> None:
    agent = start_agent("translator")
    samples = {
        "German": "Der schnelle braune Fuchs springt über den faulen Hund und läuft weiter.",
        "French": "Le renard brun rapide saute par-dessus le chien paresseux.",
        "Spanish": "El rápido zorro marrón salta sobre el perro perezoso.",
        "Italian": "La volpe marrone veloce salta sopra il cane pigro.",
        "Portuguese": "A rápida raposa marrom pula sobre o cão preguiçoso.",
        "Japanese": "素早い茶色の狐がのろまな犬を飛び越える。",
        "Russian": "Быстрая коричневая лиса прыгает через ленивую собаку.",
    }
    for language, text in samples.items():
        reply = await ask(agent.url, f"Detect language: {text}")
        assert reply.state == "TASK_STATE_COMPLETED", reply
        assert reply.data["detection"]["language"] == language
        assert f"**{language}**" in reply.text


async def test_mixed_language_text_is_split(start_agent) -> None:
    agent = start_agent("translator")
    text = (
        "Detect language: The weather is lovely today and we are going to the beach. "
        "Aber morgen soll es regnen und wir bleiben zu Hause bei unseren Freunden."
    )
    reply = await ask(agent.url, text)
    assert "mixes languages" in reply.text
    assert "- English:" in reply.text and "- German:" in reply.text


async def test_translation_without_model_names_the_variable(start_agent) -> None:
    agent = start_agent("translator")
    reply = await ask(agent.url, "Translate to German: Good morning, how are you today?")
    assert reply.state == "TASK_STATE_COMPLETED"
    assert "Detected language: English" in reply.text
    assert "OPENAI_API_KEY" in reply.text and "needs a language model" in reply.text


async def test_translation_keeps_code_links_and_glossary(start_agent, fake_llm) -> None:
    fake_llm.responder = toy_german
    fake_llm.chunk_size = 5  # small chunks split placeholders across stream events
    agent = start_agent("translator", fake_llm.env())
    reply = await ask(
        agent.url,
        data_part(
            {
                "text": DOC,
                "target_language": "de",
                "glossary": {"pull request": "Pull-Request", "Nasiko": "Nasiko"},
            }
        ),
    )
    assert reply.state == "TASK_STATE_COMPLETED", reply.status_texts
    assert reply.chunks > 3  # streamed, not one blob
    out = reply.text
    # Code blocks, inline code and URLs come back byte for byte.
    assert "```bash\npip install nasiko  # keep this comment\nnasiko up --data ./data\n```" in out
    assert "`nasiko status`" in out and "https://example.org/docs" in out
    assert "Pull-Request" in out  # glossary target, exactly as given
    assert out.startswith("# Installations anleitung")  # Markdown heading kept
    assert "Führe den Installer" in out
    # The model never saw the protected text.
    sent = fake_llm.requests[-1]
    assert "pip install" not in sent.user and "example.org" not in sent.user
    assert "pull request" not in sent.user.lower()
    assert "from English to German" in sent.system


async def test_dropped_placeholders_are_handed_back(start_agent, fake_llm) -> None:
    fake_llm.responder = lambda request: "Alles erledigt."
    agent = start_agent("translator", fake_llm.env())
    reply = await ask(agent.url, "Translate to German: Run `make test` now.")
    assert "Alles erledigt." in reply.text
    assert "dropped these protected segments" in reply.text and "`make test`" in reply.text


async def test_model_errors_fail_the_task_clearly(start_agent, fake_llm) -> None:
    fake_llm.fail_with = (401, "Incorrect API key provided")
    agent = start_agent("translator", fake_llm.env())
    reply = await ask(agent.url, "Translate to French: Hello there, my friend.")
    assert reply.state == "TASK_STATE_FAILED"
    assert "HTTP 401" in reply.failure and "Incorrect API key" in reply.failure


async def test_unknown_language_is_rejected(start_agent) -> None:
    agent = start_agent("translator")
    reply = await ask(agent.url, "Translate to Klingonese: Hello")
    assert reply.state == "TASK_STATE_FAILED"
    assert "unknown target language 'Klingonese'" in reply.failure
