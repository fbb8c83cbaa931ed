"""Chat sessions: conversations with agents, one A2A context id per session.

models.py  ChatSession, ChatMessage
log.py     ChatLogStore: the gateway's chat log written into sessions (the one writer)
service.py ChatService: sessions for the API, sending through the gateway, routing "auto"
"""
