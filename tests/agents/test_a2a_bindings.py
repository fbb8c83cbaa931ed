"""Each agent answers over JSON-RPC and HTTP+JSON, in A2A v1.0 and v0.3 forms."""

from __future__ import annotations

import uuid

import httpx
from a2a.client import ClientConfig, create_client
from a2a.helpers import new_text_part
from a2a.types.a2a_pb2 import Message, Role, SendMessageRequest


async def test_card_uses_public_url_and_carries_v03_fields(start_agent) -> None:
    agent = start_agent("translator", {"PUBLIC_URL": "https://agents.example/translator"})
    async with httpx.AsyncClient(timeout=30) as http:
        card = (await http.get(agent.url + ".well-known/agent-card.json")).json()
    assert {i["url"] for i in card["supportedInterfaces"]} == {"https://agents.example/translator/"}
    assert {(i["protocolBinding"], i["protocolVersion"]) for i in card["supportedInterfaces"]} == {
        ("JSONRPC", "1.0"),
        ("HTTP+JSON", "1.0"),
        ("JSONRPC", "0.3"),
        ("HTTP+JSON", "0.3"),
    }
    # v0.3 fields are merged in for old clients.
    assert card["url"] == "https://agents.example/translator/"
    assert card["preferredTransport"] == "JSONRPC" and card["protocolVersion"] == "0.3"


async def test_v03_clients_are_served(start_agent) -> None:
    agent = start_agent("translator")
    text = "Detect language: Bonjour à tous, merci beaucoup pour votre aide"
    message = {
        "role": "user",
        "messageId": "m1",
        "kind": "message",
        "parts": [{"kind": "text", "text": text}],
    }
    async with httpx.AsyncClient(timeout=30) as http:
        legacy = await http.post(
            agent.url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "message/send",
                "params": {"message": message},
            },
        )
        # The v0.3 HTTP+JSON binding speaks the v0.3 protobuf JSON form ("content" parts).
        rest = await http.post(
            agent.url + "v1/message:send",
            json={"message": {"role": "ROLE_USER", "messageId": "m2", "content": [{"text": text}]}},
        )
    result = legacy.json()["result"]
    assert result["kind"] == "task" and result["status"]["state"] == "completed"
    texts = "".join(p.get("text", "") for a in result["artifacts"] for p in a["parts"])
    assert "Detected language: **French**" in texts
    assert rest.status_code == 200 and "Detected language: **French**" in rest.text
    assert rest.json()["task"]["status"]["state"] == "TASK_STATE_COMPLETED"


async def test_v10_http_json_binding_streams(start_agent) -> None:
    agent = start_agent("translator")
    request = SendMessageRequest(
        message=Message(
            role=Role.ROLE_USER,
            message_id=str(uuid.uuid4()),
            parts=[new_text_part("Detect language: Obrigado pela ajuda, meu amigo")],
        )
    )
    async with httpx.AsyncClient(timeout=30) as http:
        client = await create_client(
            agent.url,
            client_config=ClientConfig(
                httpx_client=http, supported_protocol_bindings=["HTTP+JSON"]
            ),
        )
        kinds, text = [], ""
        async for event in client.send_message(request):
            kinds.append(event.WhichOneof("payload"))
            if event.HasField("artifact_update"):
                text += "".join(p.text for p in event.artifact_update.artifact.parts)
        await client.close()
    assert kinds[0] == "task" and "artifact_update" in kinds and kinds[-1] == "status_update"
    assert "Detected language: **Portuguese**" in text
