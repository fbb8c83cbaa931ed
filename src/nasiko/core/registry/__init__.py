"""The registry: which agents exist, what they can do, where they run, who may use them.

models.py   Agent, AgentVersion, Grant and the request bodies
access.py   who may see, call and manage an agent (pure functions, no I/O)
service.py  RegistryService: register, list, search, update, delete, versions, grants
view.py     RegistryView: the in-memory route table + grants for the gateway and router
"""
